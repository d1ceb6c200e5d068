// Browser half of bench/web_delivery.py: one visit in chromium, with a browser profile kept
// in PROFILE between runs (so the second run is a returning visitor), printed as JSON.
//
// A visit: open the site, use the model (download it on a first visit; a returning visitor's
// app reopens the stored one by itself), draw a 7 and read the prediction, then wait until the service
// worker of build EXPECT_BUILD is active (it has precached every file of that build).
//
// Environment: SITE_URL, GOOD_VERSION, VISIT (first or return), PROFILE (a folder),
// EXPECT_BUILD, CHROMIUM_PATH.
import { chromium } from 'playwright-core';
import { CHROMIUM_PATH, DIGITS, drawAndRead } from './browser.mjs';

const { SITE_URL, GOOD_VERSION, PROFILE, EXPECT_BUILD, VISIT } = process.env;

const context = await chromium.launchPersistentContext(PROFILE, {
  executablePath: CHROMIUM_PATH,
  viewport: { width: 1200, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
try {
  // Bytes of the answers from other origins than the site (the API, the model bucket).
  const elsewhere = {};
  const siteOrigin = new URL(SITE_URL).origin;
  context.on('requestfinished', async (request) => {
    const origin = new URL(request.url()).origin;
    if (origin === siteOrigin) return;
    const sizes = await request.sizes();
    elsewhere[origin] = (elsewhere[origin] ?? 0) + sizes.responseBodySize + sizes.responseHeadersSize;
  });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(SITE_URL);
  const active = page.getByTestId('active-model').filter({ hasText: `model v${GOOD_VERSION}` });
  if (VISIT === 'first') {
    const row = page.getByTestId(`model-${GOOD_VERSION}`);
    await row.waitFor({ timeout: 60_000 });
    await row.getByRole('button', { name: 'Download' }).click();
  }
  // A returning visitor's app reopens the model that was in use by itself.
  await active.waitFor({ timeout: 60_000 });
  await drawAndRead(page, DIGITS[7]);
  // From the start of navigation to the prediction on screen.
  const firstPredictionMs = await page.evaluate(() => performance.now());

  // Until this build's worker is active: its install has fetched every file it precaches.
  await page.waitForFunction(
    async (build) => {
      const registration = await navigator.serviceWorker.getRegistration();
      const worker = registration?.active;
      if (!worker || registration.installing || registration.waiting) return false;
      const channel = new MessageChannel();
      const answer = new Promise((resolve) => {
        channel.port1.onmessage = (event) => resolve(event.data);
        setTimeout(() => resolve(null), 1000);
      });
      worker.postMessage({ type: 'SITE_BUILD' }, [channel.port2]);
      return (await answer) === build;
    },
    EXPECT_BUILD,
    { timeout: 120_000, polling: 500 },
  );
  await page.waitForTimeout(500); // let the last answers finish reporting their sizes
  console.log(JSON.stringify({ first_prediction_ms: firstPredictionMs, elsewhere_bytes: elsewhere }));
} finally {
  await context.close();
}
