"""The README's pipeline example (issue 5, "Done when"), run as written.

The shell block of README.md that builds the `demo` repository (data add,
push, prepare -> train -> evaluate with the real mlflow and xgboost, a
param change, status, repro again, dag, commit and push) is taken from the
README itself, so the example cannot drift from what works. Only three
things are substituted: `../build/cairn` by the binary under test, the
remote folder `/tmp/cairn-remote` by a temporary one, and `python` by this
venv's interpreter (first on PATH). The steps log to this session's server,
where the model "points" gets registered by the train step.
"""

import json
import os
import re
import shutil
import subprocess
import sys

import mlflow
import pytest
from mlflow import MlflowClient

from compat_server import cairn_bin, cairn_only

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")
MARK = "=== cairn command: "


def readme_pipeline_block():
    text = open(README, encoding="utf-8").read()
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    matching = [b for b in blocks if "cat > cairn.yaml" in b and "cairn repro" in b]
    assert len(matching) == 1, "README.md should have one shell block with the pipeline example"
    return matching[0]


def outputs_by_command(out):
    """{command line: its output} for each `cairn ...` line of the script, in order."""
    parts = out.split(MARK)[1:]
    result = []
    for part in parts:
        command, _, output = part.partition("\n")
        result.append((command, output))
    return result


@cairn_only
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
# The README's train.py is written for MLflow 3 (log_model(model, name=...)); MLflow 2's
# log_model still requires artifact_path, so the walk as written needs the 3.x client.
@pytest.mark.skipif(int(mlflow.__version__.split(".")[0]) < 3,
                    reason="the README's example uses the MLflow 3 client API")
def test_readme_pipeline_example_runs_as_written(server, tmp_path):
    pytest.importorskip("xgboost")
    pytest.importorskip("pandas")
    pytest.importorskip("yaml")
    binary = cairn_bin()
    remote = tmp_path / "remote"
    script = readme_pipeline_block()
    assert "../build/cairn" in script and "/tmp/cairn-remote" in script
    lines = []
    for line in script.splitlines():
        line = line.replace("/tmp/cairn-remote", str(remote))
        if line.startswith("../build/cairn"):
            command = line.split("#")[0].strip().replace("../build/cairn", "cairn")
            lines.append(f"echo '{MARK}{command}'")
            line = line.replace("../build/cairn", f"'{binary}'", 1)
        elif line.startswith("git add -A") and "../build/cairn" in line:
            lines.append(f"echo '{MARK}cairn data push (after commit)'")
            line = line.replace("../build/cairn", f"'{binary}'")
        lines.append(line)
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ)
    env.update({
        "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
        "CAIRN_TRACKING_URI": server.uri,
        "MLFLOW_TRACKING_URI": server.uri,
        "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
    })
    env.pop("MLFLOW_RUN_ID", None)
    proc = subprocess.run(["bash", "-e", "-c", "\n".join(lines)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    steps = outputs_by_command(proc.stdout)
    commands = [c for c, _ in steps]
    assert commands[:3] == ["cairn data add data/raw",
                            "cairn data remote add shared " + str(remote) + " --default",
                            "cairn data push"], commands
    repros = [out for c, out in steps if c == "cairn repro"]
    assert len(repros) == 3, commands
    # 1st: everything runs; 2nd: nothing; 3rd: train and evaluate after the param change.
    assert "3 steps: 3 ran, 0 restored, 0 up to date, 0 failed" in repros[0], repros[0]
    assert "3 steps: 0 ran, 0 restored, 3 up to date, 0 failed" in repros[1], repros[1]
    assert "3 steps: 2 ran, 0 restored, 1 up to date, 0 failed" in repros[2], repros[2]
    assert "prepare: up to date" in repros[2]
    status = dict(steps)["cairn pipeline status"]
    assert "param train.max_depth 3 -> 4" in status, status
    dag = dict(steps)["cairn pipeline dag"]
    for name in ("prepare", "train", "evaluate"):
        assert name in dag, dag

    demo = work / "demo"
    assert (demo / "data" / "raw.cairn").is_file()
    lock = (demo / "cairn.lock").read_text()
    for name in ("prepare:", "train:", "evaluate:"):
        assert name in lock
    assert "train.max_depth: 4" in lock, lock
    committed = subprocess.run(["git", "ls-files"], cwd=demo, capture_output=True, text=True)
    files = committed.stdout.split()
    assert "cairn.lock" in files and "data/raw.cairn" in files and "cairn.yaml" in files
    assert "model.json" not in files and "data/raw/points.csv" not in files  # git-ignored
    # The remote holds objects (the data, then the outputs after the last push).
    assert sum(len(f) for _, _, f in os.walk(remote)) >= 4

    # Two versions of "points", each from a train step run whose parent is a
    # pipeline run, with the data version it read as a tag (the lineage).
    client = MlflowClient(tracking_uri=server.uri)
    versions = sorted(client.search_model_versions("name='points'"), key=lambda v: int(v.version))
    assert [v.version for v in versions] == ["1", "2"]
    latest = versions[-1]
    run = client.get_run(latest.run_id)
    assert run.data.tags["cairn.step"] == "train"
    assert run.data.tags["cairn.cached"] == "false"
    assert run.data.params["train.max_depth"] == "4"
    assert run.data.tags["cairn.dep.data/prepared"].startswith("sha256:")
    parent = client.get_run(run.data.tags["mlflow.parentRunId"])
    assert "cairn.pipeline" in parent.data.tags
    assert parent.info.status == "FINISHED"
    # The evaluate step of the same pipeline run logged its metrics file.
    children = client.search_runs(
        [run.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}' "
                      "and tags.`cairn.step` = 'evaluate'")
    assert len(children) == 1
    accuracy = children[0].data.metrics["accuracy"]
    assert 0.8 < accuracy <= 1.0, json.dumps(children[0].data.metrics)
