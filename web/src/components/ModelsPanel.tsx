import type { ModelVersion } from '../api/client';
import { formatBytes, type StoredModel } from '../modelStore';
import type { Progress } from '../download';

export type Listing =
  | { readonly status: 'loading' }
  | { readonly status: 'unconfigured' }
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
  readonly onChoose: (model: ModelVersion) => void;
  readonly onUseStored: (model: StoredModel) => void;
  readonly onRemove: (model: StoredModel) => void;
  readonly onRefresh: () => void;
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

export function ModelsPanel(props: Props) {
  const { listing, stored, activeSha, busy } = props;
  const storedShas = new Set(stored.map((m) => m.sha256));
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
              {busy?.sha256 === m.sha256 && <ProgressBar busy={busy} />}
            </li>
          ))}
        </ul>
      )}
      <h2>Stored in this browser</h2>
      {stored.length === 0 ? (
        <p className="muted">None yet. A downloaded model is kept here and works offline.</p>
      ) : (
        <ul className="model-list" data-testid="stored-models">
          {stored.map((m) => (
            <li key={m.sha256} data-testid={`stored-${m.version}`} className={m.sha256 === activeSha ? 'active' : ''}>
              <div className="what">
                <strong>Version {m.version}</strong>
                <span>{date(m.created_at)}</span>
                <span>accuracy {percent(m.test_accuracy)}</span>
                <span>{formatBytes(m.size_bytes)}</span>
              </div>
              {m.sha256 === activeSha ? (
                <span className="tag in-use">in use</span>
              ) : (
                <button type="button" disabled={busy !== null} onClick={() => { props.onUseStored(m); }}>
                  Use
                </button>
              )}
              <button type="button" className="secondary" disabled={busy !== null} onClick={() => { props.onRemove(m); }}>
                Remove
              </button>
              {busy?.sha256 === m.sha256 && <ProgressBar busy={busy} />}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
