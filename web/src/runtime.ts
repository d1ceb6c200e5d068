/**
 * onnxruntime-web, wasm backend only, with its wasm served by this site (__ORT_DIR__), one
 * thread (no cross-origin isolation needed; the model is small).
 *
 * Two kinds of failure are kept apart, because they ask different things of the person: the
 * runtime not starting (RuntimeUnavailableError: a missing or wrong wasm file, WebAssembly
 * switched off) is never blamed on a model, and a model that the running runtime refuses is
 * a ModelContractError that says what the app expected.
 */
import * as ort from 'onnxruntime-web/wasm';
import {
  CLASS_COUNT,
  checkModelGraph,
  IMAGE_PIXELS,
  IMAGE_SIDE,
  INPUT_NAME,
  ModelContractError,
  OUTPUT_NAME,
} from './contract';
import { diagnoseRuntime, RuntimeUnavailableError } from './runtimeCheck';

const ORT_BASE = new URL(__ORT_DIR__, document.baseURI).href;
/** The files the runtime loads: its JavaScript glue, then the WebAssembly binary. */
export const RUNTIME_FILES = ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'].map(
  (name) => new URL(name, ORT_BASE).href,
);
ort.env.wasm.wasmPaths = ORT_BASE;
ort.env.wasm.numThreads = 1;

// A 70-byte ONNX model (one Identity node, opset 17), made with onnx.helper. Loading it starts
// the wasm runtime (fetch + compile, most of the first model's start-up) while the person is
// still looking at the list, so choosing a model is quicker; and a runtime that cannot start
// is found out before any model is involved.
const WARMUP_MODEL =
  'CAg6PAoQCgF4EgF5IghJZGVudGl0eRIGd2FybXVwWg8KAXgSCgoICAESBAoCCAFiDwoBeRIKCggIARIECgIIAUIECgAQEQ==';

let started: Promise<void> | null = null;

/**
 * Start the wasm runtime; safe to call more than once. Rejects with RuntimeUnavailableError
 * saying what failed. A failure is kept: onnxruntime-web does not retry its start-up within
 * one page, so the page must be reloaded once the cause is fixed.
 */
export function startRuntime(): Promise<void> {
  started ??= (async () => {
    if (typeof WebAssembly !== 'object') throw new RuntimeUnavailableError('WebAssembly is disabled in this browser');
    const bytes = Uint8Array.from(atob(WARMUP_MODEL), (c) => c.charCodeAt(0));
    try {
      const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
      await session.release();
    } catch (error) {
      throw await diagnoseRuntime(error, RUNTIME_FILES);
    }
  })();
  return started;
}

export interface Prediction {
  readonly digit: number;
  readonly probabilities: readonly number[];
  readonly milliseconds: number;
}

export function softmax(logits: ArrayLike<number>): number[] {
  const values = Array.from(logits);
  const max = Math.max(...values);
  const exps = values.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

function argmax(values: ArrayLike<number>, from = 0, count = values.length): number {
  let best = 0;
  for (let k = 1; k < count; k++) {
    if ((values[from + k] ?? -Infinity) > (values[from + best] ?? -Infinity)) best = k;
  }
  return best;
}

export class ModelSession {
  private constructor(private readonly session: ort.InferenceSession) {}

  /**
   * Load a model from its bytes and refuse it (ModelContractError) unless it fits the
   * contract; RuntimeUnavailableError when the runtime itself cannot start.
   */
  static async create(bytes: Uint8Array): Promise<ModelSession> {
    let session: ort.InferenceSession;
    await startRuntime();
    try {
      session = await ort.InferenceSession.create(bytes, {
        executionProviders: ['wasm'],
        graphOptimizationLevel: 'all',
      });
    } catch (error) {
      throw new ModelContractError([
        `it is not a model this runtime can load (${error instanceof Error ? error.message : String(error)})`,
      ]);
    }
    const problems = checkModelGraph(
      session.inputMetadata,
      session.outputMetadata,
    );
    if (problems.length > 0) {
      await session.release();
      throw new ModelContractError(problems);
    }
    const model = new ModelSession(session);
    // One run on a blank digit: the first run of a session is much slower than the rest, and
    // it is better spent here than on the person's first drawing.
    await model.logits(new Float32Array(IMAGE_PIXELS), 1);
    return model;
  }

  /** Predict one preprocessed digit (float32 [1,1,28,28]). */
  async predict(input: Float32Array): Promise<Prediction> {
    const start = performance.now();
    const logits = await this.logits(input, 1);
    const milliseconds = performance.now() - start;
    const probabilities = softmax(logits);
    return { digit: argmax(probabilities), probabilities, milliseconds };
  }

  /** Argmax of each of `count` digits given as one float32 [count,1,28,28] tensor. */
  async classify(batch: Float32Array, count: number): Promise<number[]> {
    const logits = await this.logits(batch, count);
    return Array.from({ length: count }, (_, n) => argmax(logits, n * CLASS_COUNT, CLASS_COUNT));
  }

  private async logits(data: Float32Array, count: number): Promise<Float32Array> {
    const feeds = { [INPUT_NAME]: new ort.Tensor('float32', data, [count, 1, IMAGE_SIDE, IMAGE_SIDE]) };
    const results = await this.session.run(feeds);
    const output = results[OUTPUT_NAME];
    if (output === undefined) throw new ModelContractError([`it returned no "${OUTPUT_NAME}"`]);
    return output.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
