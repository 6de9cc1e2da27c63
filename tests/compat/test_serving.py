"""Model serving: a client written for `mlflow models serve` works unchanged against `cairn serve`.

Models are saved with the real mlflow client (mlflow.xgboost / mlflow.sklearn save_model, with a
signature and an input example) and served by the target of CAIRN_COMPAT_TARGET:
  cairn  `cairn serve --model <folder> --port P`
  mlflow `mlflow models serve -m <folder> -p P --env-manager local` (the reference)
Every answer is compared to the in-memory model's predict.

Cairn-only (skipped against MLflow): the OIP route with X-Cairn-Version, models:/ URIs through the
registry of the session's `cairn server`, hot swap under load (and a broken version that never
takes traffic), deployments (weights, set-traffic, shadows), SIGTERM with requests in flight, a
killed Python worker.
"""

import concurrent.futures
import json
import os
import re
import signal
import subprocess
import threading
import time
import warnings

import pytest
import requests

from compat_server import IS_CAIRN, cairn_bin, cairn_only
from serve_server import (FEATURES, ServeProcess, make_data, metric_sum, oip_body, oip_predictions,
                          save_model, save_sleep_model, train_sklearn, train_xgb)

pytest.importorskip("xgboost")
pytest.importorskip("sklearn")
import mlflow  # noqa: E402

JSON = {"Content-Type": "application/json"}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# --------------------------------------------------------------------------- models and servers


@pytest.fixture(scope="module")
def data():
    return make_data()


@pytest.fixture(scope="module")
def rows(data):
    """20 rows with both labels among the predictions."""
    X, _ = data
    return X.iloc[100:120].reset_index(drop=True)


@pytest.fixture(scope="module")
def models(data, tmp_path_factory):
    """{"xgb": (model, folder), "sklearn": (model, folder)}, saved by the real mlflow client."""
    X, y = data
    base = tmp_path_factory.mktemp("serving-models")
    xgb_model = train_xgb(X, y)
    sk_model = train_sklearn(X, y)
    return {"xgb": (xgb_model, save_model(xgb_model, base / "fraud-xgb", X)),
            "sklearn": (sk_model, save_model(sk_model, base / "fraud-sk", X))}


@pytest.fixture(scope="module")
def served(models, tmp_path_factory):
    """One server per model (started on first use), stopped at the end of the module."""
    started = {}

    def get(kind):
        if kind not in started:
            _, folder = models[kind]
            started[kind] = ServeProcess(tmp_path_factory.mktemp(f"serve-{kind}"), models=[folder]).start()
        return started[kind]

    yield get
    for srv in started.values():
        alive = srv.alive()
        rc = srv.stop()
        if IS_CAIRN:
            assert alive, "cairn serve died during the module:\n" + srv.log_tail()
            assert rc == 0, f"cairn serve did not exit cleanly (rc={rc}):\n" + srv.log_tail()


def expected(models, kind, frame):
    model, _ = models[kind]
    return [int(v) for v in model.predict(frame)]


def invocations(srv, body=None, data=None, headers=JSON):
    return requests.post(srv.uri + "/invocations", json=body, data=data, headers=headers, timeout=60)


def labels_of(answer):
    return [int(v) for v in answer["predictions"]]


# --------------------------------------------------------------------------- MLflow scoring protocol

KINDS = ["xgb", "sklearn"]


@pytest.mark.parametrize("kind", KINDS)
def test_ping_health_version(served, kind):
    srv = served(kind)
    assert requests.get(srv.uri + "/ping", timeout=10).status_code == 200
    assert requests.get(srv.uri + "/health", timeout=10).status_code == 200
    r = requests.get(srv.uri + "/version", timeout=10)
    assert r.status_code == 200
    assert re.match(r"^[0-9A-Za-z][0-9A-Za-z.+_-]*$", r.text.strip()), r.text


