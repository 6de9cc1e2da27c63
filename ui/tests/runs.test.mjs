// The runs table: values and total, sort by header, column picker (URL and
// localStorage), MLflow filter with inline errors, select to compare,
// keyboard, HTML in names and tags as text, 2,000 runs virtual-scrolled,
// 1,000 metric keys in the picker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setup, screenshot } from './harness.mjs';

let t;
let exp;
const ids = {};
const XSS = '<img src=x onerror=window.__xss=1>';

before(async () => {
  t = await setup();
  exp = await t.api.createExperiment('runs-table');
  const seed = [
    { name: 'run-a', lr: '0.1', loss: 0.50, acc: 0.70, ab: 1, team: 'vision' },
    { name: 'run-b', lr: '0.01', loss: 0.20, acc: 0.90, ab: 3, team: 'nlp' },
    { name: 'run-c', lr: '0.001', loss: 0.80, acc: 0.60, ab: 2, team: XSS },
    { name: XSS, lr: '0.05', loss: 0.35, acc: 0.80, ab: 4, team: 'vision' },
  ];
  let start = Date.UTC(2026, 0, 1);
  for (const s of seed) {
    const id = await t.api.createRun(exp, { name: s.name, start_time: (start += 60_000) });
    await t.api.logBatch(id, { params: { lr: s.lr }, metrics: { loss: [1, s.loss], 'val acc': s.acc, 'a.b': s.ab }, tags: { team: s.team } });
    await t.api.endRun(id, 'FINISHED', start + 90_000);
    ids[s.name] = id;
  }
});
after(async () => { await t?.teardown(); });

// The rendered rows in order, as {key, name, <col>: text} for the given columns.
async function rows(page, cols = []) {
  return page.$$eval('[data-testid=runs-table] [data-testid=vrow]', (els, cols) => els
    .map((el) => ({ i: Number(el.dataset.index), el }))
    .sort((a, b) => a.i - b.i)
    .map(({ el }) => {
      const o = { key: el.dataset.key, name: el.querySelector('[data-col="attributes.run_name"]')?.textContent ?? '' };
      for (const c of cols) o[c] = el.querySelector(`[data-col="${CSS.escape(c)}"]`)?.textContent ?? null;
      return o;
    }), cols);
}

async function openRuns(page, query = '') {
  await page.goto(`${t.url}/#/experiments/${exp}${query}`);
  await page.waitForFunction(() => /^\d[\d,]* runs?$/.test(document.querySelector('[data-testid=run-count]')?.textContent ?? ''), null, { timeout: 10000 })
    .catch(async (e) => { throw new Error(`${e.message}\npage shows: ${await page.evaluate(() => document.body.innerText).catch(() => '?')}\nerrors: ${page.errors}`); });
}

