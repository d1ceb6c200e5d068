// Browser half of bench/web_inference.py: prints one JSON line of raw measurements.
//
// Environment: SITE_URL, GOOD_VERSION, HELDOUT (JSON file: {count, pixels_base64} of 28x28
// bytes), RUNS (inference timings, default 200), CHROMIUM_PATH.
import { readFileSync } from 'node:fs';
import { DIGITS, drawAndRead, launch } from './browser.mjs';

const { SITE_URL, GOOD_VERSION } = process.env;
const heldout = JSON.parse(readFileSync(process.env.HELDOUT, 'utf8'));
const runs = Number(process.env.RUNS ?? 200);

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  await page.goto(SITE_URL);
  const row = page.getByTestId(`model-${GOOD_VERSION}`);
  await row.waitFor({ timeout: 30_000 });

  // The runtime starts while the page loads; a person reads the list before choosing.
  await page.waitForFunction(() => window.__digitRecogniser?.warmedAt != null, null, { timeout: 60_000 });
  const warmup = await page.evaluate(() => window.__digitRecogniser.warmedAt);

  // Choosing a model: download, SHA-256, session, a first run, store.
  await row.getByRole('button', { name: 'Download' }).click();
  await page.getByTestId('active-model').filter({ hasText: `model v${GOOD_VERSION}` }).waitFor({ timeout: 60_000 });
  const download = await page.evaluate(() => window.__digitRecogniser.readyAt - window.__digitRecogniser.chosenAt);
  const first = await drawAndRead(page, DIGITS[1]);

  // The same model from this browser's storage after a reload, offline (service worker): the
  // app opens the model that was in use by itself.
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await context.setOffline(true);
  await page.reload();
  await page.getByTestId('active-model').filter({ hasText: `model v${GOOD_VERSION}` }).waitFor({ timeout: 60_000 });
  const fromStorage = await page.evaluate(() => window.__digitRecogniser.readyAt - window.__digitRecogniser.chosenAt);
  const storedFirst = await drawAndRead(page, DIGITS[1]);

  const measured = await page.evaluate(
    async ({ base64, count, runs }) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const tensors = Float32Array.from(bytes, (b) => b / 255);
      const hook = window.__digitRecogniser;
      const one = (i) => tensors.slice(i * 784, (i + 1) * 784);
      for (let i = 0; i < 20; i++) await hook.classify(one(i % count), 1); // warm-up
      const times = [];
      for (let i = 0; i < runs; i++) {
        const input = one(i % count);
        const start = performance.now();
        await hook.classify(input, 1);
        times.push(performance.now() - start);
      }
      const argmax = [];
      for (let i = 0; i < count; i++) argmax.push((await hook.classify(one(i), 1))[0]);
      return { times, argmax };
    },
    { base64: heldout.pixels_base64, count: heldout.count, runs },
  );

  console.log(
    JSON.stringify({
      page_load_to_runtime_ms: warmup,
      choose_to_ready_ms: download,
      first_inference_ms: first.milliseconds,
      first_digit: first.digit,
      stored_to_ready_ms: fromStorage,
      stored_first_inference_ms: storedFirst.milliseconds,
      inference_ms: measured.times,
      argmax: measured.argmax,
    }),
  );
} finally {
  await browser.close();
}
