import { useState } from 'react';
import type { ModelVersion } from '../api/client';
import { describeWithdrawal } from '../approval';
import { formatBytes, type Attachments, type StorageUsage, type StoredModel } from '../modelStore';
import type { Progress } from '../download';
import { ListedModelDetails, StoredModelDetails } from './ModelDetails';

export type Listing =
  | { readonly status: 'loading' }
  | { readonly status: 'unconfigured' }
  | { readonly status: 'offline' }
  | { readonly status: 'ok'; readonly models: readonly ModelVersion[] }
  | { readonly status: 'error'; readonly message: string };

export interface Busy {
  readonly sha256: string;
  readonly phase: 'downloading' | 'verifying' | 'loading';
  readonly progress: Progress | null;
}

interface Props {
  readonly listing: Listing;
  readonly stored: readonly StoredModel[];
  readonly activeSha: string | null;
  readonly busy: Busy | null;
  readonly storage: StorageUsage | null;
  readonly onChoose: (model: ModelVersion) => void;
  /** `knowingly`: the person confirmed using a withdrawn version. */
  readonly onUseStored: (model: StoredModel, knowingly: boolean) => void;
  readonly onRemove: (model: StoredModel) => void;
  readonly onRefresh: () => void;
  /** The report and pictures kept with a stored model (for its details view). */
  readonly loadAttachments: (sha256: string) => Promise<Attachments>;
}

const date = (iso: string) =>
  new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const percent = (accuracy: number) => `${(accuracy * 100).toFixed(2)}%`;

function ProgressBar({ busy }: { busy: Busy }) {
  const { progress, phase } = busy;
  const fraction = progress === null || progress.total === 0 ? 0 : progress.received / progress.total;
  const label =
    phase === 'downloading'
      ? `Downloading ${progress === null ? '' : `${formatBytes(progress.received)} of ${formatBytes(progress.total)}`}`
      : phase === 'verifying'
        ? 'Checking SHA-256…'
        : 'Starting the model…';
  return (
    <div className="progress" data-testid="download-progress">
      <progress max={1} value={phase === 'downloading' ? fraction : 1} aria-label={label} />
      <span>{label}</span>
    </div>
  );
}

/** The button that opens and closes a model's details view. */
function DetailsToggle({ open, onToggle, label }: { open: boolean; onToggle: () => void; label: string }) {
  return (
    <button type="button" className="secondary" aria-expanded={open} aria-label={label} onClick={onToggle}>
      {open ? 'Hide details' : 'Details'}
    </button>
  );
}

function StorageLine({ storage }: { storage: StorageUsage | null }) {
  if (storage === null) return null;
  return (
    <p className="muted" data-testid="storage-usage">
      {formatBytes(storage.bytes)} stored in this browser (the app and its models);{' '}
      {storage.persisted
        ? 'kept until you remove it.'
        : 'the browser may clear it if space runs low.'}
    </p>
  );
}

