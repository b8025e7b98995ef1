// Loads leadscore's /docs (Swagger UI) and /redoc (ReDoc) in a real browser (Debian's chromium,
// driven by the pinned playwright-core of web/) and checks what a person would see:
//   node openapi_browser.cjs BASE_URL SCREENSHOT.png WEB_DIR
// (SCREENSHOT.png shows /docs; redoc.png beside it /redoc.)
// Exits 0 when every check passes; else prints what failed and exits 1.
'use strict';
const path = require('path');

const [baseUrl, screenshot, webDir] = process.argv.slice(2);
const { chromium } = require(path.join(webDir, 'node_modules', 'playwright-core'));

// The operations the page must list, by operation id (shown with displayOperationId).
const operations = ['health', 'ready', 'createLead', 'listLeads', 'getLead', 'changeLeadStage',
  'analyzeLead', 'transferLead', 'importLeads', 'exportLeads', 'createJob', 'createKey', 'openapi'];

function fail(message) {
  throw new Error(message);
}

async function checkSwaggerUi(page, offsite) {
  const response = await page.goto(baseUrl + '/docs');
  if (response.status() !== 200) fail(`/docs answered ${response.status()}`);
  await page.waitForSelector('.opblock', { timeout: 20000 });
  const shown = await page.$$eval('.opblock-summary-operation-id', (nodes) =>
    nodes.map((n) => n.textContent.trim()));
  for (const id of operations)
    if (!shown.includes(id)) fail(`/docs does not show the operation ${id} (it shows ${shown.length})`);
  const title = await page.textContent('.info .title');
  if (!title.includes('leadscore')) fail(`/docs shows the title "${title}"`);

  // Try it out -> Execute on GET /health, and the answer shown.
  const health = page.locator('#operations-health-health');
  await health.locator('.opblock-summary').click();
  await health.locator('button.try-out__btn').click();
  await health.locator('button.execute').click();
  const status = health.locator('.live-responses-table .response .response-col_status');
  await status.first().waitFor({ timeout: 15000 });
  const code = (await status.first().textContent()).trim();
  if (code !== '200') fail(`Execute on GET /health shows status "${code}"`);
  const body = await health.locator('.live-responses-table .response-col_description pre').first().textContent();
  if (!body.includes('"ok"')) fail(`Execute on GET /health shows the body ${body}`);
  // The screenshot: the operations list, with GET /health folded again.
  await health.locator('.opblock-summary').click();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.setViewportSize({ width: 1280, height: 1600 });
  await page.screenshot({ path: screenshot });
  await page.waitForLoadState('networkidle');
  if (offsite.length) fail(`/docs loaded files from elsewhere: ${offsite.join(', ')}`);
}

async function checkRedoc(page, offsite) {
  const response = await page.goto(baseUrl + '/redoc');
  if (response.status() !== 200) fail(`/redoc answered ${response.status()}`);
  await page.waitForSelector('.api-content h1', { timeout: 20000 });
  const heading = await page.textContent('.api-content h1');
  if (!heading.includes('leadscore')) fail(`/redoc shows the heading "${heading}"`);
  for (const summary of ['Create a lead', 'Hand a lead off to sales', 'Import leads from CSV'])
    if ((await page.locator('h2', { hasText: summary }).count()) === 0)
      fail(`/redoc does not show the operation "${summary}"`);
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: path.join(path.dirname(screenshot), 'redoc.png') });
  if (offsite.length) fail(`/redoc loaded files from elsewhere: ${offsite.join(', ')}`);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  let status = 0;
  try {
    for (const check of [checkSwaggerUi, checkRedoc]) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      const offsite = [];
      const errors = [];
      page.on('request', (r) => {
        const url = r.url();
        if (!url.startsWith(baseUrl + '/') && !url.startsWith('data:') && !url.startsWith('blob:'))
          offsite.push(url);
      });
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      // The pages' Content-Security-Policy blocks what a bundle would fetch from elsewhere (ReDoc
      // its makers' logo) before it leaves the browser: only what got past it counts.
      page.on('requestfailed', (r) => {
        const failure = r.failure();
        if (failure && failure.errorText === 'csp' && offsite.includes(r.url()))
          offsite.splice(offsite.indexOf(r.url()), 1);
      });
      try {
        await check(page, offsite);
        console.log(`${check.name}: ok`);
      } catch (e) {
        console.error(`${check.name}: ${e.message}`);
        if (errors.length) console.error(`  page errors: ${errors.join('; ')}`);
        status = 1;
      }
      await page.close();
    }
  } finally {
    await browser.close();
  }
  process.exit(status);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
