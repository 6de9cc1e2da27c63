// The registry pages: model list (search, paging), a model (versions, aliases,
// stages, approvals decided in the UI, webhooks, audit), a version
// (signature, source run, lineage, audit), and not-found pages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setup, screenshot } from './harness.mjs';

let t;
const NAME = 'fraud <b>bold & "quoted" \'x\' <img src=x onerror="window.__pwned=2">';
const DESC = '<script>window.__pwned = 1</script> detects <i>fraud</i>';
let runId;
let aliasHook;  // a webhook on alias.set: approving the alias in the UI makes a delivery

const enc = encodeURIComponent;
const M = '/api/2.0/mlflow';
// A request as another user (approvals need a different approver than the requester).
async function asUser(user, method, path, body) {
  const r = await fetch(t.url + path, {
    method, headers: { 'Content-Type': 'application/json', 'X-Cairn-User': user },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path} -> ${r.status}: ${text}`);
  return JSON.parse(text);
}

const MLMODEL = `flavors:
  python_function:
    loader_module: mlflow.sklearn
    python_version: 3.11.0
signature:
  inputs: '[{"name": "amount <usd>", "type": "double"}, {"name": "merchant", "type": "string", "required": false}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 2]}}]'
  params: '[{"name": "threshold", "type": "double", "default": 0.5, "shape": null}]'
`;

before(async () => {
  t = await setup();
  const exp = await t.api.createExperiment('registry-ui');
  const parent = await t.api.createRun(exp, { name: 'sweep-parent' });
  runId = await t.api.createRun(exp, { name: 'train-fraud', parent });
  await t.api.logArtifact(runId, 'model/MLmodel', MLMODEL);
  await t.api.post(`${M}/runs/log-inputs`, {
    run_id: runId,
    datasets: [{ dataset: { name: 'transactions-2026', digest: 'd1g3st42', source_type: 'local', source: '/data/tx.parquet' },
      tags: [{ key: 'mlflow.data.context', value: 'training' }] }],
  });
  await t.api.endRun(runId);
  await t.api.post(`${M}/registered-models/create`, { name: NAME, description: DESC, tags: [{ key: 'team', value: 'risk & <ops>' }] });
  for (let i = 0; i < 3; i++) {
    await t.api.post(`${M}/model-versions/create`, { name: NAME, source: `runs:/${runId}/model`, run_id: runId, description: `v${i + 1} <desc>` });
  }
  await t.api.post(`${M}/registered-models/alias`, { name: NAME, alias: 'shadow', version: '2' });
  await t.api.post(`${M}/model-versions/transition-stage`, { name: NAME, version: '1', stage: 'Staging', archive_existing_versions: false });
  // Protect 'champion' and Production; alice asks for both; the UI (anonymous) decides.
  await asUser('alice', 'PUT', `/api/v1/models/${enc(NAME)}/protected-targets`, { targets: ['champion', 'Production'] });
  const a1 = await asUser('alice', 'POST', `/api/v1/models/${enc(NAME)}/aliases/champion`, { version: '3', comment: 'best <auc>' });
  assert.equal(a1.outcome, 'pending');
  const a2 = await asUser('alice', 'POST', `/api/v1/models/${enc(NAME)}/versions/2/stage`, { stage: 'Production', archive_existing_versions: true });
  assert.equal(a2.outcome, 'pending');
  await t.api.post('/api/v1/webhooks', { model: NAME, url: 'http://127.0.0.1:9/hook?a=<b>', events: ['model_version.created'], secret: 's3cret' });
  aliasHook = (await t.api.post('/api/v1/webhooks', { model: NAME, url: 'http://127.0.0.1:9/alias-hook', events: ['alias.set'], secret: 's3cret' })).webhook.id;
  // 30 more models for paging (page size 25) and search.
  for (let i = 0; i < 30; i++) await t.api.post(`${M}/registered-models/create`, { name: `zz-model-${String(i).padStart(2, '0')}` });
});
after(async () => { await t?.teardown(); });

test('models list: search, latest versions, aliases, paging; names and descriptions are text', async () => {
  const page = await t.page();
  await page.goto(t.url + '/#/models');
  await page.getByTestId('models-table').waitFor();
  assert.equal(await page.getByTestId('model-row').count(), 25);
  const first = page.getByTestId('model-row').first();
  assert.equal(await first.getByTestId('model-link').textContent(), NAME);
  assert.match(await first.textContent(), /@shadow → v2/);
  assert.match(await first.textContent(), /v1 · Staging/);
  assert.equal(await page.locator('td.desc').first().textContent(), DESC);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.locator('b', { hasText: 'bold' }).count(), 0);
  // Page 2 has the remaining 6 models.
  await screenshot(page, 'models');
  await page.getByTestId('pager-next').click();
  await page.getByText('Page 2').waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=model-row]').length === 6);
  assert.equal(await page.getByTestId('model-link').last().textContent(), 'zz-model-29');
  await page.getByTestId('pager-prev').click();
  await page.getByText(NAME).first().waitFor();
  // Search goes to the URL and filters on the server.
  await page.getByTestId('model-search').fill('MODEL-1');
  await page.waitForURL(/q=MODEL-1/);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=model-row]').length === 10);
  assert.equal(await page.getByTestId('model-link').first().textContent(), 'zz-model-10');
  await page.getByTestId('model-search').fill('"quoted" \'x');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=model-row]').length === 1);
  assert.equal(await page.getByTestId('model-link').textContent(), NAME);
  await page.getByTestId('model-search').fill('no such model');
  await page.getByTestId('models-empty').waitFor();
  assert.deepEqual(page.errors, []);
});

test('model page: versions, stages, aliases, description, tags, webhooks, audit', async () => {
  const page = await t.page();
  await page.goto(t.url + '/#/models');
  await page.getByTestId('model-link').first().click();
  await page.getByTestId('versions-table').waitFor();
  assert.equal(await page.getByTestId('page-title').textContent(), NAME);
  assert.equal(await page.getByTestId('model-description').textContent(), DESC);
  const versions = await page.getByTestId('version-row').evaluateAll((rows) => rows.map((r) => r.dataset.version));
  assert.deepEqual(versions, ['3', '2', '1']);
  const row = (v) => page.locator(`[data-testid=version-row][data-version="${v}"]`);
  assert.equal(await row('1').getByTestId('version-stage').textContent(), 'Staging');
  assert.equal(await row('2').getByTestId('version-aliases').textContent(), '@shadow');
  assert.equal(await row('3').getByTestId('version-aliases').textContent(), '—');
  assert.match(await page.getByTestId('model-tags').textContent(), /risk & <ops>/);
  assert.match(await page.getByTestId('model-attrs').textContent(), /Production, champion/);
  assert.match(await page.getByTestId('webhooks').textContent(), /http:\/\/127\.0\.0\.1:9\/hook\?a=<b>.*model_version\.created/);
  assert.equal(await page.getByTestId('approval-row').count(), 2);
  const audit = await page.getByTestId('model-audit').textContent();
  assert.match(audit, /approval\.create/);
  assert.match(audit, /registered_model\.set_protected_targets/);
  assert.match(audit, /alice/);
  await screenshot(page, 'model');
  assert.deepEqual(page.errors, []);
});

test('approve and reject pending requests in the UI change the registry', async () => {
  const page = await t.page();
  await page.goto(t.url + `/#/models/${enc(NAME)}`);
  await page.getByTestId('approval-row').first().waitFor();
  const champion = page.getByTestId('approval-row').filter({ hasText: 'set alias @champion to version 3' });
  assert.equal(await champion.count(), 1);
  await champion.getByTestId('approval-comment').fill('lgtm <ok>');
  await champion.getByTestId('approve').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=approval-row]').length === 1);
  // The version table refreshed: v3 now carries @champion.
  await page.locator('[data-testid=version-row][data-version="3"] [data-testid=version-aliases]', { hasText: '@champion' }).waitFor();
  const mv = await t.api.get(`${M}/model-versions/get?name=${enc(NAME)}&version=3`);
  assert.deepEqual(mv.model_version.aliases, ['champion']);
  const approvals = (await t.api.get(`/api/v1/approvals?model=${enc(NAME)}`)).approvals;
  const decided = approvals.find((a) => a.target === 'champion');
  assert.equal(decided.status, 'approved');
  assert.equal(decided.decided_by, 'anonymous');
  assert.equal(decided.decision_comment, 'lgtm <ok>');
  // Reject the stage move: version 2 stays out of Production.
  await page.getByTestId('approval-row').getByTestId('reject').click();
  await page.getByTestId('no-approvals').waitFor();
  const v2 = await t.api.get(`${M}/model-versions/get?name=${enc(NAME)}&version=2`);
  assert.equal(v2.model_version.current_stage, 'None');
  const after = (await t.api.get(`/api/v1/approvals?model=${enc(NAME)}`)).approvals;
  assert.equal(after.find((a) => a.target === 'Production').status, 'rejected');
  await page.getByTestId('model-audit').getByText('approval.approve').first().waitFor();
  // The approved alias move was sent to the alias.set webhook (nothing listens: not delivered).
  const hookRow = page.locator(`[data-testid=webhook-row][data-webhook-id="${aliasHook}"]`);
  await hookRow.getByTestId('show-deliveries').click();
  await page.getByTestId('delivery-row').first().waitFor();
  assert.equal(await page.getByTestId('delivery-row').count(), 1);
  assert.match(await page.getByTestId('delivery-row').textContent(), /alias\.set/);
  assert.doesNotMatch(await page.getByTestId('delivery-row').textContent(), /delivered/);
  assert.deepEqual(page.errors, []);
});

