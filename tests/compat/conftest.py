"""Fixtures: one tracking server per session, plus a factory for tests that need their own.

Environment:
  CAIRN_COMPAT_TARGET        cairn (default) | mlflow   -- which server implementation to run
                             (mlflow: `mlflow server --serve-artifacts`, SQLite in the temp dir)
  CAIRN_COMPAT_MLFLOW_BIN    the `mlflow` executable for target mlflow (default: this venv's)
  CAIRN_BIN                  path of the cairn binary (default: <repo>/build/cairn)
  CAIRN_COMPAT_BACKEND_URI   backend store of the session server (default: a fresh SQLite file)
  CAIRN_TEST_POSTGRES_URI    a running PostgreSQL (used by the fault tests)
"""

import os
import uuid

# The client must not hide server errors behind retries with back-off.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")

import mlflow  # noqa: E402
import pytest  # noqa: E402
from mlflow import MlflowClient  # noqa: E402

from compat_server import IS_CAIRN, TARGET, ServerProcess, cairn_bin, mlflow_bin  # noqa: E402


def pytest_report_header(config):
    try:
        binary = cairn_bin() if IS_CAIRN else mlflow_bin()
    except RuntimeError as e:
        binary = str(e)
    return f"compat target: {TARGET} ({binary}), mlflow client {mlflow.__version__}"


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("server")
    backend = os.environ.get("CAIRN_COMPAT_BACKEND_URI") or f"sqlite:///{workdir}/cairn.db"
    srv = ServerProcess(workdir, backend_uri=backend)
    srv.start()
    os.environ["MLFLOW_TRACKING_URI"] = srv.uri
    mlflow.set_tracking_uri(srv.uri)
    yield srv
    alive_before_stop = srv.alive()
    rc = srv.stop()
    if IS_CAIRN:
        assert alive_before_stop, "server died during the session:\n" + srv.log_tail()
        assert rc == 0, f"server did not exit cleanly on SIGTERM (rc={rc}):\n" + srv.log_tail()


@pytest.fixture
def client(server):
    return MlflowClient(tracking_uri=server.uri)


@pytest.fixture(autouse=True)
def _no_leaked_active_run():
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()


@pytest.fixture
def uniq():
    """A short unique suffix so tests sharing one server never collide."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def experiment_id(client, uniq):
    return client.create_experiment(f"exp-{uniq}")


@pytest.fixture
def server_factory(tmp_path):
    """Starts extra servers (fault tests); stops every one still running at teardown."""
    started = []

    def make(**kwargs):
        kwargs.setdefault("workdir", tmp_path / f"srv{len(started)}")
        srv = ServerProcess(**kwargs)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        if srv.alive():
            srv.kill()