test('shows the runs with their values and the total; HTML in names and tags is text', async () => {
  const page = await t.page();
  await openRuns(page, '?cols=' + encodeURIComponent(['metrics.loss', 'metrics.val acc', 'params.lr', 'tags.team'].map(encodeURIComponent).join(',')));
  assert.equal(await page.getByTestId('run-count').textContent(), '4 runs');
  assert.equal(await page.getByTestId('page-title').textContent(), 'runs-table');
  const got = await rows(page, ['metrics.loss', 'metrics.val acc', 'params.lr', 'tags.team', 'attributes.status']);
  // Default order: newest first.
  assert.deepEqual(got.map((r) => r.name), [XSS, 'run-c', 'run-b', 'run-a']);
  const b = got.find((r) => r.name === 'run-b');
  assert.equal(b['metrics.loss'], '0.2');           // the latest value (step 1), not the first
  assert.equal(b['metrics.val acc'], '0.9');
  assert.equal(b['params.lr'], '0.01');
  assert.equal(b['tags.team'], 'nlp');
  assert.equal(b['attributes.status'], 'FINISHED');
  assert.equal(got.find((r) => r.name === 'run-c')['tags.team'], XSS);
  assert.equal(await page.locator('[data-testid=runs-table] img').count(), 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  // The duration column: 90 s after a start 60 s apart.
  assert.match(await page.locator(`[data-key="${ids['run-a']}"] [data-col="attributes.duration"]`).textContent(), /^(1 min 30 s|90\.0 s)$/);
  await screenshot(page, 'runs-table');
  await page.getByTestId('theme-toggle').click();
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  await screenshot(page, 'runs-table-dark');
  await page.getByTestId('theme-toggle').click();
  assert.deepEqual(page.errors, []);
});

test('sorts by a metric, a param and an attribute when a header is clicked', async () => {
  const page = await t.page();
  await openRuns(page, '?cols=' + encodeURIComponent(['metrics.loss', 'metrics.a.b', 'params.lr'].map(encodeURIComponent).join(',')));
  const header = (col) => page.locator(`[data-testid=sort-header][data-col="${col}"]`);
  await header('metrics.loss').click();
  await page.waitForURL(/order=metrics.loss(%20|\+)DESC/);
  await page.waitForFunction(() => document.querySelector('[data-testid=vrow][data-index="0"] [data-col="metrics.loss"]')?.textContent === '0.8');
  assert.deepEqual((await rows(page, ['metrics.loss'])).map((r) => r['metrics.loss']), ['0.8', '0.5', '0.35', '0.2']);
  assert.equal(await page.locator('[role=columnheader][data-col="metrics.loss"]').getAttribute('aria-sort'), 'descending');
  await header('metrics.loss').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=vrow][data-index="0"] [data-col="metrics.loss"]')?.textContent === '0.2');
  assert.deepEqual((await rows(page, ['metrics.loss'])).map((r) => r['metrics.loss']), ['0.2', '0.35', '0.5', '0.8']);
  // A key with a dot is quoted in order_by and sorts by its own values.
  await header('metrics.a.b').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=vrow][data-index="0"] [data-col="metrics.a.b"]')?.textContent === '4');
  assert.deepEqual((await rows(page, ['metrics.a.b'])).map((r) => r['metrics.a.b']), ['4', '3', '2', '1']);
  // A key with a space too.
  await page.goto(`${t.url}/#/experiments/${exp}?cols=${encodeURIComponent(encodeURIComponent('metrics.val acc'))}`);
  await header('metrics.val acc').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=vrow][data-index="0"] [data-col="metrics.val acc"]')?.textContent === '0.9');
  assert.deepEqual((await rows(page, ['metrics.val acc'])).map((r) => r['metrics.val acc']), ['0.9', '0.8', '0.7', '0.6']);
  await page.goto(`${t.url}/#/experiments/${exp}?cols=params.lr`);
  // Params sort as strings, ascending first.
  await header('params.lr').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=vrow][data-index="0"] [data-col="params.lr"]')?.textContent === '0.001');
  assert.deepEqual((await rows(page, ['params.lr'])).map((r) => r['params.lr']), ['0.001', '0.01', '0.05', '0.1']);
  await header('attributes.run_name').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=vrow][data-index="0"] [data-col="attributes.run_name"]')?.textContent === '<img src=x onerror=window.__xss=1>');
  assert.deepEqual((await rows(page)).map((r) => r.name), [XSS, 'run-a', 'run-b', 'run-c']);
  await screenshot(page, 'runs-sorted');
  assert.match(await page.getByTestId('sort-note').textContent(), /sorted by attributes.run_name ascending/);
  await page.getByTestId('sort-reset').click();
  await page.waitForFunction(() => !/order=/.test(location.hash));
  await page.waitForFunction(() => document.querySelector('[data-testid=vrow][data-index="1"] [data-col="attributes.run_name"]')?.textContent === 'run-c');
  assert.deepEqual((await rows(page)).map((r) => r.name), [XSS, 'run-c', 'run-b', 'run-a']);
  assert.equal(await page.getByTestId('sort-note').count(), 0);
  assert.deepEqual(page.errors, []);
});

