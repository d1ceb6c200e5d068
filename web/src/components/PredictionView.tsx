import { useEffect, useRef } from 'react';
import { isSure, MIN_CONFIDENCE } from '../preprocessing';
import { CLASS_COUNT, IMAGE_PIXELS, IMAGE_SIDE } from '../contract';
import type { Prediction } from '../runtime';
import { formatDuration, timerResolution } from '../duration';

// Measured once, on the first answer shown: the step of this browser's clock.
let clockStep: number | null = null;
const resolution = () => (clockStep ??= timerResolution());

interface Props {
  readonly prediction: Prediction | null;
  /** The preprocessed drawing; all zeros when the drawing is not a digit (spec v2, step 5). */
  readonly input: Float32Array | null;
}

/** What the view says: nothing drawn yet, not a digit, a sure reading, or only a guess. */
export type Reading = 'none' | 'not_a_digit' | 'digit' | 'not_sure';

export function reading(prediction: Prediction | null, input: Float32Array | null): Reading {
  if (input === null) return 'none';
  if (!input.some((v) => v > 0)) return 'not_a_digit';
  if (prediction === null) return 'none';
  return isSure(prediction.probabilities) ? 'digit' : 'not_sure';
}

/**
 * The answer, probability bars 0-9, the inference time, and the 28x28 image the model saw.
 * A drawing the preprocessing calls not a digit (a tap, a dot) says "draw a digit" and shows
 * no answer; an answer below MIN_CONFIDENCE is shown as a guess, never as the reading.
 */
export function PredictionView({ prediction, input }: Props) {
  const state = reading(prediction, input);
  const shown = state === 'digit' || state === 'not_sure' ? prediction : null;
  const previewRef = useRef<HTMLCanvasElement>(null);

  useEffect(() => {
    const ctx = previewRef.current?.getContext('2d');
    if (ctx == null) return;
    const image = ctx.createImageData(IMAGE_SIDE, IMAGE_SIDE);
    for (let k = 0; k < IMAGE_PIXELS; k++) {
      const v = Math.round((input?.[k] ?? 0) * 255);
      image.data.set([v, v, v, 255], k * 4);
    }
    ctx.putImageData(image, 0, 0);
  }, [input]);

  return (
    <section className="prediction" aria-label="Prediction">
      <div className="answer">
        <span className="digit" data-testid="prediction" data-reading={state}>
          {shown === null ? '–' : state === 'not_sure' ? '?' : shown.digit}
        </span>
        <span className="meta" data-testid="reading">
          {state === 'none' && 'Draw a digit'}
          {state === 'not_a_digit' && 'Draw a digit: that is too small to read'}
          {state === 'digit' && shown !== null &&
            `${((shown.probabilities[shown.digit] ?? 0) * 100).toFixed(1)}% sure · `}
          {state === 'not_sure' && shown !== null &&
            `Not sure: maybe ${shown.digit} (${((shown.probabilities[shown.digit] ?? 0) * 100).toFixed(1)}%, below ${MIN_CONFIDENCE * 100}%) · `}
          {prediction !== null && (
            <span data-testid="inference-time" data-milliseconds={prediction.milliseconds}>
              {formatDuration(prediction.milliseconds, resolution())}
            </span>
          )}
        </span>
      </div>
      <ol className="bars">
        {Array.from({ length: CLASS_COUNT }, (_, digit) => {
          const p = shown?.probabilities[digit] ?? 0;
          return (
            <li key={digit} className={state === 'digit' && shown?.digit === digit ? 'best' : ''}>
              <span className="label">{digit}</span>
              <span className="bar" role="meter" aria-label={`probability of ${digit}`} aria-valuemin={0} aria-valuemax={1} aria-valuenow={p}>
                <span style={{ width: `${(p * 100).toFixed(1)}%` }} />
              </span>
              <span className="value">{(p * 100).toFixed(1)}%</span>
            </li>
          );
        })}
      </ol>
      <figure className="preview">
        <canvas ref={previewRef} width={IMAGE_SIDE} height={IMAGE_SIDE} data-testid="preview" />
        <figcaption>{`What the model sees (${IMAGE_SIDE}×${IMAGE_SIDE})`}</figcaption>
      </figure>
    </section>
  );
}
