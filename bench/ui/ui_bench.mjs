// Times the runs page of Cairn's web UI and MLflow's UI in Debian's Chromium
// (playwright-core from ui/node_modules, through ui/tests/harness.mjs) on an
// experiment seeded with bench/ui/dataset.mjs. Driven by bench/ui_bench.sh.
//
//   node bench/ui/ui_bench.mjs --runs N [--reps 5] \
//        [--cairn http://127.0.0.1:P --cairn-exp ID] [--mlflow http://127.0.0.1:Q --mlflow-exp ID]
//
// Each page opens in a fresh browser context (empty cache and storage, as
// a first visit), alternating Cairn and MLflow, and measures inside the page
// with performance.now() and a MutationObserver (no polling from outside):
//   first_render: navigation start -> row 0 of the table shows the newest
//                 run's name (the default order, start time descending), on a
//                 first visit (the experiment's plain URL, nothing remembered);
//   first_render_link: (Cairn) the same for a link that names its columns
//                 (?cols=...), which spares the wait for /columns;
//   sort:         click on the sort control of metric `loss` -> row 0 shows
//                 the run with the highest loss (Cairn: click the column
//                 header; MLflow: pick "loss" in its Sort menu, descending);
//   scroll_50k:   (Cairn) set the table's scrollTop to row 50,000 -> that row
//                 shows the expected run's name. MLflow's table pages with
//                 "Load more" (100 runs a click) and cannot jump.
// Every measurement checks the run name it waits for, so a wrong order is a
// timeout (an error), never a fast figure. One untimed warm-up page per UI
// comes first. Output: one RESULT line per measurement kind and UI
// (median/min/max ms over the repetitions), then a JSON summary line.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeRun } from './dataset.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const harness = await import(path.resolve(here, '../../ui/tests/harness.mjs'));

function parseArgs(argv) {
  const o = { runs: 0, reps: 5, cairn: '', cairnExp: '', mlflow: '', mlflowExp: '', timeout: 120000, scrollRow: 50000 };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i], v = argv[i + 1];
    if (v === undefined) throw new Error(`missing value for ${k}`);
    switch (k) {
      case '--runs': o.runs = Number(v); break;
      case '--reps': o.reps = Number(v); break;
      case '--cairn': o.cairn = v; break;
      case '--cairn-exp': o.cairnExp = v; break;
      case '--mlflow': o.mlflow = v; break;
      case '--mlflow-exp': o.mlflowExp = v; break;
      case '--timeout-ms': o.timeout = Number(v); break;
      case '--scroll-row': o.scrollRow = Number(v); break;
      default: throw new Error(`unknown flag ${k}`);
    }
  }
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error('--runs N is required (the seeded run count)');
  if (!Number.isInteger(o.reps) || o.reps < 1) throw new Error('--reps must be a positive integer');
  if (!o.cairn && !o.mlflow) throw new Error('give --cairn and/or --mlflow');
  if ((o.cairn && !o.cairnExp) || (o.mlflow && !o.mlflowExp)) throw new Error('each URL needs its --*-exp id');
  return o;
}

const opts = parseArgs(process.argv);

// What the pages must show, computed from the dataset.
const newest = makeRun(opts.runs - 1).name;
let topLoss = -Infinity, topLossName = '', secondLoss = -Infinity;
for (let i = 0; i < opts.runs; i++) {
  const r = makeRun(i);
  if (r.metrics.loss > topLoss) { secondLoss = topLoss; topLoss = r.metrics.loss; topLossName = r.name; }
  else if (r.metrics.loss > secondLoss) secondLoss = r.metrics.loss;
}
if (!(topLoss > secondLoss)) throw new Error('the top loss is tied: the sort check would be ambiguous');
// Row 50,000 (or the middle row of a smaller experiment).
const scrollRow = opts.scrollRow < opts.runs ? opts.scrollRow : Math.floor(opts.runs / 2);
const scrollName = makeRun(opts.runs - 1 - scrollRow).name;

// Installed before any page script: records performance.now() of the first
// DOM change after which `sel` exists with text `text`.
function watchInit({ sel, text }) {
  window.__bench = { at: null };
  const check = () => {
    const el = document.querySelector(sel);
    if (el && el.textContent.trim() === text) { window.__bench.at = performance.now(); return true; }
    return false;
  };
  const mo = new MutationObserver(() => { if (check()) mo.disconnect(); });
  mo.observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
}

