"""Server-level fault tests: crashes, broken clients, and a PostgreSQL that is missing or goes away.

All Cairn-only guarantees (skipped when CAIRN_COMPAT_TARGET=mlflow).
"""

import os
import shutil
import socket
import subprocess
import threading
import time
import uuid

import pytest
import requests
from mlflow import MlflowClient

from compat_server import cairn_bin, cairn_only, free_port

pytestmark = cairn_only

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PG_SCRIPT = os.path.join(REPO, "scripts", "services", "postgres.sh")
FAULT_PG_ROOT = "/tmp/ci-postgres-fault"
FAULT_PG_PORT = 15433


def rest(srv, endpoint, body=None, method="POST", timeout=30):
    url = srv.uri + API + "/" + endpoint
    if method == "POST":
        r = requests.post(url, json=body or {}, timeout=timeout)
    else:
        r = requests.get(url, params=body or {}, timeout=timeout)
    return r


def ok(r):
    assert r.status_code == 200, f"{r.request.method} {r.request.url} -> {r.status_code} {r.text[:300]}"
    return r.json()


# --------------------------------------------------------------------------- SIGKILL under load


def test_sigkill_during_concurrent_log_batch(server_factory, tmp_path):
    workdir = tmp_path / "kill"
    srv = server_factory(workdir=workdir)
    srv.start()
    exp = ok(rest(srv, "experiments/create", {"name": "sigkill"}))["experiment_id"]
    now = int(time.time() * 1000)
    run_ids = [ok(rest(srv, "runs/create", {"experiment_id": exp, "start_time": now}))["run"]["info"]["run_id"]
               for _ in range(8)]

    acked = {rid: [] for rid in run_ids}
    attempted = {rid: [] for rid in run_ids}
    bad_responses = []
    stop = threading.Event()

    def worker(rid):
        session = requests.Session()
        batch = 0
        while not stop.is_set():
            metrics = [{"key": "m", "value": float(batch * 100 + j), "timestamp": now + batch, "step": batch * 100 + j}
                       for j in range(100)]
            attempted[rid].append(batch)
            try:
                r = session.post(srv.uri + API + "/runs/log-batch", json={"run_id": rid, "metrics": metrics},
                                 timeout=20)
            except requests.RequestException:
                return  # the server is gone
            if r.status_code == 200:
                acked[rid].append(batch)
            else:
                bad_responses.append((rid, batch, r.status_code, r.text[:200]))
            batch += 1

    threads = [threading.Thread(target=worker, args=(rid,), daemon=True) for rid in run_ids]
    for t in threads:
        t.start()
    time.sleep(1.5)
    deadline = time.monotonic() + 10  # on a loaded machine, wait for some acknowledged work
    while sum(len(v) for v in acked.values()) < 16 and time.monotonic() < deadline:
        time.sleep(0.05)
    srv.kill()
    stop.set()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert bad_responses == [], f"non-200 answers under concurrent load before the kill: {bad_responses[:5]}"
    total = sum(len(v) for v in acked.values())
    assert total >= 1, f"too few acknowledged batches before the kill ({total}); the load did not run"

    # Restart on the same database.
    srv2 = server_factory(workdir=workdir, backend_uri=srv.backend_uri, artifacts_dir=srv.artifacts_dir)
    srv2.start()
    client = MlflowClient(tracking_uri=srv2.uri)
    for rid in run_ids:
        hist = client.get_metric_history(rid, "m")
        by_step = {}
        for m in hist:
            assert m.step not in by_step, f"run {rid}: step {m.step} stored twice"
            by_step[m.step] = m.value
        for b in acked[rid]:
            for j in range(100):
                step = b * 100 + j
                assert by_step.get(step) == float(step), \
                    f"run {rid}: acknowledged batch {b} lost step {step} after SIGKILL"
        # Each batch is all or nothing, and only batches that were sent can be there.
        present = {}
        for step in by_step:
            present[step // 100] = present.get(step // 100, 0) + 1
        for b, count in present.items():
            assert count == 100, f"run {rid}: batch {b} partially stored ({count}/100 metrics)"
            assert b in attempted[rid], f"run {rid}: batch {b} was never sent"
        latest = client.get_run(rid).data.metrics.get("m")
        if acked[rid]:
            assert latest == float(max(by_step)), f"run {rid}: latest metric {latest} != max step {max(by_step)}"

    found = ok(rest(srv2, "runs/search", {"experiment_ids": [exp], "max_results": 100}))
    assert sorted(r["info"]["run_id"] for r in found["runs"]) == sorted(run_ids)
    # The store is writable again.
    ok(rest(srv2, "runs/log-metric", {"run_id": run_ids[0], "key": "after", "value": 1.0,
                                      "timestamp": now, "step": 0}))
    assert srv2.stop() == 0, srv2.log_tail()


# --------------------------------------------------------------------------- a client that goes away mid-upload


def _files_with_prefix(tops, prefix, since):
    hits = []
    for top in tops:
        for dirpath, _, names in os.walk(top):
            for n in names:
                full = os.path.join(dirpath, n)
                try:
                    st = os.stat(full)
                    if st.st_mtime < since or st.st_size < len(prefix):
                        continue
                    with open(full, "rb") as f:
                        if f.read(len(prefix)) == prefix:
                            hits.append(full)
                except OSError:
                    pass
    return hits


def _tree(root):
    out = set()
    for dirpath, _, names in os.walk(root):
        for n in names:
            out.add(os.path.relpath(os.path.join(dirpath, n), root))
    return out


def test_client_disconnect_mid_upload_leaves_nothing(server, client, experiment_id, tmp_path):
    run_id = client.create_run(experiment_id).info.run_id
    rel = f"{experiment_id}/{run_id}/artifacts/partial/upload.bin"
    chunk = os.urandom(1 << 20)
    before = _tree(server.artifacts_dir)
    t0 = time.time() - 1

    for _ in range(3):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall((f"PUT {ARTIFACTS}/{rel} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                      f"Content-Type: application/octet-stream\r\nContent-Length: {10 * 1024 * 1024}\r\n\r\n")
                     .encode())
        sock.sendall(chunk)
        time.sleep(0.2)
        sock.close()
    # A client that sends half a header and leaves.
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(b"PUT " + (ARTIFACTS + "/" + rel).encode() + b" HTTP/1.1\r\nContent-Le")
    sock.close()

    # Give the server a moment to notice, then nothing of the upload may remain anywhere. The
    # verdict comes from a look that started after the deadline: walking /tmp on a loaded machine
    # can itself take seconds, and a look that started before it may be stale.
    deadline = time.time() + 10
    while True:
        expired = time.time() > deadline
        leftovers = sorted(_tree(server.artifacts_dir) - before)
        spooled = _files_with_prefix([server.workdir, "/tmp"], chunk[:4096], t0)
        if (not leftovers and not spooled) or expired:
            break
        time.sleep(0.2)
    assert leftovers == [], f"aborted upload left files in the artifact tree: {leftovers}"
    assert spooled == [], f"aborted upload left partial files behind: {spooled}"
    assert client.list_artifacts(run_id, "partial") == []

    # The server keeps serving, and the same path can be uploaded in full.
    assert requests.get(server.uri + "/health", timeout=5).status_code == 200
    full = tmp_path / "upload.bin"
    full.write_bytes(chunk * 3)
    client.log_artifact(run_id, str(full), artifact_path="partial")
    [a] = client.list_artifacts(run_id, "partial")
    assert a.path == "partial/upload.bin" and a.file_size == 3 * len(chunk)


# --------------------------------------------------------------------------- PostgreSQL missing at start


def test_postgres_unreachable_at_start_fails_fast(tmp_path):
    pg_port = free_port()  # nothing listens there
    port = free_port()
    cmd = [cairn_bin(), "server", "--host", "127.0.0.1", "--port", str(port),
           "--backend-store-uri", f"postgresql://postgres@127.0.0.1:{pg_port}/x",
           "--artifacts-destination", f"file://{tmp_path}/art"]
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                           timeout=30, cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail("cairn server with an unreachable PostgreSQL was still running after 30 s")
    elapsed = time.monotonic() - t0
    out = p.stdout.decode("utf-8", "replace")
    assert p.returncode != 0, f"exit code 0 with an unreachable PostgreSQL; output:\n{out}"
    assert elapsed < 10, f"took {elapsed:.1f}s to give up"
    assert f"127.0.0.1:{pg_port}" in out, f"message does not name host:port 127.0.0.1:{pg_port}:\n{out}"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/health", timeout=2)


# --------------------------------------------------------------------------- PostgreSQL lost while running


def _pg(action):
    env = dict(os.environ, PG_ROOT=FAULT_PG_ROOT, PG_PORT=str(FAULT_PG_PORT), PG_DB="cairn_fault")
    return subprocess.run([PG_SCRIPT, action], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=180)


@pytest.fixture
def fault_pg():
    """A private PostgreSQL on 15433 (never the shared one); yields a URI of a fresh database."""
    if os.geteuid() != 0 or not shutil.which("psql"):
        pytest.skip("needs root (postgres.sh runs the cluster as the postgres user) and psql")
    r = _pg("start")
    assert r.returncode == 0, r.stdout.decode()
    db = "fault_" + uuid.uuid4().hex[:10]
    admin = f"postgresql://postgres@127.0.0.1:{FAULT_PG_PORT}/postgres"
    subprocess.run(["psql", admin, "-qc", f"create database {db}"], check=True, timeout=60)
    try:
        yield f"postgresql://postgres@127.0.0.1:{FAULT_PG_PORT}/{db}"
    finally:
        r = _pg("stop")
        assert r.returncode == 0, r.stdout.decode()


def _expect_503(srv, endpoint, body, method="POST"):
    t0 = time.monotonic()
    r = rest(srv, endpoint, body, method=method, timeout=30)
    took = time.monotonic() - t0
    assert r.status_code == 503, f"{method} {endpoint} with PostgreSQL down -> {r.status_code} {r.text[:300]}"
    assert r.json()["error_code"] == "TEMPORARILY_UNAVAILABLE", r.text[:300]
    assert took < 15, f"{endpoint} took {took:.1f}s to fail"


def test_postgres_lost_while_running(fault_pg, server_factory, tmp_path):
    srv = server_factory(workdir=tmp_path / "pgloss", backend_uri=fault_pg)
    srv.start()
    exp = ok(rest(srv, "experiments/create", {"name": "pg-loss"}))["experiment_id"]
    run_id = ok(rest(srv, "runs/create", {"experiment_id": exp}))["run"]["info"]["run_id"]
    ok(rest(srv, "runs/log-metric", {"run_id": run_id, "key": "m", "value": 1.0, "timestamp": 1, "step": 0}))

    r = _pg("stop")
    assert r.returncode == 0, r.stdout.decode()
    try:
        _expect_503(srv, "experiments/get", {"experiment_id": exp}, method="GET")
        _expect_503(srv, "runs/log-metric", {"run_id": run_id, "key": "m", "value": 2.0, "timestamp": 2, "step": 1})
        _expect_503(srv, "runs/search", {"experiment_ids": [exp]})
        _expect_503(srv, "experiments/create", {"name": "pg-loss-2"})
        assert srv.alive(), "server died when PostgreSQL went away:\n" + srv.log_tail()
    finally:
        r = _pg("start")
        assert r.returncode == 0, r.stdout.decode()

    # Without restarting the server, requests succeed again (allow a reconnect back-off).
    deadline = time.monotonic() + 30
    last = None
    while time.monotonic() < deadline:
        try:
            last = rest(srv, "experiments/get", {"experiment_id": exp}, method="GET", timeout=10)
            if last.status_code == 200:
                break
        except requests.RequestException as e:
            last = e
        time.sleep(0.5)
    assert getattr(last, "status_code", None) == 200, f"not recovered 30 s after PostgreSQL came back: {last!r}"
    assert ok(last)["experiment"]["name"] == "pg-loss"
    ok(rest(srv, "runs/log-metric", {"run_id": run_id, "key": "m", "value": 3.0, "timestamp": 3, "step": 2}))
    ok(rest(srv, "experiments/create", {"name": "pg-loss-3"}))
    hist = ok(rest(srv, "metrics/get-history", {"run_id": run_id, "metric_key": "m"}, method="GET"))["metrics"]
    assert sorted((m["step"], m["value"]) for m in hist) == [(0, 1.0), (2, 3.0)]
    assert srv.stop() == 0, srv.log_tail()


def test_sigterm_exits_cleanly_and_data_survives_restart(server_factory, tmp_path):
    workdir = tmp_path / "term"
    srv = server_factory(workdir=workdir)
    srv.start()
    exp = ok(rest(srv, "experiments/create", {"name": "term"}))["experiment_id"]
    run_id = ok(rest(srv, "runs/create", {"experiment_id": exp}))["run"]["info"]["run_id"]
    ok(rest(srv, "runs/log-batch", {"run_id": run_id, "params": [{"key": "a", "value": "1"}]}))
    assert srv.stop() == 0, srv.log_tail()
    srv2 = server_factory(workdir=workdir, backend_uri=srv.backend_uri, artifacts_dir=srv.artifacts_dir)
    srv2.start()
    run = ok(rest(srv2, "runs/get", {"run_id": run_id}, method="GET"))["run"]
    assert run["data"]["params"] == [{"key": "a", "value": "1"}]
    assert srv2.stop() == 0, srv2.log_tail()

