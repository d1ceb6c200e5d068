// End-to-end test of the web app against a running local stack (started by
// tests/e2e/web/test_e2e.py): the API lists two good approved models, a tampered one and one of
// the wrong shape; the app refuses the bad files, downloads the good ones, recognises digits
// drawn with a mouse and with touch (a second finger and a palm never draw), retires a version
// rejected in the registry, keeps working offline, and names a runtime that cannot start.
//
// Environment: SITE_URL, GOOD_VERSION, NEWER_VERSION, TAMPERED_VERSION, WRONG_SHAPE_VERSION,
// PLAYGROUND_CLI (a JSON list: the command that runs `playground`), NO_WASM_EVAL_SITE_URL (the
// site served with its policy less 'wasm-unsafe-eval', as Safari before 16 reads it), optional ARTIFACTS
// (screenshots), CHROMIUM_PATH (default /usr/bin/chromium).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DIGITS, drawAndRead, inkNear, isAppError, launch, path, penAndTouch, touch } from './browser.mjs';

const SITE_URL = required('SITE_URL');
const GOOD = required('GOOD_VERSION');
const NEWER = required('NEWER_VERSION');
const TAMPERED = required('TAMPERED_VERSION');
const WRONG_SHAPE = required('WRONG_SHAPE_VERSION');
const PLAYGROUND = JSON.parse(required('PLAYGROUND_CLI'));
const NO_WASM_EVAL_SITE_URL = required('NO_WASM_EVAL_SITE_URL');
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

/** Collect what the page logs as an error, and uncaught exceptions, into `errors`. */
function watch(target, errors) {
  target.on('console', (msg) => {
    if (isAppError(msg)) errors.push(`${msg.text()} (${msg.location().url})`);
  });
  target.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
}

/** Run the `playground` CLI against the test's emulator. */
const playground = (...args) => execFileSync(PLAYGROUND[0], [...PLAYGROUND.slice(1), ...args], { stdio: 'pipe' });

/** Press Refresh until `locator` shows: the API reuses a registry answer for a couple of seconds. */
async function refreshUntil(locator) {
  for (let tries = 0; tries < 20 && (await locator.count()) === 0; tries++) {
    await page.getByRole('button', { name: 'Refresh' }).click();
    await locator.or(page.getByTestId('api-models')).first().waitFor();
    await page.waitForTimeout(500);
  }
  await locator.waitFor({ timeout: 1_000 });
}

const activeModel = (text) => page.getByTestId('active-model').filter({ hasText: new RegExp(`^${text}$`) });

