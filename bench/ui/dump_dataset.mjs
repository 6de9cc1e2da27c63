// Writes the UI benchmark's experiment (bench/ui/dataset.mjs) as JSON lines,
// one run per line, for seed_mlflow_ui.py:
//   node bench/ui/dump_dataset.mjs --runs 100000 > runs.jsonl
import { makeRun } from './dataset.mjs';

const i = process.argv.indexOf('--runs');
const runs = i > 0 ? Number(process.argv[i + 1]) : NaN;
if (!Number.isInteger(runs) || runs < 1) {
  console.error('usage: node dump_dataset.mjs --runs N > runs.jsonl');
  process.exit(2);
}
const out = [];
for (let r = 0; r < runs; r++) {
  out.push(JSON.stringify(makeRun(r)));
  if (out.length === 5000 || r === runs - 1) {
    const ok = process.stdout.write(out.join('\n') + '\n');
    out.length = 0;
    if (!ok) await new Promise((res) => process.stdout.once('drain', res));
  }
}
