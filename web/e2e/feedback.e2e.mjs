// End-to-end test of corrections (started by tests/e2e/web/test_feedback.py): with the model in
// use, a drawn 1 is corrected with "Wrong? It was a 7" and is sent at once; offline, a drawn 3
// confirmed with "Right" is queued and goes out by itself when the browser is online again.
// The Python side then checks the bucket and the gateway's log.
//
// Environment: SITE_URL, GOOD_VERSION, RESULTS (a JSON file this writes: the corrections the
// page sent), optional ARTIFACTS (screenshots), CHROMIUM_PATH (default /usr/bin/chromium).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DIGITS, drawAndRead, isAppError, launch } from './browser.mjs';

const { SITE_URL, GOOD_VERSION, RESULTS, ARTIFACTS } = process.env;
if (!SITE_URL || !GOOD_VERSION || !RESULTS) throw new Error('set SITE_URL, GOOD_VERSION and RESULTS');

let browser;
let context;
let page;
const consoleErrors = [];
const posted = []; // the bodies of the POST /feedback requests the gateway answered

const status = () => page.getByTestId('feedback-status');

async function shot(name) {
  if (ARTIFACTS === undefined) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

before(async () => {
  browser = await launch();
  context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  page = await context.newPage();
  page.on('console', (msg) => {
    if (isAppError(msg)) consoleErrors.push(`${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  page.on('requestfinished', (request) => {
    if (request.method() === 'POST' && new URL(request.url()).pathname === '/feedback') {
      posted.push(JSON.parse(request.postData() ?? 'null'));
    }
  });
  await page.goto(SITE_URL);
  await page.getByTestId(`model-${GOOD_VERSION}`).getByRole('button', { name: 'Download' }).click({ timeout: 20_000 });
  await page.getByTestId('active-model').filter({ hasText: `model v${GOOD_VERSION}` }).waitFor({ timeout: 30_000 });
});

after(async () => {
  writeFileSync(RESULTS, JSON.stringify({ posted }));
  await browser?.close();
});

test('the pad stays under the pen when the answer and the buttons appear after a first stroke', async () => {
  await page.getByRole('button', { name: 'Clear' }).click();
  const before = await page.getByTestId('drawing').boundingBox();
  // The first stroke of a two-stroke 4: the answer and "Right" / "Wrong?" appear before the second.
  await drawAndRead(page, [DIGITS['4'][0]]);
  await page.getByTestId('feedback-right').waitFor();
  const after = await page.getByTestId('drawing').boundingBox();
  assert.deepEqual(after, before, 'the drawing pad moved between two strokes of one digit');
  await page.getByRole('button', { name: 'Clear' }).click();
});

test('a drawn 1 corrected with "Wrong? It was a 7" is sent with the input the model saw', async () => {
  const { digit } = await drawAndRead(page, DIGITS['1']);
  assert.equal(digit, '1');
  await page.getByRole('button', { name: 'It was a 7' }).click();
  await status().filter({ hasText: /^Sent, thank you$/ }).waitFor({ timeout: 15_000 });
  await shot('feedback-1-sent');
  assert.equal(posted.length, 1);
  const [correction] = posted;
  assert.equal(correction.predicted, 1);
  assert.equal(correction.label, 7);
  assert.equal(correction.model_version, Number(GOOD_VERSION));
  assert.match(correction.model_sha256, /^[0-9a-f]{64}$/);
  // The bytes are the preview's pixels: the 28x28 input, not the canvas.
  const preview = await page.getByTestId('preview').evaluate((canvas) =>
    Array.from(canvas.getContext('2d').getImageData(0, 0, 28, 28).data.filter((_, k) => k % 4 === 0)),
  );
  const sent = Array.from(Buffer.from(correction.pixels, 'base64'));
  assert.equal(sent.length, 784);
  assert.deepEqual(sent, preview);
  // One correction per prediction: the buttons wait for the next drawing.
  assert.ok(await page.getByRole('button', { name: 'It was a 7' }).isDisabled());
});

test('offline, "Right" is queued, and sent once when the browser is online again', async () => {
  await context.setOffline(true);
  await page.getByTestId('network-status').filter({ hasText: 'offline' }).waitFor();
  const { digit } = await drawAndRead(page, DIGITS['3']);
  assert.equal(digit, '3');
  await page.getByTestId('feedback-right').click();
  await status().filter({ hasText: 'Queued, will send when online' }).waitFor({ timeout: 15_000 });
  assert.match((await status().textContent()) ?? '', /1 waiting to be sent/);
  await shot('feedback-2-queued');
  await context.setOffline(false);
  await status().filter({ hasText: /^Sent, thank you$/ }).waitFor({ timeout: 15_000 });
  await shot('feedback-3-sent-when-online');
  // A reload finds nothing left to send.
  await page.reload();
  await page.getByTestId('active-model').filter({ hasText: `model v${GOOD_VERSION}` }).waitFor({ timeout: 30_000 });
  await page.waitForTimeout(1_000);
  const right = posted.filter((c) => c.label === 3);
  assert.equal(right.length, 1, `the queued correction left the browser ${right.length} times`);
  assert.equal(right[0].predicted, 3);
});

test('no errors in the console', () => {
  assert.deepEqual(consoleErrors, []);
});
