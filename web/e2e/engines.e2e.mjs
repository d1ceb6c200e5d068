// The app in one engine (ENGINE: chromium, firefox or webkit; see engines.mjs), in each of
// its session kinds (a normal profile and a private one): the list, a download, digits and a
// tap drawn on a phone-sized screen, a correction sent, the details of the model, and a reload
// while the site answers 503 and then not at all, after which the stored model must still
// read a digit, or the app must say in plain words why it cannot. Started by tests/e2e/web/test_engines.py, which owns the servers.
//
// Then, where UPDATES is set (Firefox and WebKit; Chromium has app.e2e.mjs and update.e2e.mjs),
// the update suite in the same session: a newer version approved in the registry is offered
// and put in use, the same version rejected is marked withdrawn and the app goes back to the
// stored approved one, and a deploy of the site reaches the open page and a reload offline.
//
// Environment: ENGINE, SITE_URL, GOOD_VERSION, CONTROL_URL (POST /site/ok|503|down switches
// what the site server answers), optional TIMINGS (a JSON file: ms to the first prediction per
// session kind is written there, for the benchmark). With UPDATES=1 also: SITE_DIR (the folder
// the site server serves), FIRST_SITE and NEXT_SITE (two builds, copied over SITE_DIR),
// FIRST_BUILD and NEXT_BUILD (their labels), NEWER_VERSION (registered pending approval), and
// PLAYGROUND_CLI (a JSON list: the command that runs `playground` against the emulator).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { DIGITS } from './browser.mjs';
import { kindsOf, open } from './engines.mjs';

const ENGINE = required('ENGINE');
const SITE_URL = required('SITE_URL');
const GOOD = required('GOOD_VERSION');
const CONTROL_URL = required('CONTROL_URL');
const TIMINGS = process.env.TIMINGS;
const UPDATES = process.env.UPDATES === '1';
const update = UPDATES
  ? {
      siteDir: required('SITE_DIR'),
      firstSite: required('FIRST_SITE'),
      nextSite: required('NEXT_SITE'),
      firstBuild: required('FIRST_BUILD'),
      nextBuild: required('NEXT_BUILD'),
      newer: required('NEWER_VERSION'),
      cli: JSON.parse(required('PLAYGROUND_CLI')),
    }
  : null;

function required(name) {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`set ${name}`);
  return value;
}

const PHONE = { width: 360, height: 740, dpr: 3 };
const LAPTOP = { width: 1024, height: 768, dpr: 2 };
/**
 * A phone for the normal profile, a small laptop for the private one: both DPRs the issue names.
 * WebKit has the private session only, on the laptop; the phone's DPR 3 and narrow window are
 * checked there in a short session of their own (WebKitGTK under Xvfb paints in software, and
 * the whole suite at DPR 3 takes it half a minute more).
 */
const screenOf = (kind) => (kind === 'normal' ? PHONE : LAPTOP);

const timings = {};

/** The session has the screen asked for (its width and devicePixelRatio exactly). */
async function checkScreen(session, screen) {
  const { scrollWidth, innerWidth, dpr } = await session.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    dpr: window.devicePixelRatio,
  }));
  assert.equal(dpr, screen.dpr, `devicePixelRatio ${dpr}, asked for ${screen.dpr}`);
  assert.equal(innerWidth, screen.width, `the window is ${innerWidth} px wide, asked for ${screen.width}`);
  assert.ok(scrollWidth <= innerWidth, `the page is ${scrollWidth} px wide on a ${innerWidth} px screen`);
}

/** Tell the site server what to answer: 'ok', '503' (every request), or 'down' (no answer). */
async function site(mode) {
  const response = await fetch(`${CONTROL_URL}/site/${mode}`, { method: 'POST' });
  assert.equal(response.status, 204, `the site control answered ${response.status}`);
}

/** Clear the pad, draw `strokes`, and return what the app shows once every stroke was read. */
async function drawAndRead(session, strokes) {
  await session.click('.pad button');
  const before = await session.evaluate(() => window.__digitRecogniser.readings);
  await session.drawStrokes(strokes);
  await session.waitFor((n) => window.__digitRecogniser.readings >= n, before + strokes.length, {
    what: 'the drawing to be read',
  });
  const read = await session.evaluate(() => {
    const time = document.querySelector('[data-testid="inference-time"]');
    return {
      digit: document.querySelector('[data-testid="prediction"]')?.textContent?.trim(),
      time: time?.textContent?.trim() ?? null,
      milliseconds: time === null ? null : Number(time.dataset.milliseconds),
    };
  });
  if (read.time !== null) shownTimes.push(read);
  return read;
}

