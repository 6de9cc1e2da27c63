// The run page: overview (attributes, params, latest metrics, tags with the
// system ones apart, dataset inputs, parent/children, model versions),
// charts (one per metric, CSV link, toolbar), artifacts (lazy tree, JSON
// pretty-printed, CSV as a table, image, text, download, too big to
// preview), an unknown run id, HTML in user text shown as text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { setup, screenshot } from './harness.mjs';

let t;
let exp;
let run;
let parent;
const children = [];
const XSS = '<img src=x onerror=window.__xss=1>';

// A real PNG (RGB, w x h, a gradient) from the format's spec: signature, IHDR, IDAT, IEND.
function png(w, h) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(zlib.crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) { const o = y * (w * 3 + 1) + 1 + x * 3; raw[o] = x * 8; raw[o + 1] = y * 8; raw[o + 2] = 128; }
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

before(async () => {
  t = await setup();
  exp = await t.api.createExperiment('run-page');
  parent = await t.api.createRun(exp, { name: 'sweep-parent' });
  run = await t.api.createRun(exp, { name: 'trial-1', parent, start_time: Date.UTC(2026, 2, 1, 10, 0, 0) });
  for (const n of ['child-x', 'child-y']) children.push(await t.api.createRun(exp, { name: n, parent: run }));
  const loss = Array.from({ length: 50 }, (_, i) => 1 / (i + 1));
  await t.api.logBatch(run, {
    params: { lr: '0.01', optimizer: 'adam', note: XSS },
    metrics: { loss, 'val acc': [0.5, 0.75, 0.875], 'lr schedule': [0.1, 0.05] },
    tags: { team: 'vision', danger: XSS, 'mlflow.source.name': 'train.py', 'mlflow.user': 'ana' },
  });
  await t.api.post('/api/2.0/mlflow/runs/log-inputs', {
    run_id: run,
    datasets: [{ tags: [{ key: 'mlflow.data.context', value: 'training' }],
      dataset: { name: 'iris', digest: 'd1g3st', source_type: 'local', source: '/data/iris.csv' } }],
  });
  await t.api.logArtifact(run, 'metrics.json', JSON.stringify({ accuracy: 0.875, classes: ['a', 'b'], nested: { k: 1 } }));
  await t.api.logArtifact(run, 'data/table.csv', 'name,score,comment\nalice,0.9,"likes, commas"\nbob,0.7,"says ""hi"""\n' + XSS + ',0.1,x\n');
  await t.api.logArtifact(run, 'data/deeper/notes.txt', 'line one\nline two\n');
  await t.api.logArtifact(run, 'data/long.csv', 'i,sq\n' + Array.from({ length: 800 }, (_, i) => `${i},${i * i}`).join('\n') + '\n');
  await t.api.logArtifact(run, 'config.yaml', 'model:\n  layers: 4\n  act: relu\n');
  await t.api.logArtifact(run, 'plot.png', png(32, 24));
  await t.api.logArtifact(run, 'big.bin', Buffer.alloc(2 * 1024 * 1024 + 100, 7));
  await t.api.logArtifact(run, 'model/MLmodel', 'flavors:\n  python_function: {}\n');
  await t.api.post('/api/2.0/mlflow/registered-models/create', { name: 'iris-clf' });
  await t.api.post('/api/2.0/mlflow/model-versions/create', { name: 'iris-clf', source: `runs:/${run}/model`, run_id: run });
  await t.api.endRun(run, 'FINISHED', Date.UTC(2026, 2, 1, 10, 2, 5));
});
after(async () => { await t?.teardown(); });

const kv = (page, table) => page.getByTestId(table).locator('tr').evaluateAll((trs) =>
  Object.fromEntries(trs.map((tr) => [tr.querySelector('th')?.textContent, tr.querySelector('td')?.textContent])));

