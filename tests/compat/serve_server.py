"""Starting and stopping a model server for the serving tests (tests/compat/test_serving*.py).

The target follows CAIRN_COMPAT_TARGET, as compat_server.py does for tracking servers:
  cairn  (default) -- `cairn serve --host 127.0.0.1 --port P --model ... [extra args]` of CAIRN_BIN;
  mlflow           -- the real scorer of the running virtualenv:
                      `mlflow models serve -m <model> -h 127.0.0.1 -p P --env-manager local`.

Both answer GET /ping with 200 once the model is loaded; `start()` waits for it.
The process runs in its own session (its children, MLflow's uvicorn and Cairn's Python workers,
share it). Output goes to <workdir>/serve-<n>.log.

For `cairn serve`:
  - CAIRN_PYTHON is set to this interpreter (it imports mlflow), so the python_function runtime's
    workers can load the models the tests saved;
  - XDG_CACHE_HOME points into the work dir, so registry downloads never touch ~/.cache.
"""

import os
import signal
import subprocess
import sys

from compat_server import IS_CAIRN, ManagedProcess, cairn_bin


def mlflow_scorer_bin():
    """The `mlflow` of the running virtualenv (its `models serve` needs uvicorn on PATH too)."""
    return os.path.join(os.path.dirname(sys.executable), "mlflow")


def descendants(pid):
    """Every live descendant pid of `pid` (from /proc), children first."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z":
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop(0)
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


class ServeProcess(ManagedProcess):
    """One model server on 127.0.0.1:<port>, ready when GET /ping answers 200.

    models: model URIs or folders. `cairn serve` gets one `--model` each; `mlflow models serve`
            takes exactly one.
    tracking_uri: the registry for models:/ URIs (`--tracking-uri`, Cairn only).
    extra_args: appended to the command line.
    """

    ready_path = "/ping"
    log_prefix = "serve"

    def __init__(self, workdir, models=(), extra_args=(), port=None, tracking_uri=None, env=None):
        super().__init__(workdir, port=port, extra_args=extra_args)
        self.models = [str(m) for m in models]
        self.tracking_uri = tracking_uri
        self.extra_env = dict(env or {})

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def command(self):
        if IS_CAIRN:
            cmd = [cairn_bin(), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
            for m in self.models:
                cmd += ["--model", m]
            if self.tracking_uri:
                cmd += ["--tracking-uri", self.tracking_uri]
            return cmd + self.extra_args
        if len(self.models) != 1:
            raise ValueError("mlflow models serve serves exactly one model")
        return [mlflow_scorer_bin(), "models", "serve", "-m", self.models[0], "-h", "127.0.0.1",
                "-p", str(self.port), "--env-manager", "local"] + self.extra_args

    def environment(self):
        env = super().environment()
        bindir = os.path.dirname(sys.executable)
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")  # uvicorn for the MLflow scorer
        env.setdefault("CAIRN_PYTHON", sys.executable)
        env["XDG_CACHE_HOME"] = os.path.join(self.workdir, "cache")
        env.update(self.extra_env)
        return env

    def default_timeout(self):
        return 60 if IS_CAIRN else 180

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=35):
        rc = super().stop(timeout)
        self._reap_group()
        return rc

    def kill(self):
        """SIGKILL the whole session: the server and its Python workers."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass

    def _reap_group(self):
        # Children left behind by a server that exited (they share its session/process group).
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def children(self):
        return descendants(self.proc.pid) if self.alive() else []


# --------------------------------------------------------------------------- models and clients

FEATURES = [f"f{i}" for i in range(10)]


def make_data(seed=3, rows=400):
    """A float32 frame with columns f0..f9 and a binary label that depends on f0, f1, f2."""
    import numpy as np
    import pandas as pd
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, len(FEATURES))).astype(np.float32), columns=FEATURES)
    y = ((X.f0 + 0.5 * X.f1 - X.f2) > 0).astype(np.int64)
    return X, y


def train_xgb(X, y, n_estimators=20):
    import xgboost
    return xgboost.XGBClassifier(n_estimators=n_estimators, max_depth=3, random_state=1).fit(X, y)


def train_sklearn(X, y):
    from sklearn.linear_model import LogisticRegression
    return LogisticRegression(max_iter=300).fit(X, y)


def save_model(model, path, X):
    """Saves an XGBClassifier (mlflow.xgboost) or a scikit-learn model (mlflow.sklearn) to `path`
    with a column signature inferred from X and its predictions, and a 3-row input example."""
    import mlflow
    from mlflow.models import infer_signature
    signature = infer_signature(X.head(5), model.predict(X.head(5)))
    flavor = mlflow.xgboost if type(model).__module__.startswith("xgboost") else mlflow.sklearn
    flavor.save_model(model, str(path), signature=signature, input_example=X.head(3))
    return str(path)


SLEEP_MODEL_CODE = '''
import time
import mlflow
import pandas as pd


class SleepModel(mlflow.pyfunc.PythonModel):
    """Sleeps {seconds} s per call, then answers 2 * f0 per row."""

    def predict(self, context, model_input, params=None):
        time.sleep({seconds})
        return pd.DataFrame({{"y": [2.0 * float(v) for v in model_input["f0"]]}})


mlflow.models.set_model(SleepModel())
'''


def save_sleep_model(path, seconds):
    """A python_function model (models from code) that sleeps `seconds` per predict call and answers
    a frame {"y": 2 * f0}; signature f0 double -> y double, with an input example."""
    import mlflow
    import pandas as pd
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema
    os.makedirs(os.path.dirname(os.path.abspath(str(path))), exist_ok=True)
    code = os.path.abspath(str(path)) + "_code.py"
    with open(code, "w") as f:
        f.write(SLEEP_MODEL_CODE.format(seconds=seconds))
    signature = ModelSignature(inputs=Schema([ColSpec("double", "f0")]),
                               outputs=Schema([ColSpec("double", "y")]))
    mlflow.pyfunc.save_model(str(path), python_model=code, signature=signature,
                             input_example=pd.DataFrame({"f0": [1.0, 2.0]}))
    return str(path)


def oip_body(rows, name="input"):
    """An OIP v2 infer request with one FP32 tensor [n, 10] (rows: a 2-D array-like)."""
    import numpy as np
    a = np.asarray(rows, dtype=np.float32)
    return {"inputs": [{"name": name, "shape": list(a.shape), "datatype": "FP32",
                        "data": [float(v) for v in a.reshape(-1)]}]}


def oip_predictions(answer):
    """The data of the first output of an OIP infer answer (a JSON dict)."""
    return answer["outputs"][0]["data"]


def parse_prometheus(text):
    """Prometheus text format -> list of (name, labels dict, value)."""
    import re
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)', line)
        if not m:
            continue
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out.append((m.group(1), labels, float(m.group(4))))
    return out


def metric_sum(text, name, **labels):
    """Sum of the samples of `name` whose labels include `labels`."""
    return sum(v for n, lab, v in parse_prometheus(text)
               if n == name and all(lab.get(k) == str(w) for k, w in labels.items()))
