import { useEffect, useState } from 'react';
import type { ModelVersion } from '../api/client';
import { isFresh, linksOf, percent } from '../details';
import { storedReportUrl } from '../storedReport';
import {
  ATTACHMENTS,
  detailsOf,
  formatBytes,
  storedDetails,
  type Attachment,
  type Attachments,
  type ModelDetails,
  type StoredModel,
} from '../modelStore';

type Sources = Record<Attachment, string | null>;

const NO_SOURCES: Sources = { report: null, confusion_matrix: null, training_curves: null };

const when = (iso: string) =>
  new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function PerClass({ rows }: { rows: NonNullable<ModelDetails['per_class']> }) {
  return (
    <table className="per-class" data-testid="per-class">
      <thead>
        <tr>
          <th scope="col">digit</th>
          <th scope="col">recall</th>
          <th scope="col">precision</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.digit}>
            <th scope="row">{row.digit}</th>
            <td
              className="recall"
              style={{ background: `linear-gradient(to right, #dbe7fd ${percent(row.recall, 1)}, transparent 0)` }}
            >
              {percent(row.recall, 1)}
            </td>
            <td>{percent(row.precision, 1)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * A picture from a presigned link or a Blob URL. Loaded in CORS mode (`crossOrigin`): S3 sends
 * CORS headers, and `Vary: Origin`, only to requests with an Origin, so a plain `<img>` would
 * leave a copy without them in the HTTP cache, and the download's fetch of the same link
 * (which keeps the picture with the model) would then be refused.
 */
function Picture({ src, alt, testId, missing }: { src: string | null; alt: string; testId: string; missing: string }) {
  return (
    <figure>
      {src === null ? (
        <p className="muted">{missing}</p>
      ) : (
        <img src={src} alt={alt} data-testid={testId} crossOrigin="anonymous" />
      )}
      <figcaption>{alt}</figcaption>
    </figure>
  );
}

/**
 * What a version is: accuracy and per-digit figures, size and kind, when and from what it was
 * trained, its confusion matrix and training curves, and its full run report.
 */
export function ModelDetailsView({
  details,
  sources,
  missing,
  testId,
  reportFile,
}: {
  details: ModelDetails;
  sources: Sources;
  /** What to say where a picture is absent. */
  missing: string;
  testId: string;
  /** Set when the report can only be saved (a file name), not opened in a sandbox. */
  reportFile?: string | undefined;
}) {
  const from = details.provenance;
  return (
    <div className="details" data-testid={testId}>
      <dl>
        <dt>Test accuracy</dt>
        <dd>{percent(details.test_accuracy)}</dd>
        <dt>File</dt>
        <dd>
          {formatBytes(details.size_bytes)}, {details.quantized ? 'int8 (quantized)' : 'fp32'}
        </dd>
        <dt>Trained</dt>
        <dd>registered {when(details.created_at)}</dd>
        {from !== null && (
          <>
            <dt>Dataset version</dt>
            <dd>{from.dataset_version ?? 'not recorded'}</dd>
            <dt>Code</dt>
            <dd title={from.git_commit}>commit {from.git_commit.slice(0, 12)}{from.git_commit.endsWith('-dirty') ? ' (uncommitted changes)' : ''}</dd>
            <dt>Pipeline execution</dt>
            <dd>{from.pipeline_execution_id}</dd>
          </>
        )}
      </dl>
      {details.per_class === null ? (
        <p className="muted">No per-digit figures were recorded for this version.</p>
      ) : (
        <PerClass rows={details.per_class} />
      )}
      <Picture src={sources.confusion_matrix} alt="Confusion matrix on the test split" testId="confusion-matrix" missing={missing} />
      <Picture src={sources.training_curves} alt="Training curves: loss and accuracy per epoch" testId="training-curves" missing={missing} />
      {sources.report === null ? (
        <p className="muted">No run report for this version.</p>
      ) : reportFile === undefined ? (
        <a href={sources.report} target="_blank" rel="noopener noreferrer" data-testid="report-link">
          Full run report
        </a>
      ) : (
        <p className="muted">
          <a href={sources.report} download={reportFile} data-testid="report-link">
            Save the full run report
          </a>{' '}
          (this browser cannot open the stored copy apart from the app here; open the saved file instead)
        </p>
      )}
    </div>
  );
}

/** Details of a listed version: pictures and report straight from their presigned links. */
export function ListedModelDetails({ model, onRefresh }: { model: ModelVersion; onRefresh: () => void }) {
  const links = linksOf(model);
  const expired = ATTACHMENTS.some((name) => {
    const link = links[name];
    return link !== null && !isFresh(link);
  });
  if (expired) {
    return (
      <p className="muted" data-testid={`details-${model.version}`}>
        The links to this version&apos;s pictures have expired.{' '}
        <button type="button" className="secondary" onClick={onRefresh}>
          Refresh the list
        </button>
      </p>
    );
  }
  const sources = { ...NO_SOURCES };
  for (const name of ATTACHMENTS) sources[name] = links[name]?.url ?? null;
  return (
    <ModelDetailsView
      details={detailsOf(model)}
      sources={sources}
      missing="The pipeline left no such picture next to this model."
      testId={`details-${model.version}`}
    />
  );
}

/**
 * Details of a stored version, from what was kept with it: works offline. The pictures are
 * Blob URLs; the run report is never one (it would run in the site's origin): the service
 * worker serves it sandboxed (src/storedReport.ts), and without a service worker in control
 * (a private window of some browsers) the report can only be saved as a file.
 */
export function StoredModelDetails({
  model,
  load,
}: {
  model: StoredModel;
  load: (sha256: string) => Promise<Attachments>;
}) {
  const [sources, setSources] = useState<Sources | null>(null);
  const sandboxed = typeof navigator.serviceWorker === 'object' && navigator.serviceWorker.controller !== null;
  useEffect(() => {
    let urls: string[] = [];
    let live = true;
    load(model.sha256).then(
      (blobs) => {
        if (!live) return;
        const found = { ...NO_SOURCES };
        for (const name of ATTACHMENTS) {
          const blob = blobs[name];
          if (blob === undefined) continue;
          found[name] =
            name === 'report' && sandboxed ? storedReportUrl(model.sha256, document.baseURI) : URL.createObjectURL(blob);
        }
        urls = Object.values(found).filter((url) => url?.startsWith('blob:') === true) as string[];
        setSources(found);
      },
      () => {
        if (live) setSources(NO_SOURCES);
      },
    );
    return () => {
      live = false;
      for (const url of urls) URL.revokeObjectURL(url);
    };
  }, [model.sha256, load, sandboxed]);
  if (sources === null) return <p className="muted">Reading the stored details…</p>;
  return (
    <ModelDetailsView
      details={storedDetails(model)}
      sources={sources}
      missing="No copy of this picture was kept with the stored model."
      testId={`stored-details-${model.version}`}
      reportFile={sandboxed ? undefined : `run-report-v${model.version}.html`}
    />
  );
}