test('overview: attributes, params, latest metrics, tags, datasets, parent, children, model versions', async () => {
  const page = await t.page();
  await page.goto(`${t.url}/#/runs/${run}`);
  await page.getByTestId('run-name').waitFor();
  assert.equal(await page.getByTestId('run-name').textContent(), 'trial-1');
  const attrs = await kv(page, 'attributes');
  assert.equal(attrs['Run ID'], run);
  assert.equal(attrs.Status, 'FINISHED');
  assert.equal(attrs.Duration, '2 min 5 s');
  assert.equal(attrs.Source, 'train.py');
  assert.equal(attrs['Parent run'], 'sweep-parent');
  assert.deepEqual(await kv(page, 'params'), { lr: '0.01', note: XSS, optimizer: 'adam' });
  const metrics = await page.getByTestId('metrics').locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
  assert.deepEqual(metrics.map((m) => m.slice(0, 3)), [['loss', '0.02', '49'], ['lr schedule', '0.05', '1'], ['val acc', '0.875', '2']]);
  // User tags and system tags apart.
  assert.deepEqual(await kv(page, 'tags'), { danger: XSS, team: 'vision' });
  const sys = await kv(page, 'system-tags-table');
  assert.equal(sys['mlflow.source.name'], 'train.py');
  assert.equal(sys['mlflow.parentRunId'], parent);
  assert.equal(sys['mlflow.runName'], 'trial-1');
  assert.equal(await page.getByTestId('dataset-row').locator('td').first().textContent(), 'iris');
  assert.match(await page.getByTestId('dataset-row').textContent(), /d1g3st.*training.*local: \/data\/iris.csv/);
  await page.getByTestId('child-run').first().waitFor();
  assert.deepEqual(await page.getByTestId('child-run').locator('td:first-child').allTextContents(), ['child-x', 'child-y']);
  await page.getByTestId('model-version').waitFor();
  assert.match(await page.getByTestId('model-version').textContent(), /iris-clf.*1/);
  assert.equal(await page.getByTestId('model-version').locator('a').nth(1).getAttribute('href'), '#/models/iris-clf/versions/1');
  // No HTML from user text ran or became an element.
  assert.equal(await page.locator('.run-overview img').count(), 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  await screenshot(page, 'run-overview');
  // The parent link goes to the parent's page.
  await page.getByTestId('parent-run').click();
  await page.waitForURL(new RegExp(`#/runs/${parent}$`));
  await page.getByTestId('child-run').waitFor();
  assert.deepEqual(await page.getByTestId('child-run').locator('td:first-child').allTextContents(), ['trial-1']);
  assert.deepEqual(page.errors, []);
});

test('charts: one per metric with a canvas, the point count and the CSV link; the toolbar changes them', async () => {
  const page = await t.page();
  await page.goto(`${t.url}/#/runs/${run}?tab=charts`);
  await page.getByTestId('metric-chart').first().waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=metric-chart] canvas').length === 3);
  assert.deepEqual(await page.getByTestId('metric-chart').evaluateAll((els) => els.map((e) => e.dataset.key)), ['loss', 'lr schedule', 'val acc']);
  const loss = page.locator('[data-testid=metric-chart][data-key="loss"]');
  assert.equal(await loss.getByTestId('points-note').textContent(), '50 points');
  const csv = await loss.getByTestId('series-csv').getAttribute('href');
  assert.equal(csv, `/api/v1/runs/${run}/series.csv?key=loss`);
  const body = await (await fetch(t.url + csv)).text();
  assert.match(body, /^step,timestamp,value\n0,\d+,1\n1,\d+,0\.5\n/);
  // The canvas has the size of its card and something drawn on it.
  const size = await loss.locator('canvas').evaluate((c) => ({ w: c.clientWidth, h: c.clientHeight }));
  assert.ok(size.w > 300 && size.h > 100, JSON.stringify(size));
  // The plot follows its container's width.
  await page.setViewportSize({ width: 700, height: 900 });
  await page.waitForFunction((w) => {
    const c = document.querySelector('[data-testid=metric-chart][data-key="loss"] canvas');
    const box = document.querySelector('[data-testid=metric-chart][data-key="loss"] .chart-plot');
    return c && box && c.clientWidth !== w && Math.abs(c.clientWidth - box.clientWidth) <= 2;
  }, size.w);
  await page.setViewportSize({ width: 1440, height: 900 });
  const legend = await loss.locator('.u-legend').textContent();
  assert.match(legend, /loss/);
  // Log scale and smoothing rebuild the plot (the canvas is replaced).
  await loss.locator('canvas').evaluate((c) => { c.dataset.old = '1'; });
  await page.getByTestId('charts-log').check();
  await page.waitForFunction(() => !document.querySelector('[data-testid=metric-chart][data-key="loss"] canvas')?.dataset.old);
  await page.getByTestId('charts-smoothing').fill('0.6');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=metric-chart][data-key="loss"] .u-legend .u-series').length === 3);
  // The theme switch redraws with the theme's colours.
  await loss.locator('canvas').evaluate((c) => { c.dataset.old = '1'; });
  await page.getByTestId('theme-toggle').click();
  await page.waitForFunction(() => !document.querySelector('[data-testid=metric-chart][data-key="loss"] canvas')?.dataset.old);
  await screenshot(page, 'run-charts-dark');
  await page.getByTestId('theme-toggle').click();
  await page.getByTestId('charts-x').selectOption('time');
  await page.waitForFunction(() => /time/.test(document.querySelector('[data-testid=metric-chart] .u-legend .u-series')?.textContent ?? ''));
  // An expanded chart spans the row, is taller and has its own toolbar.
  await page.getByTestId('charts-log').uncheck();
  await page.getByTestId('charts-smoothing').fill('0');
  await page.getByTestId('charts-x').selectOption('step');
  await loss.getByTestId('chart-expand').click();
  await loss.getByTestId('chart-log').waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid=metric-chart][data-key="loss"] canvas')?.clientHeight >= 400);
  await loss.locator('canvas').evaluate((c) => { c.dataset.old = '1'; });
  await loss.getByTestId('chart-log').check();
  await page.waitForFunction(() => !document.querySelector('[data-testid=metric-chart][data-key="loss"] canvas')?.dataset.old);
  await loss.getByTestId('chart-smoothing').fill('0.5');
  assert.equal(await loss.locator('.chart-smooth-value').textContent(), '0.50');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=metric-chart][data-key="loss"] .u-legend .u-series').length === 3);
  await loss.getByTestId('chart-x').selectOption('time');
  await page.waitForFunction(() => /time/.test(document.querySelector('[data-testid=metric-chart][data-key="loss"] .u-legend .u-series')?.textContent ?? ''));
  // The other charts keep the page's settings.
  assert.equal(await page.locator('[data-testid=metric-chart][data-key="val acc"] .u-legend .u-series').count(), 2);
  await screenshot(page, 'run-chart-expanded');
  await loss.getByTestId('chart-expand').click();
  await loss.getByTestId('chart-log').waitFor({ state: 'detached' });
  // The filter box narrows the charts to matching keys.
  await page.getByTestId('chart-filter').fill('acc');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=metric-chart]').length === 1);
  assert.equal(await page.getByTestId('metric-chart').getAttribute('data-key'), 'val acc');
  await screenshot(page, 'run-charts');
  // A metric's link on the overview opens the charts tab on that metric.
  await page.goto(`${t.url}/#/runs/${run}`);
  await page.getByTestId('metrics').getByRole('link', { name: 'lr schedule' }).click();
  await page.waitForURL(/tab=charts/);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=metric-chart] canvas').length === 1);
  assert.equal(await page.getByTestId('metric-chart').getAttribute('data-key'), 'lr schedule');
  assert.equal(await page.getByTestId('metric-chart').getByTestId('points-note').textContent(), '2 points');
  assert.deepEqual(page.errors, []);
});