test('a filter narrows the runs; a bad filter is shown inline and the rows stay', async () => {
  const page = await t.page();
  await openRuns(page, '?cols=metrics.loss');
  await page.getByTestId('filter-input').fill("metrics.loss < 0.4 and tags.team = 'vision'");
  await page.getByTestId('filter-apply').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=run-count]')?.textContent === '1 run');
  assert.deepEqual((await rows(page)).map((r) => r.name), [XSS]);
  await page.getByTestId('filter-input').fill('metrics.`val acc` >= 0.8');
  await page.getByTestId('filter-apply').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=run-count]')?.textContent === '2 runs');
  assert.deepEqual((await rows(page)).map((r) => r.name).sort(), [XSS, 'run-b'].sort());

  await page.getByTestId('filter-input').fill('metrics.loss <<< 1');
  await page.getByTestId('filter-apply').click();
  await page.getByTestId('filter-error').waitFor();
  const text = await page.getByTestId('filter-error').textContent();
  assert.match(text, /INVALID_PARAMETER_VALUE/);
  assert.match(text, /filter/i);
  // Where the parser stopped is marked in the filter.
  const pos = Number(/at position (\d+)/.exec(text)?.[1]);
  if (Number.isInteger(pos)) assert.equal(await page.getByTestId('filter-position').locator('mark').textContent(), 'metrics.loss <<< 1'[pos] ?? ' ');
  // The previous rows and count stay.
  assert.equal(await page.getByTestId('run-count').textContent(), '2 runs');
  assert.deepEqual((await rows(page)).map((r) => r.name).sort(), [XSS, 'run-b'].sort());
  await screenshot(page, 'runs-filter-error');
  // Fixing the filter clears the error.
  await page.getByTestId('filter-clear').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=run-count]')?.textContent === '4 runs');
  assert.equal(await page.getByTestId('filter-error').count(), 0);
});

test('the column picker adds columns, remembered in the URL and per experiment', async () => {
  const page = await t.page();
  await openRuns(page, '?cols=metrics.loss');
  await page.getByTestId('columns-button').click();
  await page.getByTestId('column-search').fill('tea');
  const opts = page.getByTestId('column-option');
  assert.deepEqual(await opts.evaluateAll((els) => els.map((e) => e.dataset.col)), ['tags.team']);
  await opts.first().check();
  await page.waitForURL(/cols=/);
  await page.locator('[role=columnheader][data-col="tags.team"]').waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=vrow] [data-col="tags.team"]')].some((c) => c.textContent === 'nlp'));
  const cols = decodeURIComponent(new URL(page.url().replace('#/', '')).searchParams.get('cols'));
  assert.deepEqual(cols.split(',').map(decodeURIComponent), ['metrics.loss', 'tags.team']);
  // Unchecking removes it.
  await page.getByTestId('column-search').fill('loss');
  await page.locator('[data-testid=column-option][data-col="metrics.loss"]').uncheck();
  await page.locator('[role=columnheader][data-col="metrics.loss"]').waitFor({ state: 'detached' });
  await page.keyboard.press('Escape');
  await page.getByTestId('column-picker').waitFor({ state: 'detached' });
  // The same experiment without cols= in the URL gets the remembered columns.
  await page.goto(`${t.url}/#/experiments/${exp}`);
  await page.locator('[role=columnheader][data-col="tags.team"]').waitFor();
  assert.equal(await page.locator('[role=columnheader][data-col="metrics.loss"]').count(), 0);
  assert.deepEqual(page.errors, []);
});