async function shot(name) {
  if (ARTIFACTS === undefined) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

before(async () => {
  browser = await launch();
  context = await browser.newContext({ viewport: { width: 1200, height: 900 }, hasTouch: true });
  page = await context.newPage();
  watch(page, consoleErrors);
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

test('the good model downloads, is verified, stored, and put in use; storage and a newer version are shown', async () => {
  await page.getByTestId(`model-${GOOD}`).getByRole('button', { name: 'Download' }).click();
  await activeModel(`model v${GOOD}`).waitFor({ timeout: 30_000 });
  await page.getByTestId(`stored-${GOOD}`).waitFor({ timeout: 10_000 });
  assert.equal(await page.getByTestId('error').count(), 0);
  const usage = page.getByTestId('storage-usage');
  await usage.waitFor();
  assert.match((await usage.textContent()) ?? '', /^\d+(\.\d)? (KB|MB) stored in this browser \(the app and its models\); (kept until you remove it|the browser may clear it if space runs low)\.$/);
  const newer = page.getByTestId('newer-version');
  await newer.waitFor();
  assert.match((await newer.textContent()) ?? '', new RegExp(`Version ${NEWER} is approved and newer than version ${GOOD} in use`));
});

test('drawn digits are recognised, with bars, timing and the 28x28 preview', async () => {
  const results = {};
  for (const digit of ['0', '1', '2', '3', '4']) {
    const { digit: predicted, milliseconds, time } = await drawAndRead(page, DIGITS[digit]);
    assert.match(time ?? '', /^(< )?\d+(\.\d+)? ms$/);
    assert.notEqual(time, '0.00 ms');
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

test('touch: one finger draws its stroke; a second finger and a resting palm neither draw nor end it', async () => {
  await page.getByRole('button', { name: 'Clear' }).click();
  const before = await page.evaluate(() => window.__digitRecogniser.predictions);
  // The palm lands first and rests (sliding a little), then one finger draws a 1 while a
  // second finger touches down and lifts again. The finger's contact is as wide as Chrome
  // DevTools' example touch (51.7 px), and grows to a palm's size for a moment as it presses
  // harder mid-stroke: the ink it has drawn stays, and the stroke goes on.
  const palm = path(3, [235, 150], [235, 220], 28, 60);
  const finger = path(1, [140, 40], [140, 240], 24, 51.7 / 2).map((c, k) =>
    k >= 12 && k <= 14 ? { ...c, radius: 56, force: 1 } : { ...c, force: 0.4 },
  );
  const second = path(2, [40, 250], [70, 250], 6);
  const frames = palm.map((p, k) => [
    p,
    ...(k >= 4 ? [finger[k - 4]] : []),
    ...(k >= 10 && k <= 16 ? [second[k - 10]] : []),
  ]);
  await touch(page, frames);
  await page.waitForFunction((n) => window.__digitRecogniser.predictions >= n, before + 1, { timeout: 15_000 });
  await page.waitForTimeout(500);
  assert.equal(await page.evaluate(() => window.__digitRecogniser.predictions), before + 1, 'one stroke, one prediction');
  assert.ok((await inkNear(page, 140, 140)) > 50, 'the finger drew');
  assert.equal(await inkNear(page, 55, 250, 20), 0, 'the second finger drew');
  assert.equal(await inkNear(page, 235, 185, 40), 0, 'the palm drew');
  assert.equal((await page.getByTestId('prediction').textContent())?.trim(), '1');
  await shot('4-touch');
});

test('a pen takes the stroke from the hand resting on the pad; touch near the pen never draws', async () => {
  await page.getByRole('button', { name: 'Clear' }).click();
  const before = await page.evaluate(() => window.__digitRecogniser.predictions);
  const hand = await penAndTouch(page);
  // The side of the hand touches first and starts a stroke, then the pen comes down.
  await hand.touch('touchStart', [{ id: 1, x: 40, y: 60, radius: 10 }]);
  await hand.touch('touchMove', [{ id: 1, x: 50, y: 70, radius: 10 }]);
  await hand.penDown(140, 40);
  for (let k = 1; k <= 20; k++) {
    await hand.penMove(140, 40 + 10 * k);
    await hand.touch('touchMove', [{ id: 1, x: 50 + k, y: 70 + k, radius: 10 }]);
  }
  await hand.penUp(140, 240);
  await hand.touch('touchEnd', [{ id: 1, x: 70, y: 90, radius: 10 }]);
  // A fingertip right after the pen lifts (the hand settling) is not a new stroke either.
  await hand.touch('touchStart', [{ id: 2, x: 230, y: 60 }]);
  await hand.touch('touchMove', [{ id: 2, x: 230, y: 120 }]);
  await hand.touch('touchEnd', [{ id: 2, x: 230, y: 120 }]);
  await hand.close();
  await page.waitForFunction((n) => window.__digitRecogniser.predictions >= n, before + 1, { timeout: 15_000 });
  await page.waitForTimeout(500);
  assert.equal(await page.evaluate(() => window.__digitRecogniser.predictions), before + 1, 'one stroke, one prediction');
  assert.ok((await inkNear(page, 140, 140)) > 50, 'the pen drew');
  assert.equal(await inkNear(page, 55, 75, 25), 0, 'the hand\'s touch stroke was left on the pad');
  assert.equal(await inkNear(page, 230, 90, 30), 0, 'touch right after the pen drew');
  assert.equal((await page.getByTestId('prediction').textContent())?.trim(), '1');
});

test('a newer approved version is offered, downloaded and put in use', async () => {
  await page.getByTestId('newer-version').getByRole('button', { name: `Download version ${NEWER}` }).click();
  await activeModel(`model v${NEWER}`).waitFor({ timeout: 30_000 });
  await page.getByTestId(`stored-${NEWER}`).waitFor();
  assert.equal(await page.getByTestId('newer-version').count(), 0);
});

test('a version rejected in the registry is marked withdrawn, and the app switches to the newest approved one stored', async () => {
  playground('models', 'reject', NEWER, '--reason', 'reads 7 as 1 in review');
  const tag = page.getByTestId(`withdrawn-${NEWER}`);
  await refreshUntil(tag);
  const reason = /withdrawn(: reads 7 as 1 in review| \(no reason given\))/;
  assert.match((await tag.textContent()) ?? '', reason);
  await activeModel(`model v${GOOD}`).waitFor({ timeout: 30_000 });
  const notice = (await page.getByTestId('withdrawn-notice').textContent()) ?? '';
  assert.match(notice, new RegExp(`Version ${NEWER} was ${reason.source}.*Now using version ${GOOD}, the newest approved version stored here`));
  assert.equal(await page.getByTestId(`model-${NEWER}`).count(), 0, 'the list no longer offers it');
  assert.equal(await page.getByTestId(`stored-${NEWER}`).count(), 1, 'the stored copy stays');
  await shot('5-withdrawn');
});

test('a withdrawn version is used only after the person confirms it', async () => {
  const row = page.getByTestId(`stored-${NEWER}`);
  await row.getByRole('button', { name: 'Use', exact: true }).click();
  const confirm = page.getByTestId(`confirm-${NEWER}`);
  await confirm.waitFor();
  assert.match((await confirm.textContent()) ?? '', /was withdrawn.*Use it anyway\?/);
  await shot('6-confirm-withdrawn');
  assert.equal(await page.getByTestId('active-model').textContent(), `model v${GOOD}`);
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await confirm.waitFor({ state: 'detached' });
  assert.equal(await page.getByTestId('active-model').textContent(), `model v${GOOD}`);
  await row.getByRole('button', { name: 'Use', exact: true }).click();
  await confirm.getByRole('button', { name: 'Use anyway' }).click();
  await activeModel(`model v${NEWER} \\(withdrawn\\)`).waitFor({ timeout: 30_000 });
  await page.getByTestId(`stored-${GOOD}`).getByRole('button', { name: 'Use', exact: true }).click();
  await activeModel(`model v${GOOD}`).waitFor({ timeout: 30_000 });
});

test('offline after the download, a new drawing still predicts', async () => {
  await context.setOffline(true);
  await page.getByTestId('network-status').filter({ hasText: 'offline' }).waitFor();
  const { digit } = await drawAndRead(page, DIGITS[7]);
  assert.equal(digit, '7');
  await shot('6-offline');
});

test('reloaded offline, the app opens with the model in use before and its withdrawn neighbour marked', async () => {
  // The service worker keeps the site (and the wasm runtime); the models are in IndexedDB.
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await page.reload();
  await page.getByTestId('api-offline').waitFor({ timeout: 20_000 });
  await activeModel(`model v${GOOD}`).waitFor({ timeout: 30_000 });
  await page.getByTestId(`withdrawn-${NEWER}`).waitFor();
  const { digit } = await drawAndRead(page, DIGITS[3]);
  assert.equal(digit, '3');
  await shot('7-offline-reload');
  await context.setOffline(false);
  await page.getByTestId('network-status').filter({ hasText: 'online' }).waitFor();
});

test('a stored model can be removed', async () => {
  await page.getByTestId(`stored-${NEWER}`).getByRole('button', { name: 'Remove' }).click();
  await page.getByTestId(`stored-${NEWER}`).waitFor({ state: 'detached' });
  await page.getByTestId(`stored-${GOOD}`).getByRole('button', { name: 'Remove' }).click();
  await page.getByTestId(`stored-${GOOD}`).waitFor({ state: 'detached' });
  assert.equal(await page.getByTestId('active-model').textContent(), 'no model in use');
});

test('when the only stored version in use is withdrawn, the app stops using it and offers the newest approved one', async () => {
  await page.getByTestId(`model-${GOOD}`).getByRole('button', { name: 'Download' }).click();
  await activeModel(`model v${GOOD}`).waitFor({ timeout: 30_000 });
  // The newer version is approved again (not stored here any more); the good one is rejected.
  playground('models', 'approve', NEWER);
  playground('models', 'reject', GOOD);
  const tag = page.getByTestId(`withdrawn-${GOOD}`);
  await refreshUntil(tag);
  await activeModel('no model in use').waitFor({ timeout: 10_000 });
  const notice = page.getByTestId('withdrawn-notice');
  // The versions this page refused (tampered, wrong shape) are never offered.
  assert.match((await notice.textContent()) ?? '', new RegExp(`Version ${GOOD} was withdrawn.*It is no longer in use\\. Download version ${NEWER}$`));
  await shot('9-withdrawn-offer');
  // A reload reopens nothing, and still offers the newest approved version once the list is in.
  await page.reload();
  await activeModel('no model in use').waitFor({ timeout: 30_000 });
  await notice.getByRole('button', { name: `Download version ${NEWER}` }).waitFor({ timeout: 30_000 });
  assert.match((await notice.textContent()) ?? '', new RegExp(`Version ${GOOD} was withdrawn.*It is no longer in use\\. Download version ${NEWER}$`));
  await notice.getByRole('button', { name: `Download version ${NEWER}` }).click();
  await activeModel(`model v${NEWER}`).waitFor({ timeout: 30_000 });
  await notice.waitFor({ state: 'detached' });
  // Approved again, it is no longer marked and the tests below can use it.
  playground('models', 'approve', GOOD);
  await refreshUntil(page.getByTestId(`model-${GOOD}`));
  await tag.waitFor({ state: 'detached' });
});

test('the page logged no errors', () => {
  // Some answers are by design an error status: the API's 404 for a withdrawn version, which
  // the app asks about to learn why (the browser logs every 4xx response).
  const withdrawnLookup = new RegExp(`^Failed to load resource: the server responded with a status of 404 .*/models/(${NEWER}|${GOOD})\\)$`);
  assert.deepEqual(consoleErrors.filter((e) => !withdrawnLookup.test(e)), []);
});

test('with the runtime\'s wasm missing or an HTML page, the app names the file and keeps the stored model', async () => {
  // A fresh browser profile without the service worker, so every request meets the route.
  const broken = await browser.newContext({ serviceWorkers: 'block' });
  const tab = await broken.newPage();
  const errors = [];
  watch(tab, errors);
  await tab.goto(SITE_URL);
  await tab.getByTestId(`model-${GOOD}`).getByRole('button', { name: 'Download' }).click();
  await tab.getByTestId(`stored-${GOOD}`).waitFor({ timeout: 30_000 });
  const answers = {
    'could not be loaded \\(HTTP 404 from ': (route) => route.fulfill({ status: 404, contentType: 'text/plain', body: 'Not Found' }),
    'is an HTML page, not the runtime': (route) =>
      route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><html><body>Welcome</body></html>' }),
  };
  for (const [expected, answer] of Object.entries(answers)) {
    await broken.unrouteAll();
    await broken.route('**/ort-wasm-simd-threaded.wasm', answer);
    await tab.reload();
    const problem = tab.getByTestId('runtime-error');
    await problem.waitFor({ timeout: 30_000 });
    assert.match(
      (await problem.textContent()) ?? '',
      new RegExp(`ort-wasm-simd-threaded\\.wasm ${expected}.*not a fault of any model: stored models are kept`),
    );
    await tab.getByTestId(`stored-${GOOD}`).getByRole('button', { name: 'Use', exact: true }).click();
    await tab.waitForTimeout(500);
    assert.equal(await tab.getByText('does not fit').count(), 0, 'the model was blamed');
    assert.equal(await tab.getByTestId('active-model').textContent(), 'no model in use');
    assert.equal(await tab.getByTestId(`stored-${GOOD}`).count(), 1, 'the stored model was removed');
  }
  if (ARTIFACTS !== undefined) await tab.screenshot({ path: join(ARTIFACTS, '8-runtime-missing.png'), fullPage: true });
  await broken.close();
  // The browser reports the refused file, and the runtime's glue script logs its own failed
  // start; nothing else may go wrong.
  const expected = [
    /^Failed to load resource: the server responded with a status of 404 .*ort-wasm-simd-threaded\.wasm\)$/,
    /\/ort-wasm-simd-threaded\.mjs\)$/,
  ];
  assert.deepEqual(errors.filter((e) => !expected.some((pattern) => pattern.test(e))), []);
});

test('with WebAssembly switched off in the browser, the app says so, lists the models, and downloads none it cannot run', async () => {
  // Without a JIT (as browsers' stricter security modes and policies run JavaScript), V8
  // offers no WebAssembly at all.
  const noWasm = await launch(['--js-flags=--jitless']);
  try {
    const tab = await noWasm.newPage();
    const errors = [];
    watch(tab, errors);
    await tab.goto(SITE_URL);
    assert.equal(await tab.evaluate(() => typeof WebAssembly), 'undefined');
    const problem = tab.getByTestId('runtime-error');
    await problem.waitFor({ timeout: 30_000 });
    assert.match((await problem.textContent()) ?? '', /could not start: WebAssembly is disabled in this browser\. This is not a fault of any model/);
    const downloads = [];
    tab.on('request', (request) => {
      if (new URL(request.url()).pathname.endsWith('/model.onnx')) downloads.push(request.url());
    });
    await tab.getByTestId(`model-${GOOD}`).getByRole('button', { name: 'Download' }).click();
    await tab.waitForTimeout(500);
    assert.deepEqual(downloads, []);
    assert.equal(await tab.getByTestId('active-model').textContent(), 'no model in use');
    assert.equal(await tab.getByTestId(`stored-${GOOD}`).count(), 0);
    assert.equal(await tab.getByText('does not fit').count(), 0, 'the model was blamed');
    assert.deepEqual(errors, []);
  } finally {
    await noWasm.close();
  }
});

test('where the site\'s policy blocks WebAssembly, as Safari before 16 does, the app says which browsers work and downloads nothing', async () => {
  // Safari 15 does not know 'wasm-unsafe-eval' and so refuses to compile WebAssembly under
  // the site's policy: the same site, served with the policy without the keyword, does that
  // in Chromium (NO_WASM_EVAL_SITE_URL).
  const old = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  try {
    const tab = await old.newPage();
    const errors = [];
    watch(tab, errors);
    const response = await tab.goto(NO_WASM_EVAL_SITE_URL);
    const policy = (await response?.headerValue('content-security-policy')) ?? '';
    assert.match(policy, /script-src 'self'/);
    assert.doesNotMatch(policy, /wasm-unsafe-eval/);
    const problem = tab.getByTestId('runtime-error');
    await problem.waitFor({ timeout: 30_000 });
    const text = (await problem.textContent()) ?? '';
    assert.match(text, /could not start: this browser does not let the site run WebAssembly under the site's security policy, as Safari before version 16 does/);
    assert.match(text, /stored models are kept\. Models can be listed here but not run\. Open this site in Safari 16\.4 or later .*Firefox 102 or later\.$/);
    await tab.getByTestId(`model-${GOOD}`).waitFor();
    const downloads = [];
    tab.on('request', (request) => {
      if (new URL(request.url()).pathname.endsWith('/model.onnx')) downloads.push(request.url());
    });
    await tab.getByTestId(`model-${GOOD}`).getByRole('button', { name: 'Download' }).click();
    await tab.waitForTimeout(500);
    assert.deepEqual(downloads, []);
    assert.equal(await tab.getByTestId('active-model').textContent(), 'no model in use');
    assert.equal(await tab.getByText('does not fit').count(), 0, 'the model was blamed');
    // The browser reports each refused compile to the console itself, and the runtime its fallback.
    const refused = /violates the following Content Security policy directive|falling back to ArrayBuffer instantiation/;
    assert.deepEqual(errors.filter((e) => !refused.test(e)), []);
  } finally {
    await old.close();
  }
});

test('with the Wi-Fi off but the model service reachable (a LAN, the local playground), the app lists the models and says online', async () => {
  const lan = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  // What a browser says with no Wi-Fi: navigator.onLine false, and an offline event.
  await lan.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'onLine', { configurable: true, get: () => false });
  });
  try {
    const tab = await lan.newPage();
    await tab.goto(SITE_URL);
    await tab.getByTestId(`model-${GOOD}`).waitFor({ timeout: 20_000 });
    await tab.evaluate(() => window.dispatchEvent(new Event('offline')));
    await tab.waitForTimeout(1_000);
    assert.equal(await tab.getByTestId('network-status').textContent(), 'online');
    assert.equal(await tab.getByTestId('api-offline').count(), 0);
  } finally {
    await lan.close();
  }
});