export function ModelsPanel(props: Props) {
  const { listing, stored, activeSha, busy } = props;
  const storedShas = new Set(stored.map((m) => m.sha256));
  // The withdrawn version whose "use anyway" question is open.
  const [confirming, setConfirming] = useState<string | null>(null);
  // The open details view: `listed:<sha256>` or `stored:<sha256>`.
  const [details, setDetails] = useState<string | null>(null);
  const toggle = (key: string) => {
    setDetails((open) => (open === key ? null : key));
  };
  return (
    <section className="models" aria-label="Models">
      <header>
        <h2>Approved models</h2>
        <button type="button" onClick={props.onRefresh} disabled={listing.status === 'loading'}>
          Refresh
        </button>
      </header>
      {listing.status === 'loading' && <p className="muted">Loading the list…</p>}
      {listing.status === 'unconfigured' && (
        <p className="muted">No model service is configured (config.json or VITE_API_URL).</p>
      )}
      {listing.status === 'offline' && (
        <p className="muted" data-testid="api-offline">
          Offline: the model service cannot be reached, so the list of approved models loads
          when it answers again. Models stored in this browser work.
        </p>
      )}
      {listing.status === 'error' && (
        <p className="warning" data-testid="api-error">
          {listing.message}
        </p>
      )}
      {listing.status === 'ok' && listing.models.length === 0 && (
        <p className="muted">No approved model yet.</p>
      )}
      {listing.status === 'ok' && listing.models.length > 0 && (
        <ul className="model-list" data-testid="api-models">
          {listing.models.map((m) => (
            <li key={m.sha256} data-testid={`model-${m.version}`} className={m.sha256 === activeSha ? 'active' : ''}>
              <div className="what">
                <strong>Version {m.version}</strong>
                <span>{date(m.created_at)}</span>
                <span>accuracy {percent(m.metrics.test_accuracy)}</span>
                <span>{formatBytes(m.size_bytes)}</span>
                {m.quantized && <span className="tag">int8</span>}
                {storedShas.has(m.sha256) && <span className="tag">stored</span>}
              </div>
              {m.sha256 === activeSha ? (
                <span className="tag in-use">in use</span>
              ) : (
                <button type="button" disabled={busy !== null} onClick={() => { props.onChoose(m); }}>
                  {storedShas.has(m.sha256) ? 'Use' : 'Download'}
                </button>
              )}
              <DetailsToggle
                open={details === `listed:${m.sha256}`}
                label={`Details of version ${m.version}`}
                onToggle={() => { toggle(`listed:${m.sha256}`); }}
              />
              {busy?.sha256 === m.sha256 && <ProgressBar busy={busy} />}
              {details === `listed:${m.sha256}` && <ListedModelDetails model={m} onRefresh={props.onRefresh} />}
            </li>
          ))}
        </ul>
      )}
      <h2>Stored in this browser</h2>
      <StorageLine storage={props.storage} />
      {stored.length === 0 ? (
        <p className="muted">None yet. A downloaded model is kept here and works offline.</p>
      ) : (
        <ul className="model-list" data-testid="stored-models">
          {stored.map((m) => (
            <li
              key={m.sha256}
              data-testid={`stored-${m.version}`}
              className={[m.sha256 === activeSha ? 'active' : '', m.withdrawn === undefined ? '' : 'withdrawn'].join(' ').trim()}
            >
              <div className="what">
                <strong>Version {m.version}</strong>
                <span>{date(m.created_at)}</span>
                <span>accuracy {percent(m.test_accuracy)}</span>
                <span>{formatBytes(m.size_bytes)}</span>
                {m.withdrawn !== undefined && (
                  <span className="tag withdrawn" data-testid={`withdrawn-${m.version}`}>
                    {describeWithdrawal(m.withdrawn.reason)}
                  </span>
                )}
              </div>
              {m.sha256 === activeSha ? (
                <span className="tag in-use">in use</span>
              ) : (
                <button
                  type="button"
                  disabled={busy !== null}
                  onClick={() => {
                    if (m.withdrawn === undefined) props.onUseStored(m, false);
                    else setConfirming(m.sha256);
                  }}
                >
                  Use
                </button>
              )}
              <button type="button" className="secondary" disabled={busy !== null} onClick={() => { props.onRemove(m); }}>
                Remove
              </button>
              <DetailsToggle
                open={details === `stored:${m.sha256}`}
                label={`Details of stored version ${m.version}`}
                onToggle={() => { toggle(`stored:${m.sha256}`); }}
              />
              {confirming === m.sha256 && m.withdrawn !== undefined && (
                <div className="confirm" role="alertdialog" data-testid={`confirm-${m.version}`}>
                  <span>
                    Version {m.version} was {describeWithdrawal(m.withdrawn.reason)}. Its answers may be
                    wrong. Use it anyway?
                  </span>
                  <button
                    type="button"
                    onClick={() => {
                      setConfirming(null);
                      props.onUseStored(m, true);
                    }}
                  >
                    Use anyway
                  </button>
                  <button type="button" className="secondary" onClick={() => { setConfirming(null); }}>
                    Cancel
                  </button>
                </div>
              )}
              {busy?.sha256 === m.sha256 && <ProgressBar busy={busy} />}
              {details === `stored:${m.sha256}` && <StoredModelDetails model={m} load={props.loadAttachments} />}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
