/**
 * The model artifact contract (DESIGN.md): input `input` float32 [N,1,28,28], output `logits`
 * float32 [N,10], preprocessing spec version 1. A model that differs is refused before use.
 */
import type { InputSpec } from './api/client';
import { SIZE, SPEC_VERSION } from './preprocessing';

type Dim = number | string;

/** The side of the model's input image: contracts/preprocessing.md's SIZE. */
export const IMAGE_SIDE = SIZE;
/** Pixels of one input image (IMAGE_SIDE x IMAGE_SIDE, row-major). */
export const IMAGE_PIXELS = IMAGE_SIDE * IMAGE_SIDE;
/** The digits 0-9: the length of the model's `logits`. */
export const CLASS_COUNT = 10;
export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'logits';
export const INPUT_SHAPE: readonly Dim[] = ['N', 1, IMAGE_SIDE, IMAGE_SIDE];
export const OUTPUT_SHAPE: readonly Dim[] = ['N', CLASS_COUNT];

/** What onnxruntime reports about a model input or output. */
export interface ValueInfo {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  readonly shape?: readonly Dim[];
}

export class ModelContractError extends Error {
  override name = 'ModelContractError';
  constructor(readonly problems: readonly string[]) {
    super(
      `This model does not fit the app and was not used: ${problems.join('; ')}. ` +
        `Expected input "${INPUT_NAME}" float32 [${INPUT_SHAPE.join(',')}] and output ` +
        `"${OUTPUT_NAME}" float32 [${OUTPUT_SHAPE.join(',')}].`,
    );
  }
}

function shapeFits(actual: readonly Dim[], expected: readonly Dim[]): boolean {
  if (actual.length !== expected.length) return false;
  // A symbolic dimension (the batch) accepts any size, a fixed batch of 1 included.
  return expected.every((e, i) => typeof e === 'string' || actual[i] === e);
}

const show = (shape: readonly Dim[] | undefined): string =>
  shape === undefined || shape.length === 0 ? 'unknown shape' : `[${shape.join(',')}]`;

/** Problems with what the listing says about a model; empty when it fits. */
export function checkListedSpec(spec: InputSpec): string[] {
  const problems: string[] = [];
  if (spec.version !== SPEC_VERSION) {
    problems.push(`it expects preprocessing spec v${spec.version}, this app implements v${SPEC_VERSION}`);
  }
  if (spec.name !== INPUT_NAME || !shapeFits(spec.shape, INPUT_SHAPE)) {
    problems.push(`the listing gives input "${spec.name}" ${show(spec.shape)}`);
  }
  if (spec.output.name !== OUTPUT_NAME || !shapeFits(spec.output.shape, OUTPUT_SHAPE)) {
    problems.push(`the listing gives output "${spec.output.name}" ${show(spec.output.shape)}`);
  }
  return problems;
}

function checkOne(
  kind: 'input' | 'output',
  values: readonly ValueInfo[],
  name: string,
  shape: readonly Dim[],
): string[] {
  if (values.length !== 1) {
    return [`it has ${values.length} ${kind}s (${values.map((v) => v.name).join(', ')}), not 1`];
  }
  const value = values[0];
  if (value === undefined) return [];
  const problems: string[] = [];
  if (value.name !== name) problems.push(`its ${kind} is named "${value.name}", not "${name}"`);
  if (!value.isTensor || value.type !== 'float32') {
    problems.push(`its ${kind} is ${value.isTensor ? value.type ?? 'untyped' : 'not a tensor'}, not float32`);
  }
  if (value.shape !== undefined && value.shape.length > 0 && !shapeFits(value.shape, shape)) {
    problems.push(`its ${kind} has shape ${show(value.shape)}`);
  }
  return problems;
}

/** Problems with the loaded model's graph; empty when it fits. */
export function checkModelGraph(inputs: readonly ValueInfo[], outputs: readonly ValueInfo[]): string[] {
  return [
    ...checkOne('input', inputs, INPUT_NAME, INPUT_SHAPE),
    ...checkOne('output', outputs, OUTPUT_NAME, OUTPUT_SHAPE),
  ];
}
