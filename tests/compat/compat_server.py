"""Starting and stopping a tracking server for the compatibility suite.

The target is chosen by CAIRN_COMPAT_TARGET:
  cairn  (default) -- the binary named by CAIRN_BIN (`cairn server ...`);
  mlflow           -- the real `mlflow server` of the running virtualenv (or
                      CAIRN_COMPAT_MLFLOW_BIN), with --serve-artifacts and a
                      SQLite store in the test's temp dir, used to check that
                      the suite itself encodes MLflow's behaviour.
Tests that check a guarantee only Cairn makes are marked with `cairn_only`.
"""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

TARGET = os.environ.get("CAIRN_COMPAT_TARGET", "cairn").strip().lower()
if TARGET not in ("cairn", "mlflow"):
    raise RuntimeError(f"CAIRN_COMPAT_TARGET must be 'cairn' or 'mlflow', got {TARGET!r}")

IS_CAIRN = TARGET == "cairn"

# CAIRN_COMPAT_FORCE_ALL=1 runs the Cairn-only tests against MLflow too (to see where it differs).
cairn_only = pytest.mark.skipif(not IS_CAIRN and os.environ.get("CAIRN_COMPAT_FORCE_ALL") != "1",
                                reason="Cairn-only guarantee (MLflow does not make it)")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cairn_bin():
    path = os.environ.get("CAIRN_BIN", "")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "build", "cairn")
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"cairn binary not found or not executable: {path} (set CAIRN_BIN)")
    return path


def mlflow_bin():
    # CAIRN_COMPAT_MLFLOW_BIN lets an older client run against a newer real server.
    return os.environ.get("CAIRN_COMPAT_MLFLOW_BIN") or os.path.join(os.path.dirname(sys.executable), "mlflow")


class ManagedProcess:
    """A server process on 127.0.0.1:<port> that the tests start, wait for and stop.

    Subclasses give `command()`, and may change `environment()`, `ready_path` (polled until
    it answers 200), `log_prefix` (output goes to <workdir>/<log_prefix>-<n>.log) and
    `default_timeout()`. The process runs in its own session, so a stop or kill reaches its
    children (MLflow's gunicorn/uvicorn workers, Cairn's Python workers).
    """

    _counter = 0
    ready_path = "/health"
    log_prefix = "server"

    def __init__(self, workdir, port=None, extra_args=()):
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.port = port or free_port()
        self.extra_args = [str(a) for a in extra_args]
        self.proc = None
        self.log_path = None

    @property
    def uri(self):
        return f"http://127.0.0.1:{self.port}"

    def command(self):
        raise NotImplementedError

    def environment(self):
        env = dict(os.environ)
        env.pop("MLFLOW_TRACKING_URI", None)
        return env

    def default_timeout(self):
        return 20 if IS_CAIRN else 180

    def spawn(self):
        ManagedProcess._counter += 1
        self.log_path = os.path.join(self.workdir, f"{self.log_prefix}-{ManagedProcess._counter}.log")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.workdir,
                                         env=self.environment(), start_new_session=True)
        return self.proc

    def start(self, timeout=None):
        timeout = timeout or self.default_timeout()
        self.spawn()
        try:
            self.wait_ready(timeout)
        except BaseException:
            if self.alive():
                self.kill()
            raise
        return self

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.log_prefix} exited with {self.proc.returncode} before it was "
                                   f"ready:\n{' '.join(self.command())}\n" + self.log_tail())
            try:
                if requests.get(self.uri + self.ready_path, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.log_prefix} not ready within {timeout}s:\n" + self.log_tail())

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=35):
        """SIGTERM and wait; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                if IS_CAIRN:
                    self.proc.send_signal(signal.SIGTERM)
                else:  # MLflow's workers live in the same session
                    os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        return self.proc.returncode

    def kill(self):
        """SIGKILL the process (Cairn's server alone; otherwise its whole session)."""
        if self.proc is None:
            return
        try:
            if IS_CAIRN:
                self.proc.send_signal(signal.SIGKILL)
            else:
                os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)

    def log_tail(self, n=4000):
        if not self.log_path or not os.path.exists(self.log_path):
            return "(no log)"
        with open(self.log_path, "rb") as f:
            data = f.read()
        return data[-n:].decode("utf-8", "replace")


class ServerProcess(ManagedProcess):
    """One tracking server (`cairn server` or `mlflow server`) with a backend store and an
    artifact folder. `port` may be given to restart a server on the same address."""

    def __init__(self, workdir, backend_uri=None, artifacts_dir=None, port=None, extra_args=()):
        super().__init__(workdir, port=port, extra_args=extra_args)
        self.backend_uri = backend_uri or f"sqlite:///{self.workdir}/cairn.db"
        self.artifacts_dir = str(artifacts_dir or os.path.join(self.workdir, "artifacts"))
        os.makedirs(self.artifacts_dir, exist_ok=True)

    def command(self):
        if IS_CAIRN:
            return [cairn_bin(), "server", "--host", "127.0.0.1", "--port", str(self.port),
                    "--backend-store-uri", self.backend_uri,
                    "--artifacts-destination", "file://" + self.artifacts_dir] + self.extra_args
        # --serve-artifacts is the default since 2.0; given explicitly so the proxy
        # (mlflow-artifacts:/) is on whatever the version's default.
        return [mlflow_bin(), "server", "--host", "127.0.0.1", "--port", str(self.port),
                "--backend-store-uri", self.backend_uri, "--serve-artifacts",
                "--artifacts-destination", self.artifacts_dir, "--workers", "1"] + self.extra_args

    @property
    def legacy_mlflow(self):
        """True when the target is a real MLflow server older than 3.0.

        Cairn follows MLflow 3's server; where 2.x answered differently, tests accept the 2.x
        answer only from a real 2.x server (CAIRN_COMPAT_MLFLOW_SERVER=own in run.sh).
        """
        if IS_CAIRN:
            return False
        if getattr(self, "_server_major", None) is None:
            text = requests.get(self.uri + "/version", timeout=10).text.strip()
            self._server_major = int(text.split(".")[0])
        return self._server_major < 3
