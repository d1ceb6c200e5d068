// One thin layer over three well-kept clients, so a suite reads the same in every engine, each
// from Debian's packages (never a downloaded browser):
//
// - chromium: playwright-core, Debian's chromium (CHROMIUM_PATH).
// - firefox: puppeteer-core over WebDriver BiDi, Debian's firefox-esr (FIREFOX_PATH).
// - webkit: webdriverio over WebDriver classic to WebKitWebDriver (webkit2gtk-driver), which
//   drives MiniBrowser (WEBKIT_MINIBROWSER) under Xvfb when there is no DISPLAY.
//
// A session is "private" (an incognito context, a Firefox private window, WebKit's ephemeral
// automation session) or a normal profile in a fresh folder. WebKitGTK's automation session is
// always ephemeral, so WebKit has the private session only.
//
// What WebKitGTK's automation cannot do, and why (tried with WebKitGTK 2.50, Debian 12):
// - Touch: WebKitWebDriver turns pointer actions of pointerType "touch" into mouse events
//   (the page sees PointerEvents of pointerType "mouse", 1x1 px, pressure 0.5), and without
//   a touchscreen device, which Xvfb cannot have, WebKitGTK exposes no touch at all
//   (navigator.maxTouchPoints 0, no ontouchstart). Touch with a contact size is tried in
//   Chromium (DevTools protocol) and Firefox (WebDriver BiDi) only.
// What it can, with help: the device pixel ratio, from GTK's window scale (GDK_SCALE=2 or 3
// for the browser's process gives devicePixelRatio 2 or 3; whole numbers only), and a phone's
// 360 px window: MiniBrowser's toolbar (its buttons and address entry) holds the window to at
// least 447 px, so a GTK user stylesheet (GTK 3 reads $XDG_CONFIG_HOME/gtk-3.0/gtk.css at
// start) shrinks the toolbar's widgets; the page's own fonts and layout are WebKit's, not GTK's.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ENGINES = ['chromium', 'firefox', 'webkit'];

const PATHS = {
  chromium: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  firefox: process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr',
  webkit: process.env.WEBKIT_MINIBROWSER ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser',
};

/** The session kinds an engine offers: private always, a normal profile where it can. */
export const kindsOf = (engine) => (engine === 'webkit' ? ['private'] : ['normal', 'private']);

/**
 * Open a browser session of `engine` with one page.
 *
 * @param {'chromium' | 'firefox' | 'webkit'} engine
 * @param {{ kind: 'normal' | 'private', width: number, height: number, dpr: number }} options
 *   the viewport in CSS px and its device pixel ratio (WebKit: whole ratios only, see above).
 * @returns {Promise<Session>}
 */
export async function open(engine, options) {
  const opener = { chromium: openChromium, firefox: openFirefox, webkit: openWebKit }[engine];
  if (opener === undefined) throw new Error(`unknown engine ${engine}: one of ${ENGINES.join(', ')}`);
  return opener(options);
}

/**
 * What a suite does with a page, the same in every engine. `script` functions run in the page
 * with one JSON argument and return a JSON value (or a promise of one).
 */
class Session {
  constructor(engine, kind, impl, cleanup) {
    this.engine = engine;
    this.kind = kind;
    this.impl = impl;
    this.cleanup = cleanup;
  }

  goto(url) {
    return this.impl.goto(url);
  }

  reload() {
    return this.impl.reload();
  }

  evaluate(script, arg = null) {
    return this.impl.evaluate(script, arg);
  }

  /** Click the element `selector` (CSS) with the engine's own click. */
  click(selector) {
    return this.impl.click(selector);
  }

  /** The text of the first element `selector`, or null when there is none. */
  text(selector) {
    return this.evaluate((s) => document.querySelector(s)?.textContent ?? null, selector);
  }