/** Every time shown under a prediction in this run, with the duration measured. */
const shownTimes = [];

/**
 * The times shown are as fine as the page's clock, and no finer: "< R ms" below its step R,
 * whole ms with a clock of 1 ms or coarser (Firefox and WebKit without cross-origin
 * isolation), never "0.00 ms".
 */
async function checkShownTimes(session) {
  // The step of performance.now() in the page, as the app measures it (src/duration.ts).
  const step = await session.evaluate(() => {
    const start = performance.now();
    let last = start;
    let least = Infinity;
    for (let changes = 0; changes < 5 && last - start < 50; ) {
      const t = performance.now();
      if (t !== last) {
        least = Math.min(least, t - last);
        last = t;
        changes += 1;
      }
    }
    return Math.round(least * 1000) / 1000; // to the microsecond: see src/duration.ts
  });
  assert.ok(shownTimes.length > 0, 'no time was shown');
  for (const { time, milliseconds } of shownTimes) {
    assert.notEqual(time, '0.00 ms', 'a run faster than the clock');
    if (milliseconds < step) assert.match(time, /^< \d+(\.\d+)? ms$/, `${milliseconds} ms on a clock of ${step} ms`);
    else if (step >= 1) assert.match(time, /^\d+ ms$/, `${milliseconds} ms on a clock of ${step} ms shows digits the clock has not`);
    else {
      // As many decimals as the clock has, two at most: 0.1 ms (Chromium) shows "0.9 ms".
      const decimals = Math.min(2, Math.ceil(-Math.log10(step) - 1e-9));
      assert.match(time, new RegExp(`^\\d+\\.\\d{${decimals}} ms$`), `${time} on a clock of ${step} ms`);
    }
  }
  return step;
}

/** Run the `playground` CLI against the test's emulator. */
const playground = (...args) => execFileSync(update.cli[0], [...update.cli.slice(1), ...args], { stdio: 'pipe' });

/** Put the build `from` where the site server serves it, as a deploy swaps the files. */
function deploy(from) {
  rmSync(update.siteDir, { recursive: true, force: true });
  cpSync(from, update.siteDir, { recursive: true });
}

/**
 * Press Refresh until `selector` shows (with its text matching `text`, a RegExp source): the
 * API reuses a registry answer for a couple of seconds.
 */
