"""The registry walk of the issue with real models: log an XGBoost booster and a scikit-learn model,
register, alias, load through models:/ and predict; then the guarantees only Cairn makes (its own
copy of each version, audit, signed webhooks, approvals, rollback), marked `cairn_only`.

Works with the mlflow 3.x client (log_model(name=...)) and 2.x (log_model(artifact_path=...)).
"""

import hashlib
import hmac
import http.server
import json
import queue
import threading
import time
import warnings

import mlflow
import numpy as np
import pytest
import requests
from mlflow.exceptions import MlflowException

from compat_server import cairn_only

xgb = pytest.importorskip("xgboost")
sklearn_linear = pytest.importorskip("sklearn.linear_model")

MLFLOW_MAJOR = int(mlflow.__version__.split(".")[0])


def log_kw(name):
    """The keyword that names a logged model: `name` in 3.x, `artifact_path` in 2.x."""
    return {"name": name} if MLFLOW_MAJOR >= 3 else {"artifact_path": name}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 4))
    y = ((X[:, 0] + 0.5 * X[:, 1] - X[:, 2]) > 0).astype(np.int64)
    return X, y


@pytest.fixture(scope="module")
def booster(data):
    X, y = data
    return xgb.train({"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "seed": 1},
                     xgb.DMatrix(X, label=y), num_boost_round=12)


@pytest.fixture(scope="module")
def classifier(data):
    X, y = data
    return sklearn_linear.LogisticRegression(max_iter=200).fit(X, y)


def xgb_predict(booster, X):
    return booster.predict(xgb.DMatrix(X))


def log_and_register(client, experiment_name, name, booster, X):
    """One run with an XGBoost model at 'model'; registers it under `name`; returns (run_id, version)."""
    mlflow.set_experiment(experiment_name)
    with mlflow.start_run() as run:
        mlflow.xgboost.log_model(booster, input_example=X[:5], **log_kw("model"))
    mv = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    return run.info.run_id, mv.version


# --------------------------------------------------------------------------- the issue's walk


def test_issue_walk_xgboost_and_sklearn(server, client, data, booster, classifier, tmp_path):
    X, _ = data
    mlflow.set_experiment("fraud-models")
    with mlflow.start_run() as run:
        mlflow.log_param("max_depth", 3)
        mlflow.xgboost.log_model(booster, input_example=X[:5], **log_kw("model"))
        mlflow.sklearn.log_model(classifier, input_example=X[:5], **log_kw("sk_model"))
    run_id = run.info.run_id

    mv1 = mlflow.register_model(f"runs:/{run_id}/model", "fraud")
    assert (mv1.name, mv1.version) == ("fraud", "1")
    assert mv1.run_id == run_id
    mv2 = mlflow.register_model(f"runs:/{run_id}/sk_model", "fraud")
    assert mv2.version == "2"
    assert mv2.run_id == run_id

    client.set_registered_model_alias("fraud", "champion", "1")
    assert client.get_model_version_by_alias("fraud", "champion").version == "1"

    expected = xgb_predict(booster, X)
    champion = mlflow.pyfunc.load_model("models:/fraud@champion")
    got = np.asarray(champion.predict(X))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-7)
    assert "xgboost" in champion.metadata.flavors
    # The signature came from the input example and travels with the version.
    assert champion.metadata.get_input_schema() is not None

    by_number = mlflow.pyfunc.load_model("models:/fraud/1")
    np.testing.assert_allclose(np.asarray(by_number.predict(X)), expected, rtol=0, atol=1e-7)

    sk = mlflow.pyfunc.load_model("models:/fraud/2")
    np.testing.assert_array_equal(np.asarray(sk.predict(X)), classifier.predict(X))
    sk_native = mlflow.sklearn.load_model("models:/fraud/2")
    np.testing.assert_allclose(sk_native.predict_proba(X), classifier.predict_proba(X), rtol=0, atol=1e-12)

    # Native flavor loaders work through the registry too.
    native = mlflow.xgboost.load_model("models:/fraud@champion")
    np.testing.assert_allclose(xgb_predict(native, X), expected, rtol=0, atol=1e-7)

    # Moving the alias changes what models:/fraud@champion loads.
    client.set_registered_model_alias("fraud", "champion", "2")
    moved = mlflow.pyfunc.load_model("models:/fraud@champion")
    np.testing.assert_array_equal(np.asarray(moved.predict(X)), classifier.predict(X))

    # The registry lists both versions of the run.
    found = client.search_model_versions(f"run_id = '{run_id}'", order_by=["version_number ASC"])
    assert [(v.name, v.version) for v in found] == [("fraud", "1"), ("fraud", "2")]