  /** Poll `script(arg)` in the page until it returns a truthy value; that value. */
  async waitFor(script, arg = null, { timeout = 20_000, what = 'the page' } = {}) {
    const until = Date.now() + timeout;
    let last;
    for (;;) {
      try {
        last = await this.evaluate(script, arg);
        if (last) return last;
      } catch (error) {
        last = error; // a navigation in between: ask again
      }
      if (Date.now() > until) throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${last})`);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  }

  /** Wait until the element `selector` exists (and its text matches `text`, a RegExp source). */
  waitForSelector(selector, { text = null, timeout = 20_000 } = {}) {
    return this.waitFor(
      ([s, t]) => {
        const found = document.querySelector(s);
        return found !== null && (t === null || new RegExp(t).test(found.textContent ?? ''));
      },
      [selector, text],
      { timeout, what: `${selector}${text === null ? '' : ` /${text}/`}` },
    );
  }

  /**
   * Draw `strokes` (lists of [x, y] in pad pixels, 280x280) on the element `selector` with
   * the mouse, as pointer actions with a move every few pixels.
   */
  async drawStrokes(strokes, selector = '[data-testid="drawing"]') {
    const box = await this.evaluate((s) => {
      const r = document.querySelector(s).getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height };
    }, selector);
    const at = ([x, y]) => [Math.round(box.x + (x * box.width) / 280), Math.round(box.y + (y * box.height) / 280)];
    for (const stroke of strokes) await this.impl.mouseStroke(densify(stroke).map(at));
  }

  /** Whether the engine's automation can touch with a contact size (WebKitGTK's cannot). */
  get canTouch() {
    return this.impl.touchStroke !== undefined;
  }

  /**
   * One finger along `points` (pad pixels) on the element `selector`; `contact(k)` gives the
   * contact at point k: {width, height} in CSS px and pressure 0 to 1.
   */
  async touchStroke(points, contact, selector = '[data-testid="drawing"]') {
    if (!this.canTouch) throw new Error(`${this.engine}'s automation cannot touch with a contact size`);
    const box = await this.evaluate((s) => {
      const r = document.querySelector(s).getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height };
    }, selector);
    await this.impl.touchStroke(
      densify(points).map(([x, y], k) => ({
        x: Math.round(box.x + (x * box.width) / 280),
        y: Math.round(box.y + (y * box.height) / 280),
        ...contact(k),
      })),
    );
  }

  async close() {
    await this.cleanup();
  }
}

/** Points every 8 pad pixels along a polyline, the first included. */
function densify(stroke, step = 8) {
  const points = [stroke[0]];
  for (let k = 1; k < stroke.length; k++) {
    const [x0, y0] = stroke[k - 1];
    const [x1, y1] = stroke[k];
    const n = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) / step));
    for (let s = 1; s <= n; s++) points.push([x0 + ((x1 - x0) * s) / n, y0 + ((y1 - y0) * s) / n]);
  }
  return points;
}

const tempProfile = (engine) => mkdtempSync(join(tmpdir(), `e2e-${engine}-`));

/**
 * A page of playwright-core or puppeteer-core as a Session's engine part: the two clients name
 * goto, reload, evaluate, click and the mouse alike. Touch differs per engine: `touchStroke`.
 */
function pageImpl(page, touchStroke) {
  return {
    goto: (url) => page.goto(url),
    reload: () => page.reload(),
    evaluate: (script, arg) => page.evaluate(script, arg),
    click: (selector) => page.click(selector),
    async mouseStroke(points) {
      const [first, ...rest] = points;
      await page.mouse.move(...first);
      await page.mouse.down();
      for (const p of rest) await page.mouse.move(...p);
      await page.mouse.up();
    },
    touchStroke,
  };
}

/** Chromium's touch, through the DevTools protocol: radius is half the contact's size, force its pressure. */
const chromiumTouch = (page) =>
  async function touchStroke(contacts) {
    const cdp = await page.context().newCDPSession(page);
    const point = (c) => ({ x: c.x, y: c.y, radiusX: c.width / 2, radiusY: c.height / 2, force: c.pressure, id: 1 });
    const [first, ...rest] = contacts;
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [point(first)] });
    for (const c of rest) await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [point(c)] });
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    await cdp.detach();
  };

async function openChromium({ kind, width, height, dpr }) {
  const { chromium } = await import('playwright-core');
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync'];
  const contextOptions = { viewport: { width, height }, deviceScaleFactor: dpr, hasTouch: true };
  if (kind === 'private') {
    const browser = await chromium.launch({ executablePath: PATHS.chromium, args });
    const context = await browser.newContext(contextOptions);
    const page = await context.newPage();
    return new Session('chromium', kind, pageImpl(page, chromiumTouch(page)), () => browser.close());
  }
  const profile = tempProfile('chromium');
  const context = await chromium.launchPersistentContext(profile, { executablePath: PATHS.chromium, args, ...contextOptions });
  const page = context.pages()[0] ?? (await context.newPage());
  return new Session('chromium', kind, pageImpl(page, chromiumTouch(page)), async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
}

async function openFirefox({ kind, width, height, dpr }) {
  const { default: puppeteer } = await import('puppeteer-core');
  const profile = tempProfile('firefox');
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: PATHS.firefox,
    headless: true,
    userDataDir: profile,
    // Every window private: Firefox's private browsing itself, not only a separate context.
    extraPrefsFirefox: kind === 'private' ? { 'browser.privatebrowsing.autostart': true } : {},
  });
  const page = (await browser.pages())[0] ?? (await browser.newPage());
  await page.setViewport({ width, height, deviceScaleFactor: dpr });
  const impl = pageImpl(page, (contacts) => firefoxTouch(page, contacts));
  return new Session('firefox', kind, impl, async () => {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  });
}