async function refreshUntil(session, selector, text = null) {
  const shown = ([s, t]) => {
    const found = document.querySelector(s);
    return found !== null && (t === null || new RegExp(t).test(found.textContent ?? ''));
  };
  for (let tries = 0; tries < 20; tries++) {
    if (await session.evaluate(shown, [selector, text])) return;
    await session.waitForSelector('.models header button:not([disabled])');
    await session.click('.models header button');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await session.waitForSelector(selector, { text, timeout: 1_000 });
}

/** Every notice and error the page shows, as text. */
const notices = (session) =>
  session.evaluate(() => [...document.querySelectorAll('[role="status"], [role="alert"]')].map((e) => e.textContent ?? ''));

/** Reload, and wait until the model used before is in use again (resumed from storage). */
async function reloadAndResume(session) {
  await session.reload();
  await session.waitForSelector('[data-testid="active-model"]', { text: `^model v${GOOD}$`, timeout: 30_000 });
}

after(async () => {
  await site('ok').catch(() => undefined);
  if (TIMINGS !== undefined) writeFileSync(TIMINGS, JSON.stringify(timings));
});

for (const kind of kindsOf(ENGINE)) {
  describe(`${ENGINE}, ${kind} session`, () => {
    const screen = screenOf(kind);
    let session;
    let offlineReady = false; // a service worker controls the page: reloads can work offline

    after(async () => {
      await session?.close();
    });

    test(`the list, a download and drawn digits, on a ${screen.width} px screen at DPR ${screen.dpr}`, async (t) => {
      await site('ok');
      if (UPDATES) deploy(update.firstSite);
      shownTimes.length = 0;
      session = await open(ENGINE, { kind, ...screen });
      const start = Date.now();
      await session.goto(SITE_URL);
      await session.waitForSelector(`[data-testid="model-${GOOD}"]`, { timeout: 30_000 });
      assert.equal(await session.text('[data-testid="network-status"]'), 'online');
      await checkScreen(session, screen);

      await session.click(`[data-testid="model-${GOOD}"] > button`);
      await session.waitForSelector('[data-testid="active-model"]', { text: `^model v${GOOD}$`, timeout: 60_000 });
      const first = await drawAndRead(session, DIGITS[7]);
      timings[kind] = { first_prediction_ms: Date.now() - start, screen };
      assert.equal(first.digit, '7');
      for (const digit of ['1', '4']) assert.equal((await drawAndRead(session, DIGITS[digit])).digit, digit);
      const step = await checkShownTimes(session);
      t.diagnostic(`clock step ${step} ms; shown: ${shownTimes.map((r) => r.time).join(', ')}`);

      // A finger as wide as Chrome DevTools' example touch (51.7 px) draws a 1, and pressing
      // harder mid-stroke (a contact of a palm's size for a moment) neither erases nor ends it.
      if (session.canTouch) {
        const before = await session.evaluate(() => window.__digitRecogniser.predictions);
        await session.click('.pad button');
        const start = await session.evaluate(() => window.__digitRecogniser.readings);
        // What the page receives: the contact sizes and pressures must arrive, or this proves nothing.
        await session.evaluate(() => {
          window.__contacts = [];
          document.querySelector('[data-testid="drawing"]').addEventListener('pointermove', (e) => {
            if (e.pointerType === 'touch') window.__contacts.push([Math.round(e.width), Math.round(e.pressure * 10) / 10]);
          });
        });
        await session.touchStroke(DIGITS[1][0], (k) =>
          k >= 10 && k <= 13 ? { width: 110, height: 100, pressure: 1 } : { width: 51.7, height: 44, pressure: 0.4 },
        );
        await session.waitFor((n) => window.__digitRecogniser.readings >= n, start + 1, { what: 'the touch stroke to be read' });
        assert.equal(await session.text('[data-testid="prediction"]'), '1', 'a finger drew a 1');
        assert.equal(await session.evaluate(() => window.__digitRecogniser.predictions), before + 1, 'one stroke, one answer');
        const contacts = await session.evaluate(() => window.__contacts);
        assert.ok(contacts.some(([w, p]) => w >= 51 && w <= 53 && p === 0.4), `no finger-sized contact reached the page: ${JSON.stringify(contacts)}`);
        assert.ok(contacts.some(([w, p]) => w === 110 && p === 1), `no palm-sized contact reached the page: ${JSON.stringify(contacts)}`);
      } else {
        t.diagnostic(`${ENGINE}'s automation has no touch with a contact size: touch is not tried here`);
      }

      // A tap is not a digit: no answer, and the model does not run.
      const runs = await session.evaluate(() => window.__digitRecogniser.predictions);
      await drawAndRead(session, [[[140, 140], [141, 141]]]);
      assert.equal(await session.evaluate(() => document.querySelector('[data-testid="prediction"]').dataset.reading), 'not_a_digit');
      assert.equal(await session.evaluate(() => window.__digitRecogniser.predictions), runs, 'a tap ran the model');

      // A correction of the last digit goes to the feedback service at once.
      await drawAndRead(session, DIGITS[7]);
      await session.click('[data-testid="feedback-right"]');
      await session.waitForSelector('[data-testid="feedback-status"][data-status="sent"]');

      // The details of the model in use: its figures, one row per digit.
      await session.click(`button[aria-label="Details of version ${GOOD}"]`);
      await session.waitForSelector(`[data-testid="details-${GOOD}"] [data-testid="per-class"]`);
      assert.equal(
        await session.evaluate((v) => document.querySelectorAll(`[data-testid="details-${v}"] [data-testid="per-class"] tbody tr`).length, GOOD),
        10,
      );

      for (const text of await notices(session)) {
        assert.doesNotMatch(text, /\(null\)|undefined|\[object/, `a notice a person cannot read: ${text}`);
      }
    });

    test('the stored model survives a reload while the site answers 503 and then not at all, or the app says why not', async () => {
      assert.ok(session !== undefined, 'the first test opened no session');
      const said = await notices(session);
      const noOffline = await session.text('[data-testid="no-offline"]');
      const notKept = said.find((text) => text.includes('will not work offline'));
      if (noOffline !== null || notKept !== undefined) {
        // The engine cannot keep the app or the model here: the page says so, plainly.
        const why = noOffline ?? notKept;
        assert.match(why, /without the network|will not work offline/);
        assert.doesNotMatch(why, /\(null\)|undefined/);
        timings[kind].offline = `not kept: ${why}`;
        return;
      }
      await session.waitFor(() => navigator.serviceWorker?.controller != null, null, {
        timeout: 30_000,
        what: 'the service worker to control the page',
      });
      offlineReady = true;
      await site('503');
      await reloadAndResume(session);
      assert.equal((await drawAndRead(session, DIGITS[1])).digit, '1', 'after a reload on a 503');

      await site('down');
      await reloadAndResume(session);
      assert.equal((await drawAndRead(session, DIGITS[4])).digit, '4', 'after a reload with the site unreachable');
      await site('ok');
      timings[kind].offline = 'kept';
    });

    test('the model service answers again after the site comes back', { skip: false }, async () => {
      assert.ok(session !== undefined, 'the first test opened no session');
      await site('ok');
      if (offlineReady) await session.reload();
      await session.waitForSelector(`[data-testid="model-${GOOD}"]`, { timeout: 30_000 });
      await session.waitForSelector('[data-testid="network-status"]', { text: '^online$' });
    });

    test('a newer version approved in the registry is offered, downloaded and put in use', { skip: !UPDATES }, async () => {
      assert.ok(session !== undefined, 'the first test opened no session');
      playground('models', 'approve', update.newer);
      // The newest approved version is offered (the wrong-shape version, older, was offered before).
      await refreshUntil(session, '[data-testid="newer-version"]', `^Version ${update.newer} is approved and newer than version ${GOOD} in use`);
      await session.click('[data-testid="newer-version"] button');
      await session.waitForSelector('[data-testid="active-model"]', { text: `^model v${update.newer}$`, timeout: 60_000 });
      assert.equal((await drawAndRead(session, DIGITS[7])).digit, '7');
    });

    test('the newer version, rejected, is marked withdrawn and the app goes back to the stored approved one', { skip: !UPDATES }, async () => {
      assert.ok(session !== undefined, 'the first test opened no session');
      playground('models', 'reject', update.newer, '--reason', 'reads 7 as 1 in review');
      await refreshUntil(session, `[data-testid="withdrawn-${update.newer}"]`);
      await session.waitForSelector('[data-testid="active-model"]', { text: `^model v${GOOD}$`, timeout: 30_000 });
      assert.match(
        await session.text('[data-testid="withdrawn-notice"]'),
        new RegExp(`Version ${update.newer} was withdrawn(: reads 7 as 1 in review| \\(no reason given\\))\\. Now using version ${GOOD}, the newest approved version stored here`),
      );
      assert.equal(await session.text(`[data-testid="model-${update.newer}"]`), null, 'the list still offers it');
      assert.equal((await drawAndRead(session, DIGITS[4])).digit, '4');
    });

    test('a deploy of the site reaches the open page, and a reload offline opens the new build with the stored model', { skip: !UPDATES }, async () => {
      assert.ok(session !== undefined, 'the first test opened no session');
      const first = await session.text('[data-testid="site-build"]');
      assert.match(first, new RegExp(`site build ${update.firstBuild}$`));
      deploy(update.nextSite);
      if (offlineReady) {
        // The browser looks for a new service worker on navigations and now and then; the
        // page open through the deploy is told once the new build's worker takes over.
        await session.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r.update()).then(() => true));
        await session.waitForSelector('[data-testid="site-update"]', { text: 'A new version of this site is ready', timeout: 30_000 });
        await session.click('[data-testid="site-update"] button');
      } else {
        await session.reload();
      }
      await session.waitForSelector('[data-testid="site-build"]', { text: `site build ${update.nextBuild}$`, timeout: 30_000 });
      await session.waitForSelector('[data-testid="active-model"]', { text: `^model v${GOOD}$`, timeout: 30_000 });
      if (!offlineReady) return; // said in plain words above: this window keeps no offline copy
      await session.waitFor(
        (build) =>
          new Promise((resolve) => {
            const controller = navigator.serviceWorker.controller;
            if (controller === null) {
              resolve(false);
              return;
            }
            const channel = new MessageChannel();
            channel.port1.onmessage = (event) => resolve(event.data === build);
            controller.postMessage({ type: 'SITE_BUILD' }, [channel.port2]);
          }),
        update.nextBuild,
        { what: 'the new build\'s service worker to control the page' },
      );
      await site('down');
      await reloadAndResume(session);
      await session.waitForSelector('[data-testid="site-build"]', { text: `site build ${update.nextBuild}$` });
      await session.waitForSelector(`[data-testid="withdrawn-${update.newer}"]`);
      assert.equal((await drawAndRead(session, DIGITS[1])).digit, '1', 'offline, after the deploy');
      await site('ok');
    });
  });
}

if (ENGINE === 'webkit') {
  test(`webkit on a ${PHONE.width} px phone at DPR ${PHONE.dpr}: the layout fits`, async () => {
    await site('ok');
    const session = await open(ENGINE, { kind: 'private', ...PHONE });
    try {
      await session.goto(SITE_URL);
      await session.waitForSelector(`[data-testid="model-${GOOD}"]`, { timeout: 30_000 });
      await checkScreen(session, PHONE);
    } finally {
      await session.close();
    }
  });
}