def test_register_model_creates_registered_model_and_versions(client, data, booster, uniq):
    X, _ = data
    name = f"walk-{uniq}"
    run_a, v_a = log_and_register(client, f"walk-exp-{uniq}", name, booster, X)
    run_b, v_b = log_and_register(client, f"walk-exp-{uniq}", name, booster, X)
    assert (v_a, v_b) == ("1", "2")
    rm = client.get_registered_model(name)
    assert rm.name == name
    assert [v.version for v in rm.latest_versions] == ["2"]
    assert client.get_model_version(name, "1").run_id == run_a
    assert client.get_model_version(name, "2").run_id == run_b


def test_load_unknown_alias_or_version_fails(server, data, booster, uniq):
    X, _ = data
    name = f"walk-missing-{uniq}"
    log_and_register(mlflow.MlflowClient(), f"walk-missing-{uniq}", name, booster, X)
    with pytest.raises(MlflowException):
        mlflow.pyfunc.load_model(f"models:/{name}@nobody")
    with pytest.raises(MlflowException):
        mlflow.pyfunc.load_model(f"models:/{name}/7")


# --------------------------------------------------------------------------- Cairn-only guarantees


def api(server, method, path, user=None, **kw):
    headers = kw.pop("headers", {})
    if user:
        headers["X-Cairn-User"] = user
    return requests.request(method, server.uri + path, headers=headers, timeout=30, **kw)


def mlflow_alias(server, name, alias, version, user):
    """Sets an alias through MLflow's REST endpoint with an X-Cairn-User header."""
    return api(server, "POST", "/api/2.0/mlflow/registered-models/alias", user=user,
               json={"name": name, "alias": alias, "version": version})


def source_locations(client, mv):
    """The artifact URIs that hold the files the version was registered from."""
    if mv.source.startswith("models:/"):  # MLflow 3: a logged model
        model_id = mv.source[len("models:/"):].strip("/")
        return [client.get_logged_model(model_id).artifact_location]
    return [mv.source]


def delete_artifacts(server, uri):
    prefix = "mlflow-artifacts:/"
    assert uri.startswith(prefix), uri
    path = uri[len(prefix):].strip("/")
    r = requests.delete(f"{server.uri}/api/2.0/mlflow-artifacts/artifacts/{path}", timeout=30)
    assert r.status_code == 200, r.text


@cairn_only
def test_version_survives_deleting_the_runs_artifacts(server, client, data, booster, uniq, tmp_path):
    X, _ = data
    name = f"copy-{uniq}"
    run_id, v = log_and_register(client, f"copy-{uniq}", name, booster, X)
    mv = client.get_model_version(name, v)
    uri = client.get_model_version_download_uri(name, v)
    # The version lives in the registry's own copy, not in the run's folder.
    assert uri.startswith("mlflow-artifacts:/_registry/"), uri
    for loc in source_locations(client, mv):
        assert not uri.startswith(loc)
        delete_artifacts(server, loc)
        with pytest.raises(Exception):
            mlflow.artifacts.download_artifacts(artifact_uri=loc + "/MLmodel", dst_path=str(tmp_path / "gone"))
    loaded = mlflow.pyfunc.load_model(f"models:/{name}/{v}")
    np.testing.assert_allclose(np.asarray(loaded.predict(X)), xgb_predict(booster, X), rtol=0, atol=1e-7)


