// The deployments page on a real data plane: a `cairn serve` process (the
// XGBoost test model as a local folder, deployment "fraud") with this
// server as its --tracking-uri, heartbeating every 500 ms while a client
// sends it requests. The page must show the deployment, its version, a
// request rate > 0 and the instance; after SIGTERM the instance is stopped.
// Before that, with no server reporting, the page explains how to connect one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setup, screenshot, freePort, REPO, CAIRN_BIN } from './harness.mjs';

let t;
let serve;        // the cairn serve child
let serveUrl;
let serveLog;
let clientStop = false;
let clientLoop;
let answered = 0;

async function waitFor(what, fn, ms = 30000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try { last = await fn(); } catch { last = undefined; }
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = serveLog && fs.existsSync(serveLog) ? fs.readFileSync(serveLog, 'utf8') : '';
  throw new Error(`timed out waiting for ${what}\n--- serve.log ---\n${log}`);
}

// A copy of the XGBoost test model with a column signature f0..f9 (as src/serve/serve_app_test.cc).
function modelCopy(dir) {
  const src = path.join(REPO, 'src/model/runtime/testdata/binary_ubj');
  const dest = path.join(dir, 'fraud_model');
  fs.cpSync(src, dest, { recursive: true });
  const inputs = Array.from({ length: 10 }, (_, i) => `{"type": "float", "name": "f${i}", "required": true}`).join(', ');
  fs.appendFileSync(path.join(dest, 'MLmodel'),
    `signature:\n  inputs: '[${inputs}]'\n  outputs: '[{"type": "long", "required": true}]'\n  params: null\n`);
  return dest;
}

const inferBody = JSON.stringify({
  inputs: [{ name: 'input', shape: [1, 10], datatype: 'FP32', data: [0.3, -1.0, 0.75, 0.1, -1.95, -1.3, 0.13, -0.32, -0.02, -0.85] }],
});

before(async () => {
  t = await setup();
});

after(async () => {
  clientStop = true;
  await clientLoop?.catch(() => {});
  if (serve && serve.exitCode === null) serve.kill('SIGKILL');
  await t?.teardown();
});

test('with no model server reporting, the page says how to connect cairn serve', async () => {
  const page = await t.page();
  await page.goto(t.url + '/#/deployments');
  await page.getByTestId('deployments-empty').waitFor();
  const command = await page.getByTestId('connect-command').textContent();
  assert.equal(command, `cairn serve --model models:/<name>@<alias> --tracking-uri ${t.url}`);
  assert.equal(await page.getByTestId('nav-deployments').getAttribute('class'), 'nav-link active');
  assert.deepEqual(page.errors, []);
});

test('a running cairn serve shows up with its version, live rate and instance', async () => {
  const model = modelCopy(t.dir);
  const port = await freePort();
  serveUrl = `http://127.0.0.1:${port}`;
  serveLog = path.join(t.dir, 'serve.log');
  const log = fs.openSync(serveLog, 'a');
  serve = spawn(CAIRN_BIN, ['serve', '--model', model, '--name', 'fraud', '--host', '127.0.0.1', '--port', String(port),
    '--tracking-uri', t.url, '--heartbeat-interval', '500ms', '--poll-interval-ms', '0',
    '--cache-dir', path.join(t.dir, 'cache'), '--workers', '2'], { stdio: ['ignore', log, log], cwd: t.dir });
  await waitFor('cairn serve ready', async () => (await fetch(serveUrl + '/v2/health/ready')).ok);

  // A client sends requests until the end of the file (about 20 per second).
  clientLoop = (async () => {
    while (!clientStop) {
      try {
        const r = await fetch(`${serveUrl}/v2/models/fraud/infer`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: inferBody });
        if (r.ok) answered++;
        await r.text();
      } catch { /* stopped */ }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();

  const page = await t.page();
  await page.goto(t.url + '/#/deployments');
  const card = page.locator('[data-testid=deployment][data-name="fraud"]');
  await card.waitFor({ timeout: 30000 });
  // The page polls: wait until a heartbeat with requests in it is shown.
  await page.waitForFunction(() => {
    const el = document.querySelector('[data-testid=deployment][data-name="fraud"] [data-testid=rate]');
    return el && Number(el.getAttribute('data-value')) > 0;
  }, null, { timeout: 30000 });
  assert.ok(answered > 0);

  assert.equal(await card.getByTestId('deployment-name').textContent(), 'fraud');
  assert.equal(await card.locator('h2 [data-testid=state]').textContent(), 'live');
  assert.match(await card.getByTestId('rate').textContent(), /^[0-9.]+ req\/s$/);
  assert.ok(Number(await card.getByTestId('rate').getAttribute('data-value')) > 0);
  assert.match(await card.getByTestId('p50').textContent(), /^[0-9.]+ ms$/);
  assert.match(await card.getByTestId('p99').textContent(), /^[0-9.]+ ms$/);

  // The version and its share of the traffic.
  const rows = card.getByTestId('traffic-row');
  assert.equal(await rows.count(), 1);
  assert.equal(await rows.first().getAttribute('data-model'), 'fraud_model');
  assert.equal(await rows.first().getAttribute('data-version'), '1');
  assert.match(await rows.first().textContent(), /fraud_model v1.*live.*100\.0 %.*serving/);
  // A local folder, not a registry version: no link to a model page, the folder in the title.
  assert.equal(await rows.first().getByTestId('version-link').count(), 0);
  assert.equal(await rows.first().locator('td').first().getAttribute('title'), model);
  const segment = card.getByTestId('traffic-segment');
  assert.equal(await segment.count(), 1);
  assert.equal(Number(await segment.getAttribute('data-share')), 1);
  assert.match(await segment.textContent(), /v1 100 %/);

  // The instance, with the URL the server was told.
  const instance = card.getByTestId('instance-row');
  assert.equal(await instance.count(), 1);
  assert.equal(await instance.getAttribute('data-state'), 'live');
  assert.equal(await instance.getByTestId('instance-url').textContent(), serveUrl);

  // The history chart has points (one per heartbeat).
  await card.locator('[data-testid=rate-chart] canvas').first().waitFor();
  assert.ok(Number(await card.getByTestId('history').getAttribute('data-points')) >= 1);

  // What the page shows is what the API says.
  const api = (await t.api.get('/api/v1/serving/deployments')).deployments;
  assert.equal(api.length, 1);
  assert.equal(api[0].traffic[0].version, '1');
  await screenshot(page, 'deployments');
  assert.deepEqual(page.errors, []);
});

test('a stopped cairn serve is shown as stopped', async () => {
  clientStop = true;
  await clientLoop;
  serve.kill('SIGTERM');
  await waitFor('cairn serve exit', async () => serve.exitCode !== null, 20000);
  assert.equal(serve.exitCode, 0, fs.readFileSync(serveLog, 'utf8'));
  const page = await t.page();
  await page.goto(t.url + '/#/deployments');
  const card = page.locator('[data-testid=deployment][data-name="fraud"]');
  await card.locator('[data-testid=instance-row][data-state=stopped]').waitFor({ timeout: 10000 });
  assert.equal(await card.locator('h2 [data-testid=state]').textContent(), 'stopped');
  assert.equal(Number(await card.getByTestId('rate').getAttribute('data-value')), 0);
  assert.deepEqual(page.errors, []);
});
