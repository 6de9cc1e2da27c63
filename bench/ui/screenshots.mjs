// README screenshots of the web UI: starts `cairn server` on a fresh store
// (ui/tests/harness.mjs), seeds a small, realistic experiment through the
// REST API (a learning-rate / optimizer sweep of an image classifier: loss
// and accuracy curves per epoch, params, tags), and saves, at 1440x900:
//   docs/img/runs.png     the experiment's runs table, three runs selected
//   docs/img/compare.png  those runs compared: the differing params and
//                         metrics, and their loss and accuracy curves overlaid
//
//   cd ui && npm run build && cd .. && CAIRN_BIN=build/cairn node bench/ui/screenshots.mjs
//
// Environment: CAIRN_BIN (default build/cairn), CAIRN_UI_DIR (default
// ui/dist), SHOTS_DIR (default docs/img).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const harness = await import(path.join(repo, 'ui/tests/harness.mjs'));
const outDir = process.env.SHOTS_DIR || path.join(repo, 'docs/img');
const uiDir = process.env.CAIRN_UI_DIR || path.join(repo, 'ui/dist');
if (!fs.existsSync(path.join(uiDir, 'index.html'))) {
  console.error(`no built UI in ${uiDir}: cd ui && npm run build`);
  process.exit(2);
}

// Deterministic noise so the pictures are the same every time.
let seed = 7;
const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const noise = (s) => (rand() - 0.5) * 2 * s;

const EPOCHS = 60;
// A sweep: 3 models x 2 optimizers x 3 learning rates, plus a failed and a running run.
const MODELS = [
  { model: 'resnet50', short: 'resnet50', batch: 256, floor: 0.22, speed: 0.10 },
  { model: 'vit-b16', short: 'vit-b16', batch: 512, floor: 0.17, speed: 0.07 },
  { model: 'efficientnet-b3', short: 'effnet-b3', batch: 384, floor: 0.20, speed: 0.09 },
];
const OPTS = [
  { optimizer: 'adamw', lrs: [1e-4, 3e-4, 1e-3], wd: 0.05 },
  { optimizer: 'sgd', lrs: [0.01, 0.05, 0.1], wd: 1e-4 },
];
const sweep = [];
for (const m of MODELS) {
  for (const o of OPTS) {
    o.lrs.forEach((lr, li) => {
      // The middle learning rate is best; SGD converges slower; each model has its floor.
      const penalty = li === 1 ? 0 : 0.035 + 0.01 * li;
      sweep.push({ name: `${m.short}-${o.optimizer}-${lr}`, model: m.model, optimizer: o.optimizer, lr, batch: m.batch, wd: o.wd,
        floor: m.floor + penalty + (o.optimizer === 'sgd' ? 0.03 : 0), speed: m.speed * (o.optimizer === 'sgd' ? 0.7 : 1) * (0.8 + 0.2 * li) });
    });
  }
}
sweep.push({ name: 'effnet-b3-adamw-3e-3', model: 'efficientnet-b3', optimizer: 'adamw', lr: 3e-3, batch: 384, wd: 0.05, floor: 0.3, speed: 0.12, failAt: 23 });
sweep.push({ name: 'vit-b16-adamw-3e-4-long', model: 'vit-b16', optimizer: 'adamw', lr: 3e-4, batch: 512, wd: 0.1, floor: 0.14, speed: 0.07, running: 41 });

function curves(s) {
  const epochs = s.failAt ?? s.running ?? EPOCHS;
  const loss = [], valLoss = [], acc = [], valAcc = [], lr = [];
  for (let e = 0; e < epochs; e++) {
    const l = s.floor + 2.1 * Math.exp(-s.speed * e) + noise(0.015);
    const vl = l * (1.06 + 0.002 * e) + noise(0.02);
    loss.push(Number(l.toFixed(4)));
    valLoss.push(Number(vl.toFixed(4)));
    acc.push(Number(Math.min(0.99, 0.985 - 0.35 * l + noise(0.004)).toFixed(4)));
    valAcc.push(Number(Math.min(0.99, 0.975 - 0.34 * vl + noise(0.006)).toFixed(4)));
    lr.push(Number((s.lr * 0.5 * (1 + Math.cos((Math.PI * e) / EPOCHS))).toPrecision(4)));
  }
  return { loss, val_loss: valLoss, accuracy: acc, val_accuracy: valAcc, lr };
}

