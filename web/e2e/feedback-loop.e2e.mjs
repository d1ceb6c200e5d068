// The feedback loop's browser part (started by tests/e2e/web/test_feedback_loop.py, which then
// reviews the corrections with the CLI and runs the pipeline): a person draws, reads the
// answer, and corrects it with "Wrong? It was a …"; the app says it was sent.
//
// Two drawings: a 3 corrected as a 3 (the sample the test accepts) and a 7 "corrected" as a 1
// (the sample the test rejects). Environment: SITE_URL, GOOD_VERSION, optional ARTIFACTS
// (screenshots), CHROMIUM_PATH (default /usr/bin/chromium).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DIGITS, drawAndRead, isAppError, launch } from './browser.mjs';

const SITE_URL = required('SITE_URL');
const GOOD = required('GOOD_VERSION');
const ARTIFACTS = process.env.ARTIFACTS;

function required(name) {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`set ${name}`);
  return value;
}

let browser;
let page;
const errors = [];
const posts = []; // the POST /feedback responses the browser saw

async function shot(name) {
  if (ARTIFACTS === undefined) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Draw `digit`, press "It was a `label`", and wait until the app says it was sent. */
async function correct(digit, label) {
  const { digit: predicted } = await drawAndRead(page, DIGITS[digit]);
  assert.ok(predicted !== undefined && predicted !== '', 'the app answered');
  const sent = posts.length;
  await page.getByTestId(`feedback-label-${label}`).click();
  const status = page.locator('[data-testid="feedback-status"][data-status="sent"]');
  await status.waitFor({ timeout: 15_000 });
  assert.match((await status.textContent()) ?? '', /^Sent/);
  assert.equal(posts.length, sent + 1, 'one POST /feedback per correction');
  // Answered: the buttons stay disabled for this drawing, so it is sent once.
  assert.equal(await page.getByTestId(`feedback-label-${label}`).isDisabled(), true);
  return predicted;
}

before(async () => {
  browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  page = await context.newPage();
  page.on('console', (msg) => {
    if (isAppError(msg)) errors.push(`${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  page.on('response', (response) => {
    if (new URL(response.url()).pathname === '/feedback' && response.request().method() === 'POST') {
      posts.push(response);
    }
  });
  await page.goto(SITE_URL);
});

after(async () => {
  await browser?.close();
});

test('the approved model is downloaded and put in use', async () => {
  const good = page.getByTestId(`model-${GOOD}`);
  await good.waitFor({ timeout: 20_000 });
  await good.getByRole('button', { name: 'Download' }).click();
  await page
    .getByTestId('active-model')
    .filter({ hasText: new RegExp(`^model v${GOOD}$`) })
    .waitFor({ timeout: 30_000 });
});

test('a drawn 3, said to be a 3, is sent once and stored', async () => {
  await correct('3', 3);
  assert.equal(posts.at(-1).status(), 202);
  const body = await posts.at(-1).json();
  assert.match(body.id, /^[0-9a-f]{64}$/);
  assert.equal(body.duplicate, false);
  await shot('feedback-1-sent');
});

test('a drawn 7, "corrected" to a 1, is sent too (the review will reject it)', async () => {
  await correct('7', 1);
  assert.equal(posts.at(-1).status(), 202);
  assert.deepEqual(errors, []);
  await shot('feedback-2-sent');
});
