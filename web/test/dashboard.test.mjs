// The dashboard in a real browser: Debian's headless Chromium driven by
// puppeteer-core (no browser download). tests/browser/dashboard_test.sh starts
// Redis, `steadfast serve --tokens` and a worker, submits runs, then runs
// this with:
//   BASE_URL      http://127.0.0.1:<port>
//   ADMIN_TOKEN   a token with role admin;  SUBMIT_TOKEN: role submit
//   FAILED_RUN    a run in the dead-letter queue that completes once replayed
//   SCREENSHOTS   optional: a folder to write one PNG per page into (docs/ui/)
// Any console error or uncaught page error fails the test.
import puppeteer from 'puppeteer-core';
import { strict as assert } from 'node:assert';
import { join } from 'node:path';

const { BASE_URL, ADMIN_TOKEN, SUBMIT_TOKEN, FAILED_RUN, SCREENSHOTS } = process.env;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const consoleErrors = [];
const started = Date.now();
const step = (what) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`);

async function newPage(browser, { width = 1280, height = 900, mobile = false } = {}) {
  const context = await browser.createBrowserContext();  // its own sessionStorage
  const page = await context.newPage();
  await page.setViewport({ width, height, isMobile: mobile, hasTouch: mobile, deviceScaleFactor: 1 });
  page.setDefaultTimeout(15000);
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`console: ${m.text()} (${page.url()})`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message} (${page.url()})`));
  page.on('requestfailed', (r) => {
    // A poll cut short by navigating away is not an error of the page.
    if (r.failure()?.errorText !== 'net::ERR_ABORTED') consoleErrors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  return page;
}

async function signIn(page, tokenValue) {
  await page.goto(`${BASE_URL}/ui/`);
  await page.waitForSelector('[data-testid=login]');
  await page.type('input[name=token]', tokenValue);
  await page.click('[data-testid=login] button[type=submit]');
  await page.waitForSelector('[data-testid=who]');
}

async function shot(page, name) {
  if (!SCREENSHOTS) return;
  await new Promise((r) => setTimeout(r, 300));  // let the last poll render
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

const textOf = (page, selector) => page.$eval(selector, (e) => e.textContent);

async function main() {
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update'],
  });
  try {
    // --- admin
    const page = await newPage(browser);
    step('sign in as admin');
    await signIn(page, ADMIN_TOKEN);
    assert.equal(await page.$eval('[data-testid=who]', (e) => e.dataset.role), 'admin');
    await page.waitForSelector('[data-testid=chart-throughput] path');
    await shot(page, 'overview');

    step('runs page, filtered to failed');
    await page.goto(`${BASE_URL}/ui/#/runs`);
    await page.waitForSelector('[data-testid=runs-table] tr[data-run]');
    const all = await page.$$eval('[data-testid=runs-table] tr[data-run]', (rows) => rows.length);
    assert.ok(all >= 3, `expected the submitted runs, saw ${all}`);
    await shot(page, 'runs');
    await page.select('[data-testid=filter-status]', 'failed');
    await page.waitForFunction(() => {
      const statuses = [...document.querySelectorAll('[data-testid=runs-table] tr[data-run] .status')].map((s) => s.dataset.status);
      return statuses.length > 0 && statuses.every((s) => s === 'failed');
    });
    assert.match(await page.evaluate(() => location.hash), /status=failed/);
    step('metadata filter');
    await page.select('[data-testid=filter-status]', '');
    await page.type('[data-testid=filter-meta]', 'customer=acme');
    await page.click('[data-testid=filter-apply]');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('[data-testid=runs-table] tr[data-run]')];
      return rows.length > 0 && rows.every((r) => r.textContent.includes('customer=acme'));
    });

    step('open the failed run: its timeline');
    await page.goto(`${BASE_URL}/ui/#/runs/${FAILED_RUN}`);
    await page.waitForSelector('[data-testid=timeline] li[data-step]');
    assert.equal(await page.$eval('.run-head .status', (e) => e.dataset.status), 'failed');
    const steps = await page.$$eval('[data-testid=timeline] li[data-step]', (li) => li.map((l) => `${l.dataset.step}:${l.dataset.status}`));
    assert.deepEqual(steps, ['prepare:completed', 'flaky:failed', 'finish:pending']);
    assert.match(await textOf(page, 'details[data-step=flaky]'), /injected failure 1 of 1/);
    await shot(page, 'run-failed');

    step('replay it and watch it complete');
    await page.click('[data-testid=replay]');
    await page.waitForFunction(() => document.querySelector('.run-head .status')?.dataset.status === 'completed',
      { timeout: 20000 });
    const after = await page.$$eval('[data-testid=timeline] li[data-step]', (li) => li.map((l) => l.dataset.status));
    assert.deepEqual(after, ['completed', 'completed', 'completed']);
    await shot(page, 'run');

    step('dead letters page');
    await page.goto(`${BASE_URL}/ui/#/dlq`);
    await page.waitForSelector('[data-testid=dlq-table] tbody tr');
    assert.ok(await page.$('[data-testid=purge]'), 'an admin sees purge');
    await shot(page, 'dead-letters');

    step('pause and resume a queue');
    await page.goto(`${BASE_URL}/ui/#/queues`);
    const state = () => page.$eval('tr[data-queue=work] [data-testid=queue-state]', (e) => e.textContent);
    await page.waitForSelector('tr[data-queue=work] [data-testid=pause]');
    assert.equal(await state(), 'active');
    await page.click('tr[data-queue=work] [data-testid=pause]');
    await page.waitForSelector('tr[data-queue=work] [data-testid=resume]');
    assert.equal(await state(), 'paused');
    await shot(page, 'queues');
    await page.click('tr[data-queue=work] [data-testid=resume]');
    await page.waitForSelector('tr[data-queue=work] [data-testid=pause]');
    assert.equal(await state(), 'active');

    step('workers, limiters and the audit log');
    await page.goto(`${BASE_URL}/ui/#/workers`);
    await page.waitForSelector('[data-testid=workers-table] tbody tr td.mono');
    await shot(page, 'workers');
    await page.goto(`${BASE_URL}/ui/#/limiters`);
    await page.waitForSelector('[data-testid=limiters-table] tbody tr');
    await page.goto(`${BASE_URL}/ui/#/audit`);
    await page.waitForFunction(() => {
      const t = document.querySelector('[data-testid=audit-table]')?.textContent || '';
      return t.includes('queue_resume') && t.includes('dlq_replay');
    });
    await shot(page, 'audit');

    // --- phone width
    step('a phone-sized window');
    const phone = await newPage(browser, { width: 390, height: 844, mobile: true });
    await signIn(phone, ADMIN_TOKEN);
    await phone.goto(`${BASE_URL}/ui/#/runs`);
    await phone.waitForSelector('[data-testid=runs-table] tr[data-run]');
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than a phone (tables scroll inside their box)`);
    await shot(phone, 'runs-phone');

    // --- submit token
    step('a submit token: no admin buttons, and the API refuses anyway');
    const viewer = await newPage(browser);
    await signIn(viewer, SUBMIT_TOKEN);
    assert.equal(await viewer.$eval('[data-testid=who]', (e) => e.dataset.role), 'submit');
    assert.equal(await viewer.$('a[href="#/audit"]'), null, 'no audit tab');
    await viewer.goto(`${BASE_URL}/ui/#/runs/${FAILED_RUN}`);
    await viewer.waitForSelector('[data-testid=timeline]');
    assert.equal(await viewer.$('[data-testid=run-actions]'), null, 'no run actions');
    await viewer.goto(`${BASE_URL}/ui/#/queues`);
    await viewer.waitForSelector('tr[data-queue=work]');
    assert.equal(await viewer.$('[data-testid=pause]'), null, 'no pause button');
    await viewer.goto(`${BASE_URL}/ui/#/dlq`);
    await viewer.waitForSelector('[data-testid=dlq-table]');
    assert.equal(await viewer.$('[data-testid=purge]'), null, 'no purge button');
    const refused = await viewer.evaluate(async (token) => {
      const r = await fetch('/v1/queues/work/pause', { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
      return { status: r.status, body: await r.json() };
    }, SUBMIT_TOKEN);
    assert.equal(refused.status, 403);
    assert.match(refused.body.detail, /needs admin/);
    // The refusal above logs a console error by design (a 403 resource): not the page's.
    const i = consoleErrors.findIndex((e) => e.includes('403'));
    if (i >= 0) consoleErrors.splice(i, 1);

    assert.deepEqual(consoleErrors, [], 'console errors');
    step('all checks passed');
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(e);
  if (consoleErrors.length) console.error('console errors:\n  ' + consoleErrors.join('\n  '));
  process.exit(1);
});