test('selects runs with the checkbox and the keyboard, compares them, opens one with Enter', async () => {
  const page = await t.page();
  await openRuns(page, '?order=' + encodeURIComponent('attributes.run_name ASC') + '&cols=');
  assert.equal(await page.getByTestId('compare-button').isDisabled(), true);
  await page.locator(`[data-key="${ids['run-a']}"] [data-testid=row-select]`).check();
  assert.equal(await page.getByTestId('compare-button').isDisabled(), true);     // one run is not enough
  // Keyboard: the focused row moves with the arrows; space selects.
  await page.locator(`[data-key="${ids['run-a']}"] [data-col="attributes.status"]`).click();
  await page.keyboard.press('ArrowDown');                                        // run-b
  await page.keyboard.press(' ');
  assert.equal(await page.locator(`[data-key="${ids['run-b']}"]`).getAttribute('aria-selected'), 'true');
  assert.equal(await page.getByTestId('compare-button').textContent(), 'Compare (2)');
  await page.getByTestId('compare-button').click();
  await page.waitForURL(/#\/compare\?runs=/);
  const runs = new URL(page.url().replace('#/', '')).searchParams.get('runs').split(',');
  assert.deepEqual(runs.sort(), [ids['run-a'], ids['run-b']].sort());

  await openRuns(page, '?order=' + encodeURIComponent('attributes.run_name ASC') + '&cols=');
  await page.locator(`[data-key="${ids['run-a']}"] [data-col="attributes.status"]`).click();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');                                        // run-c
  await page.keyboard.press('Enter');
  await page.waitForURL(new RegExp(`#/runs/${ids['run-c']}`));
});

test('with columns from the URL the table does not wait for the key list', async () => {
  const page = await t.page();
  let release;
  const held = new Promise((r) => { release = r; });
  await page.route('**/api/v1/experiments/*/columns', async (route) => { await held; await route.continue(); });
  await page.goto(`${t.url}/#/experiments/${exp}?cols=metrics.loss`);
  await page.waitForFunction(() => document.querySelector('[data-testid=run-count]')?.textContent === '4 runs');
  assert.equal((await rows(page, ['metrics.loss'])).length, 4);
  await page.getByTestId('columns-button').click();
  assert.match(await page.getByTestId('column-picker').textContent(), /Loading the experiment's keys/);
  release();
  await page.getByTestId('picker-metrics').waitFor();
  assert.match(await page.getByTestId('picker-metrics').textContent(), /val acc/);
});

test('an unknown experiment says so', async () => {
  const page = await t.page();
  await page.goto(`${t.url}/#/experiments/987654`);
  await page.getByTestId('not-found').waitFor({ timeout: 10000 }).catch(async (e) => {
    throw new Error(`${e.message}\npage shows: ${await page.evaluate(() => document.body.innerText).catch(() => '?')}\nerrors: ${page.errors}`);
  });
  assert.match(await page.getByTestId('not-found').textContent(), /Experiment not found.*987654/s);
});

test('2,000 runs: scrolled to the bottom, only the rows in view are in the DOM', async () => {
  const big = await t.api.createExperiment('two-thousand');
  const base = Date.UTC(2026, 1, 1);
  const work = [];
  for (let i = 0; i < 2000; i++) work.push(i);
  // A few requests in flight at once keeps the seeding short.
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (work.length) {
      const i = work.shift();
      await t.api.createRun(big, { name: `bulk-${String(i).padStart(4, '0')}`, start_time: base + i * 1000, tags: { idx: i } });
    }
  }));
  const page = await t.page();
  await page.goto(`${t.url}/#/experiments/${big}?cols=tags.idx`);
  await page.waitForFunction(() => document.querySelector('[data-testid=run-count]')?.textContent === '2,000 runs');
  const table = page.getByTestId('runs-table');
  assert.equal((await rows(page))[0].name, 'bulk-1999');
  await table.evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=vrow]')].some((r) => r.dataset.index === '1999' && r.dataset.key));
  const got = await rows(page, ['tags.idx']);
  assert.ok(got.length < 200, `${got.length} rows in the DOM`);
  assert.equal(got[got.length - 1].name, 'bulk-0000');
  assert.equal(got[got.length - 1]['tags.idx'], '0');
  // The bottom row is in view.
  const box = await page.locator('[data-testid=vrow][data-index="1999"]').boundingBox();
  const view = await table.boundingBox();
  assert.ok(box.y + box.height <= view.y + view.height + 1 && box.y >= view.y, `last row at ${box.y} in ${view.y}..${view.y + view.height}`);
  // The header stays on top while scrolled.
  const head = await page.locator('[data-testid=runs-table] .vt-header').boundingBox();
  assert.ok(Math.abs(head.y - view.y) <= 2, `header at ${head.y}, table at ${view.y}`);
  await screenshot(page, 'runs-2000-bottom');
  // Keyboard End/Home jump too.
  await table.focus();
  await page.keyboard.press('Home');
  await page.waitForFunction(() => document.querySelector('[data-testid=vrow][data-index="0"]')?.dataset.key);
  assert.equal((await rows(page))[0].name, 'bulk-1999');
  await page.keyboard.press('PageDown');
  const focusedAfterPageDown = Number(await page.locator('[data-testid=vrow].focused').getAttribute('data-index'));
  assert.ok(focusedAfterPageDown >= 10 && focusedAfterPageDown < 40, `PageDown focused row ${focusedAfterPageDown}`);
  await page.keyboard.press('End');
  await page.waitForFunction(() => document.querySelector('[data-testid=vrow].focused')?.dataset.index === '1999'
    && document.querySelector('[data-testid=vrow].focused')?.dataset.key);
  assert.equal(await page.locator('[data-testid=vrow].focused [data-col="attributes.run_name"]').textContent(), 'bulk-0000');
  await page.keyboard.press('Home');
  await page.waitForFunction(() => document.querySelector('[data-testid=vrow].focused')?.dataset.index === '0');
  await screenshot(page, 'runs-2000');
  assert.deepEqual(page.errors, []);
});

