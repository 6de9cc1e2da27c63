"""Artifacts through the real mlflow client (the server's artifact proxy: mlflow-artifacts:/)."""

import hashlib
import json
import os

import mlflow
import pytest
import yaml


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@pytest.fixture
def run_id(client, experiment_id):
    return client.create_run(experiment_id).info.run_id


def test_log_artifact_file_and_download(client, run_id, tmp_path):
    src = tmp_path / "model.json"
    payload = json.dumps({"weights": list(range(50))}).encode()
    src.write_bytes(payload)
    client.log_artifact(run_id, str(src))
    client.log_artifact(run_id, str(src), artifact_path="copies/v1")

    root = {a.path: a for a in client.list_artifacts(run_id)}
    assert set(root) == {"model.json", "copies"}
    assert root["model.json"].is_dir is False
    assert root["model.json"].file_size == len(payload)
    assert root["copies"].is_dir is True

    nested = client.list_artifacts(run_id, "copies/v1")
    assert [(a.path, a.is_dir, a.file_size) for a in nested] == [("copies/v1/model.json", False, len(payload))]

    dst = tmp_path / "dl"
    dst.mkdir()
    local = client.download_artifacts(run_id, "model.json", str(dst))
    assert open(local, "rb").read() == payload
    local2 = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="copies/v1/model.json",
                                                 dst_path=str(tmp_path / "dl2"))
    assert open(local2, "rb").read() == payload


def test_log_artifacts_folder_with_nested_dirs(client, run_id, tmp_path):
    src = tmp_path / "bundle"
    files = {
        "readme.txt": b"hello\n",
        "data/train.csv": b"a,b\n1,2\n3,4\n",
        "data/deep/er/blob.bin": bytes(range(256)) * 40,
        "empty.txt": b"",
        "with space & unicode \u00e9.txt": "caf\u00e9".encode(),
    }
    for rel, data in files.items():
        p = src / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    client.log_artifacts(run_id, str(src), artifact_path="bundle")

    top = client.list_artifacts(run_id)
    assert [(a.path, a.is_dir) for a in top] == [("bundle", True)]
    level1 = {a.path: a for a in client.list_artifacts(run_id, "bundle")}
    assert set(level1) == {"bundle/readme.txt", "bundle/data", "bundle/empty.txt",
                           "bundle/with space & unicode \u00e9.txt"}
    assert level1["bundle/data"].is_dir
    assert level1["bundle/readme.txt"].file_size == 6
    assert level1["bundle/empty.txt"].file_size in (0, None)  # proto3 omits a zero size
    deep = client.list_artifacts(run_id, "bundle/data/deep/er")
    assert [(a.path, a.file_size) for a in deep] == [("bundle/data/deep/er/blob.bin", 256 * 40)]

    # Downloading the folder gives back the same tree, byte for byte.
    (tmp_path / "out").mkdir()
    out = client.download_artifacts(run_id, "bundle", str(tmp_path / "out"))
    got = {}
    for dirpath, _, names in os.walk(out):
        for n in names:
            full = os.path.join(dirpath, n)
            got[os.path.relpath(full, out)] = open(full, "rb").read()
    assert got == files


def test_log_text_and_dict_and_load(server, experiment_id):
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_text("line one\nline two\n", "notes/readme.txt")
        mlflow.log_dict({"a": 1, "b": [1, 2, 3], "c": {"d": "e"}}, "config.json")
        mlflow.log_dict({"lr": 0.1, "layers": [64, 32]}, "config.yaml")
    rid = run.info.run_id
    assert mlflow.artifacts.load_text(f"runs:/{rid}/notes/readme.txt") == "line one\nline two\n"
    assert mlflow.artifacts.load_dict(f"runs:/{rid}/config.json") == {"a": 1, "b": [1, 2, 3], "c": {"d": "e"}}
    assert yaml.safe_load(mlflow.artifacts.load_text(f"runs:/{rid}/config.yaml")) == {"lr": 0.1, "layers": [64, 32]}
    names = sorted(a.path for a in mlflow.MlflowClient().list_artifacts(rid))
    assert names == ["config.json", "config.yaml", "notes"]


def test_list_artifacts_of_missing_path_is_empty(client, run_id, tmp_path):
    (tmp_path / "a.txt").write_text("x")
    client.log_artifact(run_id, str(tmp_path / "a.txt"))
    assert client.list_artifacts(run_id, "does/not/exist") == []


def test_overwrite_artifact_keeps_latest(client, run_id, tmp_path):
    p = tmp_path / "v.txt"
    p.write_text("first")
    client.log_artifact(run_id, str(p))
    p.write_text("second version")
    client.log_artifact(run_id, str(p))
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/v.txt") == "second version"
    [a] = client.list_artifacts(run_id)
    assert a.file_size == len("second version")


def test_large_artifact_round_trip(client, run_id, tmp_path):
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.write(os.urandom(20 * 1024 * 1024 + 7))
    want = sha256_file(big)
    client.log_artifact(run_id, str(big), artifact_path="blobs")
    [a] = client.list_artifacts(run_id, "blobs")
    assert a.file_size == 20 * 1024 * 1024 + 7
    (tmp_path / "dl").mkdir()
    local = client.download_artifacts(run_id, "blobs/big.bin", str(tmp_path / "dl"))
    assert sha256_file(local) == want


def test_identical_artifacts_in_two_runs(client, experiment_id, tmp_path):
    """Two runs logging the same bytes each see their own copy (the CAS dedup must not leak across runs)."""
    p = tmp_path / "same.bin"
    p.write_bytes(b"identical" * 1000)
    r1 = client.create_run(experiment_id).info.run_id
    r2 = client.create_run(experiment_id).info.run_id
    client.log_artifact(r1, str(p))
    client.log_artifact(r2, str(p), artifact_path="sub")
    assert [a.path for a in client.list_artifacts(r1)] == ["same.bin"]
    assert [a.path for a in client.list_artifacts(r2)] == ["sub"]
    assert mlflow.artifacts.load_text(f"runs:/{r2}/sub/same.bin") == "identical" * 1000
