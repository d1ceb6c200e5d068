import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiUnreachableError, ModelApi, type ModelVersion } from './api/client';
import { checkStanding, newerApproved, replacementFor } from './approval';
import { ChecksumMismatchError, verifySha256 } from './checksum';
import { loadConfig } from './config';
import { checkListedSpec, ModelContractError } from './contract';
import { fetchAttachments } from './details';
import { downloadWithProgress } from './download';
import {
  ModelStore,
  requestPersistence,
  StorageError,
  storageUsage,
  toStoredModel,
  type StorageUsage,
  type StoredModel,
} from './modelStore';
import { grayFromImageData, prepare } from './preprocessing';
import { ModelSession, startRuntime, type Prediction } from './runtime';
import { registerServiceWorker } from './siteUpdates';
import { DrawingPad } from './components/DrawingPad';
import { ModelsPanel, type Busy, type Listing } from './components/ModelsPanel';
import { Notices, type Withdrawn } from './components/Notices';
import { recallInUse, rememberInUse } from './inUse';
import { PredictionView } from './components/PredictionView';
import { Feedback } from './components/Feedback';

const store = new ModelStore();
const loadAttachments = (sha256: string) => store.attachments(sha256);

interface Active {
  readonly sha256: string;
  readonly version: number;
  readonly session: ModelSession;
  /** Chosen by the person although withdrawn (after the confirm step). */
  readonly knowingly: boolean;
}

/** Timings and a batch classifier for the benchmark and the end-to-end test. */
interface Automation {
  /** When the wasm runtime finished starting (page load). */
  warmedAt: number | null;
  chosenAt: number | null;
  readyAt: number | null;
  firstPredictionAt: number | null;
  /** Model runs whose answer was shown (a tap, a dot or a blank pad runs none). */
  predictions: number;
  /** Finished strokes handled so far: each one's answer, or its "draw a digit", is shown. */
  readings: number;
  classify: (batch: Float32Array, count: number) => Promise<number[]>;
}

declare global {
  interface Window {
    __digitRecogniser?: Automation;
  }
}

/** How often an unreachable model service is asked again, in ms. */
const RECHECK_MS = 10_000;

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

