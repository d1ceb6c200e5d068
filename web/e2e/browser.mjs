// Debian's chromium through playwright-core: never a downloaded browser.
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Launch chromium headless; `extraArgs` are more command-line switches. */
export function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      ...extraArgs,
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** Hand-drawn digits as mouse strokes, in canvas pixels (280x280), [x, y] points. */
export const DIGITS = {
  0: [ellipse(140, 140, 55, 90)],
  1: [[[150, 50], [130, 230]]],
  2: [[[85, 90], [130, 60], [180, 65], [195, 110], [150, 160], [90, 230], [200, 230]]],
  3: [
    [[80, 60], [140, 50], [190, 70], [180, 120], [130, 135]],
    [[130, 135], [190, 150], [195, 200], [140, 235], [85, 225]],
  ],
  4: [
    [[160, 40], [70, 160], [210, 160]],
    [[170, 90], [170, 240]],
  ],
  7: [[[70, 60], [210, 60], [110, 240]]],
};

function ellipse(cx, cy, rx, ry, n = 24) {
  return Array.from({ length: n + 1 }, (_, k) => {
    const a = -Math.PI / 2 + (2 * Math.PI * k) / n;
    return [cx + rx * Math.cos(a), cy + ry * Math.sin(a)];
  });
}

/** Draw strokes with real mouse moves (pointer events), interpolating between points. */
export async function draw(page, strokes) {
  const canvas = page.getByTestId('drawing');
  const box = await canvas.boundingBox();
  if (box === null) throw new Error('the drawing canvas is not visible');
  const sx = box.width / 280;
  const sy = box.height / 280;
  for (const stroke of strokes) {
    const [first, ...rest] = stroke;
    await page.mouse.move(box.x + first[0] * sx, box.y + first[1] * sy);
    await page.mouse.down();
    for (const [x, y] of rest) {
      await page.mouse.move(box.x + x * sx, box.y + y * sy, { steps: 8 });
    }
    await page.mouse.up();
  }
}

/** Clear, draw a digit, and return the digit shown once every stroke has been read. */
export async function drawAndRead(page, strokes) {
  await page.getByRole('button', { name: 'Clear' }).click();
  const before = await page.evaluate(() => window.__digitRecogniser.readings);
  await draw(page, strokes);
  await page.waitForFunction(
    (n) => window.__digitRecogniser.readings >= n,
    before + strokes.length,
    { timeout: 15_000 },
  );
  return {
    digit: (await page.getByTestId('prediction').textContent())?.trim(),
    milliseconds: Number.parseFloat((await page.getByTestId('inference-time').getAttribute('data-milliseconds')) ?? 'NaN'),
    time: (await page.getByTestId('inference-time').textContent())?.trim(),
  };
}

/** The canvas box in page pixels and the scale from pad pixels (280x280) to page pixels. */
async function padBox(page) {
  const box = await page.getByTestId('drawing').boundingBox();
  if (box === null) throw new Error('the drawing canvas is not visible');
  return { ...box, sx: box.width / 280, sy: box.height / 280 };
}

/**
 * Touch contacts through the DevTools protocol (Input.dispatchTouchEvent), as a tablet sends
 * them: `frames` is a list of moments, each the list of contacts down at that moment
 * ({id, x, y, radius, force} in pad pixels; radius in CSS px, so PointerEvent width = 2 * radius;
 * force 0 to 1, the PointerEvent's pressure, 0.5 when not given).
 * A contact missing from the next moment has lifted.
 */
export async function touch(page, frames) {
  const cdp = await page.context().newCDPSession(page);
  const box = await padBox(page);
  const point = (c) => ({
    x: box.x + c.x * box.sx,
    y: box.y + c.y * box.sy,
    radiusX: c.radius ?? 6,
    radiusY: c.radius ?? 6,
    force: c.force ?? 0.5,
    id: c.id,
  });
  let down = new Map();
  const send = (type, touchPoints) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints });
  for (const contacts of frames) {
    const now = new Map(contacts.map((c) => [c.id, point(c)]));
    // Chromium lifts exactly the contacts a touchEnd names.
    const lifted = [...down.values()].filter((p) => !now.has(p.id));
    if (lifted.length > 0) await send('touchEnd', lifted);
    const added = [...now.keys()].some((id) => !down.has(id));
    if (now.size > 0) await send(added ? 'touchStart' : 'touchMove', [...now.values()]);
    down = now;
  }
  if (down.size > 0) await send('touchEnd', [...down.values()]);
  await cdp.detach();
}

/** A straight contact path from (x0, y0) to (x1, y1) in `steps` moments, for touch(). */
export function path(id, [x0, y0], [x1, y1], steps = 12, radius = 6) {
  return Array.from({ length: steps + 1 }, (_, k) => ({
    id,
    x: x0 + ((x1 - x0) * k) / steps,
    y: y0 + ((y1 - y0) * k) / steps,
    radius,
  }));
}

/** How many lit pixels the drawing pad has inside a square of `half` pad pixels around (x, y). */
export async function inkNear(page, x, y, half = 12) {
  return page.getByTestId('drawing').evaluate(
    (canvas, [cx, cy, h]) => {
      const data = canvas.getContext('2d').getImageData(Math.max(0, cx - h), Math.max(0, cy - h), 2 * h, 2 * h).data;
      let lit = 0;
      for (let k = 0; k < data.length; k += 4) if (data[k] > 0) lit++;
      return lit;
    },
    [Math.round(x), Math.round(y), half],
  );
}

/**
 * A pen and touch contacts on the pad, through the DevTools protocol, for interleaving them as
 * a hand holding a pen does. Coordinates in pad pixels. Call close() when done.
 */
export async function penAndTouch(page) {
  const cdp = await page.context().newCDPSession(page);
  const box = await padBox(page);
  const at = (x, y) => ({ x: box.x + x * box.sx, y: box.y + y * box.sy });
  const contact = ({ id, x, y, radius = 6 }) => ({ ...at(x, y), radiusX: radius, radiusY: radius, force: 1, id });
  const pen = (type, x, y) =>
    cdp.send('Input.dispatchMouseEvent', {
      type,
      ...at(x, y),
      button: 'left',
      buttons: type === 'mouseReleased' ? 0 : 1,
      clickCount: 1,
      pointerType: 'pen',
      force: 0.5,
    });
  return {
    penDown: (x, y) => pen('mousePressed', x, y),
    penMove: (x, y) => pen('mouseMoved', x, y),
    penUp: (x, y) => pen('mouseReleased', x, y),
    /** type: touchStart (a new contact among `contacts`), touchMove, or touchEnd (the contacts lifted). */
    touch: (type, contacts) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: contacts.map(contact) }),
    close: () => cdp.detach(),
  };
}

/**
 * Whether a console message is an error of the app's. Chromium logs every failed request as
 * "Failed to load resource"; with the network off, the app still asks the model service
 * (reachability is judged by its answers, never by navigator.onLine), so that one is expected.
 */
export const isAppError = (msg) =>
  msg.type() === 'error' && !/^Failed to load resource: net::ERR_INTERNET_DISCONNECTED$/.test(msg.text());
