// The monitoring pages on monitors driven as in production: a scheduled
// monitor (1 s windows, "@every 1s") reads inference-log segments written in
// serving's format, so the server's scheduler processes the windows, fires
// and resolves alerts; a second monitor is run by hand on a CSV batch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setup, screenshot } from './harness.mjs';

let t;
let createdAt;
let k;  // the first window (in seconds) with traffic is k+2
const MODEL = 'fraud-model';
const MANUAL_MODEL = 'fraud <co> & "x"';

// One inference-log record (serving/inference_log.h's form) with columns amount and age.
function logLine(ts, i, amount, age) {
  return JSON.stringify({
    ts, request_id: `req-${ts}-${i}`, deployment: MODEL, model: MODEL, version: '1', role: 'live', latency_us: 100, status: 200,
    inputs: { kind: 'columns', tensors: [
      { name: 'amount', datatype: 'FP64', shape: [1], data: [amount] },
      { name: 'age', datatype: 'FP64', shape: [1], data: [age] }] },
    outputs: { frame: false, tensors: [{ name: 'predict', datatype: 'INT64', shape: [1], data: [1] }] },
  });
}
// 50 records in the 1 s window starting at second `sec`; shifted columns are far outside the reference.
function writeWindow(logDir, sec, { amountShift = 0, ageShift = 0 }) {
  const ts = sec * 1000 + 100;
  const day = new Date(ts).toISOString().slice(0, 10);
  const dir = path.join(logDir, MODEL, day);
  fs.mkdirSync(dir, { recursive: true });
  const lines = [];
  for (let i = 0; i < 50; i++) lines.push(logLine(ts + i, i, amountShift + i * 0.1, ageShift + i * 0.1));
  fs.writeFileSync(path.join(dir, `${ts}-0.jsonl`), lines.join('\n') + '\n');
}

