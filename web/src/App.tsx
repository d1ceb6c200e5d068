import { useCallback, useEffect, useRef, useState } from 'react';
import { ModelApi, type ModelVersion } from './api/client';
import { verifySha256 } from './checksum';
import { loadConfig } from './config';
import { checkListedSpec, ModelContractError } from './contract';
import { downloadWithProgress } from './download';
import { ModelStore, StorageError, toStoredModel, type StoredModel } from './modelStore';
import { grayFromImageData, preprocess } from './preprocessing';
import { ModelSession, warmUpRuntime, type Prediction } from './runtime';
import { DrawingPad } from './components/DrawingPad';
import { ModelsPanel, type Busy, type Listing } from './components/ModelsPanel';
import { PredictionView } from './components/PredictionView';

const store = new ModelStore();

interface Active {
  readonly sha256: string;
  readonly version: number;
  readonly session: ModelSession;
}

/** Timings and a batch classifier for the benchmark and the end-to-end test. */
interface Automation {
  /** When the wasm runtime finished starting (page load). */
  warmedAt: number | null;
  chosenAt: number | null;
  readyAt: number | null;
  firstPredictionAt: number | null;
  /** Predictions shown so far (one per finished stroke). */
  predictions: number;
  classify: (batch: Float32Array, count: number) => Promise<number[]>;
}

declare global {
  interface Window {
    __digitRecogniser?: Automation;
  }
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

export function App() {
  const [api, setApi] = useState<ModelApi | null>(null);
  const [listing, setListing] = useState<Listing>({ status: 'loading' });
  const [stored, setStored] = useState<StoredModel[]>([]);
  const [active, setActive] = useState<Active | null>(null);
  const [busy, setBusy] = useState<Busy | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [prediction, setPrediction] = useState<Prediction | null>(null);
  const [input, setInput] = useState<Float32Array | null>(null);
  const [online, setOnline] = useState(navigator.onLine);
  const activeRef = useRef<Active | null>(null);
  // One inference at a time: strokes can end faster than a run completes.
  const queue = useRef<Promise<unknown>>(Promise.resolve());
  const automation = useRef<Automation>({
    warmedAt: null,
    chosenAt: null,
    readyAt: null,
    firstPredictionAt: null,
    predictions: 0,
    classify: (batch, count) => {
      const session = activeRef.current?.session;
      if (session === undefined) return Promise.reject(new Error('no model in use'));
      const run = queue.current.then(() => session.classify(batch, count));
      queue.current = run.catch(() => undefined);
      return run;
    },
  });

  useEffect(() => {
    window.__digitRecogniser = automation.current;
    void warmUpRuntime().then(() => {
      automation.current.warmedAt = performance.now();
    });
  }, []);

  const refreshStored = useCallback(async () => {
    try {
      setStored(await store.list());
    } catch (e) {
      setError(message(e));
    }
  }, []);

  const refreshListing = useCallback(async (client: ModelApi | null) => {
    if (client === null) {
      setListing({ status: 'unconfigured' });
      return;
    }
    setListing({ status: 'loading' });
    try {
      setListing({ status: 'ok', models: await client.listModels() });
    } catch (e) {
      setListing({ status: 'error', message: message(e) });
    }
  }, []);

  useEffect(() => {
    void (async () => {
      await refreshStored();
      try {
        const config = await loadConfig();
        const client = config.apiUrl === null ? null : new ModelApi(config.apiUrl);
        setApi(client);
        await refreshListing(client);
      } catch (e) {
        setListing({ status: 'error', message: message(e) });
      }
    })();
  }, [refreshStored, refreshListing]);

  useEffect(() => {
    const up = () => {
      setOnline(true);
      void refreshListing(api);
    };
    const down = () => {
      setOnline(false);
    };
    window.addEventListener('online', up);
    window.addEventListener('offline', down);
    return () => {
      window.removeEventListener('online', up);
      window.removeEventListener('offline', down);
    };
  }, [api, refreshListing]);

  const activate = async (sha256: string, version: number, bytes: Uint8Array) => {
    setBusy({ sha256, phase: 'loading', progress: null });
    const session = await ModelSession.create(bytes);
    const previous = activeRef.current;
    const next = { sha256, version, session };
    activeRef.current = next;
    setActive(next);
    setPrediction(null);
    automation.current.readyAt = performance.now();
    if (previous !== null) void previous.session.release();
  };

  const begin = (sha256: string) => {
    setError(null);
    setNotice(null);
    automation.current.chosenAt = performance.now();
    automation.current.readyAt = null;
    automation.current.firstPredictionAt = null;
    setBusy({ sha256, phase: 'loading', progress: null });
  };

  const openStored = async (model: StoredModel) => {
    begin(model.sha256);
    try {
      const bytes = await store.bytes(model.sha256);
      if (bytes === null) throw new StorageError('unavailable', 'the stored file is missing');
      setBusy({ sha256: model.sha256, phase: 'verifying', progress: null });
      await verifySha256(bytes, model.sha256);
      await activate(model.sha256, model.version, bytes);
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(null);
    }
  };

  const choose = async (listed: ModelVersion) => {
    const kept = stored.find((m) => m.sha256 === listed.sha256);
    if (kept !== undefined) {
      await openStored(kept);
      return;
    }
    begin(listed.sha256);
    try {
      const problems = checkListedSpec(listed.input_spec);
      if (problems.length > 0) throw new ModelContractError(problems);
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
      await activate(model.sha256, model.version, bytes);
      try {
        await store.put(toStoredModel(model), bytes);
        await refreshStored();
      } catch (e) {
        setNotice(`The model is in use but will not work offline: ${message(e)}`);
      }
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(null);
    }
  };

  const remove = async (model: StoredModel) => {
    setError(null);
    try {
      if (activeRef.current?.sha256 === model.sha256) {
        const current = activeRef.current;
        activeRef.current = null;
        setActive(null);
        setPrediction(null);
        void current.session.release();
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
    const tensor = preprocess(grayFromImageData(image));
    setInput(tensor);
    const run = queue.current.then(async () => {
      try {
        const result = await current.session.predict(tensor);
        if (activeRef.current !== current) return;
        automation.current.firstPredictionAt ??= performance.now();
        automation.current.predictions += 1;
        setPrediction(result);
      } catch (e) {
        setError(message(e));
      }
    });
    queue.current = run;
  };

  return (
    <div className="app">
      <header className="top">
        <h1>Digit recogniser</h1>
        <span className={online ? 'status online' : 'status offline'} data-testid="network-status">
          {online ? 'online' : 'offline'}
        </span>
        <span className="status" data-testid="active-model">
          {active === null ? 'no model in use' : `model v${active.version}`}
        </span>
      </header>
      {error !== null && (
        <p className="error" role="alert" data-testid="error">
          {error}
        </p>
      )}
      {notice !== null && (
        <p className="warning" role="status">
          {notice}
        </p>
      )}
      <main>
        <ModelsPanel
          listing={listing}
          stored={stored}
          activeSha={active?.sha256 ?? null}
          busy={busy}
          onChoose={(m) => void choose(m)}
          onUseStored={(m) => void openStored(m)}
          onRemove={(m) => void remove(m)}
          onRefresh={() => void refreshListing(api)}
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
        </section>
      </main>
    </div>
  );
}
