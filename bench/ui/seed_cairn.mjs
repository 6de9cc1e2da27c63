// Seeds the UI benchmark's experiment (bench/ui/dataset.mjs) into a running
// Cairn (or any MLflow-API) server through its REST API: per run
// runs/create (name, user, start time, tags), runs/log-batch (20 metrics,
// 6 params) and runs/update (status, end time), from --clients keep-alive
// connections in parallel.
//
//   node bench/ui/seed_cairn.mjs --url http://127.0.0.1:5000 --runs 100000 \
//        [--clients 16] [--experiment ui-bench]
//
// Prints EXPERIMENT_ID=<id> and
//   RESULT label=cairn_ui_seed runs=N seconds=S runs_per_s=R requests_per_s=Q
// then checks the store: the run with the lowest loss (runs/search ordered by
// metrics.loss) is the dataset's, with all its params, metrics and tags.
import http from 'node:http';
import { makeRun, METRIC_KEYS, PARAM_KEYS, TAG_KEYS } from './dataset.mjs';

function parseArgs(argv) {
  const opts = { url: '', runs: 100000, clients: 16, experiment: 'ui-bench' };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i], v = argv[i + 1];
    if (v === undefined) throw new Error(`missing value for ${k}`);
    if (k === '--url') opts.url = v;
    else if (k === '--runs') opts.runs = Number(v);
    else if (k === '--clients') opts.clients = Number(v);
    else if (k === '--experiment') opts.experiment = v;
    else throw new Error(`unknown flag ${k}`);
  }
  if (!opts.url) throw new Error('--url is required');
  if (!Number.isInteger(opts.runs) || opts.runs < 1) throw new Error('--runs must be a positive integer');
  if (!Number.isInteger(opts.clients) || opts.clients < 1) throw new Error('--clients must be a positive integer');
  return opts;
}

const opts = parseArgs(process.argv);
const base = new URL(opts.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: opts.clients });
let requests = 0;

function call(method, path, body) {
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: base.hostname, port: base.port, method, path, agent,
      headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {},
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        requests++;
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode < 200 || res.statusCode >= 300) {
          reject(new Error(`${method} ${path} -> ${res.statusCode}: ${text.slice(0, 500)}`));
        } else {
          try { resolve(text ? JSON.parse(text) : {}); } catch (e) { reject(new Error(`${path}: bad JSON: ${e.message}`)); }
        }
      });
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

const M = '/api/2.0/mlflow';
const kv = (o) => Object.entries(o).map(([key, value]) => ({ key, value: String(value) }));

async function seedRun(expId, i) {
  const r = makeRun(i);
  const created = await call('POST', `${M}/runs/create`, {
    experiment_id: expId, run_name: r.name, user_id: r.user, start_time: r.startTime,
    tags: kv({ ...r.tags, 'mlflow.user': r.user, 'mlflow.source.type': 'LOCAL' }),
  });
  const runId = created.run.info.run_id;
  const ts = r.endTime;
  await call('POST', `${M}/runs/log-batch`, {
    run_id: runId,
    metrics: METRIC_KEYS.map((key) => ({ key, value: r.metrics[key], timestamp: ts, step: r.step })),
    params: kv(r.params),
    tags: [],
  });
  await call('POST', `${M}/runs/update`, { run_id: runId, status: r.status, end_time: r.endTime });
}

async function main() {
  const exp = await call('POST', `${M}/experiments/create`, { name: opts.experiment });
  const expId = exp.experiment_id;
  let next = 0;
  const t0 = performance.now();
  let lastReport = t0;
  async function worker() {
    for (;;) {
      const i = next++;
      if (i >= opts.runs) return;
      await seedRun(expId, i);
      const now = performance.now();
      if (now - lastReport > 10000) {
        lastReport = now;
        process.stderr.write(`seeded ${i + 1} runs in ${((now - t0) / 1000).toFixed(1)} s\n`);
      }
    }
  }
  await Promise.all(Array.from({ length: opts.clients }, worker));
  const seconds = (performance.now() - t0) / 1000;
  console.log(`EXPERIMENT_ID=${expId}`);
  console.log(`RESULT label=cairn_ui_seed runs=${opts.runs} seconds=${seconds.toFixed(2)} ` +
    `runs_per_s=${Math.round(opts.runs / seconds)} requests_per_s=${Math.round(requests / seconds)}`);

  // Check: the lowest-loss run is the dataset's, with every value.
  let best = -1, bestLoss = Infinity;
  for (let i = 0; i < opts.runs; i++) {
    const l = makeRun(i).metrics.loss;
    if (l < bestLoss) { bestLoss = l; best = i; }
  }
  const want = makeRun(best);
  const found = await call('POST', `${M}/runs/search`, {
    experiment_ids: [expId], order_by: ['metrics.loss ASC'], max_results: 1,
  });
  const run = found.runs?.[0];
  const problems = [];
  if (!run) problems.push('runs/search returned no run');
  else {
    if (run.info.run_name !== want.name) problems.push(`top run ${run.info.run_name}, expected ${want.name}`);
    if (run.info.status !== want.status) problems.push(`status ${run.info.status}, expected ${want.status}`);
    const got = (list) => Object.fromEntries((list ?? []).map((x) => [x.key, x.value]));
    const m = got(run.data.metrics), p = got(run.data.params), t = got(run.data.tags);
    for (const k of METRIC_KEYS) if (m[k] !== want.metrics[k]) problems.push(`metric ${k}=${m[k]}, expected ${want.metrics[k]}`);
    for (const k of PARAM_KEYS) if (p[k] !== want.params[k]) problems.push(`param ${k}=${p[k]}, expected ${want.params[k]}`);
    for (const k of TAG_KEYS) if (t[k] !== want.tags[k]) problems.push(`tag ${k}=${t[k]}, expected ${want.tags[k]}`);
  }
  agent.destroy();
  if (problems.length) {
    console.error(`seed check failed:\n  ${problems.join('\n  ')}`);
    process.exit(3);
  }
  console.error(`seed check ok: top run by loss is ${want.name} (loss ${want.metrics.loss})`);
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
