import { useEffect, useMemo, useState } from 'react';
import { correctionFrom, FeedbackSender, type Outcome } from '../feedbackQueue';
import { SPEC_VERSION } from '../preprocessing';
import { CLASS_COUNT } from '../contract';
import type { Prediction } from '../runtime';

interface Props {
  /** Where corrections go; null: the site has no feedback service configured. */
  readonly feedbackUrl: string | null;
  /** Whether the model service answered its last request: the queue is sent when it does. */
  readonly reachable: boolean;
  /** The model in use. */
  readonly model: { readonly version: number; readonly sha256: string } | null;
  readonly prediction: Prediction | null;
  /** The 28x28 input the model saw for `prediction`. */
  readonly input: Float32Array | null;
}

const DIGITS = Array.from({ length: CLASS_COUNT }, (_, digit) => digit);

function said(outcome: Outcome): string {
  if (outcome.status === 'sent') return outcome.duplicate ? 'Sent (already received before), thank you' : 'Sent, thank you';
  if (outcome.status === 'queued') return 'Queued, will send when online';
  return `Not sent: ${outcome.message}`;
}

/**
 * "Right" and "Wrong? It was a …" under a prediction: sends the correction (the model's input
 * as bytes, the predicted and the corrected digit, the model and the spec version; nothing
 * about the person), or queues it when the service cannot be reached and sends the queue when the
 * service answers again (or the browser says it is back online). One correction per prediction.
 */
export function Feedback({ feedbackUrl, reachable, model, prediction, input }: Props) {
  const sender = useMemo(() => (feedbackUrl === null ? null : new FeedbackSender(feedbackUrl)), [feedbackUrl]);
  // The outcome belongs to the input it corrected: a new drawing shows the buttons again.
  const [answered, setAnswered] = useState<{ readonly input: Float32Array; readonly outcome: Outcome } | null>(null);
  const [waiting, setWaiting] = useState(0);
  const outcome = answered !== null && answered.input === input ? answered.outcome : null;

  useEffect(() => {
    if (sender === null) return;
    const flush = () => {
      void sender
        .flush()
        .catch(() => undefined)
        .then(() => sender.queue.list())
        .then((left) => {
          setWaiting(left.length);
          // The correction shown as queued has gone out if it left the queue.
          setAnswered((before) =>
            before?.outcome.status === 'queued' && !left.some((item) => item.id === before.outcome.id)
              ? { ...before, outcome: { status: 'sent', id: before.outcome.id, duplicate: false } }
              : before,
          );
        })
        .catch(() => undefined);
    };
    flush();
    window.addEventListener('online', flush);
    return () => {
      window.removeEventListener('online', flush);
    };
  }, [sender, reachable]);

  if (sender === null || model === null || prediction === null || input === null || !input.some((v) => v > 0)) return null;

  const send = async (label: number) => {
    const correction = correctionFrom(input, prediction.digit, label, model, SPEC_VERSION);
    let result: Outcome;
    try {
      result = await sender.send(correction);
    } catch (e) {
      result = { status: 'refused', id: '', message: e instanceof Error ? e.message : String(e) };
    }
    setAnswered({ input, outcome: result });
    setWaiting((await sender.queue.list().catch(() => [])).length);
  };

  const done = outcome !== null;
  return (
    <section className="feedback" aria-label="Feedback">
      <button type="button" disabled={done} onClick={() => void send(prediction.digit)} data-testid="feedback-right">
        Right
      </button>
      <span className="wrong">
        Wrong? It was a{' '}
        {DIGITS.map((digit) => (
          <button
            key={digit}
            type="button"
            disabled={done}
            aria-label={`It was a ${digit}`}
            data-testid={`feedback-label-${digit}`}
            onClick={() => void send(digit)}
          >
            {digit}
          </button>
        ))}
      </span>
      <p className="muted" role="status" data-testid="feedback-status" data-status={outcome?.status ?? 'none'}>
        {outcome !== null && said(outcome)}
        {waiting > 0 && `${outcome !== null ? ' · ' : ''}${waiting} waiting to be sent`}
      </p>
    </section>
  );
}
