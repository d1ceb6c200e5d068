// The README's screenshot of the details view (docs/details-view.png), taken from a running
// site: the newest approved model is downloaded and put in use, then its details are opened.
//
// Usage (after `make up`): SITE_URL=http://127.0.0.1:5173/ OUT=../docs/details-view.png \
//   node e2e/details-screenshot.mjs            (CHROMIUM_PATH as for the browser tests)
import { launch } from './browser.mjs';

const SITE_URL = process.env.SITE_URL ?? 'http://127.0.0.1:5173/';
const OUT = process.env.OUT ?? 'details-view.png';

const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
  await page.goto(SITE_URL);
  const newest = page.getByTestId('api-models').locator('li').first();
  await newest.waitFor({ timeout: 20_000 });
  const version = (await newest.getAttribute('data-testid'))?.replace('model-', '');
  const download = newest.getByRole('button', { name: 'Download' });
  if ((await download.count()) > 0) await download.click();
  await page.getByTestId('active-model').filter({ hasText: `model v${version}` }).waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: `Details of version ${version}` }).click();
  const view = page.getByTestId(`details-${version}`);
  await view.waitFor();
  await page.waitForFunction(
    (element) => [...element.querySelectorAll('img')].every((img) => img.complete && img.naturalWidth > 0),
    await view.elementHandle(),
    { timeout: 15_000 },
  );
  await page.getByRole('region', { name: 'Models' }).screenshot({ path: OUT });
  console.log(`version ${version}: ${OUT}`);
} finally {
  await browser.close();
}