const t = await harness.setup({ uiDir });
try {
  const api = t.api;
  const exp = await api.createExperiment('image-classifier-sweep');
  await api.createExperiment('churn-model');
  const t0 = Date.UTC(2026, 10, 24, 9, 0, 0);
  const ids = [];
  for (const [i, s] of sweep.entries()) {
    const start = t0 + i * 53 * 60_000;
    const id = await api.createRun(exp, {
      name: s.name, start_time: start,
      tags: { team: 'vision', dataset: 'imagenet-1k', 'mlflow.user': i % 3 ? 'ana' : 'joe', 'mlflow.source.type': 'LOCAL' },
    });
    const c = curves(s);
    const last = (k) => c[k][c[k].length - 1];
    await api.logBatch(id, {
      params: { model: s.model, optimizer: s.optimizer, learning_rate: s.lr, batch_size: s.batch, weight_decay: s.wd, epochs: EPOCHS, augment: i % 2 ? 'randaugment' : 'autoaugment' },
      metrics: c,
    });
    if (!s.running) {
      await api.logBatch(id, { metrics: { best_val_accuracy: Math.max(...c.val_accuracy), top5_accuracy: Number((last('val_accuracy') + 0.4 * (1 - last('val_accuracy'))).toFixed(4)) } });
      await api.endRun(id, s.failAt ? 'FAILED' : 'FINISHED', start + (s.failAt ?? EPOCHS) * 41_000 + 9 * 60_000);
    }
    ids.push(id);
  }
  fs.mkdirSync(outDir, { recursive: true });

  // The runs table, sorted by validation accuracy, three runs selected for comparison.
  const page = await t.page({ viewport: { width: 1440, height: 900 } });
  const cols = ['metrics.val_accuracy', 'metrics.val_loss', 'params.optimizer', 'params.learning_rate'];
  await page.goto(`${t.url}/#/experiments/${exp}?order=${encodeURIComponent('metrics.val_accuracy DESC')}` +
    `&cols=${cols.map(encodeURIComponent).join(',')}`);
  await page.waitForSelector('[data-testid="vrow"][data-index="0"] [data-testid="run-link"]', { timeout: 20000 });
  // The two best by validation accuracy and a weaker SGD run (rows of the sorted table).
  for (const i of [0, 1, 11]) {
    await page.locator(`[data-testid="vrow"][data-index="${i}"] [data-testid="row-select"]`).click();
  }
  await page.waitForSelector('[data-testid="compare-button"]:not([disabled])');
  await page.mouse.move(0, 0);
  const runsShot = path.join(outDir, 'runs.png');
  await page.screenshot({ path: runsShot });

  // The comparison of those runs: only the differing rows, three curves, and
  // the page scrolled so the end of the diff table and the charts show.
  await page.click('[data-testid="compare-button"]');
  await page.waitForSelector('[data-testid="diff-table"]', { timeout: 20000 });
  await page.goto(page.url() + '&only=1&charts=' + ['val_accuracy', 'val_loss', 'loss'].join(','));
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="compare-chart"] canvas').length >= 3, null, { timeout: 20000 });
  if (process.env.SHOTS_FULL) await page.screenshot({ path: path.join(outDir, 'compare-full.png'), fullPage: true });
  await page.evaluate(() => {
    const chart = document.querySelector('[data-testid="compare-chart"]');
    const bottom = chart.getBoundingClientRect().bottom + window.scrollY;
    window.scrollTo(0, Math.max(0, bottom + 16 - window.innerHeight));
  });
  await page.waitForTimeout(300);
  await page.mouse.move(0, 0);
  const compareShot = path.join(outDir, 'compare.png');
  await page.screenshot({ path: compareShot });
  if (page.errors.length) throw new Error(`page errors: ${page.errors.join('; ')}`);
  console.log(`wrote ${runsShot} and ${compareShot}`);
} finally {
  await t.teardown();
}