test('1,000 metric keys: the picker searches them and the table shows the chosen one', async () => {
  const wide = await t.api.createExperiment('wide');
  const id = await t.api.createRun(wide, { name: 'wide-run' });
  const metrics = {};
  for (let i = 0; i < 1000; i++) metrics[`m_${String(i).padStart(4, '0')}`] = i / 4;
  await t.api.logBatch(id, { metrics });
  const page = await t.page();
  await page.goto(`${t.url}/#/experiments/${wide}?cols=`);
  await page.waitForFunction(() => document.querySelector('[data-testid=run-count]')?.textContent === '1 run');
  const t0 = Date.now();
  await page.getByTestId('columns-button').click();
  await page.getByTestId('column-picker').waitFor();
  const openMs = Date.now() - t0;
  assert.match(await page.getByTestId('picker-metrics').locator('h3').textContent(), /1000/);
  assert.match(await page.getByTestId('picker-more').textContent(), /800 more/);
  await page.getByTestId('column-search').fill('m_0777');
  assert.deepEqual(await page.getByTestId('column-option').evaluateAll((els) => els.map((e) => e.dataset.col)), ['metrics.m_0777']);
  await page.getByTestId('column-option').check();
  await page.waitForFunction(() => document.querySelector('[data-testid=vrow] [data-col="metrics.m_0777"]')?.textContent === '194.25');
  assert.ok(openMs < 2000, `picker took ${openMs} ms to open`);
  await screenshot(page, 'runs-column-picker');
  // At most 100 columns: a URL with 150 shows 100, and the picker refuses a 101st.
  await page.keyboard.press('Escape');
  await page.getByTestId('column-picker').waitFor({ state: 'detached' });
  const many = Array.from({ length: 150 }, (_, i) => encodeURIComponent(`metrics.m_${String(i).padStart(4, '0')}`)).join(',');
  await page.goto(`${t.url}/#/experiments/${wide}?cols=${encodeURIComponent(many)}`);
  await page.waitForFunction(() => document.querySelector('[data-testid=vrow] [data-col="metrics.m_0099"]')?.textContent === '24.75');
  assert.equal(await page.locator('[role=columnheader][data-col^="metrics."]').count(), 100);
  assert.equal(await page.getByTestId('columns-button').textContent(), 'Columns (100)');
  // Scrolled sideways, the run name stays in view; the metric cells move.
  const nameCell = page.locator('[data-testid=vrow][data-index="0"] [data-col="attributes.run_name"]');
  const metricCell = page.locator('[data-testid=vrow][data-index="0"] [data-col="metrics.m_0010"]');
  const [name0, metric0] = [await nameCell.boundingBox(), await metricCell.boundingBox()];
  await page.getByTestId('runs-table').evaluate((el) => { el.scrollLeft = 1200; });
  await page.waitForFunction((x) => document.querySelector('[data-testid=vrow][data-index="0"] [data-col="metrics.m_0010"]').getBoundingClientRect().x < x - 1000, metric0.x);
  assert.equal((await nameCell.boundingBox()).x, name0.x);
  assert.equal(await nameCell.textContent(), 'wide-run');
  await screenshot(page, 'runs-wide-scrolled');
  await page.getByTestId('columns-button').click();
  await page.getByTestId('column-search').fill('m_0500');
  await page.getByTestId('column-option').check().catch(() => {});
  await page.getByTestId('picker-full').waitFor();
  assert.equal(await page.getByTestId('column-option').isChecked(), false);
  assert.equal(await page.locator('[role=columnheader][data-col="metrics.m_0500"]').count(), 0);
});
