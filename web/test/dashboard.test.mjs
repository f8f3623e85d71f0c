// The dashboard in a real browser: Debian's headless Chromium driven by
// puppeteer-core (no browser download). tests/browser/dashboard_test.sh starts
// Redis, `steadfast serve --tokens` and a worker, submits runs, then runs
// this with:
//   BASE_URL      http://127.0.0.1:<port>
//   ADMIN_TOKEN   a token with role admin;  SUBMIT_TOKEN: role submit
//   FAILED_RUN    a run in the dead-letter queue that completes once replayed
//   COMPLETED_RUN a completed run of workflow steady (steps a, b): rerun from b
//   DLQ_RUNS      two more dead-lettered runs of workflow orders (a bulk replay completes them)
//   DOOMED_RUN    a dead-lettered run of workflow doomed (it always fails: purged)
//   SCHEDULED_RUN a run submitted with {"delay": "1h"}: scheduled, cancelled here
//   WAITING_RUN   a run of workflow approval (deadline 2h) waiting for the signal
//                 "approved": the submit token sends it from the run's page
//   SCREENSHOTS   optional: a folder to write one PNG per page into (docs/ui/)
// Any console error or uncaught page error fails the test.
import puppeteer from 'puppeteer-core';
import { strict as assert } from 'node:assert';
import { join } from 'node:path';

const { BASE_URL, ADMIN_TOKEN, SUBMIT_TOKEN, FAILED_RUN, COMPLETED_RUN, DLQ_RUNS, DOOMED_RUN, SCHEDULED_RUN,
  WAITING_RUN, SCREENSHOTS } = process.env;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const consoleErrors = [];
