// The site's Content Security Policy and the stored run report's sandbox (started by
// tests/e2e/web/test_site_security.py): the app runs its whole journey (the runtime, the
// listed details with pictures from the model bucket, a download, a prediction, the stored
// details) with no violation of the policy it is served with; the stored report opens in a
// sandbox with an opaque origin, where the script it carries does not run and the site's
// IndexedDB cannot be opened (without a service worker it can only be saved as a file); and
// the runtime does need 'wasm-unsafe-eval'.
//
// Environment: SITE_URL, API_URL, MODEL_ORIGIN (where presigned links point), GOOD_VERSION and
// GOOD_SHA256 (a model with its report and pictures), CHROMIUM_PATH.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DIGITS, drawAndRead, isAppError, launch } from './browser.mjs';

const env = (name) => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`set ${name}`);
  return value;
};
const SITE_URL = env('SITE_URL');
const API_ORIGIN = new URL(env('API_URL')).origin;
const MODEL_ORIGIN = new URL(env('MODEL_ORIGIN')).origin;
const GOOD = env('GOOD_VERSION');
const GOOD_SHA256 = env('GOOD_SHA256');

let browser;
let context;
let page;
let policy;
const errors = [];

// Every violation a page reports, kept where the test can read it (the event fires in the page).
const RECORD_VIOLATIONS = () => {
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} in ${e.sourceFile}`);
  });
};

const directives = (header) =>
  Object.fromEntries(
    header
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...sources]) => [name, sources]),
  );

before(async () => {
  browser = await launch();
  context = await browser.newContext({ viewport: { width: 1200, height: 1000 } });
  await context.addInitScript(RECORD_VIOLATIONS);
  page = await context.newPage();
  page.on('console', (msg) => {
    if (isAppError(msg)) errors.push(`${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  const answer = await page.goto(SITE_URL);
  policy = answer.headers()['content-security-policy'];
});

after(async () => {
  await browser?.close();
});

test('the site is served with a policy of no inline script, its API and model origins only', () => {
  assert.ok(policy, 'the page came without a Content-Security-Policy header');
  const d = directives(policy);
  assert.deepEqual(d['script-src'], ["'self'", "'wasm-unsafe-eval'"]);
  assert.deepEqual(d['default-src'], ["'self'"]);
  assert.deepEqual(d['connect-src'], ["'self'", API_ORIGIN, MODEL_ORIGIN].filter((v, i, a) => a.indexOf(v) === i));
  assert.deepEqual(d['frame-ancestors'], ["'none'"]);
  for (const [name, sources] of Object.entries(d)) {
    assert.ok(!sources.includes("'unsafe-inline'") && !sources.includes("'unsafe-eval'"), `${name}: ${sources}`);
    assert.ok(!sources.includes('*'), `${name} allows any origin`);
  }
});

test('the whole journey runs with no violation of that policy', async () => {
  await page.waitForFunction(() => window.__digitRecogniser?.warmedAt != null, null, { timeout: 60_000 });
  await page.getByTestId(`model-${GOOD}`).waitFor({ timeout: 20_000 });

  // Listed details: pictures from presigned links to the model bucket.
  await page.getByRole('button', { name: `Details of version ${GOOD}` }).click();
  const listed = page.getByTestId(`details-${GOOD}`);
  await listed.locator('img').first().waitFor({ timeout: 10_000 });
  await page.waitForFunction(
    (view) => [...view.querySelectorAll('img')].every((img) => img.complete && img.naturalWidth > 0),
    await listed.elementHandle(),
    { timeout: 15_000 },
  );

  // Download, SHA-256, a session, a prediction.
  await page.getByTestId(`model-${GOOD}`).getByRole('button', { name: 'Download' }).click();
  await page.getByTestId('active-model').filter({ hasText: `model v${GOOD}` }).waitFor({ timeout: 60_000 });
  const { digit } = await drawAndRead(page, DIGITS[7]);
  assert.match(digit ?? '', /^\d$/);

  // Stored details: pictures from Blob URLs.
  await page.getByRole('button', { name: `Details of stored version ${GOOD}` }).click();
  const stored = page.getByTestId(`stored-details-${GOOD}`);
  await stored.locator('img').first().waitFor({ timeout: 10_000 });
  await page.waitForFunction(
    (view) => [...view.querySelectorAll('img')].every((img) => img.complete && img.naturalWidth > 0),
    await stored.elementHandle(),
    { timeout: 15_000 },
  );

  assert.deepEqual(await page.evaluate(() => window.__cspViolations), []);
  assert.deepEqual(errors.filter((e) => /Content Security Policy/i.test(e)), []);
});

