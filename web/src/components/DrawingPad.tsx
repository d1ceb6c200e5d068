import { useCallback, useEffect, useRef } from 'react';
import { StrokeTracker, type PointerPhase, type PointerSample } from '../strokeTracker';

const SIZE = 280;
// A thin pen, so that a small digit keeps its loops; the preprocessing (spec v2) redraws the
// strokes at MNIST's width, so the pen's width does not reach the model.
const PEN_WIDTH = 8;

interface Props {
  readonly disabled: boolean;
  readonly onStrokeEnd: (image: ImageData) => void;
  readonly onClear: () => void;
}

/**
 * A white-on-black canvas for mouse, touch and pen (pointer events); reports each finished
 * stroke. Which pointer may draw is StrokeTracker's decision (one per stroke, no palms).
 */
export function DrawingPad({ disabled, onStrokeEnd, onClear }: Props) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const last = useRef<{ x: number; y: number } | null>(null);
  const before = useRef<ImageData | null>(null);
  const tracker = useRef(new StrokeTracker());

  const context = useCallback(() => canvasRef.current?.getContext('2d', { willReadFrequently: true }) ?? null, []);

  const clear = useCallback(() => {
    const ctx = context();
    if (ctx === null) return;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, SIZE, SIZE);
  }, [context]);

  useEffect(clear, [clear]);

  const point = (event: React.PointerEvent<HTMLCanvasElement> | PointerEvent) => {
    const rect = (event.target as HTMLCanvasElement).getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) / rect.width) * SIZE,
      y: ((event.clientY - rect.top) / rect.height) * SIZE,
    };
  };

  const line = (from: { x: number; y: number }, to: { x: number; y: number }) => {
    const ctx = context();
    if (ctx === null) return;
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = PEN_WIDTH;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x, to.y);
    ctx.stroke();
  };

  // Where a stroke starts: a round dot as wide as the pen. (A zero-length line draws nothing
  // in Chromium, so a tap would leave a blank pad instead of the dot the person made.)
  const dot = (at: { x: number; y: number }) => {
    const ctx = context();
    if (ctx === null) return;
    ctx.lineWidth = PEN_WIDTH;
    ctx.fillStyle = '#fff';
    ctx.beginPath();
    ctx.arc(at.x, at.y, ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
  };

  const sample = (event: PointerEvent, phase: PointerPhase): PointerSample => ({
    phase,
    pointerId: event.pointerId,
    pointerType: event.pointerType,
    width: event.width,
    height: event.height,
    button: event.button,
    time: event.timeStamp,
  });

  // The canvas as it was before the stroke in progress, to take that stroke back when it
  // turns out to be a palm or a pen takes over.
  const restore = () => {
    const ctx = context();
    if (ctx !== null && before.current !== null) ctx.putImageData(before.current, 0, 0);
  };

  const begin = (event: React.PointerEvent<HTMLCanvasElement>) => {
    const ctx = context();
    before.current = ctx === null ? null : ctx.getImageData(0, 0, SIZE, SIZE);
    event.currentTarget.setPointerCapture(event.pointerId);
    const p = point(event);
    last.current = p;
    dot(p);
  };

  const down = (event: React.PointerEvent<HTMLCanvasElement>) => {
    if (disabled) return;
    event.preventDefault();
    const decision = tracker.current.handle(sample(event.nativeEvent, 'down'));
    if (decision.action === 'takeover') restore();
    if (decision.action === 'start' || decision.action === 'takeover') begin(event);
  };

  const move = (event: React.PointerEvent<HTMLCanvasElement>) => {
    const decision = tracker.current.handle(sample(event.nativeEvent, 'move'));
    if (decision.action === 'discard') {
      restore();
      last.current = null;
      return;
    }
    if (decision.action !== 'draw' || last.current === null) return;
    // Coalesced events keep fast pen and touch strokes smooth.
    const native: Partial<Pick<PointerEvent, 'getCoalescedEvents'>> = event.nativeEvent;
    const events = native.getCoalescedEvents?.call(event.nativeEvent) ?? [];
    for (const e of events.length > 0 ? events : [event.nativeEvent]) {
      const p = point(e);
      line(last.current, p);
      last.current = p;
    }
  };

  const end = (event: React.PointerEvent<HTMLCanvasElement>, phase: 'up' | 'cancel') => {
    if (tracker.current.handle(sample(event.nativeEvent, phase)).action !== 'end') return;
    last.current = null;
    before.current = null;
    const ctx = context();
    if (ctx !== null) onStrokeEnd(ctx.getImageData(0, 0, SIZE, SIZE));
  };

  return (
    <div className="pad">
      {disabled && <p className="pad-hint">Choose a model to start drawing</p>}
      <canvas
        ref={canvasRef}
        width={SIZE}
        height={SIZE}
        data-testid="drawing"
        aria-label="Drawing area: draw one digit"
        className={disabled ? 'disabled' : ''}
        onPointerDown={down}
        onPointerMove={move}
        onPointerUp={(event) => {
          end(event, 'up');
        }}
        onPointerCancel={(event) => {
          end(event, 'cancel');
        }}
        // The stroke's pointer can lose its capture without an up (the window lost focus):
        // end the stroke then too, or the pad would wait for that pointer forever.
        onLostPointerCapture={(event) => {
          end(event, 'cancel');
        }}
      />
      <button
        type="button"
        onClick={() => {
          clear();
          tracker.current.reset();
          last.current = null;
          onClear();
        }}
      >
        Clear
      </button>
    </div>
  );
}