/**
 * One finger along `contacts` in Firefox, as WebDriver BiDi's input.performActions with a
 * touch pointer whose moves carry width, height and pressure (the spec's pointer action
 * properties; Firefox 153 ESR passes them to the page's PointerEvents, which the suite checks).
 *
 * Why a puppeteer-internal object: puppeteer's documented Touchscreen sends the same BiDi
 * command but with a fixed 1x1 px contact at pressure 0.5 (puppeteer-core 24.43,
 * bidi/Input.js, BidiTouchscreen.touchStart) and takes no size; puppeteer documents no way to
 * send a raw BiDi command; Firefox allows one WebDriver session at a time, so a second BiDi
 * client cannot join puppeteer's (session.new answers "Maximum number of active sessions"); and a WebDriver client of its own (webdriverio) needs
 * geckodriver, which neither Debian nor npm provides without a download from GitHub. So the
 * command goes to the frame's BiDi browsing context puppeteer itself uses for its touch, and
 * a clear error says so if a puppeteer update moves it.
 */
async function firefoxTouch(page, contacts) {
  const context = page.mainFrame().browsingContext;
  if (typeof context?.performActions !== 'function') {
    throw new Error('puppeteer-core no longer exposes the frame\'s BiDi browsing context (performActions): see firefoxTouch in e2e/engines.mjs');
  }
  const size = (c) => ({ width: Math.round(c.width), height: Math.round(c.height), pressure: c.pressure });
  const [first, ...rest] = contacts;
  const move = (c, duration) => ({ type: 'pointerMove', x: c.x, y: c.y, origin: 'viewport', duration, ...size(c) });
  await context.performActions([
    {
      type: 'pointer',
      id: 'finger',
      parameters: { pointerType: 'touch' },
      actions: [
        move(first, 0),
        { type: 'pointerDown', button: 0, ...size(first) },
        ...rest.map((c) => move(c, 10)),
        { type: 'pointerUp', button: 0 },
      ],
    },
  ]);
}

/** A free TCP port on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** GTK CSS for MiniBrowser's toolbar: no padding, no least sizes, tiny label and icons. */
const NARROW_TOOLBAR = `entry, button, button *, image {
  padding: 0; margin: 0; min-width: 0; min-height: 0; border-width: 0;
  font-size: 1px; -gtk-icon-transform: scale(0.1);
}
`;

async function openWebKit({ kind, width, height, dpr }) {
  const { remote } = await import('webdriverio');
  const port = await freePort();
  // GTK's window scale (GDK_SCALE, whole numbers only) is WebKitGTK's device scale factor, so
  // the page's devicePixelRatio; it is read when MiniBrowser starts, which the driver does.
  const scale = Math.max(1, Math.round(dpr));
  // Without a display, xvfb-run starts Xvfb on a free display number (-a) for the driver and
  // the MiniBrowser it starts, with a screen that holds the scaled window; the whole process
  // group is stopped at the end.
  const screen = `${Math.max(1280, width * scale)}x${Math.max(1024, (height + 100) * scale)}x24`;
  const [command, args] = process.env.DISPLAY
    ? ['WebKitWebDriver', [`--port=${port}`]]
    : ['xvfb-run', ['-a', '-s', `-screen 0 ${screen}`, 'WebKitWebDriver', `--port=${port}`]];
  const config = tempProfile('webkit-gtk');
  mkdirSync(join(config, 'gtk-3.0'));
  writeFileSync(join(config, 'gtk-3.0', 'gtk.css'), NARROW_TOOLBAR);
  const driver = spawn(command, args, {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, GDK_SCALE: String(scale), XDG_CONFIG_HOME: config },
  });
  const stop = [
    () => rmSync(config, { recursive: true, force: true }),
    () => {
      try {
        process.kill(-driver.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    },
  ];
  await waitForPort(port);
  let browser;
  try {
    browser = await remote({
      hostname: '127.0.0.1',
      port,
      logLevel: 'error',
      capabilities: {
        browserName: 'MiniBrowser',
        'wdio:enforceWebDriverClassic': true,
        'webkitgtk:browserOptions': { binary: PATHS.webkit, args: ['--automation'] },
      },
    });
    await browser.setWindowSize(width, height);
  } catch (error) {
    for (const s of stop.reverse()) s();
    throw error;
  }
  const impl = {
    goto: (url) => browser.url(url),
    reload: () => browser.refresh(),
    evaluate: (script, arg) => browser.execute(script, arg),
    click: async (selector) => (await browser.$(selector)).click(),
    async mouseStroke(points) {
      const [first, ...rest] = points;
      let action = browser
        .action('pointer', { parameters: { pointerType: 'mouse' } })
        .move({ x: first[0], y: first[1], origin: 'viewport', duration: 0 })
        .down({ button: 0 });
      for (const [x, y] of rest) action = action.move({ x, y, origin: 'viewport', duration: 10 });
      await action.up({ button: 0 }).perform();
    },
  };
  return new Session('webkit', kind, impl, async () => {
    await browser.deleteSession().catch(() => undefined);
    for (const s of stop.reverse()) s();
  });
}

async function waitForPort(port) {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/status`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`WebKitWebDriver did not answer on port ${port}`);
}
