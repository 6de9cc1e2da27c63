// The compare page: diff table (differing rows marked, "only differences"),
// overlaid metric charts, parallel coordinates (numeric and categorical
// axes), the param-vs-metric scatter, URL state, and bad run lists.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setup, screenshot } from './harness.mjs';

let t;
let ids = [];
const RUNS = [
  { name: 'run-a', params: { lr: '0.1', optimizer: 'adam', seed: '42', dropout: '0.5' }, metrics: { loss: [1.0, 0.6, 0.4], acc: 0.71 } },
  { name: 'run-b', params: { lr: '0.01', optimizer: 'sgd', seed: '42', dropout: '0.2' }, metrics: { loss: [1.2, 0.9, 0.7, 0.5], acc: 0.65 } },
  { name: 'run-c', params: { lr: '0.001', optimizer: 'adam', seed: '42' }, metrics: { loss: [1.5, 1.4], acc: 0.52 } },
  { name: 'run <d> & "e"', params: { lr: '0.05', optimizer: '<b>rmsprop</b>', seed: '42', dropout: '0.1' }, metrics: { loss: [0.9, 0.3], acc: 0.88, extra: 3 } },
];

before(async () => {
  t = await setup();
  const exp = await t.api.createExperiment('compare-ui');
  for (const r of RUNS) {
    const id = await t.api.createRun(exp, { name: r.name, tags: { team: r.name === 'run-b' ? 'blue' : 'red' } });
    await t.api.logBatch(id, { params: r.params, metrics: r.metrics });
    await t.api.endRun(id);
    ids.push(id);
  }
});
after(async () => { await t?.teardown(); });

const rowValues = (page, testid, key) => page.locator(`[data-testid=${testid}][data-key="${key}"] td`).allTextContents();

test('diff table: rows per key, columns per run, differing rows marked, only-differences toggle', async () => {
  const page = await t.page();
  await page.goto(t.url + `/#/compare?runs=${ids.join(',')}`);
  await page.getByTestId('diff-table').waitFor();
  assert.equal(await page.getByTestId('page-title').textContent(), 'Compare 4 runs');
  assert.deepEqual(await page.getByTestId('diff-run-header').allTextContents(), ['run-a×', 'run-b×', 'run-c×', 'run <d> & "e"×']);
  assert.deepEqual(await rowValues(page, 'param-row', 'lr'), ['0.1', '0.01', '0.001', '0.05']);
  assert.deepEqual(await rowValues(page, 'param-row', 'dropout'), ['0.5', '0.2', '—', '0.1']);
  assert.deepEqual(await rowValues(page, 'param-row', 'optimizer'), ['adam', 'sgd', 'adam', '<b>rmsprop</b>']);
  assert.deepEqual(await rowValues(page, 'metric-row', 'loss'), ['0.4', '0.5', '1.4', '0.3']);
  assert.deepEqual(await rowValues(page, 'metric-row', 'acc'), ['0.71', '0.65', '0.52', '0.88']);
  assert.deepEqual(await rowValues(page, 'tag-row', 'team'), ['red', 'blue', 'red', 'red']);
  const differs = async (testid, key) => page.locator(`[data-testid=${testid}][data-key="${key}"]`).getAttribute('data-differs');
  assert.equal(await differs('param-row', 'lr'), 'true');
  assert.equal(await differs('param-row', 'seed'), 'false');
  assert.equal(await page.locator('[data-testid=param-row][data-key="lr"]').getAttribute('class'), 'differs');
  assert.equal(await page.locator('b', { hasText: 'rmsprop' }).count(), 0);
  // Only differences: seed disappears, lr stays; the toggle is in the URL.
  await page.getByTestId('only-differences').check();
  await page.waitForURL(/only=1/);
  await page.locator('[data-testid=param-row][data-key="seed"]').waitFor({ state: 'detached' });
  assert.equal(await page.locator('[data-testid=param-row][data-key="lr"]').count(), 1);
  await page.reload();
  await page.getByTestId('diff-table').waitFor();
  assert.equal(await page.getByTestId('only-differences').isChecked(), true);
  assert.equal(await page.locator('[data-testid=param-row][data-key="seed"]').count(), 0);
  assert.deepEqual(page.errors, []);
});

test('overlaid metric charts: one chart per metric, one series per run', async () => {
  const page = await t.page();
  await page.goto(t.url + `/#/compare?runs=${ids.join(',')}&charts=loss,acc`);
  const loss = page.locator('[data-testid=compare-chart][data-key="loss"]');
  await loss.locator('canvas').first().waitFor();
  assert.equal(await page.getByTestId('compare-chart').count(), 2);
  const text = await loss.textContent();
  for (const r of RUNS) assert.ok(text.includes(r.name), `legend of loss names ${r.name}: ${text}`);
  // The series the chart drew are the server's: check them through the API the page used.
  const s = await t.api.post('/api/v1/series', { run_ids: ids, keys: ['loss'], max_points: 1000 });
  assert.deepEqual(ids.map((id) => s.series.find((x) => x.run_id === id && x.key === 'loss').values.length), [3, 4, 2, 2]);
  // Choosing metrics writes the URL.
  await page.getByTestId('chart-picker-toggle').click();
  await page.locator('[data-testid=chart-picker] input[data-key="extra"]').check();
  await page.waitForURL(/charts=loss%2Cacc%2Cextra|charts=loss,acc,extra/);
  await page.locator('[data-testid=compare-chart][data-key="extra"] canvas').first().waitFor();
  assert.deepEqual(page.errors, []);
});

