"""Loads the UI benchmark's experiment into an MLflow SQLite store by bulk SQL.

    python seed_mlflow_ui.py --db /abs/mlflow.db --runs-jsonl runs.jsonl --artifacts /abs/dir

MLflow's REST API seeds about 11 runs/s, far too slow for 100,000 runs, so
this script lets MLflow create its own schema (SqlAlchemyStore runs its
migrations on a new file), creates the experiment through that store, and
then inserts the rows MLflow itself would write for create_run + log_batch +
update_run straight into its tables (runs, tags, params, metrics,
latest_metrics) with Python's sqlite3, in one transaction. Afterwards it
reads one run back through SqlAlchemyStore.get_run and checks it against the
input, so a schema drift in a newer MLflow fails loudly instead of seeding a
store its server reads differently.

Prints EXPERIMENT_ID=<id> and
    RESULT label=mlflow_ui_seed runs=N seconds=S runs_per_s=R
"""

import argparse
import json
import sqlite3
import sys
import time
import uuid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True, help="absolute path of a new SQLite file")
    ap.add_argument("--runs-jsonl", required=True, help="written by dump_dataset.mjs")
    ap.add_argument("--artifacts", required=True, help="artifact root (absolute path)")
    ap.add_argument("--experiment", default="ui-bench")
    args = ap.parse_args()
    if not args.db.startswith("/") or not args.artifacts.startswith("/"):
        sys.exit("--db and --artifacts must be absolute paths")

    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore("sqlite:///" + args.db, args.artifacts)
    exp_id = store.create_experiment(args.experiment)
    exp = store.get_experiment(exp_id)
    art_root = exp.artifact_location.rstrip("/")

    t0 = time.time()
    con = sqlite3.connect(args.db)
    con.execute("PRAGMA synchronous=OFF")
    cols = {r[1] for r in con.execute("PRAGMA table_info(runs)")}
    need = {"run_uuid", "name", "source_type", "source_name", "entry_point_name", "user_id",
            "status", "start_time", "end_time", "source_version", "lifecycle_stage",
            "artifact_uri", "experiment_id", "deleted_time"}
    if not need <= cols:
        sys.exit(f"MLflow's runs table lacks {sorted(need - cols)}: this seeder needs updating")
    runs, tags, params, metrics = [], [], [], []
    first = None
    n = 0
    with open(args.runs_jsonl) as f:
        for line in f:
            r = json.loads(line)
            rid = uuid.uuid4().hex
            if first is None:
                first = (rid, r)
            runs.append((rid, r["name"], "LOCAL", "", "", r["user"], r["status"], r["startTime"],
                         r["endTime"], "", "active", f"{art_root}/{rid}/artifacts", int(exp_id),
                         None))
            run_tags = dict(r["tags"])
            run_tags.update({"mlflow.runName": r["name"], "mlflow.user": r["user"],
                             "mlflow.source.type": "LOCAL"})
            tags.extend((k, v, rid) for k, v in run_tags.items())
            params.extend((k, v, rid) for k, v in r["params"].items())
            metrics.extend((k, float(v), r["endTime"], rid, r["step"], 0)
                           for k, v in r["metrics"].items())
            n += 1
    with con:
        con.executemany(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id,"
            " status, start_time, end_time, source_version, lifecycle_stage, artifact_uri,"
            " experiment_id, deleted_time) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", runs)
        con.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?,?,?)", tags)
        con.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?,?,?)", params)
        con.executemany("INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan)"
                        " VALUES (?,?,?,?,?,?)", metrics)
        con.executemany("INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid)"
                        " VALUES (?,?,?,?,?,?)",
                        [(k, v, ts, step, nan, rid) for (k, v, ts, rid, step, nan) in metrics])
    con.execute("ANALYZE")
    con.close()
    el = time.time() - t0

    # Read one run back through MLflow's own store.
    rid, want = first
    got = store.get_run(rid)
    problems = []
    if got.info.run_name != want["name"]:
        problems.append(f"run_name {got.info.run_name!r} != {want['name']!r}")
    if got.info.status != want["status"]:
        problems.append(f"status {got.info.status} != {want['status']}")
    if got.data.params != want["params"]:
        problems.append(f"params {got.data.params} != {want['params']}")
    if got.data.metrics != {k: float(v) for k, v in want["metrics"].items()}:
        problems.append(f"metrics {got.data.metrics} != {want['metrics']}")
    for k, v in want["tags"].items():
        if got.data.tags.get(k) != v:
            problems.append(f"tag {k}={got.data.tags.get(k)!r} != {v!r}")
    if problems:
        sys.exit("read-back check failed: " + "; ".join(problems))
    print(f"EXPERIMENT_ID={exp_id}")
    print(f"RESULT label=mlflow_ui_seed runs={n} seconds={el:.2f} runs_per_s={n / el:.0f}")


if __name__ == "__main__":
    main()
