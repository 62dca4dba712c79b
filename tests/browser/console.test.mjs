// The analyst's and the auditor's main paths through the console in headless Chromium.
// Env: VIGIL_URL, VIGIL_ARTIFACTS (screenshots), CHROMIUM, VIGIL_SENSOR_CMD (started once the
// queue is open, so the alerts must arrive live).
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import path from 'node:path';

const url = process.env.VIGIL_URL;
const out = process.env.VIGIL_ARTIFACTS;
const shot = (page, name) => page.screenshot({ path: path.join(out, `${name}.png`), fullPage: false });
let step = 'start';
// waitForFunction compiles its predicate with eval, which the console's CSP (script-src 'self')
// forbids; poll with evaluate instead (CDP calls are not subject to the page's CSP).
async function until(page, fn, arg, timeout = 10000) {
  const end = Date.now() + timeout;
  for (;;) {
    if (await page.evaluate(fn, arg)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${fn}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const log = (s) => { step = s; console.log(`- ${s}`); };

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'en-GB' });
const page = await context.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
// HTTP errors the test provokes on purpose (401 before login, 403 for the analyst's audit page)
// show up as "Failed to load resource"; script errors are what must not happen.
page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text()); });
page.on('dialog', (d) => d.accept('Portal attack from 203.0.113.0/24'));
let sensor;
try {
  log('wrong password is refused');
  await page.goto(url);
  await page.fill('#user', 'analyst');
  await page.fill('#password', 'wrong');
  await page.click('#login-submit');
  await page.waitForSelector('#login-error:not(:empty)');

  log('log in as the demo analyst with the keyboard');
  await page.fill('#user', 'analyst');
  await page.fill('#password', 'vigil-demo');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#queue');
  await page.waitForSelector('.live.on', { timeout: 10000 });
  assert.equal(await page.locator('#rows tr').count(), 0, 'the store starts empty');
  await shot(page, '01-empty-queue-live');

  log('the queue fills live while the sensor replays the capture (no reload)');
  await page.evaluate(() => { window.__noReload = true; });
  const [cmd, ...args] = process.env.VIGIL_SENSOR_CMD.split(' ');
  sensor = spawn(cmd, args, { stdio: 'ignore' });
  const sensorDone = new Promise((r) => sensor.on('exit', r));
  await until(page, () => document.querySelectorAll('#rows tr').length >= 5, null, 60000);
  assert.equal(await page.evaluate(() => window.__noReload), true, 'the page was not reloaded');
  await sensorDone;
  await shot(page, '02-queue-filled');

  log('grouping by signature shows counts');
  await page.selectOption('#f-by', 'signature');
  await page.waitForSelector('#groups tbody tr');
  assert.ok(await page.locator('#groups tbody tr').count() >= 3);
  await shot(page, '03-groups');
  await page.selectOption('#f-by', '');
  await page.waitForSelector('#queue #rows tr');

  log('select two alerts with the keyboard (j/x) and acknowledge them');
  await page.locator('#rows tr').first().focus();
  await page.keyboard.press('x');
  await page.keyboard.press('j');
  await page.keyboard.press('x');
  const ids = await page.$$eval('#rows tr[aria-selected="true"]', (rows) => rows.map((r) => r.dataset.id));
  assert.equal(ids.length, 2);
  await page.keyboard.press('a');
  await until(page, (ids) => ids.every((id) => document.querySelector(`#rows tr[data-id="${id}"] .st-acknowledged`)), ids);

  log('open an alert: detail with flow, rule text and classification');
  await page.goto(`${url}#/alert/${ids[0]}`);
  await page.waitForSelector('pre.rule');
  assert.match(await page.locator('pre.rule').innerText(), /sid:\s*\d+/);
  await shot(page, '04-alert-detail');

  log('escalate it to an incident and open the incident');
  await page.click('#escalate');
  await page.waitForURL(/#\/incident\//);
  await page.waitForSelector('#timeline li');
  assert.match(await page.locator('h1').innerText(), /Portal attack/);
  assert.match(await page.locator('#timeline').innerText(), /analyst/);
  await shot(page, '05-incident');
  const incidentId = page.url().split('#/incident/')[1];

  log('the incident is in the list');
  await page.goto(`${url}#/incidents`);
  await page.waitForSelector(`#incidents a[href="#/incident/${incidentId}"]`);

  log('dashboard shows KPIs');
  await page.goto(`${url}#/dashboard`);
  await page.click('#range-all');  // the sample capture's packets carry their own (older) times
  await page.waitForSelector('#kpis tbody tr');
  assert.match(await page.locator('#kpis').innerText(), /bo-tai-chinh/);
  await shot(page, '06-dashboard');

  log('the analyst may not read the audit log');
  await page.goto(`${url}#/audit`);
  await page.waitForSelector('p.error');

  log('switch to Vietnamese');
  await page.click('#lang');
  await until(page, () => document.querySelector('header nav a').textContent === 'Cảnh báo');
  await page.click('#lang');

  log('log out, log in as the auditor, check the audit view');
  await page.click('#logout');
  await page.waitForSelector('#user');
  await page.fill('#user', 'auditor');
  await page.fill('#password', 'vigil-demo');
  await page.click('#login-submit');
  await page.waitForSelector('#queue');
  await page.goto(`${url}#/audit`);
  await page.waitForSelector('#sig-status.ok');
  await page.fill('#audit-object', ids[0]);
  await page.click('#audit-search');
  await until(page, (id) => {
    const rows = [...document.querySelectorAll('#audit-table tbody tr')];
    return rows.length >= 2 && rows.every((r) => r.children[4].textContent === id);
  }, ids[0]);
  const trail = await page.locator('#audit-table').innerText();
  assert.match(trail, /alert\.acknowledge/);
  assert.match(trail, /analyst/);
  await page.locator('#audit-table button.verify').first().click();
  await page.waitForSelector('#audit-table span.ok');
  await page.click('#consistency-result >> xpath=preceding-sibling::button');
  await page.waitForSelector('#consistency-result.ok');
  await shot(page, '07-audit');
  const exportHref = await page.getAttribute('#audit-export', 'href');
  const exp = await page.evaluate(async (href) => (await fetch(href)).text(), exportHref);
  assert.match(exp, /"inclusion_proof"/);

  assert.deepEqual(errors, [], 'no script errors in the page');
  console.log('ok: browser test passed; screenshots in ' + out);
} catch (e) {
  console.error(`FAIL at step "${step}": ${e.stack || e}`);
  if (errors.length) console.error('page errors:', errors);
  await shot(page, 'failure').catch(() => {});
  process.exitCode = 1;
} finally {
  if (sensor && sensor.exitCode === null) sensor.kill();
  await browser.close();
}
