// The pipeline pages, on pipeline runs recorded by a real `cairn repro` in a
// temporary git repository against the test server: the list with step
// counts, the DAG (layers, edges, colours by status), a step's details
// (cached, executor, attempts, deps/outs digests, error) and its log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setup, screenshot, CAIRN_BIN } from './harness.mjs';

// The CLI that runs `cairn repro` (CAIRN_CLI when CAIRN_BIN is a wrapper).
const CLI = process.env.CAIRN_CLI || CAIRN_BIN;
let t;
let repo;
const runs = {};  // A: all ran; B: evaluate failed; C: three restored from cache, evaluate ran

const SPEC = `steps:
  prepare:
    cmd: sh -c 'mkdir -p prepared && cp data/raw.csv prepared/train.csv && echo "prepared <rows> & more"'
    deps: [data/raw.csv]
    outs: [prepared]
  lint:
    cmd: sh -c 'echo lint ok > lint.txt'
    deps: [data/raw.csv]
    outs: [lint.txt]
  train:
    cmd: sh -c 'wc -l < prepared/train.csv > model.txt; echo training done'
    deps: [prepared]
    outs: [model.txt]
  evaluate:
    cmd: sh evaluate.sh
    deps: [model.txt, lint.txt, evaluate.sh]
    outs: [report.txt]
`;
// evaluate.sh fails while fail.flag exists (fail.flag is not a dep: a failed step is never cached).
const EVALUATE = (extra) => `if test -f fail.flag; then echo "evaluate failed: <bad> model" >&2; exit 3; fi
cat model.txt lint.txt > report.txt
echo "evaluate wrote report${extra}"
`;

function repro() {
  const r = spawnSync(CLI, ['repro', '--experiment', 'pipes', '--tracking-uri', t.url], { cwd: repo, encoding: 'utf8' });
  const out = r.stdout + r.stderr;
  const m = out.match(/tracked as run ([0-9a-f]{32})/);
  assert.ok(m, `cairn repro did not report its run (exit ${r.status}):\n${out}`);
  return { runId: m[1], status: r.status, out };
}

before(async () => {
  t = await setup();
  repo = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-ui-pipe-'));
  const git = (...a) => execFileSync('git', a, { cwd: repo });
  git('init', '-q'); git('config', 'user.email', 'ui@test'); git('config', 'user.name', 'ui test');
  fs.mkdirSync(path.join(repo, 'data'));
  fs.writeFileSync(path.join(repo, 'data/raw.csv'), 'x\n1\n2\n3\n');
  fs.writeFileSync(path.join(repo, 'cairn.yaml'), SPEC);
  fs.writeFileSync(path.join(repo, 'evaluate.sh'), EVALUATE(''));
  git('add', '-A'); git('commit', '-qm', 'init');
  runs.A = repro();
  assert.equal(runs.A.status, 0, runs.A.out);
  // B: new data, and evaluate fails.
  fs.writeFileSync(path.join(repo, 'data/raw.csv'), 'x\n1\n2\n3\n4\n');
  fs.writeFileSync(path.join(repo, 'fail.flag'), '');
  runs.B = repro();
  assert.notEqual(runs.B.status, 0, runs.B.out);
  // C: the old data again (prepare, lint, train restored from the run cache); evaluate.sh changed.
  fs.writeFileSync(path.join(repo, 'data/raw.csv'), 'x\n1\n2\n3\n');
  fs.rmSync(path.join(repo, 'fail.flag'));
  fs.writeFileSync(path.join(repo, 'evaluate.sh'), EVALUATE(' again'));
  runs.C = repro();
  assert.equal(runs.C.status, 0, runs.C.out);
});
after(async () => { await t?.teardown(); if (repo) fs.rmSync(repo, { recursive: true, force: true }); });