const started = Date.now();
const step = (what) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`);

async function newPage(browser, { width = 1280, height = 900, mobile = false } = {}) {
  const context = await browser.createBrowserContext();  // its own sessionStorage
  const page = await context.newPage();
  await page.setViewport({ width, height, isMobile: mobile, hasTouch: mobile, deviceScaleFactor: 1 });
  page.setDefaultTimeout(30000);  // generous: ctest -j2 runs it beside fault tests
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
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

// GET from the API with the token the page signed in with.
const apiGet = (page, path) => page.evaluate(async (p) => {
  const r = await fetch(p, { headers: { Authorization: `Bearer ${sessionStorage.getItem('steadfast.token')}` } });
  return r.json();
}, path);

const runStatus = (page) => page.$eval('.run-head .status', (e) => e.dataset.status);
const waitRunStatus = (page, status, timeout = 30000) => page.waitForFunction(
  (want) => document.querySelector('.run-head .status')?.dataset.status === want, { timeout }, status);

// A confirmed action: the first click asks; "No" must leave everything as it
// was (checked by `unchanged`), "Yes, …" acts.
async function confirmed(page, testid, unchanged) {
  await page.click(`[data-testid=${testid}]`);
  await page.waitForSelector(`[data-testid=${testid}-confirm]`);
  await page.click(`[data-testid=${testid}-dismiss]`);
  await page.waitForSelector(`[data-testid=${testid}]`);
  assert.equal(await page.$(`[data-testid=${testid}-confirm]`), null, `${testid}: the question is gone`);
  await pause(400);  // long enough for an action (or a poll showing one) to land
  await unchanged();
  await page.click(`[data-testid=${testid}]`);
  await page.click(`[data-testid=${testid}-confirm]`);
}

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
    step('runs page, filtered to live (every run not ended)');
    await page.select('[data-testid=filter-status]', 'live');
    await page.waitForFunction(() => {
      const statuses = [...document.querySelectorAll('[data-testid=runs-table] tr[data-run] .status')].map((s) => s.dataset.status);
      return statuses.length > 0 && statuses.every((s) => !['completed', 'failed', 'cancelled'].includes(s));
    });
    assert.match(await page.evaluate(() => location.hash), /status=live/);
    step('metadata filter');
    await page.select('[data-testid=filter-status]', '');
    await page.waitForFunction(() => !location.hash.includes('status='));
    await page.type('[data-testid=filter-meta]', 'customer=acme');
    // A live refresh (every 2 s) re-renders the page: what is typed must stay.
    await page.waitForResponse((r) => r.url().includes('/v1/runs?'));
    await new Promise((resolve) => setTimeout(resolve, 100));  // let the refresh render
    assert.equal(await page.$eval('[data-testid=filter-meta]', (i) => i.value), 'customer=acme',
      'a live refresh wiped the metadata filter being typed');
    await page.click('[data-testid=filter-apply]');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('[data-testid=runs-table] tr[data-run]')];
      return rows.length > 0 && rows.every((r) => r.textContent.includes('customer=acme'));
    });

    step('open the failed run: its heading and timeline');
    await page.goto(`${BASE_URL}/ui/#/runs/${FAILED_RUN}`);
    await page.waitForSelector('[data-testid=timeline] li[data-step]');
    assert.equal(await runStatus(page), 'failed');
    const heading = await page.$$eval('h1', (h) => h.map((e) => e.textContent.replace(/\s+/g, ' ').trim()));
    assert.deepEqual(heading, [`Run ${FAILED_RUN} orders failed`], 'the one heading names the run');
    assert.match(await page.title(), new RegExp(`^Run ${FAILED_RUN} \\(orders, failed\\)`));
    const steps = await page.$$eval('[data-testid=timeline] li[data-step]', (li) => li.map((l) => `${l.dataset.step}:${l.dataset.status}`));
    assert.deepEqual(steps, ['prepare:completed', 'flaky:failed', 'finish:pending']);
    assert.match(await textOf(page, 'details[data-step=flaky]'), /injected failure 1 of 1/);
    await shot(page, 'run-failed');

    step('replay it and watch it complete');
    await page.click('[data-testid=replay]');
    await page.waitForFunction(() => document.querySelector('.run-head .status')?.dataset.status === 'completed',
      { timeout: 30000 });
    const after = await page.$$eval('[data-testid=timeline] li[data-step]', (li) => li.map((l) => l.dataset.status));
    assert.deepEqual(after, ['completed', 'completed', 'completed']);
    await shot(page, 'run');

    step('a delayed run: scheduled on the runs page, with its start time');
    const startsIn = /^starts at .+ \(in (59 min|1 h)\)$/;
    await page.goto(`${BASE_URL}/ui/#/runs?status=scheduled`);
    await page.waitForSelector(`tr[data-run="${SCHEDULED_RUN}"] [data-testid=run-at]`);
    assert.deepEqual(await page.$$eval('[data-testid=runs-table] tr[data-run]', (rows) => rows.map((r) => r.dataset.run)),
      [SCHEDULED_RUN], 'status=scheduled lists the delayed run only');
    assert.equal(await page.$eval(`tr[data-run="${SCHEDULED_RUN}"] .status`, (e) => e.dataset.status), 'scheduled');
    assert.match(await textOf(page, `tr[data-run="${SCHEDULED_RUN}"] [data-testid=run-at]`), startsIn);

    step('its page: when it starts; cancel it (asked first)');
    await page.click(`tr[data-run="${SCHEDULED_RUN}"] a`);
    await page.waitForSelector('[data-testid=waiting-for]');
    assert.match(await textOf(page, '[data-testid=run-title]'), new RegExp(`Run\\s*${SCHEDULED_RUN}\\s*steady\\s*scheduled`));
    assert.match(await textOf(page, '[data-testid=waiting-for]'), /^scheduled: starts at .+ \(in (59 min|1 h)\)$/);
    assert.match(await textOf(page, '[data-testid=run-at]'), startsIn);
    await shot(page, 'run-scheduled');
    await confirmed(page, 'cancel', async () => {
      assert.equal(await runStatus(page), 'scheduled');
      assert.equal((await apiGet(page, `/v1/runs/${SCHEDULED_RUN}`)).status, 'scheduled', 'No cancels nothing');
    });
    await waitRunStatus(page, 'cancelled');
    assert.equal(await page.$('[data-testid=cancel]'), null, 'an ended run offers no cancel');
    assert.equal(await page.$('[data-testid=waiting-for]'), null, 'a cancelled run waits for nothing');
    assert.equal((await apiGet(page, `/v1/runs/${SCHEDULED_RUN}`)).status, 'cancelled');

    step('rerun a completed run from its second step');
    await page.goto(`${BASE_URL}/ui/#/runs/${COMPLETED_RUN}`);
    await waitRunStatus(page, 'completed');
    await page.select('[data-testid=rerun-step]', 'b');
    await page.click('[data-testid=rerun]');
    await page.waitForSelector('[data-testid=rerun-confirm]');
    assert.match(await textOf(page, '.confirm'), /from step “b”/);
    await page.click('[data-testid=rerun-confirm]');
    await page.waitForFunction((old) => !location.hash.endsWith(old), {}, COMPLETED_RUN);
    const rerun = decodeURIComponent((await page.evaluate(() => location.hash)).split('/').pop());
    await page.waitForFunction((id) => document.querySelector('[data-testid=run-id]')?.textContent === id, {}, rerun);
    await waitRunStatus(page, 'completed');
    assert.match(await textOf(page, '.facts'), new RegExp(`Rerun of\\s*${COMPLETED_RUN} from b`));
    const rerunSteps = await page.$$eval('[data-testid=timeline] li[data-step]', (li) => li.map((l) => `${l.dataset.step}:${l.dataset.status}`));
    assert.deepEqual(rerunSteps, ['a:completed', 'b:completed']);

    step('dead letters page');
    await page.goto(`${BASE_URL}/ui/#/dlq`);
    const [dlq1, dlq2] = DLQ_RUNS.split(' ');
    for (const id of [dlq1, dlq2, DOOMED_RUN]) await page.waitForSelector(`[data-testid=dlq-table] tr[data-run="${id}"]`);
    assert.ok(await page.$('[data-testid=purge]'), 'an admin sees purge');
    await shot(page, 'dead-letters');
    const letters = () => page.$$eval('[data-testid=dlq-table] tr[data-run]', (rows) => rows.map((r) => r.dataset.run).sort());

    step('bulk replay of one workflow, asked first');
    await page.select('[data-testid=dlq-bulk] select', 'orders');
    const before = await letters();
    await confirmed(page, 'replay-all', async () => {
      assert.equal(await page.$('[data-testid=bulk-job]'), null, 'No starts no job');
      assert.deepEqual(await letters(), before);
      assert.equal((await apiGet(page, '/v1/bulk')).jobs.length, 0, 'no bulk job on the server');
    });
    await page.waitForFunction(() => /: done;/.test(document.querySelector('[data-testid=bulk-job]')?.textContent || ''),
      { timeout: 30000 });
    assert.match(await textOf(page, '[data-testid=bulk-job]'), /2 matched, 2 done/);
    for (const id of [dlq1, dlq2]) {
      assert.equal((await apiGet(page, `/v1/runs/${id}?wait=15s`)).status, 'completed', `${id} replayed`);
    }
    await page.waitForFunction((id) => {
      const rows = [...document.querySelectorAll('[data-testid=dlq-table] tr[data-run]')].map((r) => r.dataset.run);
      return rows.length === 1 && rows[0] === id;
    }, {}, DOOMED_RUN);

    step('purge, asked first');
    await page.select('[data-testid=dlq-bulk] select', 'doomed');
    await confirmed(page, 'purge', async () => {
      assert.deepEqual(await letters(), [DOOMED_RUN], 'No purges nothing');
      assert.equal((await apiGet(page, '/v1/dlq')).dead_letters.length, 1);
    });
    await page.waitForSelector('[data-testid=dlq-bulk] .note.ok');
    assert.equal(await textOf(page, '[data-testid=dlq-bulk] .note.ok'), '1 purged');
    await page.waitForFunction(() => document.querySelector('[data-testid=dlq-table] tbody')?.textContent.includes('No dead letters.'));
    assert.equal((await apiGet(page, '/v1/dlq')).dead_letters.length, 0);

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

    step('schedules: next tick, pause and resume, run now');
    await page.goto(`${BASE_URL}/ui/#/schedules`);
    const scheduleState = () => page.$eval('tr[data-schedule=nightly] [data-testid=schedule-state]', (e) => e.textContent);
    await page.waitForSelector('tr[data-schedule=nightly] [data-testid=pause]');
    assert.equal(await scheduleState(), 'active');
    assert.match(await textOf(page, 'tr[data-schedule=nightly] [data-testid=next-tick]'), /T02:00:00\.000Z$|T01:00:00\.000Z$/,
      'Europe/Berlin 03:00 in UTC');
    await page.click('tr[data-schedule=nightly] [data-testid=pause]');
    await page.waitForSelector('tr[data-schedule=nightly] [data-testid=resume]');
    assert.equal(await scheduleState(), 'paused');
    await page.click('tr[data-schedule=nightly] [data-testid=trigger]');
    await page.waitForSelector('tr[data-schedule=nightly] [data-testid=last-run]');
    const triggered = await textOf(page, 'tr[data-schedule=nightly] [data-testid=last-run]');
    assert.equal((await apiGet(page, `/v1/runs/${triggered}`)).metadata.schedule, 'nightly');
    await shot(page, 'schedules');
    await page.click('tr[data-schedule=nightly] [data-testid=resume]');
    await page.waitForSelector('tr[data-schedule=nightly] [data-testid=pause]');
    assert.equal(await scheduleState(), 'active');

    step('workers, limiters and the audit log');
    await page.goto(`${BASE_URL}/ui/#/workers`);
    await page.waitForSelector('[data-testid=workers-table] tbody tr td.mono');
    await shot(page, 'workers');
    await page.goto(`${BASE_URL}/ui/#/limiters`);
    await page.waitForSelector('[data-testid=limiters-table] tbody tr');
    await page.goto(`${BASE_URL}/ui/#/audit`);
    await page.waitForFunction(() => {
      const t = document.querySelector('[data-testid=audit-table]')?.textContent || '';
      return t.includes('queue_resume') && t.includes('dlq_replay') && t.includes('dlq_purge');
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

    step('a submit token approves a run waiting for a signal from its page');
    await viewer.goto(`${BASE_URL}/ui/#/runs/${WAITING_RUN}`);
    await viewer.waitForSelector('[data-testid=signal-form]');
    assert.match(await textOf(viewer, '[data-testid=waiting-for]'), /^waiting for the signal “approved” \(until .+\)$/);
    assert.ok(await viewer.$('[data-testid=deadline-at]'), 'its deadline is shown');
    await viewer.$eval('[data-testid=signal-body]', (e) => { e.value = ''; });
    await viewer.type('[data-testid=signal-body]', '{"approved": true, "by": "viewer"}');
    await viewer.click('[data-testid=send-signal]');
    await waitRunStatus(viewer, 'completed');
    const approved = await apiGet(viewer, `/v1/runs/${WAITING_RUN}`);
    assert.deepEqual(approved.steps[0].output, { approved: true, by: 'viewer' });
    assert.equal(await viewer.$('[data-testid=signal-form]'), null, 'a run that waits no more offers no signal');

    await viewer.goto(`${BASE_URL}/ui/#/queues`);
    await viewer.waitForSelector('tr[data-queue=work]');
    assert.equal(await viewer.$('[data-testid=pause]'), null, 'no pause button');
    await viewer.goto(`${BASE_URL}/ui/#/schedules`);
    await viewer.waitForSelector('tr[data-schedule=nightly]');
    assert.equal(await viewer.$('tr[data-schedule=nightly] [data-testid=trigger]'), null, 'no schedule buttons');
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