test('an approval the server refuses shows its message', async () => {
  // Anonymous asks; anonymous (the UI) may not approve its own request.
  const r = await t.api.post(`/api/v1/models/${enc(NAME)}/aliases/champion`, { version: '1' });
  assert.equal(r.outcome, 'pending');
  const page = await t.page();
  await page.goto(t.url + `/#/models/${enc(NAME)}`);
  await page.locator(`[data-approval-id="${r.approval.id}"]`).getByTestId('approve').click();
  await page.getByTestId('approvals').getByTestId('error').waitFor();
  assert.match(await page.getByTestId('approvals').getByTestId('error').textContent(), /PERMISSION_DENIED.*made by 'anonymous'; another user must approve/);
  const approvals = (await t.api.get(`/api/v1/approvals?model=${enc(NAME)}&status=pending`)).approvals;
  assert.deepEqual(approvals.map((a) => a.id), [r.approval.id]);
  await asUser('bob', 'POST', `/api/v1/approvals/${r.approval.id}/reject`, {});
});

test('version page: signature, source run, lineage, aliases, audit', async () => {
  const page = await t.page();
  await page.goto(t.url + `/#/models/${enc(NAME)}`);
  await page.locator('[data-testid=version-row][data-version="3"] [data-testid=version-link]').click();
  await page.getByTestId('signature').waitFor();
  assert.equal(await page.getByTestId('page-title').textContent(), `${NAME} · version 3`);
  const inputs = await page.getByTestId('signature-inputs').locator('tbody tr').evaluateAll((rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  assert.deepEqual(inputs, [['0', 'amount <usd>', 'double', 'required'], ['1', 'merchant', 'string', 'optional']]);
  assert.match(await page.getByTestId('signature-outputs').textContent(), /tensor float32 \[-1, 2\]/);
  assert.match(await page.getByTestId('signature-params').textContent(), /threshold.*double.*0\.5.*scalar/);
  assert.equal(await page.getByTestId('version-aliases').textContent(), '@champion');
  assert.equal(await page.getByTestId('version-description').textContent(), 'v3 <desc>');
  // Lineage: dataset -> run (with its parent) -> this version, siblings listed.
  const ds = page.getByTestId('lineage-dataset');
  assert.match(await ds.textContent(), /transactions-2026.*training.*d1g3st42.*\/data\/tx\.parquet/);
  assert.match(await page.getByTestId('lineage-parent').textContent(), /sweep-parent/);
  assert.equal(await page.getByTestId('lineage-run-link').textContent(), 'train-fraud');
  assert.equal(await page.getByTestId('lineage-sibling').count(), 2);
  const vaudit = await page.getByTestId('version-audit').textContent();
  assert.match(vaudit, /model_version\.create/);
  assert.match(vaudit, /model_version .*\/3/);
  assert.doesNotMatch(vaudit, /\/1\b|\/2\b/);
  await screenshot(page, 'model-version');
  await page.getByTestId('source-run').click();
  await page.waitForURL(new RegExp(`#/runs/${runId}$`));
  assert.deepEqual(page.errors, []);
});

test('unknown model and version say not found', async () => {
  const page = await t.page();
  await page.goto(t.url + '/#/models/' + enc('no <such> model'));
  await page.getByTestId('not-found').waitFor();
  assert.match(await page.getByTestId('not-found').textContent(), /Registered model “no <such> model” does not exist/);
  await page.goto(t.url + `/#/models/${enc(NAME)}/versions/99`);
  await page.getByTestId('not-found').waitFor();
  assert.match(await page.getByTestId('not-found').textContent(), /Version 99 of model .* does not exist/);
  await page.goto(t.url + '/#/models/ghost/versions/1');
  await page.getByTestId('not-found').waitFor();
  assert.match(await page.getByTestId('not-found').textContent(), /Registered model “ghost” does not exist/);
});
