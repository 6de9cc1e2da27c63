"""The suite's own server helper (compat_server.ServerProcess): every other test trusts it to
start a healthy server, report one that dies, stop it cleanly and keep its log."""

import pytest
import requests

from compat_server import IS_CAIRN, ServerProcess, cairn_only


def test_start_serves_health_and_stop_exits_cleanly(tmp_path):
    s = ServerProcess(tmp_path / "ok").start()
    try:
        assert s.alive()
        assert s.uri == f"http://127.0.0.1:{s.port}"
        r = requests.get(s.uri + "/health", timeout=5)
        assert r.status_code == 200
        if IS_CAIRN:
            assert s.legacy_mlflow is False
    finally:
        code = s.stop()
    if IS_CAIRN:
        assert code == 0, s.log_tail()  # Cairn drains and exits 0 on SIGTERM
    else:
        assert code is not None, s.log_tail()  # stopped by SIGTERM, not killed
    assert not s.alive()
    with pytest.raises(requests.RequestException):
        requests.get(s.uri + "/health", timeout=2)


@cairn_only
def test_a_server_that_dies_at_start_is_reported_with_its_log(tmp_path):
    bad = ServerProcess(tmp_path / "bad", backend_uri="nosuchscheme://x")
    with pytest.raises(RuntimeError) as e:
        bad.start(timeout=10)
    message = str(e.value)
    assert "before it was ready" in message
    assert "nosuchscheme" in message  # the server's own error, from the log tail
    assert not bad.alive()


def test_kill_ends_the_process(tmp_path):
    s = ServerProcess(tmp_path / "kill").start()
    s.kill()
    assert not s.alive()
    assert s.proc.returncode != 0
