import { useCallback, useEffect, useRef } from 'react';

const SIZE = 280;
// A thin pen, so that a small digit keeps its loops; the preprocessing (spec v2) redraws the
// strokes at MNIST's width, so the pen's width does not reach the model.
const PEN_WIDTH = 8;

interface Props {
  readonly disabled: boolean;
  readonly onStrokeEnd: (image: ImageData) => void;
  readonly onClear: () => void;
}

/** A white-on-black canvas for mouse, touch and pen (pointer events); reports each finished stroke. */
export function DrawingPad({ disabled, onStrokeEnd, onClear }: Props) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const last = useRef<{ x: number; y: number } | null>(null);

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

  const down = (event: React.PointerEvent<HTMLCanvasElement>) => {
    if (disabled) return;
    event.preventDefault();
    event.currentTarget.setPointerCapture(event.pointerId);
    const p = point(event);
    last.current = p;
    line(p, p);
  };

  const move = (event: React.PointerEvent<HTMLCanvasElement>) => {
    if (last.current === null) return;
    // Coalesced events keep fast pen and touch strokes smooth.
    const native: Partial<Pick<PointerEvent, 'getCoalescedEvents'>> = event.nativeEvent;
    const events = native.getCoalescedEvents?.call(event.nativeEvent) ?? [];
    for (const e of events.length > 0 ? events : [event.nativeEvent]) {
      const p = point(e);
      line(last.current, p);
      last.current = p;
    }
  };

  const up = () => {
    if (last.current === null) return;
    last.current = null;
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
        onPointerUp={up}
        onPointerCancel={up}
      />
      <button
        type="button"
        onClick={() => {
          clear();
          onClear();
        }}
      >
        Clear
      </button>
    </div>
  );
}
