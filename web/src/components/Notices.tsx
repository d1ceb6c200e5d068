import type { ModelVersion } from '../api/client';
import { describeWithdrawal } from '../approval';

/** What happened to the model in use when its version was withdrawn. */
export interface Withdrawn {
  readonly version: number;
  readonly reason: string | null;
  /** The stored version now in use instead, if any. */
  readonly switchedTo: number | null;
  /** The newest approved version to download, when none is stored. */
  readonly offer: ModelVersion | null;
}

interface Props {
  /** The build of a newer site that has taken over, or null. */
  readonly siteUpdate: string | null;
  readonly runtimeError: string | null;
  readonly error: string | null;
  readonly notice: string | null;
  readonly withdrawn: Withdrawn | null;
  /** A newer approved version than the one in use, and whether it is stored here. */
  readonly newer: { readonly version: number; readonly inUse: number; readonly stored: boolean } | null;
  readonly busy: boolean;
  readonly onDownload: (model: ModelVersion) => void;
  readonly onUseNewer: () => void;
}

/** The messages above the app: site update, runtime and other errors, withdrawn and newer versions. */
export function Notices({ siteUpdate, runtimeError, error, notice, withdrawn, newer, busy, onDownload, onUseNewer }: Props) {
  return (
    <>
      {siteUpdate !== null && (
        <p className="warning" role="status" data-testid="site-update">
          A new version of this site is ready.{' '}
          <button
            type="button"
            onClick={() => {
              window.location.reload();
            }}
          >
            Reload
          </button>
        </p>
      )}
      {runtimeError !== null && (
        <p className="error" role="alert" data-testid="runtime-error">
          {runtimeError}
        </p>
      )}
      {error !== null && error !== runtimeError && (
        <p className="error" role="alert" data-testid="error">
          {error}
        </p>
      )}
      {notice !== null && (
        <p className="warning" role="status">
          {notice}
        </p>
      )}
      {withdrawn !== null && (
        <p className="warning" role="status" data-testid="withdrawn-notice">
          Version {withdrawn.version} was {describeWithdrawal(withdrawn.reason)}.{' '}
          {withdrawn.switchedTo !== null
            ? `Now using version ${withdrawn.switchedTo}, the newest approved version stored here.`
            : 'It is no longer in use.'}{' '}
          {withdrawn.offer !== null && (
            <button
              type="button"
              disabled={busy}
              onClick={() => {
                if (withdrawn.offer !== null) onDownload(withdrawn.offer);
              }}
            >
              Download version {withdrawn.offer.version}
            </button>
          )}
        </p>
      )}
      {newer !== null && (
        <p className="warning" role="status" data-testid="newer-version">
          Version {newer.version} is approved and newer than version {newer.inUse} in use.{' '}
          <button type="button" disabled={busy} onClick={onUseNewer}>
            {newer.stored ? `Use version ${newer.version}` : `Download version ${newer.version}`}
          </button>
        </p>
      )}
    </>
  );
}