test('parallel coordinates: numeric and categorical axes, one line per run', async () => {
  const page = await t.page();
  await page.goto(t.url + `/#/compare?runs=${ids.join(',')}&pcm=acc`);
  await page.getByTestId('parallel-coords').waitFor();
  // Default axes: the params that differ (dropout, lr, optimizer), then the metric.
  const axes = await page.getByTestId('pc-axis').evaluateAll((as) => as.map((a) => [a.dataset.key, a.dataset.kind]));
  assert.deepEqual(axes, [['params.dropout', 'numeric'], ['params.lr', 'numeric'], ['params.optimizer', 'categorical'], ['metrics.acc', 'numeric']]);
  const optTicks = await page.locator('[data-testid=pc-axis][data-key="params.optimizer"] [data-testid=pc-tick]').allTextContents();
  assert.deepEqual(optTicks, ['<b>rmsprop</b>', 'adam', 'sgd']);
  assert.equal(await page.getByTestId('pc-line').count(), 4);
  // y of each line on each axis: higher value -> smaller y.
  const ys = Object.fromEntries(await page.getByTestId('pc-line').evaluateAll((ls) => ls.map((l) => [l.dataset.runId, l.getAttribute('points').split(' ').map((p) => Number(p.split(',')[1]))])));
  const [a, b, c, d] = ids;
  assert.ok(ys[a][1] < ys[d][1] && ys[d][1] < ys[b][1] && ys[b][1] < ys[c][1], 'lr axis ordered 0.1 > 0.05 > 0.01 > 0.001');
  assert.ok(ys[d][3] < ys[a][3] && ys[a][3] < ys[b][3] && ys[b][3] < ys[c][3], 'acc axis ordered');
  assert.equal(ys[a][2], ys[c][2], 'both adam runs meet the optimizer axis at the same point');
  assert.ok(ys[c][0] > ys[b][0], 'run-c has no dropout: drawn at the missing slot below the axis');
  await screenshot(page, 'compare');
  await page.getByTestId('parallel-coords').scrollIntoViewIfNeeded();
  await screenshot(page, 'compare-parallel-coords');
  // Choosing only lr as a param: two axes left.
  await page.getByTestId('pc-picker-toggle').click();
  await page.locator('[data-testid=pc-picker] input[data-key="dropout"]').uncheck();
  await page.locator('[data-testid=pc-picker] input[data-key="optimizer"]').uncheck();
  await page.waitForURL(/pc=lr/);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=pc-axis]').length === 2);
  assert.deepEqual(page.errors, []);
});

test('scatter: a parameter against a metric', async () => {
  const page = await t.page();
  await page.goto(t.url + `/#/compare?runs=${ids.join(',')}&sx=lr&sy=acc`);
  await page.getByTestId('scatter').waitFor();
  assert.equal(await page.getByTestId('scatter-x').inputValue(), 'lr');
  assert.equal(await page.getByTestId('scatter-y').inputValue(), 'acc');
  const pts = Object.fromEntries(await page.getByTestId('scatter-point').evaluateAll((ps) => ps.map((p) => [p.dataset.runId, [Number(p.getAttribute('cx')), Number(p.getAttribute('cy'))]])));
  const [a, b, c, d] = ids;
  assert.equal(Object.keys(pts).length, 4);
  assert.ok(pts[c][0] < pts[b][0] && pts[b][0] < pts[d][0] && pts[d][0] < pts[a][0], 'x follows lr');
  assert.ok(pts[d][1] < pts[a][1] && pts[a][1] < pts[b][1] && pts[b][1] < pts[c][1], 'y follows acc (up is larger)');
  // A categorical x and a param some runs lack.
  await page.getByTestId('scatter-x').selectOption('dropout');
  await page.waitForURL(/sx=dropout/);
  await page.getByTestId('scatter-missing').waitFor();
  assert.equal(await page.getByTestId('scatter-point').count(), 3);
  assert.match(await page.getByTestId('scatter-missing').textContent(), /1 run without both values/);
  assert.deepEqual(page.errors, []);
});

test('bad run lists: too few, too many, unknown id', async () => {
  const page = await t.page();
  await page.goto(t.url + `/#/compare?runs=${ids[0]}`);
  assert.match(await page.getByTestId('error').textContent(), /at least 2 runs/);
  const many = Array.from({ length: 51 }, (_, i) => i.toString(16).padStart(32, '0'));
  await page.goto(t.url + `/#/compare?runs=${many.join(',')}`);
  assert.match(await page.getByTestId('error').textContent(), /At most 50 runs/);
  const ghost = 'f'.repeat(32);
  await page.goto(t.url + `/#/compare?runs=${ids[0]},${ghost}`);
  await page.getByTestId('error').waitFor();
  assert.match(await page.getByTestId('error').textContent(), new RegExp(ghost));
  // Removing a run from the comparison rewrites the URL.
  await page.goto(t.url + `/#/compare?runs=${ids.join(',')}`);
  await page.getByTestId('remove-run').first().click();
  await page.waitForURL(new RegExp(`runs=${ids.slice(1).join('%2C')}`));
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=diff-run-header]').length === 3);
});