// In the page: run `act`, then resolve with the ms until `sel` shows `text`.
async function timeAction(page, { actSel, act, sel, text, timeout, arg }) {
  return page.evaluate(async ({ actSel, act, sel, text, timeout, arg }) => {
    const target = actSel ? document.querySelector(actSel) : null;
    if (actSel && !target) throw new Error(`no element ${actSel}`);
    const done = () => { const el = document.querySelector(sel); return !!el && el.textContent.trim() === text; };
    return await new Promise((resolve, reject) => {
      let t0 = 0;
      const mo = new MutationObserver(() => {
        if (done()) { mo.disconnect(); clearTimeout(timer); resolve(performance.now() - t0); }
      });
      const timer = setTimeout(() => {
        mo.disconnect();
        const el = document.querySelector(sel);
        reject(new Error(`timeout after ${timeout} ms: ${sel} shows ${JSON.stringify(el?.textContent?.trim() ?? null)}, want ${JSON.stringify(text)}`));
      }, timeout);
      mo.observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
      t0 = performance.now();
      if (act === 'click') target.click();
      else if (act === 'scroll') target.scrollTop = arg;
    });
  }, { actSel, act, sel, text, timeout, arg });
}

async function firstRender(page, url, sel, text, timeout) {
  await page.addInitScript(watchInit, { sel, text });
  await page.goto(url, { waitUntil: 'commit' });
  try {
    await page.waitForFunction(() => window.__bench && window.__bench.at !== null, null, { timeout, polling: 50 });
  } catch (e) {
    const got = await page.evaluate((s) => document.querySelector(s)?.textContent?.trim() ?? null, sel).catch(() => null);
    throw new Error(`first render: ${sel} shows ${JSON.stringify(got)}, want ${JSON.stringify(text)} (${e.message.split('\n')[0]})`);
  }
  return page.evaluate(() => window.__bench.at);
}

