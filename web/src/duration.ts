/**
 * Durations as a person reads them, honest about the clock that measured them.
 *
 * Browsers coarsen `performance.now()` against timing attacks: Firefox to 1 ms unless the page
 * is cross-origin isolated, WebKit to 1 ms, Chromium to 5 µs or 100 µs (see "Reduced time
 * precision" on MDN's performance.now() page). A model run that takes 0.3 ms then measures
 * 0 ms; it is shown as "< 1 ms", never as "0.00 ms".
 */

/**
 * The step of `performance.now()` in this browser, in ms: the smallest non-zero difference
 * seen between successive readings within `budgetMs`, to the microsecond (0.001 ms when the
 * clock is finer than the loop can see). The clock is injectable for tests.
 *
 * To the microsecond because a coarse clock's readings are whole steps less a time origin in
 * floating point: WebKitGTK 2.50 reads 283.00000000000006 then 283.99999999999994, a
 * difference of 0.9999999999998863, which is a 1 ms clock and must not pass for a finer one.
 */
export function timerResolution(now: () => number = () => performance.now(), budgetMs = 5): number {
  const start = now();
  let last = start;
  let step = Infinity;
  let changes = 0;
  while (changes < 5) {
    const t = now();
    if (t !== last) {
      step = Math.min(step, t - last);
      last = t;
      changes += 1;
    }
    if (t - start > budgetMs) break;
  }
  return Number.isFinite(step) ? Math.max(Math.round(step * 1000) / 1000, 0.001) : budgetMs;
}

/**
 * A measured duration for display: "< R ms" below the clock's resolution R, whole ms for a
 * clock of 1 ms or coarser, else as many decimals as the clock has, two at most ("0.9 ms" on
 * a 0.1 ms clock, "0.42 ms" on a finer one).
 *
 * @param milliseconds the measured duration (a difference of two `performance.now()`).
 * @param resolution the clock's step in ms (`timerResolution()`).
 */
export function formatDuration(milliseconds: number, resolution: number): string {
  if (milliseconds < resolution) return `< ${trim(resolution)} ms`;
  if (resolution >= 1) return `${Math.round(milliseconds)} ms`;
  return `${milliseconds.toFixed(Math.min(2, Math.ceil(-Math.log10(resolution) - 1e-9)))} ms`;
}

const trim = (ms: number) => (ms >= 1 ? String(Math.round(ms)) : String(Number(ms.toPrecision(1))));