export function App() {
  const [api, setApi] = useState<ModelApi | null>(null);
  const [listing, setListing] = useState<Listing>({ status: 'loading' });
  const [stored, setStored] = useState<StoredModel[]>([]);
  const [active, setActive] = useState<Active | null>(null);
  const [busy, setBusy] = useState<Busy | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [runtimeError, setRuntimeError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [withdrawn, setWithdrawn] = useState<Withdrawn | null>(null);
  const [siteUpdate, setSiteUpdate] = useState<string | null>(null);
  const [noOffline, setNoOffline] = useState<string | null>(null);
  const [storage, setStorage] = useState<StorageUsage | null>(null);
  const [prediction, setPrediction] = useState<Prediction | null>(null);
  const [input, setInput] = useState<Float32Array | null>(null);
  // Whether the model service answered its last request (null before the first): the
  // header's online/offline. Never navigator.onLine, which says nothing about this service.
  const [reachable, setReachable] = useState<boolean | null>(null);
  const [feedbackUrl, setFeedbackUrl] = useState<string | null>(null);
  // Listed versions this page refused (checksum or contract): never announced as an upgrade.
  const [refused, setRefused] = useState<ReadonlySet<string>>(new Set());
  const refusedRef = useRef(refused);
  useEffect(() => {
    refusedRef.current = refused;
  }, [refused]);
  const activeRef = useRef<Active | null>(null);
  // One inference at a time: strokes can end faster than a run completes.
  const queue = useRef<Promise<unknown>>(Promise.resolve());
  // Resuming the last model and reviewing stored models against the API, one at a time, so
  // a withdrawal found by the review is never undone by a resume that was still loading.
  const lifecycle = useRef<Promise<unknown>>(Promise.resolve());
  const automation = useRef<Automation>({
    warmedAt: null,
    chosenAt: null,
    readyAt: null,
    firstPredictionAt: null,
    predictions: 0,
    readings: 0,
    classify: (batch, count) => {
      const session = activeRef.current?.session;
      if (session === undefined) return Promise.reject(new Error('no model in use'));
      const run = queue.current.then(() => session.classify(batch, count));
      queue.current = run.catch(() => undefined);
      return run;
    },
  });

  const serially = useCallback((step: () => Promise<void>) => {
    const next = lifecycle.current.then(step);
    lifecycle.current = next.catch(() => undefined);
    return next;
  }, []);

  const refreshStorage = useCallback(async () => {
    setStorage(await storageUsage().catch(() => null));
  }, []);

  const refreshStored = useCallback(async (): Promise<StoredModel[]> => {
    try {
      const list = await store.list();
      setStored(list);
      return list;
    } catch (e) {
      setError(message(e));
      return [];
    } finally {
      void refreshStorage();
    }
  }, [refreshStorage]);

  const release = useCallback(() => {
    const current = activeRef.current;
    if (current === null) return;
    activeRef.current = null;
    setActive(null);
    setPrediction(null);
    void current.session.release();
  }, []);

  const activate = useCallback(async (sha256: string, version: number, bytes: Uint8Array, knowingly: boolean) => {
    setBusy({ sha256, phase: 'loading', progress: null });
    const session = await ModelSession.create(bytes);
    const previous = activeRef.current;
    const next = { sha256, version, session, knowingly };
    activeRef.current = next;
    setActive(next);
    setPrediction(null);
    rememberInUse({ sha256, knowingly });
    automation.current.readyAt = performance.now();
    if (previous !== null) void previous.session.release();
  }, []);

  const begin = useCallback((sha256: string) => {
    setError(null);
    setNotice(null);
    automation.current.chosenAt = performance.now();
    automation.current.readyAt = null;
    automation.current.firstPredictionAt = null;
    setBusy({ sha256, phase: 'loading', progress: null });
  }, []);

  /** Use a stored model; a withdrawn one only when the person chose it knowingly. */
  const openStored = useCallback(
    async (model: StoredModel, knowingly: boolean): Promise<boolean> => {
      if (model.withdrawn !== undefined && !knowingly) return false;
      begin(model.sha256);
      try {
        const bytes = await store.bytes(model.sha256);
        if (bytes === null) throw new StorageError('unavailable', 'the stored file is missing');
        setBusy({ sha256: model.sha256, phase: 'verifying', progress: null });
        await verifySha256(bytes, model.sha256);
        await activate(model.sha256, model.version, bytes, knowingly);
        if (model.withdrawn === undefined) setWithdrawn(null);
        return true;
      } catch (e) {
        setError(message(e));
        return false;
      } finally {
        setBusy(null);
      }
    },
    [activate, begin],
  );

  /**
   * The model in use was withdrawn (or the one used last time was): switch to the newest
   * approved version stored here, else stop and offer the newest approved one to download.
   */
  const replaceWithdrawn = useCallback(
    async (gone: StoredModel, list: readonly StoredModel[], approved: readonly ModelVersion[]) => {
      if (activeRef.current?.sha256 === gone.sha256) release();
      const offerable = approved.filter((m) => !refusedRef.current.has(m.sha256) && checkListedSpec(m.input_spec).length === 0);
      const { use, offer } = replacementFor(gone, list, offerable);
      const switched = use !== null && (await openStored(use, false));
      setWithdrawn({
        version: gone.version,
        reason: gone.withdrawn?.reason ?? null,
        switchedTo: switched ? use.version : null,
        offer,
      });
    },
    [openStored, release],
  );

  /** Ask the API about every stored model; mark the withdrawn ones and stop using them. */
  const review = useCallback(
    (client: ModelApi, approved: readonly ModelVersion[]) =>
      serially(async () => {
        for (const model of await store.list().catch(() => [])) {
          const standing = await checkStanding(model, approved, (v) => client.getModel(v));
          if (standing.kind === 'withdrawn' && model.withdrawn?.reason !== standing.reason) {
            await store.setWithdrawn(model.sha256, { noticed_at: new Date().toISOString(), reason: standing.reason });
          } else if (standing.kind === 'approved' && model.withdrawn !== undefined) {
            await store.setWithdrawn(model.sha256, null);
          }
        }
        const list = await refreshStored();
        // The model in use, or with none in use the one used last time: a reload after a
        // withdrawal reopens nothing (resume), and only the listing can name what to offer.
        const current = activeRef.current ?? recallInUse();
        const mine = list.find((m) => m.sha256 === current?.sha256);
        if (current !== null && !current.knowingly && mine?.withdrawn !== undefined) {
          await replaceWithdrawn(mine, list, approved);
        }
      }),
    [refreshStored, replaceWithdrawn, serially],
  );

  const refreshListing = useCallback(
    async (client: ModelApi | null) => {
      if (client === null) {
        setListing({ status: 'unconfigured' });
        return;
      }
      setListing((before) => (before.status === 'ok' ? before : { status: 'loading' }));
      let models: ModelVersion[];
      try {
        models = await client.listModels();
      } catch (e) {
        // No answer at all is "offline"; an answer, even an error status, means reachable.
        const unreachable = e instanceof ApiUnreachableError;
        setReachable(!unreachable);
        setListing(unreachable ? { status: 'offline' } : { status: 'error', message: message(e) });
        return;
      }
      setReachable(true);
      setListing({ status: 'ok', models });
      await review(client, models);
    },
    [review],
  );

  /** Open the model used last time, or the newest usable one if that was withdrawn since. */
  const resume = useCallback(
    () =>
      serially(async () => {
        const remembered = recallInUse();
        if (remembered === null || activeRef.current !== null) return;
        const list = await store.list().catch(() => []);
        const model = list.find((m) => m.sha256 === remembered.sha256);
        if (model === undefined) return;
        if (model.withdrawn !== undefined && !remembered.knowingly) {
          await replaceWithdrawn(model, list, []);
          return;
        }
        await openStored(model, remembered.knowingly);
      }),
    [openStored, replaceWithdrawn, serially],
  );

  useEffect(() => {
    window.__digitRecogniser = automation.current;
    startRuntime().then(
      () => {
        automation.current.warmedAt = performance.now();
      },
      (e: unknown) => {
        setRuntimeError(message(e));
      },
    );
    if (import.meta.env.PROD) registerServiceWorker(setSiteUpdate, setNoOffline);
  }, []);

  useEffect(() => {
    void (async () => {
      await refreshStored();
      void resume();
      try {
        const config = await loadConfig();
        const client = config.apiUrl === null ? null : new ModelApi(config.apiUrl);
        setApi(client);
        setFeedbackUrl(config.feedbackUrl);
        await refreshListing(client);
      } catch (e) {
        setListing({ status: 'error', message: message(e) });
      }
    })();
  }, [refreshStored, refreshListing, resume]);

  // The browser's online and offline events only prompt a new question to the service; while
  // it cannot be reached, it is asked again every RECHECK_MS.
  useEffect(() => {
    const check = () => void refreshListing(api);
    window.addEventListener('online', check);
    window.addEventListener('offline', check);
    const timer = reachable === false && api !== null ? window.setInterval(check, RECHECK_MS) : undefined;
    return () => {
      window.removeEventListener('online', check);
      window.removeEventListener('offline', check);
      window.clearInterval(timer);
    };
  }, [api, reachable, refreshListing]);

  const choose = async (listed: ModelVersion) => {
    // Listed means approved: a stored copy is used even if it was marked withdrawn before.
    const kept = stored.find((m) => m.sha256 === listed.sha256);
    if (kept !== undefined) {
      await openStored(kept, true);
      return;
    }
    begin(listed.sha256);
    try {
      const problems = checkListedSpec(listed.input_spec);
      if (problems.length > 0) throw new ModelContractError(problems);
      // No download that could not be run: a runtime that cannot start says so first.
      await startRuntime();
      // The presigned URL is short-lived: ask for a fresh one if the list is old.
      const model =
        Date.parse(listed.download_url_expires_at) - Date.now() < 10_000 && api !== null
          ? await api.getModel(listed.version)
          : listed;
      const bytes = await downloadWithProgress(model.download_url, model.size_bytes, (progress) => {
        setBusy({ sha256: model.sha256, phase: 'downloading', progress });
      });
      setBusy({ sha256: model.sha256, phase: 'verifying', progress: null });
      await verifySha256(bytes, model.sha256);
      await activate(model.sha256, model.version, bytes, false);
      setWithdrawn(null);
      try {
        // The details view's report and pictures are kept with it, for offline use.
        const attachments = await fetchAttachments(model);
        await store.put(toStoredModel(model, new Date(), attachments), bytes, attachments);
        // Ask once there is something worth keeping; the answer shows in the storage line.
        await requestPersistence();
        await refreshStored();
      } catch (e) {
        setNotice(`The model is in use but will not work offline: ${message(e)}`);
      }
    } catch (e) {
      if (e instanceof ModelContractError || e instanceof ChecksumMismatchError) {
        setRefused((before) => new Set(before).add(listed.sha256));
      }
      setError(message(e));
    } finally {
      setBusy(null);
    }
  };

  const remove = async (model: StoredModel) => {
    setError(null);
    try {
      if (activeRef.current?.sha256 === model.sha256) {
        release();
        rememberInUse(null);
      }
      await store.remove(model.sha256);
      await refreshStored();
    } catch (e) {
      setError(message(e));
    }
  };

  const recognise = (image: ImageData) => {
    const current = activeRef.current;
    if (current === null) {
      setError('Choose a model first: download one from the list, or use a stored one.');
      return;
    }
    const prepared = prepare(grayFromImageData(image));
    setInput(prepared.input);
    const run = queue.current.then(async () => {
      try {
        // Spec v2: the model runs only on a digit; a tap, a dot or nothing shows "draw a digit".
        if (prepared.status !== 'digit') {
          if (activeRef.current === current) setPrediction(null);
          return;
        }
        const result = await current.session.predict(prepared.input);
        if (activeRef.current !== current) return;
        automation.current.firstPredictionAt ??= performance.now();
        automation.current.predictions += 1;
        setPrediction(result);
      } catch (e) {
        setError(message(e));
      } finally {
        automation.current.readings += 1;
      }
    });
    queue.current = run;
  };

  // Only versions this app can run, and did not refuse, are worth announcing.
  const approved =
    listing.status === 'ok'
      ? listing.models.filter((m) => !refused.has(m.sha256) && checkListedSpec(m.input_spec).length === 0)
      : [];
  const newer = active === null ? null : newerApproved(approved, active.version);
  const newerStored = newer === null ? undefined : stored.find((m) => m.sha256 === newer.sha256);

  return (
    <div className="app">
      <header className="top">
        <h1>Digit recogniser</h1>
        <span
          className={reachable === false ? 'status offline' : 'status online'}
          data-testid="network-status"
          title="Whether the model service answered its last request"
        >
          {reachable === null ? 'connecting' : reachable ? 'online' : 'offline'}
        </span>
        <span className="status" data-testid="active-model">
          {active === null ? 'no model in use' : `model v${active.version}${active.knowingly ? ' (withdrawn)' : ''}`}
        </span>
      </header>
      <Notices
        siteUpdate={siteUpdate}
        runtimeError={runtimeError}
        error={error}
        notice={notice}
        withdrawn={withdrawn}
        newer={newer === null || active === null ? null : { version: newer.version, inUse: active.version, stored: newerStored !== undefined }}
        busy={busy !== null}
        onDownload={(m) => void choose(m)}
        onUseNewer={() => {
          if (newer !== null) void choose(newer);
        }}
      />
      {noOffline !== null && (
        <p className="warning" role="status" data-testid="no-offline">
          This page will not open without the network: {noOffline}. Drawing and recognising work
          while it stays open.
        </p>
      )}
      <main>
        <ModelsPanel
          listing={listing}
          stored={stored}
          activeSha={active?.sha256 ?? null}
          busy={busy}
          storage={storage}
          onChoose={(m) => void choose(m)}
          onUseStored={(m, knowingly) => void openStored(m, knowingly)}
          onRemove={(m) => void remove(m)}
          onRefresh={() => void refreshListing(api)}
          loadAttachments={loadAttachments}
        />
        <section className="draw" aria-label="Draw">
          <DrawingPad
            disabled={active === null}
            onStrokeEnd={recognise}
            onClear={() => {
              setPrediction(null);
              setInput(null);
            }}
          />
          <PredictionView prediction={prediction} input={input} />
          <Feedback feedbackUrl={feedbackUrl} reachable={reachable === true} model={active} prediction={prediction} input={input} />
        </section>
      </main>
      <footer className="muted" data-testid="site-build">
        site build {__SITE_BUILD__}
      </footer>
    </div>
  );
}
