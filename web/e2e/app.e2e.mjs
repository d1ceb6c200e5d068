// End-to-end test of the web app against a running local stack (started by
// tests/web/test_e2e.py): the API lists an approved model and a tampered one; the app refuses
// the tampered file, downloads the good one, recognises drawn digits, and keeps working offline.
//
// Environment: SITE_URL, GOOD_VERSION, TAMPERED_VERSION, WRONG_SHAPE_VERSION, optional ARTIFACTS (screenshots),
// CHROMIUM_PATH (default /usr/bin/chromium).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DIGITS, drawAndRead, launch } from './browser.mjs';

const SITE_URL = required('SITE_URL');
const GOOD = required('GOOD_VERSION');
const TAMPERED = required('TAMPERED_VERSION');
const WRONG_SHAPE = required('WRONG_SHAPE_VERSION');
const ARTIFACTS = process.env.ARTIFACTS;

function required(name) {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`set ${name}`);
  return value;
}

let browser;
let context;
let page;
const consoleErrors = [];
const listings = []; // the /models responses the browser saw

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
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('response', (response) => {
    if (new URL(response.url()).pathname === '/models') listings.push(response);
  });
  await page.goto(SITE_URL);
});

after(async () => {
  await browser?.close();
});

test('the list shows the approved models with accuracy and size', async () => {
  const good = page.getByTestId(`model-${GOOD}`);
  await good.waitFor({ timeout: 20_000 });
  await page.getByTestId(`model-${TAMPERED}`).waitFor();
  assert.match((await good.textContent()) ?? '', new RegExp(`Version ${GOOD}.*accuracy \\d+\\.\\d+%.*KB`));
  // One CORS owner (the Function URL layer): a second Access-Control-Allow-Origin is refused.
  assert.ok(listings.length > 0, 'the page fetched /models');
  const allowOrigin = (await listings[0].headersArray()).filter(
    (header) => header.name.toLowerCase() === 'access-control-allow-origin',
  );
  assert.equal(allowOrigin.length, 1, `Access-Control-Allow-Origin headers: ${JSON.stringify(allowOrigin)}`);
  await shot('1-list');
});

test('a model whose bytes differ from the listed sha256 is refused and never run', async () => {
  await page.getByTestId(`model-${TAMPERED}`).getByRole('button', { name: 'Download' }).click();
  const error = page.getByTestId('error');
  await error.waitFor({ timeout: 20_000 });
  assert.match((await error.textContent()) ?? '', /does not match its published checksum.*refused and will not be run/);
  assert.equal(await page.getByTestId('active-model').textContent(), 'no model in use');
  assert.equal(await page.getByTestId(`stored-${TAMPERED}`).count(), 0);
  await shot('2-tampered-refused');
});

test('a model whose input is not the contract\'s is refused with what it expected', async () => {
  await page.getByTestId(`model-${WRONG_SHAPE}`).getByRole('button', { name: 'Download' }).click();
  const error = page.getByTestId('error');
  await error.filter({ hasText: 'does not fit' }).waitFor({ timeout: 20_000 });
  assert.match(
    (await error.textContent()) ?? '',
    /does not fit the app and was not used: its input is named "pixels".*shape \[N,784\].*Expected input "input" float32 \[N,1,28,28\]/,
  );
  assert.equal(await page.getByTestId('active-model').textContent(), 'no model in use');
  assert.equal(await page.getByTestId(`stored-${WRONG_SHAPE}`).count(), 0);
});

test('the good model downloads, is verified, stored, and put in use', async () => {
  await page.getByTestId(`model-${GOOD}`).getByRole('button', { name: 'Download' }).click();
  await page.getByTestId('active-model').filter({ hasText: `model v${GOOD}` }).waitFor({ timeout: 30_000 });
  await page.getByTestId(`stored-${GOOD}`).waitFor({ timeout: 10_000 });
  assert.equal(await page.getByTestId('error').count(), 0);
});

test('drawn digits are recognised, with bars, timing and the 28x28 preview', async () => {
  const results = {};
  for (const digit of ['0', '1', '2', '3', '4']) {
    const { digit: predicted, milliseconds } = await drawAndRead(page, DIGITS[digit]);
    results[digit] = predicted;
    assert.ok(milliseconds > 0 && milliseconds < 1000, `inference time ${milliseconds} ms`);
  }
  await shot('3-recognised');
  assert.deepEqual(results, { 0: '0', 1: '1', 2: '2', 3: '3', 4: '4' });
  const inked = await page.getByTestId('preview').evaluate((canvas) => {
    const data = canvas.getContext('2d').getImageData(0, 0, 28, 28).data;
    let lit = 0;
    for (let k = 0; k < data.length; k += 4) if (data[k] > 0) lit++;
    return lit;
  });
  assert.ok(inked > 20, `the preview shows ${inked} lit pixels`);
});

test('offline after the download, a new drawing still predicts', async () => {
  await context.setOffline(true);
  await page.getByTestId('network-status').filter({ hasText: 'offline' }).waitFor();
  const { digit } = await drawAndRead(page, DIGITS[7]);
  assert.equal(digit, '7');
  await shot('4-offline');
});

test('reloaded offline, the app opens, says the API is unreachable, and runs the stored model', async () => {
  // The service worker keeps the site (and the wasm runtime); the model is in IndexedDB.
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await page.reload();
  const apiError = page.getByTestId('api-error');
  await apiError.waitFor({ timeout: 20_000 });
  assert.match((await apiError.textContent()) ?? '', /cannot be reached.*stored in this browser can still be used/);
  await page.getByTestId(`stored-${GOOD}`).getByRole('button', { name: 'Use' }).click();
  await page.getByTestId('active-model').filter({ hasText: `model v${GOOD}` }).waitFor({ timeout: 30_000 });
  const { digit } = await drawAndRead(page, DIGITS[3]);
  assert.equal(digit, '3');
  await shot('5-offline-reload');
  await context.setOffline(false);
});

test('a stored model can be removed', async () => {
  await page.getByTestId(`stored-${GOOD}`).getByRole('button', { name: 'Remove' }).click();
  await page.getByTestId(`stored-${GOOD}`).waitFor({ state: 'detached' });
  assert.equal(await page.getByTestId('active-model').textContent(), 'no model in use');
});

test('the page logged no unexpected errors', () => {
  // Failed fetches while offline are expected (the browser logs them); anything else is a bug.
  assert.deepEqual(consoleErrors.filter((e) => !/Failed to load resource|ERR_INTERNET_DISCONNECTED/.test(e)), []);
});
