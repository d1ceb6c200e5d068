// Browser half of bench/drawn_digits.py: draws every planned digit on the real site and
// records what the app shows. Writes a JSON array of results to $RESULTS.
//
// Environment: SITE_URL, GOOD_VERSION, DRAWINGS (JSON file: the plan, strokes in pad pixels
// [x, y] on the 280 px pad, pen in px, input "mouse" or "touch"), RESULTS, CHROMIUM_PATH.
//
// Mouse strokes are real mouse events (playwright); touch strokes are DevTools-protocol touch
// events (Input.dispatchTouchEvent), which the page receives as pointer events of type
// "touch". The app has one pen (8 px); other pen widths are made by scaling the canvas line
// width the app sets, in the page, before each drawing.
import { readFileSync, writeFileSync } from 'node:fs';
import { launch } from './browser.mjs';

const { SITE_URL, GOOD_VERSION, DRAWINGS, RESULTS } = process.env;
const APP_PEN = 8;
const STEP_PX = 6; // pointer events every 6 pad pixels along a stroke, like a quick hand

const drawings = JSON.parse(readFileSync(DRAWINGS, 'utf8'));

/** Points every STEP_PX along a polyline (the first point included). */
function densify(stroke) {
  const points = [stroke[0]];
  for (let k = 1; k < stroke.length; k++) {
    const [x0, y0] = stroke[k - 1];
    const [x1, y1] = stroke[k];
    const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) / STEP_PX));
    for (let s = 1; s <= steps; s++) points.push([x0 + ((x1 - x0) * s) / steps, y0 + ((y1 - y0) * s) / steps]);
  }
  return points;
}

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, hasTouch: true });
  // Pen widths: scale whatever line width the app sets by window.__benchPenScale.
  await context.addInitScript(() => {
    const proto = CanvasRenderingContext2D.prototype;
    const width = Object.getOwnPropertyDescriptor(proto, 'lineWidth');
    Object.defineProperty(proto, 'lineWidth', {
      configurable: true,
      get() {
        return width.get.call(this);
      },
      set(value) {
        width.set.call(this, value * (window.__benchPenScale ?? 1));
      },
    });
  });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  await page.goto(SITE_URL);
  const row = page.getByTestId(`model-${GOOD_VERSION}`);
  await row.waitFor({ timeout: 30_000 });
  await row.getByRole('button', { name: 'Download' }).click();
  await page.getByTestId('active-model').filter({ hasText: `model v${GOOD_VERSION}` }).waitFor({ timeout: 60_000 });

  const cdp = await context.newCDPSession(page);
  const canvas = page.getByTestId('drawing');
  const box = await canvas.boundingBox();
  if (box === null) throw new Error('the drawing canvas is not visible');
  const at = ([x, y]) => [box.x + (x * box.width) / 280, box.y + (y * box.height) / 280];

  async function mouseStroke(stroke) {
    const points = densify(stroke).map(at);
    await page.mouse.move(...points[0]);
    await page.mouse.down();
    for (const p of points.slice(1)) await page.mouse.move(...p);
    await page.mouse.up();
  }

  async function touchStroke(stroke) {
    const points = densify(stroke).map(at);
    const touch = ([x, y]) => [{ x, y, id: 1, radiusX: 6, radiusY: 6, force: 0.5 }];
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: touch(points[0]) });
    for (const p of points.slice(1)) {
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: touch(p) });
    }
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  }

  const results = [];
  const started = performance.now();
  for (const [n, drawing] of drawings.entries()) {
    await page.getByRole('button', { name: 'Clear' }).click();
    const before = await page.evaluate((scale) => {
      window.__benchPenScale = scale;
      const { readings, predictions } = window.__digitRecogniser;
      return { readings, predictions };
    }, drawing.pen / APP_PEN);
    for (const stroke of drawing.strokes) {
      await (drawing.input === 'touch' ? touchStroke(stroke) : mouseStroke(stroke));
    }
    // Every finished stroke is handled once (its answer or "draw a digit" shown); wait for
    // the last one. Model runs are counted apart: a tap must run none.
    await page
      .waitForFunction((target) => window.__digitRecogniser.readings >= target, before.readings + drawing.strokes.length, {
        timeout: 10_000,
      })
      .catch(() => {
        console.error(`drawing ${drawing.id}: no reading counted within 10 s; reading what is shown`);
      });
    const inferences = (await page.evaluate(() => window.__digitRecogniser.predictions)) - before.predictions;
    const shown = await page.evaluate(() => {
      const answer = document.querySelector('[data-testid="prediction"]');
      const bars = [...document.querySelectorAll('[role="meter"]')].map((e) => Number(e.getAttribute('aria-valuenow')));
      const preview = document.querySelector('[data-testid="preview"]');
      const pixels = preview.getContext('2d').getImageData(0, 0, 28, 28).data;
      let seen = '';
      for (let k = 0; k < 784; k++) seen += String.fromCharCode(pixels[k * 4]);
      const text = answer?.textContent?.trim() ?? '';
      const p = Math.max(0, ...bars);
      // The shown digit, or for "not sure" the guess the bars show; null for no answer.
      const digit = /^\d$/.test(text) ? Number(text) : p > 0 ? bars.indexOf(p) : null;
      return { reading: answer?.getAttribute('data-reading') ?? 'unknown', digit, p, seen: btoa(seen) };
    });
    results.push({ id: drawing.id, ...shown, inferences });
    if ((n + 1) % 100 === 0) {
      const seconds = (performance.now() - started) / 1000;
      console.log(`${n + 1}/${drawings.length} drawn (${seconds.toFixed(0)} s)`);
    }
  }
  writeFileSync(RESULTS, JSON.stringify(results));
  console.log(`console errors during the run: ${errors.length}${errors.length ? `: ${errors.slice(0, 3).join(' | ')}` : ''}`);
} finally {
  await browser.close();
}
