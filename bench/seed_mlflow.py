"""Seeds an MLflow SQLite tracking store with the runs search_bench dumped.

    python seed_mlflow.py --db /abs/mlflow.db --dump runs.tsv [--limit N]

Writes through MLflow's own SqlAlchemyStore (create_run + log_batch per run,
as the MLflow server itself would), so MLflow's schema, indexes and
latest_metrics table are exactly what its server expects. Prints
"EXPERIMENT_ID=<id>" and a RESULT line with the seeding rate.
"""

import argparse
import csv
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True, help="absolute path of the SQLite file")
    ap.add_argument("--dump", required=True, help="TSV written by search_bench seed --dump")
    ap.add_argument("--artifacts", default="/tmp/cairn-bench-mlflow-artifacts")
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()

    from mlflow.entities import Metric, Param, RunTag
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore("sqlite:///" + args.db, args.artifacts)
    exp_id = store.create_experiment("bench-search")
    t0 = time.time()
    n = 0
    with open(args.dump, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            start = int(row["start_time"])
            run = store.create_run(
                experiment_id=exp_id,
                user_id=row["user"],
                start_time=start,
                tags=[RunTag("team", row["team"]), RunTag("mlflow.source.type", "LOCAL")],
                run_name=row["run_name"],
            )
            ts = start + 60000
            metrics = [
                Metric(k, float(row[k]), ts, 100)
                for k in ("loss", "accuracy", "val_loss", "f1", "auc")
            ]
            params = [
                Param(k, row[k])
                for k in ("depth", "learning_rate", "optimizer", "batch_size", "n_estimators")
            ]
            store.log_batch(run.info.run_id, metrics=metrics, params=params, tags=[])
            n += 1
            if n % 1000 == 0:
                print(f"seeded {n} runs in {time.time() - t0:.1f} s", file=sys.stderr, flush=True)
            if args.limit and n >= args.limit:
                break
    el = time.time() - t0
    print(f"EXPERIMENT_ID={exp_id}")
    print(f"RESULT label=mlflow_seed runs={n} seconds={el:.2f} runs_per_s={n / el:.0f}")


if __name__ == "__main__":
    main()