@cairn_only
def test_audit_records_the_cairn_user(server, client, data, booster, uniq):
    X, _ = data
    name = f"audit-{uniq}"
    log_and_register(client, f"audit-{uniq}", name, booster, X)
    r = mlflow_alias(server, name, "champion", "1", user="alice")
    assert r.status_code == 200, r.text
    r = api(server, "POST", "/api/2.0/mlflow/registered-models/set-tag", user="bob",
            json={"name": name, "key": "team", "value": "risk"})
    assert r.status_code == 200, r.text

    r = api(server, "GET", f"/api/v1/models/{name}/audit")
    assert r.status_code == 200, r.text
    entries = r.json()["entries"]
    assert all(e["model_name"] == name for e in entries)
    ids = [int(e["id"]) for e in entries]
    assert ids == sorted(ids, reverse=True)  # newest first
    alias_set = [e for e in entries if e["action"] == "alias.set"]
    assert len(alias_set) == 1
    assert alias_set[0]["actor"] == "alice"
    assert alias_set[0]["entity_type"] == "alias"
    assert alias_set[0]["entity_id"] == f"{name}@champion"
    # Without the header the actor is "anonymous" (the client's own calls).
    created = [e for e in entries if e["entity_type"] == "model_version"]
    assert created and all(e["actor"] == "anonymous" for e in created)
    assert any(e["actor"] == "bob" for e in entries)

    r = api(server, "GET", f"/api/v1/models/{name}/audit", params={"actor": "alice"})
    assert r.status_code == 200, r.text
    assert [e["action"] for e in r.json()["entries"]] == ["alias.set"]


