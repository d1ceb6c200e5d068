// The details view of a model, listed and stored, online and offline (started by
// tests/e2e/web/test_details.py): the API lists one version with its run report and pictures
// next to its file and one without any; the view shows accuracy, per-digit figures, size,
// int8/fp32, lineage, the pictures and the report, and after a download the stored copy shows
// the same offline after a reload.
//
// Environment: SITE_URL, GOOD_VERSION (with report and pictures), BARE_VERSION (none, and no
// per-digit figures), optional ARTIFACTS (screenshots; details.png is the README's),
// CHROMIUM_PATH.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isAppError, launch } from './browser.mjs';

const env = (name) => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`set ${name}`);
  return value;
};
const SITE_URL = env('SITE_URL');
const GOOD = env('GOOD_VERSION');
const BARE = env('BARE_VERSION');
const ARTIFACTS = process.env.ARTIFACTS;

let browser;
let context;
let page;
const errors = [];

before(async () => {
  browser = await launch();
  context = await browser.newContext({ viewport: { width: 1200, height: 1000 } });
  page = await context.newPage();
  page.on('console', (msg) => {
    if (isAppError(msg)) errors.push(`${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  await page.goto(SITE_URL);
});

after(async () => {
  await browser?.close();
});

/** The natural width of each picture in `view`, once every one has finished loading. */
async function pictureWidths(view) {
  const images = view.locator('img');
  await view.locator('img').first().waitFor({ timeout: 10_000 });
  await page.waitForFunction(
    (element) => [...element.querySelectorAll('img')].every((img) => img.complete),
    await view.elementHandle(),
    { timeout: 15_000 },
  );
  const widths = {};
  for (const img of await images.all()) {
    widths[await img.getAttribute('data-testid')] = await img.evaluate((element) => element.naturalWidth);
  }
  return widths;
}

async function shot(name, target = page) {
  if (ARTIFACTS === undefined) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  await target.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

/** What the details view says, checked the same way listed and stored. */
async function checkFacts(view) {
  const text = (await view.textContent()) ?? '';
  assert.match(text, /Test accuracy\d+\.\d\d%/);
  assert.match(text, /File\d+ KB, (int8 \(quantized\)|fp32)/);
  assert.match(text, /Trainedregistered /);
  assert.match(text, /Pipeline executionexecution-1/);
  assert.match(text, /Codecommit [0-9a-f]{12}/);
  const rows = view.getByTestId('per-class').locator('tbody tr');
  assert.equal(await rows.count(), 10);
  assert.match((await rows.nth(7).textContent()) ?? '', /^7\d+\.\d%\d+\.\d%$/);
}

test('a listed model shows its figures, lineage, both pictures and a working report link', async () => {
  await page.getByTestId(`model-${GOOD}`).waitFor({ timeout: 20_000 });
  await page.getByRole('button', { name: `Details of version ${GOOD}` }).click();
  const view = page.getByTestId(`details-${GOOD}`);
  await view.waitFor();
  await checkFacts(view);
  const widths = await pictureWidths(view);
  assert.ok(widths['confusion-matrix'] > 0, `confusion matrix: ${JSON.stringify(widths)}`);
  assert.ok(widths['training-curves'] > 0, `training curves: ${JSON.stringify(widths)}`);
  const report = await view.getByTestId('report-link').getAttribute('href');
  const answer = await page.request.get(report);
  assert.equal(answer.status(), 200);
  assert.match(await answer.text(), /<section id="?confusion/);
  await shot('details', page.getByRole('region', { name: 'Models' }));
});

test('a listed model without pictures or per-digit figures says so and nothing breaks', async () => {
  await page.getByRole('button', { name: `Details of version ${BARE}` }).click();
  const view = page.getByTestId(`details-${BARE}`);
  await view.waitFor();
  const text = (await view.textContent()) ?? '';
  assert.match(text, /No per-digit figures were recorded/);
  assert.match(text, /The pipeline left no such picture next to this model/);
  assert.match(text, /No run report for this version/);
  assert.equal(await view.locator('img').count(), 0);
  await page.getByRole('button', { name: `Details of version ${BARE}` }).click();
  await view.waitFor({ state: 'detached' });
});

test('a downloaded model keeps its details, and they show offline after a reload', async () => {
  await page.getByTestId(`model-${GOOD}`).getByRole('button', { name: 'Download' }).click();
  await page.getByTestId(`stored-${GOOD}`).waitFor({ timeout: 30_000 });
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await context.setOffline(true);
  await page.reload();
  await page.getByTestId('api-offline').waitFor({ timeout: 20_000 });
  await page.getByRole('button', { name: `Details of stored version ${GOOD}` }).click();
  const view = page.getByTestId(`stored-details-${GOOD}`);
  await view.waitFor({ timeout: 10_000 });
  await checkFacts(view);
  const widths = await pictureWidths(view);
  assert.ok(widths['confusion-matrix'] > 0, `confusion matrix offline: ${JSON.stringify(widths)}`);
  assert.ok(widths['training-curves'] > 0, `training curves offline: ${JSON.stringify(widths)}`);
  const sources = await view.locator('img').evaluateAll((images) => images.map((img) => img.src));
  assert.ok(sources.every((src) => src.startsWith('blob:')), `pictures from the stored copy: ${sources}`);
  const report = await view.getByTestId('report-link').getAttribute('href');
  // Served by the service worker from the stored copy, sandboxed (src/storedReport.ts).
  assert.match(report ?? '', /\/stored-report\/[0-9a-f]{64}$/);
  const reportText = await page.evaluate((href) => fetch(href).then((r) => r.text()), report);
  assert.match(reportText, /<section id="?confusion/);
  await shot('details-offline', page.getByRole('region', { name: 'Models' }));
  await context.setOffline(false);
});

test('the page logged no errors', () => {
  assert.deepEqual(errors, []);
});