async function waitFor(what, fn, ms = 60000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

before(async () => {
  // The reference and log are files in the server's folder (its working directory).
  t = await setup({ args: ['--monitor-data-root', '.'] });
  const ref = path.join(t.dir, 'reference.csv');
  const rows = ['amount,age'];
  for (let i = 0; i < 200; i++) rows.push(`${(i % 50) * 0.1},${(i % 50) * 0.1}`);
  fs.writeFileSync(ref, rows.join('\n') + '\n');
  await t.api.post('/api/2.0/mlflow/registered-models/create', { name: MODEL });
  await t.api.post('/api/2.0/mlflow/registered-models/create', { name: MANUAL_MODEL });
  const logDir = path.join(t.dir, 'log');
  const m = (await t.api.post('/api/v1/monitors', {
    name: 'fraud-drift', model: MODEL, reference: 'file://' + ref, log_uri: 'file://' + logDir,
    window: '1s', grace: '100ms', schedule: '@every 1s',
  })).monitor;
  createdAt = m.created_at;
  // From the clock now, not the creation time: on a loaded machine the create
  // call may take long, and a window must not be complete before it is written.
  k = Math.max(Math.floor(createdAt / 1000), Math.floor(Date.now() / 1000));
  // k+2, k+3: amount drifted; k+4: amount back to normal, age drifted.
  writeWindow(logDir, k + 2, { amountShift: 100 });
  writeWindow(logDir, k + 3, { amountShift: 100 });
  writeWindow(logDir, k + 4, { ageShift: 100 });
  // The manual monitor: one batch with amount drifted.
  await t.api.post('/api/v1/monitors', { name: 'batch-check', model: MANUAL_MODEL, reference: 'file://' + ref, window: '1h' });
  const cur = ['amount,age'];
  for (let i = 0; i < 50; i++) cur.push(`${100 + i},${i * 0.1}`);
  await t.api.post('/api/v1/monitors/batch-check/run', { current_csv: cur.join('\n') + '\n' });
  // Wait for the scheduler: amount's alert fired and resolved, age's firing.
  await waitFor('alerts', async () => {
    const a = (await t.api.get('/api/v1/monitors/fraud-drift/alerts')).alerts;
    return a.some((x) => x.feature === 'amount' && x.status === 'resolved') && a.some((x) => x.feature === 'age' && x.status === 'firing');
  });
});
after(async () => { await t?.teardown(); });

test('monitors list: model, schedule, last window, open alerts', async () => {
  const page = await t.page();
  await page.goto(t.url + '/#/monitoring');
  await page.getByTestId('monitors-table').waitFor();
  const row = (n) => page.locator(`[data-testid=monitor-row][data-name="${n}"]`);
  assert.equal(await page.getByTestId('monitor-row').count(), 2);
  assert.match(await row('fraud-drift').textContent(), /fraud-model.*1s.*@every 1s/);
  await row('fraud-drift').getByTestId('monitor-open-alerts').filter({ hasText: '1 firing' }).waitFor();
  assert.match(await row('fraud-drift').getByTestId('monitor-last-window').textContent(), /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
  assert.match(await row('batch-check').textContent(), /fraud <co> & "x".*1h.*manual runs only/);
  await row('batch-check').getByTestId('monitor-last-window').filter({ hasText: '50 rows' }).waitFor();
  assert.equal(await row('batch-check').getByTestId('monitor-open-alerts').textContent(), '0');
  await screenshot(page, 'monitors');
  assert.deepEqual(page.errors, []);
});

test('monitor page: drift per feature over time, latest verdicts, alerts with fired and resolved times', async () => {
  const page = await t.page();
  await page.goto(t.url + '/#/monitoring');
  await page.locator('[data-testid=monitor-row][data-name="fraud-drift"] [data-testid=monitor-link]').click();
  await page.getByTestId('monitor-attrs').waitFor();
  assert.match(await page.getByTestId('open-alerts').textContent(), /drifted\[\*\] >= 1 \[age\]/);
  // One chart per feature; its points are the server's results for that feature.
  await page.locator('[data-testid=drift-chart][data-feature="amount"] canvas').first().waitFor();
  const features = await page.getByTestId('drift-chart').evaluateAll((cs) => cs.map((c) => c.dataset.feature));
  assert.deepEqual(features, ['age', 'amount']);
  const apiPoints = (await t.api.get('/api/v1/monitors/fraud-drift/results?statistic=drift_score&feature=amount')).results.length;
  assert.ok(apiPoints >= 3, `results for amount: ${apiPoints}`);
  assert.equal(Number(await page.locator('[data-testid=drift-chart][data-feature="amount"]').getAttribute('data-points')), apiPoints);
  assert.match(await page.locator('[data-testid=drift-chart][data-feature="amount"] h3').textContent(), /ks, threshold 0\.05/);
  // Verdicts of the latest window with data (k+4): age drifted, amount did not.
  await page.getByTestId('verdict-table').waitFor();
  const verdicts = Object.fromEntries(await page.getByTestId('verdict-row').evaluateAll((rs) => rs.map((r) => [r.dataset.feature, r.querySelector('[data-testid=verdict]').textContent])));
  assert.deepEqual(verdicts, { amount: 'no drift', age: 'drift' });
  const start = new Date((k + 4) * 1000);
  const p = (x) => String(x).padStart(2, '0');
  assert.match(await page.getByTestId('window-summary').textContent(), new RegExp(`${p(start.getHours())}:${p(start.getMinutes())}:${p(start.getSeconds())}.*50 rows, 1 of 2 features drifted`));
  // Alerts: amount fired then resolved; age firing.
  const alerts = Object.fromEntries(await page.getByTestId('alert-row').evaluateAll((rs) => rs.map((r) => [r.dataset.feature, {
    status: r.dataset.status, fired: r.querySelector('[data-testid=alert-fired]').textContent, resolved: r.querySelector('[data-testid=alert-resolved]').textContent }])));
  assert.equal(alerts.amount.status, 'resolved');
  assert.match(alerts.amount.fired, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.match(alerts.amount.resolved, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.equal(alerts.age.status, 'firing');
  assert.equal(alerts.age.resolved, '—');
  await screenshot(page, 'monitor');
  // Only firing alerts (URL state).
  await page.getByTestId('alert-status').selectOption('firing');
  await page.waitForURL(/alerts=firing/);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=alert-row]').length === 1);
  assert.equal(await page.getByTestId('alert-row').getAttribute('data-feature'), 'age');
  // A dataset-level statistic: one chart.
  await page.getByTestId('stat').selectOption('drift_share');
  await page.waitForURL(/stat=drift_share/);
  await page.locator('[data-testid=drift-chart][data-feature=""] canvas').first().waitFor();
  assert.equal(await page.getByTestId('drift-chart').count(), 1);
  // An earlier window's verdicts: k+2, amount drifted.
  const w2 = (await t.api.get('/api/v1/monitors/fraud-drift/windows?limit=50')).windows.find((w) => w.start === (k + 2) * 1000);
  await page.locator(`[data-testid=window-row][data-window-id="${w2.id}"] [data-testid=show-window]`).click();
  await page.waitForURL(new RegExp(`window=${w2.id}`));
  await page.locator('[data-testid=verdict-row][data-feature="amount"] [data-testid=verdict]', { hasText: /^drift$/ }).waitFor();
  assert.deepEqual(page.errors, []);
});

test('manual monitor on a model with special characters', async () => {
  const page = await t.page();
  await page.goto(t.url + '/#/monitoring/batch-check');
  await page.getByTestId('verdict-table').waitFor();
  assert.match(await page.getByTestId('monitor-attrs').textContent(), /fraud <co> & "x"/);
  assert.match(await page.getByTestId('window-summary').textContent(), /\(manual run\): 50 rows, 1 of 2 features drifted/);
  assert.equal(await page.locator('[data-testid=verdict-row][data-feature="amount"] [data-testid=verdict]').textContent(), 'drift');
  await page.getByTestId('no-alerts').waitFor();
  assert.equal(await page.getByTestId('alert-row').count(), 0);
  assert.equal(await page.locator('a', { hasText: 'fraud <co> & "x"' }).getAttribute('href'), '#/models/' + encodeURIComponent(MANUAL_MODEL));
});

test('unknown monitor says not found', async () => {
  const page = await t.page();
  await page.goto(t.url + '/#/monitoring/ghost');
  await page.getByTestId('not-found').waitFor();
  assert.match(await page.getByTestId('not-found').textContent(), /Monitor “ghost” does not exist/);
});