class _HookReceiver:
    """A loopback HTTP server that records every POST (headers and body)."""

    def __init__(self):
        self.received = queue.Queue()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.received.put((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def hook_receiver():
    rcv = _HookReceiver()
    yield rcv
    rcv.close()


@cairn_only
def test_webhook_signed_model_version_created(server, client, data, booster, uniq, hook_receiver):
    X, _ = data
    name = f"hook-{uniq}"
    client.create_registered_model(name)
    secret = f"s3cr3t-{uniq}"
    r = api(server, "POST", "/api/v1/webhooks", user="ops",
            json={"model": name, "url": f"http://127.0.0.1:{hook_receiver.port}/hook",
                  "events": ["model_version.created"], "secret": secret})
    assert r.status_code == 200, r.text
    hook = r.json()["webhook"]
    assert "secret" not in hook or not hook["secret"]  # never given back
    hook_id = hook["id"]

    log_and_register(client, f"hook-{uniq}", name, booster, X)

    try:
        path, headers, body = hook_receiver.received.get(timeout=20)
    except queue.Empty:
        pytest.fail("no webhook delivery within 20 s")
    assert path == "/hook"
    assert headers["x-cairn-event"] == "model_version.created"
    assert headers.get("x-cairn-delivery")
    want = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-cairn-signature"] == want
    payload = json.loads(body)
    text = json.dumps(payload)
    assert name in text
    # Only the subscribed event: setting an alias sends nothing more.
    client.set_registered_model_alias(name, "champion", "1")
    time.sleep(2)
    assert hook_receiver.received.empty()

    deadline = time.monotonic() + 10
    while True:
        r = api(server, "GET", f"/api/v1/webhooks/{hook_id}/deliveries")
        assert r.status_code == 200, r.text
        deliveries = r.json()["deliveries"]
        if deliveries and deliveries[0]["status"] == "delivered":
            break
        assert time.monotonic() < deadline, deliveries
        time.sleep(0.2)
    assert len(deliveries) == 1
    assert deliveries[0]["event"] == "model_version.created"
    assert deliveries[0]["last_http_status"] == 200


@cairn_only
def test_approvals_on_a_protected_alias(server, client, data, booster, uniq):
    X, _ = data
    name = f"appr-{uniq}"
    log_and_register(client, f"appr-{uniq}", name, booster, X)
    r = api(server, "PUT", f"/api/v1/models/{name}/protected-targets", user="admin",
            json={"targets": ["champion"]})
    assert r.status_code == 200, r.text
    assert r.json()["registered_model"]["protected_targets"] == ["champion"]

    # User a asks: the change waits.
    r = api(server, "POST", f"/api/v1/models/{name}/aliases/champion", user="a",
            json={"version": "1", "comment": "ship it"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["outcome"] == "pending"
    approval = out["approval"]
    assert approval["status"] == "pending"
    assert approval["requested_by"] == "a"
    assert approval["target"] == "champion"
    assert str(approval["version"]) == "1"
    assert client.get_registered_model(name).aliases == {}

    # The stock client sees an error, not a silent no-op.
    with pytest.raises(MlflowException) as e:
        client.set_registered_model_alias(name, "champion", "1")
    assert e.value.error_code == "INVALID_STATE"
    assert client.get_registered_model(name).aliases == {}

    r = api(server, "GET", "/api/v1/approvals", params={"model": name, "status": "pending"})
    assert r.status_code == 200, r.text
    pending_ids = [a["id"] for a in r.json()["approvals"]]
    assert approval["id"] in pending_ids

    # The requester cannot approve their own request.
    r = api(server, "POST", f"/api/v1/approvals/{approval['id']}/approve", user="a", json={"comment": ""})
    assert r.status_code == 403, r.text
    assert r.json()["error_code"] == "PERMISSION_DENIED"
    assert client.get_registered_model(name).aliases == {}

    # Another user approves: the alias moves.
    r = api(server, "POST", f"/api/v1/approvals/{approval['id']}/approve", user="b", json={"comment": "ok"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["outcome"] == "applied"
    assert out["model_version"]["version"] == "1"
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    r = api(server, "GET", "/api/v1/approvals", params={"model": name})
    decided = [a for a in r.json()["approvals"] if a["id"] == approval["id"]]
    assert decided and decided[0]["status"] == "approved" and decided[0]["decided_by"] == "b"
    # A decided request cannot be decided again.
    r = api(server, "POST", f"/api/v1/approvals/{approval['id']}/reject", user="c", json={"comment": ""})
    assert r.status_code >= 400


@cairn_only
def test_alias_rollback(server, client, data, booster, uniq):
    X, _ = data
    name = f"rollback-{uniq}"
    log_and_register(client, f"rb-{uniq}", name, booster, X)
    log_and_register(client, f"rb-{uniq}", name, booster, X)
    client.set_registered_model_alias(name, "champion", "1")

    # Nothing to go back to yet.
    r = api(server, "POST", f"/api/v1/models/{name}/aliases/champion/rollback", user="ops")
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "INVALID_STATE"

    client.set_registered_model_alias(name, "champion", "2")
    assert client.get_model_version_by_alias(name, "champion").version == "2"
    r = api(server, "POST", f"/api/v1/models/{name}/aliases/champion/rollback", user="ops")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["outcome"] == "applied"
    assert out["model_version"]["version"] == "1"
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    np.testing.assert_allclose(np.asarray(loaded.predict(X)), xgb_predict(booster, X), rtol=0, atol=1e-7)

    r = api(server, "GET", f"/api/v1/models/{name}/audit", params={"actor": "ops"})
    assert r.status_code == 200, r.text
    assert len(r.json()["entries"]) >= 1


# --------------------------------------------------------------------------- a local artifact root


def test_register_with_a_local_default_artifact_root(server, server_factory, data, booster, tmp_path):
    """`--default-artifact-root /some/dir`: clients write the run's (and logged model's) files
    there directly; registering and loading them back works as on `mlflow server`."""
    X, _ = data
    root = tmp_path / "root"
    root.mkdir()
    srv = server_factory(workdir=tmp_path / "localroot",
                         extra_args=["--default-artifact-root", str(root)])
    srv.start()
    try:
        mlflow.set_tracking_uri(srv.uri)
        mlflow.set_experiment("local-root")
        with mlflow.start_run() as run:
            mlflow.xgboost.log_model(booster, input_example=X[:5], **log_kw("model"))
        mv = mlflow.register_model(f"runs:/{run.info.run_id}/model", "local-root-model")
        assert mv.version == "1"
        loaded = mlflow.pyfunc.load_model("models:/local-root-model/1")
        np.testing.assert_allclose(np.asarray(loaded.predict(X)), xgb_predict(booster, X),
                                   rtol=0, atol=1e-7)
        # The files are where the root says, not in the server's proxy folder.
        assert any(p.name == "MLmodel" for p in root.rglob("MLmodel"))
    finally:
        mlflow.set_tracking_uri(server.uri)
