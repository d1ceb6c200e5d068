import { describe, expect, it } from 'vitest';
import {
  PALM_MIN_PX,
  PEN_GRACE_MS,
  StrokeTracker,
  type Decision,
  type PointerPhase,
  type PointerSample,
} from '../src/strokeTracker';

let clock = 0;
function sample(
  phase: PointerPhase,
  pointerId: number,
  pointerType = 'touch',
  extra: Partial<PointerSample> = {},
): PointerSample {
  clock += 10;
  const size = pointerType === 'touch' ? 20 : 1;
  return { phase, pointerId, pointerType, width: size, height: size, button: 0, time: clock, ...extra };
}

const actions = (tracker: StrokeTracker, samples: PointerSample[]): string[] =>
  samples.map((s) => {
    const d: Decision = tracker.handle(s);
    return d.action === 'ignore' ? `ignore:${d.reason}` : d.action;
  });

describe('one pointer per stroke', () => {
  it('draws a mouse stroke from down to up', () => {
    const t = new StrokeTracker();
    expect(
      actions(t, [sample('down', 1, 'mouse'), sample('move', 1, 'mouse'), sample('up', 1, 'mouse')]),
    ).toEqual(['start', 'draw', 'end']);
    expect(t.activePointer).toBeNull();
  });

  it('ignores a second finger: it neither draws nor ends the first finger\'s stroke', () => {
    const t = new StrokeTracker();
    expect(
      actions(t, [
        sample('down', 1),
        sample('move', 1),
        sample('down', 2),
        sample('move', 2),
        sample('up', 2),
        sample('move', 1),
        sample('up', 1),
      ]),
    ).toEqual(['start', 'draw', 'ignore:other-pointer', 'ignore:other-pointer', 'ignore:other-pointer', 'draw', 'end']);
  });

  it('lets the second finger draw the next stroke once the first has lifted', () => {
    const t = new StrokeTracker();
    actions(t, [sample('down', 1), sample('up', 1)]);
    expect(actions(t, [sample('down', 2), sample('move', 2), sample('up', 2)])).toEqual(['start', 'draw', 'end']);
  });

  it('ends the stroke on pointercancel of the drawing pointer only', () => {
    const t = new StrokeTracker();
    expect(actions(t, [sample('down', 1), sample('cancel', 9), sample('cancel', 1)])).toEqual([
      'start',
      'ignore:other-pointer',
      'end',
    ]);
  });

  it('does not draw with the right mouse button', () => {
    const t = new StrokeTracker();
    expect(actions(t, [sample('down', 1, 'mouse', { button: 2 }), sample('move', 1, 'mouse')])).toEqual([
      'ignore:not-main-button',
      'ignore:no-stroke',
    ]);
  });
});

describe('palms never draw', () => {
  it('ignores a touch whose contact is palm-sized, before and during a finger stroke', () => {
    const t = new StrokeTracker();
    const palm = { width: PALM_MIN_PX + 30, height: PALM_MIN_PX + 10 };
    expect(
      actions(t, [
        sample('down', 5, 'touch', palm),
        sample('move', 5, 'touch', palm),
        sample('down', 1),
        sample('move', 1),
        sample('up', 5, 'touch', palm),
        sample('up', 1),
      ]),
    ).toEqual(['ignore:palm', 'ignore:no-stroke', 'start', 'draw', 'ignore:other-pointer', 'end']);
  });

  it('accepts a finger just under the palm size', () => {
    const t = new StrokeTracker();
    expect(t.handle(sample('down', 1, 'touch', { width: PALM_MIN_PX - 1, height: 30 })).action).toBe('start');
  });

  it('discards a touch whose contact grows to a palm before it has drawn (a hand landing)', () => {
    const t = new StrokeTracker();
    const palm = { width: PALM_MIN_PX + 20, height: PALM_MIN_PX };
    expect(actions(t, [sample('down', 1), sample('move', 1, 'touch', palm), sample('up', 1)])).toEqual([
      'start',
      'discard',
      'ignore:other-pointer',
    ]);
  });

  it('draws with finger contacts of realistic sizes, Chrome DevTools\' 51.7 px example touch included', () => {
    for (const width of [8, 23, 45, 51.7, 64]) {
      const t = new StrokeTracker();
      expect(
        actions(t, [
          sample('down', 1, 'touch', { width, height: width * 0.8 }),
          sample('move', 1, 'touch', { width, height: width * 0.8 }),
          sample('up', 1, 'touch', { width, height: width * 0.8 }),
        ]),
        `a ${width} px contact`,
      ).toEqual(['start', 'draw', 'end']);
    }
  });

  it('keeps a stroke already drawn when the finger presses harder, and goes on drawing after', () => {
    const t = new StrokeTracker();
    const pressed = { width: PALM_MIN_PX + 10, height: PALM_MIN_PX + 4 };
    expect(
      actions(t, [
        sample('down', 1),
        sample('move', 1),
        sample('move', 1, 'touch', { width: 60, height: 55 }),
        sample('move', 1, 'touch', pressed),
        sample('move', 1, 'touch', { width: 40, height: 40 }),
        sample('up', 1),
      ]),
    ).toEqual(['start', 'draw', 'draw', 'ignore:palm', 'draw', 'end']);
  });
});

describe('a pen outranks touch', () => {
  it('takes over a touch stroke (the hand resting) and keeps drawing with the pen', () => {
    const t = new StrokeTracker();
    expect(
      actions(t, [
        sample('down', 1),
        sample('move', 1),
        sample('down', 7, 'pen'),
        sample('move', 1),
        sample('move', 7, 'pen'),
        sample('up', 1),
        sample('up', 7, 'pen'),
      ]),
    ).toEqual(['start', 'draw', 'takeover', 'ignore:other-pointer', 'draw', 'ignore:other-pointer', 'end']);
  });

  it('ignores touch while the pen is down and shortly after it lifts, not later', () => {
    const t = new StrokeTracker();
    expect(actions(t, [sample('down', 7, 'pen'), sample('down', 1), sample('up', 7, 'pen'), sample('down', 2)])).toEqual([
      'start',
      'ignore:touch-near-pen',
      'end',
      'ignore:touch-near-pen',
    ]);
    clock += PEN_GRACE_MS;
    expect(t.handle(sample('down', 3)).action).toBe('start');
  });

  it('does not let a second pen or a mouse take over a pen stroke', () => {
    const t = new StrokeTracker();
    expect(actions(t, [sample('down', 7, 'pen'), sample('down', 8, 'pen'), sample('down', 1, 'mouse')])).toEqual([
      'start',
      'ignore:other-pointer',
      'ignore:other-pointer',
    ]);
  });
});