test('pipeline runs list: newest first with step, cached and failed counts', async () => {
  const page = await t.page();
  await page.goto(t.url + '/#/pipelines');
  await page.getByTestId('pipeline-runs').waitFor();
  const rows = await page.getByTestId('pipeline-run-row').evaluateAll((rs) => rs.map((r) => ({
    id: r.dataset.runId, steps: r.querySelector('[data-testid=steps]').textContent,
    cached: r.querySelector('[data-testid=cached]').textContent, failed: r.querySelector('[data-testid=failed]').textContent,
    status: r.querySelector('.badge').textContent,
  })));
  assert.deepEqual(rows.map((r) => r.id), [runs.C.runId, runs.B.runId, runs.A.runId]);
  assert.deepEqual(rows[0], { id: runs.C.runId, steps: '4', cached: '3', failed: '0', status: 'FINISHED' });
  assert.deepEqual(rows[1], { id: runs.B.runId, steps: '4', cached: '0', failed: '1', status: 'FAILED' });
  assert.deepEqual(rows[2], { id: runs.A.runId, steps: '4', cached: '0', failed: '0', status: 'FINISHED' });
  await screenshot(page, 'pipelines');
  // Filtering by a pipeline name that has no runs.
  await page.getByTestId('pipeline-filter').fill('no-such-pipeline');
  await page.getByTestId('pipelines-empty').waitFor();
  assert.match(await page.getByTestId('pipelines-empty').textContent(), /no-such-pipeline/);
  await page.getByTestId('pipeline-filter').fill(path.basename(repo));
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=pipeline-run-row]').length === 3);
  assert.deepEqual(page.errors, []);
});

test('DAG: longest-path layers, dependency edges, colours by status; a cached step', async () => {
  const page = await t.page();
  await page.goto(t.url + '/#/pipelines');
  await page.locator(`[data-run-id="${runs.C.runId}"] [data-testid=pipeline-run-link]`).click();
  await page.getByTestId('dag').waitFor();
  const nodes = Object.fromEntries(await page.getByTestId('dag-node').evaluateAll((ns) => ns.map((n) => [n.dataset.id, { layer: n.dataset.layer, kind: n.dataset.kind }])));
  assert.deepEqual(nodes, {
    prepare: { layer: '0', kind: 'cached' }, lint: { layer: '0', kind: 'cached' },
    train: { layer: '1', kind: 'cached' }, evaluate: { layer: '2', kind: 'ok' },
  });
  const edges = (await page.getByTestId('dag-edge').evaluateAll((es) => es.map((e) => `${e.dataset.from}->${e.dataset.to}`))).sort();
  assert.deepEqual(edges, ['lint->evaluate', 'prepare->train', 'train->evaluate']);
  // Layers are columns left to right; the edges are drawn between the boxes.
  const x = async (id) => Number((await page.locator(`[data-testid=dag-node][data-id="${id}"]`).getAttribute('transform')).match(/translate\(([\d.]+)/)[1]);
  assert.ok((await x('prepare')) < (await x('train')) && (await x('train')) < (await x('evaluate')));
  assert.equal(await x('prepare'), await x('lint'));
  assert.match(await page.getByTestId('pipeline-counts').textContent(), /4 steps: .*3 cached.*1 ran, ok|4 steps: .*1 ran, ok.*3 cached/);
  await page.locator('[data-testid=dag-node][data-id="train"]').click();
  await page.waitForURL(/step=train/);
  const panel = page.getByTestId('step-panel');
  assert.equal(await panel.getByTestId('step-name').textContent(), 'train');
  assert.equal(await panel.getByTestId('step-kind').textContent(), 'cached');
  assert.match(await panel.getByTestId('step-cached').textContent(), /^yes/);
  assert.equal(await panel.getByTestId('step-executor').textContent(), 'local');
  const deps = await panel.getByTestId('step-deps').locator('tbody tr').evaluateAll((rs) => rs.map((r) => [r.cells[0].textContent, r.cells[1].textContent]));
  assert.equal(deps.length, 1);
  assert.equal(deps[0][0], 'prepared');
  assert.match(deps[0][1], /^sha256:[0-9a-f]{16,}/);
  const outs = await panel.getByTestId('step-outs').textContent();
  assert.match(outs, /model\.txt\s*sha256:[0-9a-f]{16,}/);
  await screenshot(page, 'pipeline');
  // Keyboard: Enter on a focused node selects it; the log is the step's own.
  await page.locator('[data-testid=dag-node][data-id="evaluate"]').focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/step=evaluate/);
  await panel.getByTestId('step-log').waitFor();
  await page.waitForFunction(() => /evaluate wrote report again/.test(document.querySelector('pre[data-testid=step-log]')?.textContent ?? ''));
  assert.equal(await panel.getByTestId('step-kind').textContent(), 'ran, ok');
  assert.equal(await panel.getByTestId('step-attempts').textContent(), '1');
  assert.deepEqual(page.errors, []);
});