test('the stored report opens in a sandbox: no script runs, the site storage is out of reach', async () => {
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 15_000 });
  // The details were drawn before the worker took control: draw them again.
  await page.reload();
  await page.getByRole('button', { name: `Details of stored version ${GOOD}` }).click();
  const link = page.getByTestId(`stored-details-${GOOD}`).getByTestId('report-link');
  const href = await link.getAttribute('href');
  assert.equal(href, new URL(`stored-report/${GOOD_SHA256}`, SITE_URL).href);

  const [report] = await Promise.all([context.waitForEvent('page'), link.click()]);
  await report.getByRole('heading', { name: 'Run report' }).waitFor({ timeout: 15_000 });
  // Its own inline styles and data: picture work; its script did not run.
  assert.equal(await report.locator('#heading').evaluate((h) => getComputedStyle(h).color), 'rgb(200, 0, 0)');
  assert.ok(await report.locator('#picture').evaluate((img) => img.complete && img.naturalWidth === 1));
  assert.equal(await report.locator('#stolen').textContent(), 'nothing read');
  // An opaque origin: the site's IndexedDB cannot even be opened from it.
  assert.equal(await report.evaluate(() => self.origin), 'null');
  const opened = await report.evaluate(
    () =>
      new Promise((resolve) => {
        try {
          const req = indexedDB.open('digit-recogniser');
          req.onsuccess = () => resolve(`opened: ${req.result.objectStoreNames.length} stores`);
          req.onerror = () => resolve(`refused: ${req.error?.name}`);
        } catch (error) {
          resolve(`refused: ${error.name}`);
        }
      }),
  );
  assert.match(opened, /^refused: SecurityError/);
  await report.close();

  // Offline too, from the stored copy.
  await context.setOffline(true);
  const [again] = await Promise.all([context.waitForEvent('page'), link.click()]);
  await again.getByRole('heading', { name: 'Run report' }).waitFor({ timeout: 15_000 });
  assert.equal(await again.evaluate(() => self.origin), 'null');
  await again.close();
  await context.setOffline(false);
});

test('without a service worker (a private window of some browsers) the stored report is only saved', async () => {
  const noWorker = await browser.newContext({ serviceWorkers: 'block', acceptDownloads: true });
  const tab = await noWorker.newPage();
  await tab.goto(SITE_URL);
  await tab.getByTestId(`model-${GOOD}`).getByRole('button', { name: 'Download' }).click();
  await tab.getByRole('button', { name: `Details of stored version ${GOOD}` }).click();
  const link = tab.getByTestId(`stored-details-${GOOD}`).getByTestId('report-link');
  assert.equal((await link.textContent())?.trim(), 'Save the full run report');
  assert.equal(await link.getAttribute('download'), `run-report-v${GOOD}.html`);
  const [saved] = await Promise.all([tab.waitForEvent('download'), link.click()]);
  const path = await saved.path();
  const { readFileSync } = await import('node:fs');
  assert.match(readFileSync(path, 'utf8'), /<h1 id="heading">Run report<\/h1>/);
  assert.equal(noWorker.pages().length, 1, 'the report opened a page of the site');
  await noWorker.close();
});

test('the runtime needs wasm-unsafe-eval: without it the policy blocks the model runtime', async () => {
  const strict = await browser.newContext({ serviceWorkers: 'block' });
  await strict.addInitScript(RECORD_VIOLATIONS);
  await strict.route(`${new URL(SITE_URL).origin}/**`, async (route) => {
    const answer = await route.fetch();
    const headers = answer.headers();
    if (headers['content-security-policy'] !== undefined) {
      headers['content-security-policy'] = headers['content-security-policy'].replace(" 'wasm-unsafe-eval'", '');
    }
    await route.fulfill({ response: answer, headers });
  });
  const tab = await strict.newPage();
  await tab.goto(SITE_URL);
  await tab.getByTestId('runtime-error').waitFor({ timeout: 60_000 });
  const violations = await tab.evaluate(() => window.__cspViolations);
  assert.ok(violations.some((v) => v.startsWith('script-src') && v.includes('wasm-eval')), JSON.stringify(violations));
  await strict.close();
});

test('the page logged no errors', () => {
  assert.deepEqual(errors, []);
});
