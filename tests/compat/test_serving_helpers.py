"""The serving suite's own model-server helper (serve_server.ServeProcess): every serving test
trusts it to start a ready server, report one that cannot start, stop it cleanly, and kill
the whole process group (Cairn's Python workers, MLflow's uvicorn) so nothing leaks."""

import os
import time

import pytest
import requests

from compat_server import IS_CAIRN, cairn_only
from serve_server import ServeProcess, make_data, save_model, train_sklearn, train_xgb


@pytest.fixture(scope="module")
def xgb_folder(tmp_path_factory):
    X, y = make_data(rows=200)
    return save_model(train_xgb(X, y, n_estimators=5), tmp_path_factory.mktemp("m") / "xgb", X)


def test_start_is_ready_and_stop_exits_cleanly(tmp_path, xgb_folder):
    s = ServeProcess(tmp_path / "ok", models=[xgb_folder]).start()
    try:
        assert s.alive()
        assert s.uri == f"http://127.0.0.1:{s.port}"
        assert requests.get(s.uri + "/ping", timeout=5).status_code == 200
    finally:
        code = s.stop()
    if IS_CAIRN:
        assert code == 0, s.log_tail()
    else:
        assert code is not None, s.log_tail()
    assert not s.alive()
    with pytest.raises(requests.RequestException):
        requests.get(s.uri + "/ping", timeout=2)
    assert s.log_tail() != "(no log)"


def test_a_server_that_cannot_start_is_reported_with_its_log(tmp_path):
    bad = ServeProcess(tmp_path / "bad", models=[str(tmp_path / "no-such-model")])
    with pytest.raises(RuntimeError) as e:
        bad.start(timeout=60)
    assert "before it was ready" in str(e.value)
    assert "no-such-model" in str(e.value)  # the server's own error, from the log tail
    assert not bad.alive()


@cairn_only
def test_kill_takes_the_python_workers_with_it(tmp_path):
    X, y = make_data(rows=200)
    folder = save_model(train_sklearn(X, y), tmp_path / "sk", X)
    s = ServeProcess(tmp_path / "py", models=[folder], extra_args=["--instances", "2"]).start()
    workers = s.children()
    assert len(workers) >= 2, s.log_tail()  # the python_function runtime's worker processes
    s.kill()
    assert not s.alive()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(running(p) for p in workers):
        time.sleep(0.1)
    assert [p for p in workers if running(p)] == []


def running(pid):
    """Alive and not a zombie (PID 1 may reap orphans late)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