test('a long series is drawn downsampled; the CSV link has every point', async () => {
  const long = await t.api.createRun(exp, { name: 'long-series' });
  await t.api.logBatch(long, { metrics: { 'train loss': Array.from({ length: 5000 }, (_, i) => Math.exp(-i / 1000) + (i === 2500 ? 3 : 0)) } });
  const page = await t.page();
  await page.goto(`${t.url}/#/runs/${long}?tab=charts`);
  await page.waitForFunction(() => document.querySelector('[data-testid=metric-chart] canvas'));
  assert.equal(await page.getByTestId('points-note').textContent(), '1,000 of 5,000 points (downsampled)');
  const csv = await page.getByTestId('series-csv').getAttribute('href');
  const lines = (await (await fetch(t.url + csv)).text()).trim().split('\n');
  assert.equal(lines.length, 5001);
  assert.match(lines[2501], /^2500,\d+,3\.08/);   // the spike is in the full series
  await screenshot(page, 'run-chart-downsampled');
});

test('artifacts: lazy tree, previews of JSON, CSV, YAML, image, text; download links; big files not previewed', async () => {
  const page = await t.page();
  await page.goto(`${t.url}/#/runs/${run}?tab=artifacts`);
  await page.getByTestId('tree-file').first().waitFor();
  assert.deepEqual(await page.getByTestId('tree-root').locator(':scope > .tree-children > [data-testid=tree-file]').evaluateAll((e) => e.map((x) => x.dataset.path)),
    ['big.bin', 'config.yaml', 'metrics.json', 'plot.png']);
  // Folders are listed only when opened.
  assert.equal(await page.locator('[data-testid=tree-file][data-path="data/table.csv"]').count(), 0);

  await page.locator('[data-testid=tree-file][data-path="metrics.json"]').click();
  await page.waitForURL(/path=metrics.json/);
  await page.getByTestId('preview-json').waitFor();
  assert.equal(await page.getByTestId('preview-json').textContent(),
    JSON.stringify({ accuracy: 0.875, classes: ['a', 'b'], nested: { k: 1 } }, null, 2));
  const dl = page.getByTestId('artifact-download');
  assert.equal(await dl.getAttribute('href'), `/api/v1/runs/${run}/artifact?path=metrics.json&download=1`);
  const res = await fetch(t.url + await dl.getAttribute('href'));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-disposition') ?? '', /attachment/);
  assert.deepEqual(await res.json(), { accuracy: 0.875, classes: ['a', 'b'], nested: { k: 1 } });

  await page.locator('[data-testid=tree-folder][data-path="data"] > button').click();
  await page.locator('[data-testid=tree-file][data-path="data/table.csv"]').click();
  await page.getByTestId('preview-csv').waitFor();
  const cells = await page.getByTestId('preview-csv').locator('tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
  assert.deepEqual(cells, [['name', 'score', 'comment'], ['alice', '0.9', 'likes, commas'], ['bob', '0.7', 'says "hi"'], [XSS, '0.1', 'x']]);
  assert.equal(await page.getByTestId('preview-csv').locator('img').count(), 0);
  await screenshot(page, 'run-artifacts-csv');

  // Long CSV files: the first 500 rows.
  await page.locator('[data-testid=tree-file][data-path="data/long.csv"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=preview]')?.dataset.path === 'data/long.csv' && document.querySelector('[data-testid=preview-csv]'));
  assert.equal(await page.getByTestId('preview-csv').locator('tbody tr').count(), 500);
  assert.deepEqual(await page.getByTestId('preview-csv').locator('tbody tr').last().locator('td').allTextContents(), ['499', '249001']);
  assert.match(await page.getByTestId('csv-note').textContent(), /The first 500 rows; the file has more/);

  await page.locator('[data-testid=tree-folder][data-path="data/deeper"] > button').click();
  await page.locator('[data-testid=tree-file][data-path="data/deeper/notes.txt"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=preview-text]')?.textContent === 'line one\nline two\n');

  await page.locator('[data-testid=tree-file][data-path="config.yaml"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=preview-text]')?.textContent === 'model:\n  layers: 4\n  act: relu\n');

  await page.locator('[data-testid=tree-file][data-path="plot.png"]').click();
  await page.getByTestId('preview-image').waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid=preview-image]')?.complete);
  assert.deepEqual(await page.getByTestId('preview-image').evaluate((img) => [img.naturalWidth, img.naturalHeight]), [32, 24]);
  await screenshot(page, 'run-artifacts-image');

  await page.locator('[data-testid=tree-file][data-path="big.bin"]').click();
  await page.getByTestId('preview-too-big').waitFor();
  assert.match(await page.getByTestId('preview-too-big').textContent(), /2\.0 MiB.*download/);
  assert.equal(await page.getByTestId('artifact-download').getAttribute('href'), `/api/v1/runs/${run}/artifact?path=big.bin&download=1`);

  // A deep link to a file in a folder opens the folder and previews it.
  await page.goto(`${t.url}/#/runs/${run}?tab=artifacts&path=${encodeURIComponent('data/table.csv')}`);
  await page.reload();
  await page.getByTestId('preview-csv').waitFor();
  assert.equal(await page.locator('[data-testid=tree-file][data-path="data/table.csv"]').getAttribute('class'), 'tree-item file selected');
  assert.deepEqual(page.errors, []);
});

test('an unknown run id says "Run not found"', async () => {
  const page = await t.page();
  await page.goto(`${t.url}/#/runs/0123456789abcdef0123456789abcdef`);
  await page.getByTestId('not-found').waitFor();
  assert.match(await page.getByTestId('not-found').textContent(), /Run not found.*0123456789abcdef0123456789abcdef/s);
  await screenshot(page, 'run-not-found');
});

test('a run without metrics or artifacts says so', async () => {
  const bare = await t.api.createRun(exp, { name: XSS });
  const page = await t.page();
  await page.goto(`${t.url}/#/runs/${bare}?tab=charts`);
  await page.getByTestId('no-metrics').waitFor();
  assert.equal(await page.getByTestId('run-name').textContent(), XSS);
  await page.getByTestId('tab-artifacts').click();
  await page.getByTestId('no-artifacts').waitFor();
  assert.equal(await page.evaluate(() => window.__xss), undefined);
});