const UIS = {
  cairn: {
    // A first visit: no columns in the URL or remembered, so the page asks
    // /columns for the defaults before it asks for rows.
    url: () => `${opts.cairn}/#/experiments/${opts.cairnExp}`,
    // A shared link naming its columns (what the sort and the jump use, as
    // `loss` is not among the default columns).
    linkUrl: () => `${opts.cairn}/#/experiments/${opts.cairnExp}?cols=${['metrics.loss', 'metrics.val_loss', 'metrics.accuracy',
      'metrics.f1', 'metrics.auc', 'params.learning_rate', 'params.depth', 'params.optimizer', 'tags.team'].map(encodeURIComponent).join(',')}`,
    rowName: (i) => `[data-testid="runs-table"] [data-testid="vrow"][data-index="${i}"] [data-testid="run-link"]`,
    async sort(page) {
      return timeAction(page, {
        actSel: 'button[data-testid="sort-header"][data-col="metrics.loss"]', act: 'click',
        sel: this.rowName(0), text: topLossName, timeout: opts.timeout,
      });
    },
    async scroll(page) {
      const rowH = await page.evaluate(() => {
        const r = document.querySelector('[data-testid="vrow"][data-index="0"]');
        return r ? r.getBoundingClientRect().height : 0;
      });
      if (!(rowH > 0)) throw new Error('cannot measure the row height');
      const ms = await timeAction(page, {
        actSel: '[data-testid="runs-table"]', act: 'scroll', arg: scrollRow * rowH,
        sel: this.rowName(scrollRow), text: scrollName, timeout: opts.timeout,
      });
      // Back to the top (untimed) so the sort starts from the first page in view.
      await page.evaluate(() => { document.querySelector('[data-testid="runs-table"]').scrollTop = 0; });
      await page.waitForFunction(({ s, t }) => document.querySelector(s)?.textContent?.trim() === t,
        { s: this.rowName(0), t: newest }, { timeout: opts.timeout });
      return ms;
    },
  },
  mlflow: {
    url: () => `${opts.mlflow}/#/experiments/${opts.mlflowExp}/runs`,
    rowName: (i) => `.ag-pinned-left-cols-container .ag-row[row-index="${i}"] [col-id="attributes.\`Run Name\`"] a`,
    async sort(page) {
      await page.click('button[aria-label^="Sort:"]');
      await page.waitForSelector('[data-testid="sort-select-loss"]', { timeout: opts.timeout });
      return timeAction(page, {
        actSel: '[data-testid="sort-select-loss"]', act: 'click',
        sel: this.rowName(0), text: topLossName, timeout: opts.timeout,
      });
    },
    scroll: null,
  },
};

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const loadavg = async () => (await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

// Where a first render's time went: the HTML and scripts (DOMContentLoaded)
// and the API answers that ended before the rows showed.
async function breakdown(page, until) {
  return page.evaluate((until) => {
    const nav = performance.getEntriesByType('navigation')[0];
    const api = performance.getEntriesByType('resource')
      .filter((e) => /\/(ajax-)?api\//.test(e.name) && e.responseEnd <= until);
    const slowest = api.reduce((a, e) => (e.duration > (a?.duration ?? -1) ? e : a), null);
    return {
      dcl: nav ? nav.domContentLoadedEventEnd : null,
      api_calls: api.length,
      last_api_end: api.length ? Math.max(...api.map((e) => e.responseEnd)) : null,
      slowest_api: slowest ? { path: new URL(slowest.name).pathname, ms: Math.round(slowest.duration) } : null,
    };
  }, until);
}

async function withPage(browser, fn) {
  const page = await harness.newPage(browser);
  try {
    const r = await fn(page);
    if (page.errors.length) r.page_errors = page.errors.slice(0, 3);
    return r;
  } finally {
    await page.context().close();
  }
}

async function measureOnce(browser, name, warm) {
  const ui = UIS[name];
  const out = {};
  // A first visit, in its own fresh context.
  Object.assign(out, await withPage(browser, async (page) => {
    const first = await firstRender(page, ui.url(), ui.rowName(0), newest, opts.timeout);
    return { first_render: first, ...(await breakdown(page, first)) };
  }));
  // Cairn: a link with columns, in a second fresh context; then the jump and the sort there.
  // MLflow: the sort on the page of the first visit's kind, in a fresh context.
  Object.assign(out, await withPage(browser, async (page) => {
    const r = {};
    if (ui.linkUrl) r.first_render_link = await firstRender(page, ui.linkUrl(), ui.rowName(0), newest, opts.timeout);
    else await firstRender(page, ui.url(), ui.rowName(0), newest, opts.timeout);
    if (ui.scroll) r.scroll_50k = await ui.scroll(page);
    r.sort = await ui.sort(page);
    return r;
  }));
  if (!warm) process.stderr.write(`[ui-bench] ${name}: ${JSON.stringify(out)} load ${await loadavg()}\n`);
  return out;
}

const browser = await harness.launchBrowser();
const names = Object.keys(UIS).filter((n) => (n === 'cairn' ? opts.cairn : opts.mlflow));
const KINDS = ['first_render', 'first_render_link', 'sort', 'scroll_50k', 'dcl', 'last_api_end'];
const samples = Object.fromEntries(names.map((n) => [n, Object.fromEntries(KINDS.map((k) => [k, []]))]));
const loadStart = await loadavg();
try {
  for (const n of names) await measureOnce(browser, n, true);
  for (let rep = 0; rep < opts.reps; rep++) {
    const order = rep % 2 ? [...names].reverse() : names;
    for (const n of order) {
      const r = await measureOnce(browser, n, false);
      for (const k of KINDS) if (typeof r[k] === 'number') samples[n][k].push(r[k]);
    }
  }
} finally {
  await browser.close();
}
const loadEnd = await loadavg();
const summary = { runs: opts.runs, reps: opts.reps, load_start: loadStart, load_end: loadEnd, newest, top_loss: topLossName, scroll_row: scrollRow, results: {} };
for (const n of names) {
  for (const [k, xs] of Object.entries(samples[n])) {
    if (!xs.length) continue;
    const m = median(xs);
    summary.results[`${n}_${k}`] = { median_ms: m, min_ms: Math.min(...xs), max_ms: Math.max(...xs), samples: xs.map((x) => Math.round(x)) };
    console.log(`RESULT label=${n}_ui_${k} runs=${opts.runs} reps=${xs.length} median_ms=${m.toFixed(1)} ` +
      `min_ms=${Math.min(...xs).toFixed(1)} max_ms=${Math.max(...xs).toFixed(1)}`);
  }
}
console.log('SUMMARY ' + JSON.stringify(summary));
