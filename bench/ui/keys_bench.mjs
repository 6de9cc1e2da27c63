// The runs page with many metric keys: an experiment whose runs use 1,000
// distinct metric keys (each run logs 20 of them), in Debian's Chromium.
// Complements bench/ui_bench.sh (100k runs x 20 keys): the key tables make
// /columns cost depend on the number of keys, not of runs.
//
//   CAIRN_BIN=build/cairn node bench/ui/keys_bench.mjs [--runs 2000] [--keys 1000] [--reps 5]
//
// Times: GET /api/v1/experiments/{id}/columns (server, median of 20), the
// runs page's first render (goto -> row 0 shows the newest run), and the
// column picker (click -> a search for the last key shows it). Medians.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const h = await import(path.resolve(here, '../../ui/tests/harness.mjs'));

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : Number(process.argv[i + 1]);
};
const RUNS = arg('--runs', 2000), KEYS = arg('--keys', 1000), REPS = arg('--reps', 5), PER_RUN = 20;
if (!(RUNS * PER_RUN >= KEYS)) throw new Error(`--runs x ${PER_RUN} must cover --keys`);
const key = (i) => 'm' + String(i).padStart(4, '0');
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

const server = await h.startServer();
const browser = await h.launchBrowser();
try {
  const exp = await server.api.createExperiment('many-keys');
  const t0 = Date.now();
  let next = 0;
  const names = [];
  async function client() {
    for (;;) {
      const i = next++;
      if (i >= RUNS) return;
      const name = 'run-' + String(i).padStart(6, '0');
      names[i] = name;
      const id = await server.api.createRun(exp, { name, start_time: 1_700_000_000_000 + i * 1000 });
      const metrics = {};
      for (let j = 0; j < PER_RUN; j++) metrics[key((i * PER_RUN + j) % KEYS)] = (i * 7 + j) % 101 / 100;
      await server.api.logBatch(id, { metrics, params: { seed: i } });
    }
  }
  await Promise.all(Array.from({ length: 8 }, client));
  const seedS = (Date.now() - t0) / 1000;

  const colTimes = [];
  let nKeys = 0;
  for (let r = 0; r < 22; r++) {
    const s = performance.now();
    const res = await server.api.get(`/api/v1/experiments/${exp}/columns`);
    if (r >= 2) colTimes.push(performance.now() - s);
    nKeys = res.metrics.length;
  }
  if (nKeys !== KEYS) throw new Error(`/columns lists ${nKeys} metric keys, expected ${KEYS}`);

  const newest = names[RUNS - 1];
  const render = [], picker = [];
  for (let r = 0; r < REPS + 1; r++) {
    const page = await h.newPage(browser);
    const s = Date.now();
    await page.goto(`${server.url}/#/experiments/${exp}`);
    await page.getByTestId('vrow').first().getByText(newest, { exact: true }).waitFor({ timeout: 30000 });
    const firstRender = Date.now() - s;
    const p = Date.now();
    await page.getByTestId('columns-button').click();
    await page.getByTestId('column-search').fill(key(KEYS - 1));
    await page.getByTestId('column-picker').getByText(key(KEYS - 1), { exact: true }).first().waitFor({ timeout: 30000 });
    const pick = Date.now() - p;
    if (page.errors.length) throw new Error('page errors: ' + page.errors.join('; '));
    if (r > 0) { render.push(firstRender); picker.push(pick); }  // the first is a warm-up
    await page.context().close();
  }
  const load = (await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`runs=${RUNS} metric_keys=${KEYS} (each run logs ${PER_RUN}) seeded in ${seedS.toFixed(1)} s; load ${load}`);
  console.log(`RESULT columns_endpoint_ms median=${median(colTimes).toFixed(2)} (20 requests)`);
  console.log(`RESULT first_render_ms median=${median(render)} min=${Math.min(...render)} max=${Math.max(...render)} (${REPS} fresh pages)`);
  console.log(`RESULT column_picker_search_ms median=${median(picker)} min=${Math.min(...picker)} max=${Math.max(...picker)}`);
} finally {
  await browser.close();
  await server.stop();
}
