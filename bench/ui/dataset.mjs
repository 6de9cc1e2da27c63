// The synthetic experiment of the web UI benchmark (bench/ui_bench.sh): run i
// of N is a pure function of i (a seeded PRNG per run), so Cairn and MLflow
// get identical data and every seed of the same N is the same experiment.
//
// Each run: 6 params, 20 metrics (each logged once, at the run's last
// epoch), 3 user tags plus mlflow.runName / mlflow.user / mlflow.source.type,
// a status (about 3 % FAILED) and start/end times one second apart per run.

export const PARAM_KEYS = ['learning_rate', 'depth', 'optimizer', 'batch_size', 'n_estimators', 'dropout'];
export const METRIC_KEYS = [
  'loss', 'val_loss', 'accuracy', 'val_accuracy', 'f1', 'precision', 'recall', 'auc',
  'log_loss', 'rmse', 'mae', 'r2', 'top5_accuracy', 'calibration_error', 'grad_norm',
  'lr_final', 'train_time_s', 'epoch_time_s', 'throughput', 'memory_mb',
];
export const TAG_KEYS = ['team', 'dataset', 'model_family'];
export const BASE_TIME = 1_767_225_600_000; // 2026-01-01T00:00:00Z

const OPTIMIZERS = ['adam', 'adamw', 'sgd', 'rmsprop'];
const TEAMS = ['vision', 'nlp', 'recsys', 'forecasting'];
const DATASETS = ['imagenet-1k', 'cifar-100', 'wiki-40b', 'movielens-25m', 'm5-sales'];
const FAMILIES = ['resnet', 'vit', 'gbdt', 'transformer', 'mlp'];

// mulberry32: small, fast, good enough for synthetic data.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const round = (x, d = 6) => Number(x.toPrecision(d));
const clamp01 = (x) => Math.min(1, Math.max(0, x));

export function makeRun(i) {
  const u = rng(0x9e3779b9 ^ Math.imul(i + 1, 0x85ebca6b));
  const normal = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  const pick = (a) => a[Math.floor(u() * a.length)];
  const depth = 2 + Math.floor(u() * 11);
  const lr = round(10 ** (-4 + 3.5 * u()), 4);
  const optimizer = pick(OPTIMIZERS);
  const batch = [16, 32, 64, 128, 256][Math.floor(u() * 5)];
  const nEst = 100 * (1 + Math.floor(u() * 10));
  const dropout = round(0.5 * u(), 2);
  const loss = Math.exp(-0.7 + 0.6 * normal());
  const acc = clamp01(1 - loss / 3 + 0.03 * normal());
  const valLoss = loss * (1 + Math.abs(0.1 * normal()));
  const valAcc = clamp01(acc - Math.abs(0.02 * normal()));
  const precision = clamp01(acc + 0.03 * normal());
  const recall = clamp01(acc + 0.03 * normal());
  const trainTime = 30 + 3000 * u();
  const epochs = 10 + Math.floor(u() * 91);
  const metrics = {
    loss, val_loss: valLoss, accuracy: acc, val_accuracy: valAcc,
    f1: clamp01((2 * precision * recall) / Math.max(1e-9, precision + recall)),
    precision, recall, auc: clamp01(acc + 0.02 * normal()),
    log_loss: valLoss * 1.1, rmse: Math.sqrt(valLoss), mae: valLoss * 0.8,
    r2: 1 - valLoss / 2, top5_accuracy: clamp01(acc + 0.1 + 0.02 * normal()),
    calibration_error: Math.abs(0.05 * normal()), grad_norm: Math.exp(normal()),
    lr_final: lr * 0.01, train_time_s: trainTime, epoch_time_s: trainTime / epochs,
    throughput: 1000 + 9000 * u(), memory_mb: 512 + 15000 * u(),
  };
  for (const k of METRIC_KEYS) metrics[k] = round(metrics[k]);
  const startTime = BASE_TIME + i * 1000 + Math.floor(u() * 500);
  return {
    name: `${optimizer}-d${depth}-${i}`,
    user: `user_${Math.floor(u() * 20)}`,
    status: u() < 0.03 ? 'FAILED' : 'FINISHED',
    startTime,
    endTime: startTime + Math.round(trainTime * 1000),
    step: epochs,
    params: { learning_rate: String(lr), depth: String(depth), optimizer, batch_size: String(batch),
      n_estimators: String(nEst), dropout: String(dropout) },
    metrics,
    tags: { team: pick(TEAMS), dataset: pick(DATASETS), model_family: pick(FAMILIES) },
  };
}
