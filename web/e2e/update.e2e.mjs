// A deploy of a new site version reaches a returning visitor, and offline still works after
// it (started by tests/e2e/web/test_e2e.py, which serves SITE_DIR at SITE_URL).
//
// Environment: SITE_URL, SITE_DIR (the folder the server serves), NEXT_SITE (the next build,
// copied over SITE_DIR to deploy it), FIRST_BUILD and NEXT_BUILD (their labels), GOOD_VERSION,
// optional ARTIFACTS (screenshots), CHROMIUM_PATH.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DIGITS, drawAndRead, isAppError, launch } from './browser.mjs';

const env = (name) => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`set ${name}`);
  return value;
};
const SITE_URL = env('SITE_URL');
const SITE_DIR = env('SITE_DIR');
const NEXT_SITE = env('NEXT_SITE');
const FIRST = env('FIRST_BUILD');
const NEXT = env('NEXT_BUILD');
const GOOD = env('GOOD_VERSION');
const ARTIFACTS = process.env.ARTIFACTS;

let browser;
let context;
let page;
const errors = [];

before(async () => {
  browser = await launch();
  context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  page = await context.newPage();
  page.on('console', (msg) => {
    if (isAppError(msg)) errors.push(`${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
});

after(async () => {
  await browser?.close();
});

/** The build the page shows, and the build of the service worker controlling it. */
async function builds() {
  const shown = (await page.getByTestId('site-build').textContent())?.replace('site build ', '');
  const worker = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const controller = navigator.serviceWorker.controller;
        if (controller === null) {
          resolve(null);
          return;
        }
        const channel = new MessageChannel();
        channel.port1.onmessage = (event) => resolve(event.data);
        controller.postMessage({ type: 'SITE_BUILD' }, [channel.port2]);
      }),
  );
  return { shown, worker };
}

async function untilWorker(build) {
  for (let k = 0; k < 60; k++) {
    if ((await builds()).worker === build) return;
    await page.waitForTimeout(500);
  }
  assert.fail(`the service worker never became build ${build}: ${JSON.stringify(await builds())}`);
}

async function offlineReloadPredicts(build, name) {
  await context.setOffline(true);
  await page.reload();
  await page.getByTestId('site-build').filter({ hasText: build }).waitFor({ timeout: 20_000 });
  await page.getByTestId('active-model').filter({ hasText: `model v${GOOD}` }).waitFor({ timeout: 30_000 });
  const { digit } = await drawAndRead(page, DIGITS[7]);
  assert.equal(digit, '7');
  if (ARTIFACTS !== undefined) {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
  }
  await context.setOffline(false);
}

test('the first build is kept with a model, and a reload offline opens it with the model', async () => {
  await page.goto(SITE_URL);
  await page.getByTestId('site-build').filter({ hasText: FIRST }).waitFor();
  await page.getByTestId(`model-${GOOD}`).getByRole('button', { name: 'Download' }).click();
  await page.getByTestId('active-model').filter({ hasText: `model v${GOOD}` }).waitFor({ timeout: 30_000 });
  await untilWorker(FIRST);
  await offlineReloadPredicts(FIRST, 'update-1-offline-first.png');
});

test('after a deploy, the next visit online shows the new build, and its worker takes over', async () => {
  // A second tab stays open on the first build through the deploy.
  const stale = await context.newPage();
  stale.on('console', (msg) => {
    if (isAppError(msg)) errors.push(`${msg.text()} (${msg.location().url})`);
  });
  await stale.goto(SITE_URL);
  await stale.getByTestId('site-build').filter({ hasText: FIRST }).waitFor();
  rmSync(SITE_DIR, { recursive: true, force: true });
  cpSync(NEXT_SITE, SITE_DIR, { recursive: true });
  await page.goto(SITE_URL);
  await page.getByTestId('site-build').filter({ hasText: NEXT }).waitFor({ timeout: 20_000 });
  await untilWorker(NEXT);
  await page.getByTestId('active-model').filter({ hasText: `model v${GOOD}` }).waitFor({ timeout: 30_000 });
  // The page is the new build already: nothing to reload.
  assert.equal(await page.getByTestId('site-update').count(), 0);
  // The tab left open on the first build is told, and its reload brings the new one.
  const prompt = stale.getByTestId('site-update');
  await prompt.waitFor({ timeout: 20_000 });
  assert.match((await prompt.textContent()) ?? '', /A new version of this site is ready/);
  await prompt.getByRole('button', { name: 'Reload' }).click();
  await stale.getByTestId('site-build').filter({ hasText: NEXT }).waitFor({ timeout: 20_000 });
  await stale.close();
});

test('offline after the deploy, a reload opens the new build with the stored model', async () => {
  await offlineReloadPredicts(NEXT, 'update-2-offline-next.png');
});

test('the pages logged no errors', () => {
  assert.deepEqual(errors, []);
});
