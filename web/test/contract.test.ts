import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CLASS_COUNT,
  checkListedSpec,
  checkModelGraph,
  IMAGE_PIXELS,
  IMAGE_SIDE,
  INPUT_SHAPE,
  ModelContractError,
  OUTPUT_SHAPE,
  type ValueInfo,
} from '../src/contract';
import { SPEC_VERSION } from '../src/preprocessing';

const input = (over: Partial<ValueInfo> = {}): ValueInfo => ({
  name: 'input',
  isTensor: true,
  type: 'float32',
  shape: ['N', 1, 28, 28],
  ...over,
});
const output = (over: Partial<ValueInfo> = {}): ValueInfo => ({
  name: 'logits',
  isTensor: true,
  type: 'float32',
  shape: ['N', 10],
  ...over,
});

describe('model graph against the artifact contract', () => {
  it('accepts the contract, with a symbolic or fixed batch of 1', () => {
    expect(checkModelGraph([input()], [output()])).toEqual([]);
    expect(checkModelGraph([input({ shape: [1, 1, 28, 28] })], [output({ shape: [1, 10] })])).toEqual([]);
  });

  it.each([
    ['a flat input', [input({ shape: ['N', 784] })], [output()], /input has shape \[N,784\]/],
    ['a renamed input', [input({ name: 'x' })], [output()], /input is named "x"/],
    ['a float16 input', [input({ type: 'float16' })], [output()], /float16, not float32/],
    ['100 classes', [input()], [output({ shape: ['N', 100] })], /output has shape \[N,100\]/],
    ['two outputs', [input()], [output(), output({ name: 'probs' })], /2 outputs/],
  ])('refuses %s', (_what, inputs, outputs, problem) => {
    const problems = checkModelGraph(inputs, outputs);
    expect(problems.join('; ')).toMatch(problem);
    expect(new ModelContractError(problems).message).toMatch(/does not fit the app and was not used/);
  });
});

describe('listed input spec', () => {
  const spec = { version: SPEC_VERSION, name: 'input', shape: ['N', 1, 28, 28], output: { name: 'logits', shape: ['N', 10] } };

  it('accepts the contract', () => {
    expect(checkListedSpec(spec)).toEqual([]);
  });

  it('refuses another preprocessing version or shape', () => {
    expect(checkListedSpec({ ...spec, version: 1 }).join()).toMatch(/expects preprocessing spec v1, this app implements v2/);
    expect(checkListedSpec({ ...spec, shape: ['N', 28, 28] }).join()).toMatch(/input "input" \[N,28,28\]/);
  });
});

describe('image side and class count', () => {
  const contract = (name: string): string =>
    readFileSync(new URL(`../../contracts/${name}`, import.meta.url), 'utf8');

  it('are the preprocessing spec and the registry entry contract', () => {
    const spec = contract('preprocessing.md');
    expect(spec).toMatch(new RegExp(`\\| \`SIZE\` \\| ${IMAGE_SIDE} \\|`));
    const entry = JSON.parse(contract('fixtures/registry-entry.json')) as Record<string, unknown>;
    const metadata = JSON.stringify(entry);
    expect(metadata).toContain(`"input_shape":"${INPUT_SHAPE.join(':')}"`);
    expect(metadata).toContain(`"output_shape":"${OUTPUT_SHAPE.join(':')}"`);
    expect([IMAGE_SIDE, IMAGE_PIXELS, CLASS_COUNT]).toEqual([28, 784, 10]);
  });
});
