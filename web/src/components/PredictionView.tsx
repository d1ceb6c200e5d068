import { useEffect, useRef } from 'react';
import type { Prediction } from '../runtime';

interface Props {
  readonly prediction: Prediction | null;
  readonly input: Float32Array | null;
}

/** Probability bars 0-9, the inference time, and the 28x28 image the model saw. */
export function PredictionView({ prediction, input }: Props) {
  const previewRef = useRef<HTMLCanvasElement>(null);

  useEffect(() => {
    const ctx = previewRef.current?.getContext('2d');
    if (ctx == null) return;
    const image = ctx.createImageData(28, 28);
    for (let k = 0; k < 28 * 28; k++) {
      const v = Math.round((input?.[k] ?? 0) * 255);
      image.data.set([v, v, v, 255], k * 4);
    }
    ctx.putImageData(image, 0, 0);
  }, [input]);

  return (
    <section className="prediction" aria-label="Prediction">
      <div className="answer">
        <span className="digit" data-testid="prediction">
          {prediction === null ? '–' : prediction.digit}
        </span>
        <span className="meta">
          {prediction === null
            ? 'Draw a digit'
            : `${((prediction.probabilities[prediction.digit] ?? 0) * 100).toFixed(1)}% sure · `}
          {prediction !== null && (
            <span data-testid="inference-time">{prediction.milliseconds.toFixed(2)} ms</span>
          )}
        </span>
      </div>
      <ol className="bars">
        {Array.from({ length: 10 }, (_, digit) => {
          const p = prediction?.probabilities[digit] ?? 0;
          return (
            <li key={digit} className={prediction?.digit === digit ? 'best' : ''}>
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
        <canvas ref={previewRef} width={28} height={28} data-testid="preview" />
        <figcaption>What the model sees (28×28)</figcaption>
      </figure>
    </section>
  );
}