test('a failed step: red node, its error and its log', async () => {
  const page = await t.page();
  await page.goto(t.url + `/#/pipelines/${runs.B.runId}?step=evaluate`);
  await page.getByTestId('step-panel').waitFor();
  assert.equal(await page.locator('[data-testid=dag-node][data-id="evaluate"]').getAttribute('data-kind'), 'failed');
  assert.equal(await page.locator('[data-testid=dag-node][data-id="prepare"]').getAttribute('data-kind'), 'ok');
  assert.equal(await page.getByTestId('pipeline-status').textContent(), 'FAILED');
  assert.match(await page.getByTestId('step-error').textContent(), /exit code 3/);
  await page.waitForFunction(() => /evaluate failed: <bad> model/.test(document.querySelector('pre[data-testid=step-log]')?.textContent ?? ''));
  const download = await page.getByTestId('step-log-download').getAttribute('href');
  assert.match(download, /\/api\/v1\/runs\/[0-9a-f]{32}\/artifact\?path=logs%2Fevaluate\.log&download=1/);
  await screenshot(page, 'pipeline-failed');
  // The prepare step's log holds its output, as text.
  await page.locator('[data-testid=dag-node][data-id="prepare"]').click();
  await page.waitForFunction(() => /prepared <rows> & more/.test(document.querySelector('pre[data-testid=step-log]')?.textContent ?? ''));
  assert.deepEqual(page.errors, []);
});

test('unknown pipeline run and unknown step say so', async () => {
  const page = await t.page();
  await page.goto(t.url + '/#/pipelines/0123456789abcdef0123456789abcdef');
  await page.getByTestId('not-found').waitFor();
  assert.match(await page.getByTestId('not-found').textContent(), /Pipeline run “0123456789abcdef0123456789abcdef” does not exist/);
  await page.goto(t.url + `/#/pipelines/${runs.A.runId}?step=nope`);
  await page.getByTestId('dag').waitFor();
  assert.match(await page.getByTestId('error').textContent(), /no step “nope”/);
});

test('a running pipeline is polled: steps change colour as they finish', async () => {
  const slow = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-ui-slow-'));
  try {
    const git = (...a) => execFileSync('git', a, { cwd: slow });
    git('init', '-q'); git('config', 'user.email', 'ui@test'); git('config', 'user.name', 'ui test');
    fs.writeFileSync(path.join(slow, 'cairn.yaml'), `steps:
  wait:
    cmd: sh -c 'while [ ! -f go.flag ]; do sleep 0.1; done; echo waited > waited.txt'
    outs: [waited.txt]
  after:
    cmd: sh -c 'cat waited.txt > after.txt'
    deps: [waited.txt]
    outs: [after.txt]
`);
    git('add', '-A'); git('commit', '-qm', 'init');
    const child = spawn(CLI, ['repro', '--experiment', 'pipes', '--tracking-uri', t.url], { cwd: slow, stdio: 'ignore' });
    const exited = new Promise((r) => child.on('exit', r));
    try {
      // The pipeline run appears once `wait` started.
      let runId;
      for (let i = 0; i < 200 && !runId; i++) {
        const list = (await t.api.get('/api/v1/pipeline-runs?pipeline=' + encodeURIComponent(path.basename(slow)))).pipeline_runs;
        runId = list[0]?.run_id;
        if (!runId || list[0].steps < 1) { runId = undefined; await new Promise((r) => setTimeout(r, 100)); }
      }
      assert.ok(runId, 'the running pipeline run is listed');
      const page = await t.page();
      await page.goto(t.url + `/#/pipelines/${runId}`);
      await page.locator('[data-testid=dag-node][data-id="wait"][data-kind="running"]').waitFor();
      assert.equal(await page.getByTestId('pipeline-status').textContent(), 'RUNNING');
      fs.writeFileSync(path.join(slow, 'go.flag'), '');
      // No reload: the page polls until both steps are done.
      await page.locator('[data-testid=dag-node][data-id="after"][data-kind="ok"]').waitFor({ timeout: 20000 });
      assert.equal(await page.locator('[data-testid=dag-node][data-id="wait"]').getAttribute('data-kind'), 'ok');
      await page.getByTestId('pipeline-status').filter({ hasText: 'FINISHED' }).waitFor({ timeout: 10000 });
      assert.deepEqual(await page.getByTestId('dag-edge').evaluateAll((es) => es.map((e) => `${e.dataset.from}->${e.dataset.to}`)), ['wait->after']);
      assert.deepEqual(page.errors, []);
    } finally {
      fs.writeFileSync(path.join(slow, 'go.flag'), '');
      await exited;
    }
  } finally {
    fs.rmSync(slow, { recursive: true, force: true });
  }
});