@pytest.mark.parametrize("kind", KINDS)
def test_dataframe_split(served, models, rows, kind):
    body = {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
    r = invocations(served(kind), body)
    assert r.status_code == 200, r.text
    got = labels_of(r.json())
    assert got == expected(models, kind, rows)
    assert 0 < sum(got) < len(got)  # both classes: a constant answer would not pass


@pytest.mark.parametrize("kind", KINDS)
def test_dataframe_split_with_index(served, models, rows, kind):
    split = json.loads(rows.head(3).to_json(orient="split"))
    split["index"] = [7, 8, 9]
    r = invocations(served(kind), {"dataframe_split": split})
    assert r.status_code == 200, r.text
    assert labels_of(r.json()) == expected(models, kind, rows.head(3))


@pytest.mark.parametrize("kind", KINDS)
def test_dataframe_records(served, models, rows, kind):
    body = {"dataframe_records": json.loads(rows.to_json(orient="records"))}
    r = invocations(served(kind), body)
    assert r.status_code == 200, r.text
    assert labels_of(r.json()) == expected(models, kind, rows)


@pytest.mark.parametrize("kind", KINDS)
def test_instances_as_objects(served, models, rows, kind):
    body = {"instances": json.loads(rows.to_json(orient="records"))}
    r = invocations(served(kind), body)
    assert r.status_code == 200, r.text
    assert labels_of(r.json()) == expected(models, kind, rows)


@pytest.mark.parametrize("kind", KINDS)
def test_inputs_as_columns(served, models, rows, kind):
    body = {"inputs": {c: [float(v) for v in rows[c]] for c in FEATURES}}
    r = invocations(served(kind), body)
    assert r.status_code == 200, r.text
    assert labels_of(r.json()) == expected(models, kind, rows)


@pytest.mark.parametrize("kind", KINDS)
def test_csv(served, models, rows, kind):
    text = rows.to_csv(index=False)
    r = invocations(served(kind), data=text.encode(), headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert labels_of(r.json()) == expected(models, kind, rows)


def test_content_type_with_charset(served, models, rows):
    body = json.dumps({"dataframe_records": json.loads(rows.head(4).to_json(orient="records"))})
    r = invocations(served("xgb"), data=body, headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 200, r.text
    assert labels_of(r.json()) == expected(models, "xgb", rows.head(4))


def test_columns_in_another_order_are_matched_by_name(served, models, rows):
    reordered = rows[list(reversed(FEATURES))]
    body = {"dataframe_split": json.loads(reordered.to_json(orient="split", index=False))}
    assert body["dataframe_split"]["columns"][0] == "f9"
    r = invocations(served("xgb"), body)
    assert r.status_code == 200, r.text
    assert labels_of(r.json()) == expected(models, "xgb", rows)


def test_integers_in_float_columns_are_converted(served, models):
    import pandas as pd
    values = [[1, 2, 0, -1, 0, 3, 0, 0, 1, -2], [-2, -1, 1, 0, 0, 0, 2, 0, 0, 1]]
    frame = pd.DataFrame(values, columns=FEATURES).astype("float32")
    r = invocations(served("xgb"), {"dataframe_split": {"columns": FEATURES, "data": values}})
    assert r.status_code == 200, r.text
    assert labels_of(r.json()) == expected(models, "xgb", frame)
    assert r.headers["Content-Type"].startswith("application/json")


def test_extra_columns_are_ignored(served, models, rows):
    records = json.loads(rows.head(3).to_json(orient="records"))
    for rec in records:
        rec["not_a_feature"] = 123.0
    r = invocations(served("xgb"), {"dataframe_records": records})
    assert r.status_code == 200, r.text
    assert labels_of(r.json()) == expected(models, "xgb", rows.head(3))


def test_one_row_at_a_time_matches(served, models, rows):
    srv = served("xgb")
    with requests.Session() as s:
        for i in range(len(rows)):
            row = rows.iloc[i:i + 1]
            r = s.post(srv.uri + "/invocations", headers=JSON, timeout=30,
                       json={"dataframe_split": json.loads(row.to_json(orient="split", index=False))})
            assert r.status_code == 200, r.text
            assert labels_of(r.json()) == expected(models, "xgb", row)


def test_bad_json_is_400_bad_request(served):
    r = invocations(served("xgb"), data=b'{"dataframe_split":', headers=JSON)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error_code"] == "BAD_REQUEST"
    assert body["message"]


def test_no_known_input_field_is_400(served):
    r = invocations(served("xgb"), {"foo": 1})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error_code"] == "BAD_REQUEST"
    for field in ("dataframe_split", "dataframe_records", "instances", "inputs"):
        assert field in body["message"]


@pytest.mark.parametrize("kind", KINDS)
def test_missing_column_is_400_naming_it(served, kind):
    r = invocations(served(kind), {"dataframe_split": {"columns": ["f0", "f1"], "data": [[1.0, 2.0]]}})
    assert r.status_code == 400, r.text
    body = r.json()
    # MLflow: schema enforcement failed -> INVALID_PARAMETER_VALUE, "Model is missing inputs ['f2', ...]"
    assert body["error_code"] == "INVALID_PARAMETER_VALUE", body
    assert "missing" in body["message"].lower()
    assert "f2" in body["message"]


def test_wrong_column_type_is_400(served):
    rec = {c: 0.5 for c in FEATURES}
    rec["f0"] = "abc"
    r = invocations(served("xgb"), {"dataframe_records": [rec]})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error_code"] in ("BAD_REQUEST", "INVALID_PARAMETER_VALUE"), body
    assert "f0" in body["message"]


def test_text_plain_is_415(served):
    r = invocations(served("xgb"), data=b"hello", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415, r.text
    assert "text/plain" in r.text


def test_get_invocations_is_405(served):
    r = requests.get(served("xgb").uri + "/invocations", timeout=10)
    assert r.status_code == 405


def test_unknown_path_is_404(served):
    assert requests.get(served("xgb").uri + "/no/such/route", timeout=10).status_code == 404


# --------------------------------------------------------------------------- Cairn only: OIP, headers


@cairn_only
def test_instances_list_of_rows_maps_to_columns_in_signature_order(served, models, rows):
    # MLflow rejects unnamed rows for a column signature; Cairn maps them to the columns in order.
    r = invocations(served("xgb"), {"instances": rows.values.tolist()})
    assert r.status_code == 200, r.text
    assert labels_of(r.json()) == expected(models, "xgb", rows)


@cairn_only
@pytest.mark.parametrize("kind", KINDS)
def test_oip_infer_and_version_header(served, models, rows, kind):
    srv = served(kind)
    r = requests.post(f"{srv.uri}/v2/models/fraud-{'xgb' if kind == 'xgb' else 'sk'}/infer",
                      json=oip_body(rows.values), timeout=30)
    assert r.status_code == 200, r.text
    assert [int(v) for v in oip_predictions(r.json())] == expected(models, kind, rows)
    assert r.headers.get("X-Cairn-Version") == "1"  # a local folder is version 1


# --------------------------------------------------------------------------- Cairn only: the registry


def register(model, name, X, tags=None):
    """Logs `model` in a new run and registers it under `name`; returns the version (str)."""
    from mlflow.models import infer_signature
    flavor = mlflow.xgboost if type(model).__module__.startswith("xgboost") else mlflow.sklearn
    mlflow.set_experiment(f"serving-{name}")
    with mlflow.start_run():
        kw = {"name": "model"} if int(mlflow.__version__.split(".")[0]) >= 3 else {"artifact_path": "model"}
        info = flavor.log_model(model, signature=infer_signature(X.head(5), model.predict(X.head(5))),
                                input_example=X.head(3), registered_model_name=name, **kw)
    return str(info.registered_model_version)


def register_corrupt(client, model, name, X, tmp):
    """Registers a version whose model file is garbage (it must fail to load)."""
    folder = save_model(model, os.path.join(tmp, "corrupt"), X)
    for f in os.listdir(folder):
        if f.startswith("model."):
            with open(os.path.join(folder, f), "wb") as out:
                out.write(b"this is not a model file\n" * 4)
    mlflow.set_experiment(f"serving-{name}")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(folder, "model")
    mv = client.create_model_version(name, f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
    return str(mv.version)


@pytest.fixture(scope="module")
def flipped(data):
    """Two XGBoost classifiers that disagree: A learns the label, B its complement."""
    X, y = data
    return train_xgb(X, y), train_xgb(X, 1 - y)


@pytest.fixture(scope="module")
def disagree_rows(data, flipped):
    """4 rows on which A and B answer differently (so an answer shows which version made it)."""
    X, _ = data
    a, b = flipped
    mask = a.predict(X) != b.predict(X)
    sel = X[mask].head(4).reset_index(drop=True)
    assert len(sel) == 4
    return sel


def serve_registry(tmp_path, server, uri, *extra):
    return ServeProcess(tmp_path / "serve", models=[uri], tracking_uri=server.uri,
                        extra_args=list(extra)).start()


@cairn_only
def test_serve_registry_alias(server, client, data, models, rows, uniq, tmp_path):
    X, _ = data
    name = f"serve-{uniq}"
    xgb_model, _ = models["xgb"]
    v = register(xgb_model, name, X)
    client.set_registered_model_alias(name, "champion", v)
    srv = serve_registry(tmp_path, server, f"models:/{name}@champion")
    try:
        r = invocations(srv, {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))})
        assert r.status_code == 200, r.text
        assert labels_of(r.json()) == expected(models, "xgb", rows)
        r = requests.post(f"{srv.uri}/v2/models/{name}/infer", json=oip_body(rows.values), timeout=30)
        assert r.status_code == 200, r.text
        assert [int(x) for x in oip_predictions(r.json())] == expected(models, "xgb", rows)
        assert r.headers.get("X-Cairn-Version") == v
        r = requests.post(f"{srv.uri}/v2/models/{name}/versions/{v}/infer", json=oip_body(rows.values),
                          timeout=30)
        assert r.status_code == 200, r.text
        r = requests.post(f"{srv.uri}/v2/models/{name}/versions/99/infer", json=oip_body(rows.values),
                          timeout=30)
        assert r.status_code == 404, r.text
        meta = requests.get(f"{srv.uri}/v2/models/{name}", timeout=10).json()
        assert meta["name"] == name
        assert v in meta.get("versions", [])
        assert [i["name"] for i in meta["inputs"]] == FEATURES
        # The version was downloaded into the cache under <name>/<version>.
        cache = os.path.join(srv.workdir, "cache", "cairn", "models", name, v)
        assert os.path.exists(os.path.join(cache, "MLmodel")), os.listdir(srv.workdir)
    finally:
        assert srv.stop() == 0, srv.log_tail()


def deployments_json(srv):
    r = requests.get(srv.uri + "/v1/deployments", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def find_key(obj, key):
    """Every value of `key` anywhere in a JSON value."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == key:
                yield v
            yield from find_key(v, key)
    elif isinstance(obj, list):
        for v in obj:
            yield from find_key(v, key)


class Hammer:
    """N threads sending OIP infer requests for `rows` until stopped; records every answer as
    (status, X-Cairn-Version, predictions or error text)."""

    def __init__(self, url, rows, threads=8):
        self.url = url
        self.body = json.dumps(oip_body(rows.values))
        self.stop_event = threading.Event()
        self.results = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self):
        out = []
        with requests.Session() as s:
            while not self.stop_event.is_set():
                try:
                    r = s.post(self.url, data=self.body, headers=JSON, timeout=30)
                    if r.status_code == 200:
                        out.append((200, r.headers.get("X-Cairn-Version"),
                                    [int(v) for v in oip_predictions(r.json())]))
                    else:
                        out.append((r.status_code, r.headers.get("X-Cairn-Version"), r.text[:300]))
                except requests.RequestException as e:
                    out.append((0, None, repr(e)[:300]))
        with self.lock:
            self.results.extend(out)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        for t in self.threads:
            t.join(60)


@cairn_only
def test_hot_swap_under_load_and_a_broken_version(server, client, data, flipped, disagree_rows, uniq,
                                                  tmp_path):
    X, _ = data
    a, b = flipped
    name = f"swap-{uniq}"
    v1 = register(a, name, X)
    v2 = register(b, name, X)
    want = {v1: [int(x) for x in a.predict(disagree_rows)], v2: [int(x) for x in b.predict(disagree_rows)]}
    assert want[v1] != want[v2]
    client.set_registered_model_alias(name, "champion", v1)
    srv = serve_registry(tmp_path, server, f"models:/{name}@champion", "--poll-interval-ms", "200")
    url = f"{srv.uri}/v2/models/{name}/infer"
    try:
        with Hammer(url, disagree_rows, threads=8) as h:
            for i in range(20):
                time.sleep(0.5)
                client.set_registered_model_alias(name, "champion", v2 if i % 2 == 0 else v1)
            time.sleep(0.5)
        res = h.results
        assert len(res) > 100, f"only {len(res)} requests in 10 s"
        failed = [r for r in res if r[0] != 200]
        assert not failed, f"{len(failed)} of {len(res)} failed, e.g. {failed[:3]}"
        seen = {r[1] for r in res}
        assert seen == {v1, v2}, seen
        wrong = [r for r in res if r[2] != want[r[1]]]
        assert not wrong, f"answers that do not match their X-Cairn-Version: {wrong[:3]}"

        # The alias ends on v1 (20 moves). Wait until v1 serves alone, then point the alias at a
        # broken version: it must never take traffic and must be reported.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r = requests.post(url, json=oip_body(disagree_rows.values), timeout=30)
            if r.headers.get("X-Cairn-Version") == v1:
                break
            time.sleep(0.1)
        v3 = register_corrupt(client, a, name, X, str(tmp_path))
        with Hammer(url, disagree_rows, threads=4) as h:
            client.set_registered_model_alias(name, "champion", v3)
            failed = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not failed:
                status = deployments_json(srv)
                failed = [t for t in find_key(status, "targets") for t in t
                          if t.get("failed_version") == v3 and t.get("last_error")]
                time.sleep(0.2)
            time.sleep(1.0)  # and a few more polls with the alias still on the broken version
        assert failed, f"v{v3} not reported as failed after 20 s: {status}"
        assert failed[0]["version"] == v1, failed  # still serving the old version
        assert failed[0]["model"] == f"models:/{name}@champion"
        res = h.results
        assert len(res) > 20
        assert all(r[0] == 200 and r[1] == v1 and r[2] == want[v1] for r in res), \
            [r for r in res if r[0] != 200 or r[1] != v1][:3]
        metrics = requests.get(srv.uri + "/metrics", timeout=10).text
        assert metric_sum(metrics, "cairn_model_load_failures_total") >= 1

        # Rollback is moving the alias: v2 loads and serves again.
        client.set_registered_model_alias(name, "champion", v2)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            r = requests.post(url, json=oip_body(disagree_rows.values), timeout=30)
            if r.headers.get("X-Cairn-Version") == v2:
                break
            time.sleep(0.1)
        assert r.status_code == 200 and r.headers.get("X-Cairn-Version") == v2
        assert [int(x) for x in oip_predictions(r.json())] == want[v2]
    finally:
        rc = srv.stop()
        assert rc == 0, srv.log_tail()


# --------------------------------------------------------------------------- Cairn only: deployments


def count_versions(url, rows, n, session=None):
    body = json.dumps(oip_body(rows.values))
    counts = {}
    s = session or requests.Session()
    for _ in range(n):
        r = s.post(url, data=body, headers=JSON, timeout=30)
        assert r.status_code == 200, r.text
        counts[r.headers.get("X-Cairn-Version")] = counts.get(r.headers.get("X-Cairn-Version"), 0) + 1
    return counts


def set_traffic_cli(srv, deployment, *targets):
    """`cairn deployments set-traffic DEPLOYMENT URI=W ... --serve-url URL`."""
    cmd = [cairn_bin(), "deployments", "set-traffic", deployment, *targets, "--url", srv.uri]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


@cairn_only
def test_deployment_weights_set_traffic_and_shadow(server, client, data, flipped, disagree_rows, uniq,
                                                   tmp_path):
    X, _ = data
    a, b = flipped
    name = f"dep-{uniq}"
    v1 = register(a, name, X)
    v2 = register(b, name, X)
    v3 = register(a, name, X)  # the shadow
    dep = "scoring"
    srv = ServeProcess(tmp_path / "serve", tracking_uri=server.uri,
                       models=[f"models:/{name}/{v1}", f"models:/{name}/{v2}"],
                       extra_args=["--traffic", "90,10", "--shadow", f"models:/{name}/{v3}",
                                   "--name", dep]).start()
    url = f"{srv.uri}/v2/models/{dep}/infer"
    want = {v1: [int(x) for x in a.predict(disagree_rows)], v2: [int(x) for x in b.predict(disagree_rows)]}
    try:
        body = json.dumps(oip_body(disagree_rows.values))
        counts = {}
        with requests.Session() as s:
            for _ in range(1000):
                r = s.post(url, data=body, headers=JSON, timeout=30)
                assert r.status_code == 200, r.text
                ver = r.headers.get("X-Cairn-Version")
                assert ver in (v1, v2), ver  # never the shadow
                assert [int(x) for x in oip_predictions(r.json())] == want[ver]
                counts[ver] = counts.get(ver, 0) + 1
        # Binomial(1000, 0.1): mean 100, sd 9.5; +-5 sd.
        assert 52 <= counts.get(v2, 0) <= 148, counts

        # The shadow got a copy of every live request (asynchronously), answered by nobody.
        deadline = time.monotonic() + 15
        shadow = 0
        while time.monotonic() < deadline:
            m = requests.get(srv.uri + "/metrics", timeout=10).text
            shadow = metric_sum(m, "cairn_inference_requests_total", deployment=dep, role="shadow")
            if shadow >= 1000:
                break
            time.sleep(0.2)
        assert shadow == 1000, m
        live = metric_sum(m, "cairn_inference_requests_total", deployment=dep, role="live", code="200")
        assert live == 1000, m

        # set-traffic: 50/50 from the CLI.
        p = set_traffic_cli(srv, dep, f"models:/{name}/{v1}=50", f"models:/{name}/{v2}=50")
        assert p.returncode == 0, p.stdout + p.stderr
        counts = count_versions(url, disagree_rows, 1000)
        # Binomial(1000, 0.5): sd 15.8; +-5 sd.
        assert 420 <= counts.get(v2, 0) <= 580, counts
        assert set(counts) == {v1, v2}
        st = requests.get(f"{srv.uri}/v1/deployments/{dep}", timeout=10)
        assert st.status_code == 200, st.text
        assert sorted(find_key(st.json(), "weight"))[-2:] == [50, 50], st.text

        # All traffic to v2.
        p = set_traffic_cli(srv, dep, f"models:/{name}/{v2}=100")
        assert p.returncode == 0, p.stdout + p.stderr
        assert count_versions(url, disagree_rows, 100) == {v2: 100}

        # Unknown deployment: non-zero exit, nothing changes.
        p = set_traffic_cli(srv, "nope", f"models:/{name}/{v1}=100")
        assert p.returncode != 0
        assert count_versions(url, disagree_rows, 20) == {v2: 20}
    finally:
        rc = srv.stop()
        assert rc == 0, srv.log_tail()


# --------------------------------------------------------------------------- Cairn only: faults


@cairn_only
def test_sigterm_answers_requests_in_flight(tmp_path):
    folder = save_sleep_model(tmp_path / "sleepy", 0.3)
    srv = ServeProcess(tmp_path / "serve", models=[folder],
                       extra_args=["--max-batch-size", "1", "--instances", "2"]).start()
    n = 8

    def one(i):
        r = requests.post(srv.uri + "/invocations", headers=JSON, timeout=60,
                          json={"dataframe_split": {"columns": ["f0"], "data": [[float(i)]]}})
        return r.status_code, r.text

    try:
        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            futures = [pool.submit(one, i) for i in range(n)]
            time.sleep(0.25)  # all 8 are in the server: 2 running, 6 queued (~1.2 s of work)
            srv.signal(signal.SIGTERM)
            answers = [f.result() for f in futures]
        rc = srv.proc.wait(60)
    finally:
        if srv.alive():
            srv.kill()
    for i, (status, text) in enumerate(answers):
        assert status == 200, (i, status, text)
        assert json.loads(text)["predictions"] == [{"y": 2.0 * i}], text
    assert rc == 0, srv.log_tail()


def python_workers(srv):
    return [p for p in srv.children() if "python" in os.path.basename(
        open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")[0].decode(errors="replace"))]


@cairn_only
def test_killed_python_worker_fails_its_request_only(models, rows, tmp_path):
    _, folder = models["sklearn"]
    srv = ServeProcess(tmp_path / "serve", models=[folder], extra_args=["--instances", "2"]).start()
    body = {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
    want = expected(models, "sklearn", rows)
    try:
        r = invocations(srv, body)
        assert r.status_code == 200, r.text
        workers = python_workers(srv)
        assert len(workers) == 2, [(p, open(f"/proc/{p}/cmdline").read()) for p in srv.children()]
        os.kill(workers[0], signal.SIGKILL)
        statuses = []
        with requests.Session() as s:
            for _ in range(30):
                r = s.post(srv.uri + "/invocations", json=body, headers=JSON, timeout=60)
                statuses.append(r.status_code)
                if r.status_code == 200:
                    assert labels_of(r.json()) == want
                else:
                    assert r.status_code == 503, r.text
        # At most the request that was on the dead worker fails; the rest are answered.
        assert statuses.count(503) <= 1, statuses
        assert statuses[-20:] == [200] * 20, statuses
        # The pool is whole again (a new worker replaced the dead one).
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = python_workers(srv)
            if len(now) == 2 and workers[0] not in now:
                break
            time.sleep(0.2)
        assert len(now) == 2 and workers[0] not in now, now
        assert srv.alive()
    finally:
        rc = srv.stop()
        assert rc == 0, srv.log_tail()
