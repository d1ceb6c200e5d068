import { describe, expect, it } from 'vitest';
import { formatDuration, timerResolution } from '../src/duration';

/** A clock that advances `tick` ms of real time per call, read in steps of `step` ms. */
function coarseClock(step: number, tick = 0.01) {
  let t = 1000;
  return () => {
    t += tick;
    return Math.floor(t / step) * step;
  };
}

describe('the clock behind the time shown under a prediction', () => {
  it('finds a 1 ms step (Firefox, WebKit) and a 0.1 ms step (Chromium)', () => {
    expect(timerResolution(coarseClock(1))).toBe(1);
    expect(timerResolution(coarseClock(0.1))).toBe(0.1);
  });

  it('takes a 1 ms clock read through a time origin in floating point for 1 ms, not finer (WebKit)', () => {
    // WebKitGTK's readings: whole ms, each off by a few 1e-14 one way or the other.
    let k = 0;
    const readings = () => {
      k += 1;
      const whole = 283 + Math.floor(k / 50);
      return whole + (whole % 2 === 0 ? 6e-14 : -6e-14);
    };
    const step = timerResolution(readings);
    expect(step).toBe(1);
    expect(formatDuration(153.00000000000003, step)).toBe('153 ms');
    expect(formatDuration(0.9999999999998863 - 1, step)).toBe('< 1 ms');
  });

  it('never reads "0.00 ms" under a coarse clock: a run shorter than a step is "< 1 ms"', () => {
    expect(formatDuration(0, 1)).toBe('< 1 ms');
    expect(formatDuration(0, 0.1)).toBe('< 0.1 ms');
    expect(formatDuration(0, 0.005)).toBe('< 0.005 ms');
  });

  it('shows whole ms for a 1 ms clock, one decimal for a 0.1 ms clock (Chromium), two for a finer one', () => {
    expect(formatDuration(3, 1)).toBe('3 ms');
    expect(formatDuration(0.9000000000001, 0.1)).toBe('0.9 ms');
    expect(formatDuration(11.3, 0.1)).toBe('11.3 ms');
    expect(formatDuration(0.4213, 0.005)).toBe('0.42 ms');
    expect(formatDuration(0.4213, 0.01)).toBe('0.42 ms');
  });
});
