"""A real Prometheus scrapes `cairn serve`'s /metrics (Cairn-only: `mlflow models serve` has none).

Prometheus 2.x is started by scripts/services/prometheus.sh in the test's temp dir on a free port
(scrape interval 1 s, job "cairn"), after `cairn serve` of an XGBoost model. The test sends a known
number of requests, waits for a scrape that sees them, and asserts the counts through Prometheus'
HTTP API (/api/v1/query), not through /metrics.
"""

import json
import os
import shutil
import subprocess
import time
import warnings

import pytest
import requests

from compat_server import cairn_only, free_port
from serve_server import ServeProcess, make_data, metric_sum, oip_body, save_model, train_xgb

pytestmark = cairn_only

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "scripts", "services", "prometheus.sh")
DEPLOYMENT = "fraud-xgb"


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    if not shutil.which("prometheus"):
        pytest.skip("prometheus is not installed (scripts/setup.sh with CAIRN_SETUP_TEST=1 installs it)")
    X, y = make_data()
    model = train_xgb(X, y)
    folder = save_model(model, tmp_path_factory.mktemp("prom-models") / DEPLOYMENT, X)
    srv = ServeProcess(tmp_path_factory.mktemp("prom-serve"), models=[folder]).start()
    yield srv, X.iloc[:5], model
    rc = srv.stop()
    assert rc == 0, srv.log_tail()


@pytest.fixture(scope="module")
def prometheus(serve, tmp_path_factory):
    srv = serve[0]
    env = dict(os.environ, PROM_ROOT=str(tmp_path_factory.mktemp("prometheus")), PROM_PORT=str(free_port()),
               PROM_TARGETS=f"127.0.0.1:{srv.port}", PROM_INTERVAL="1s")

    def run(cmd):
        return subprocess.run(["bash", SCRIPT, cmd], env=env, capture_output=True, text=True, timeout=60)

    p = run("start")
    assert p.returncode == 0, p.stdout + p.stderr
    try:
        p = run("wait-scrape")
        assert p.returncode == 0, p.stdout + p.stderr
        yield f"http://127.0.0.1:{env['PROM_PORT']}"
    finally:
        run("stop")


def query(prom, expr):
    r = requests.get(prom + "/api/v1/query", params={"query": expr}, timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "success", body
    res = body["data"]["result"]
    return float(res[0]["value"][1]) if res else None


def wait_for(prom, expr, value, timeout=20):
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = query(prom, expr)
        if got == value:
            return got
        time.sleep(0.25)
    return got


def test_prometheus_scrapes_request_counts(serve, prometheus):
    srv, rows, model = serve
    before = metric_sum(requests.get(srv.uri + "/metrics", timeout=10).text,
                        "cairn_inference_requests_total", deployment=DEPLOYMENT)
    n_ok, n_bad = 37, 5
    body = json.dumps(oip_body(rows.values))
    with requests.Session() as s:
        for _ in range(n_ok):
            r = s.post(f"{srv.uri}/v2/models/{DEPLOYMENT}/infer", data=body, timeout=30)
            assert r.status_code == 200, r.text
            assert [int(v) for v in r.json()["outputs"][0]["data"]] == [int(v) for v in model.predict(rows)]
        for _ in range(n_bad):  # a 9-column tensor: 400
            bad = json.dumps(oip_body(rows.values[:, :9]))
            r = s.post(f"{srv.uri}/v2/models/{DEPLOYMENT}/infer", data=bad, timeout=30)
            assert r.status_code == 400, r.text

    sel = f'job="cairn",deployment="{DEPLOYMENT}"'
    ok = wait_for(prometheus, f'sum(cairn_inference_requests_total{{{sel},code="200"}})', before + n_ok)
    assert ok == before + n_ok
    # Bad requests are counted under their code (scraped in the same sample or a later one).
    bad = wait_for(prometheus, f'sum(cairn_inference_requests_total{{{sel},code="400"}})', n_bad)
    assert bad == n_bad
    # Every counted request has a latency observation, and the histogram has buckets.
    count = query(prometheus, f'sum(cairn_inference_request_seconds_count{{{sel}}})')
    assert count is not None and count >= before + n_ok
    buckets = query(prometheus, f'count(cairn_inference_request_seconds_bucket{{{sel}}})')
    assert buckets is not None and buckets > 2
    le_inf = query(prometheus, f'sum(cairn_inference_request_seconds_bucket{{{sel},le="+Inf"}})')
    assert le_inf == count
    # The batch-size histogram saw 5-row inputs.
    rows_total = query(prometheus, f'sum(cairn_inference_batch_size_sum{{{sel}}})')
    assert rows_total is not None and rows_total >= 5 * n_ok
    # The target is healthy, and Prometheus parsed the exposition without errors.
    assert query(prometheus, f'up{{job="cairn",instance="127.0.0.1:{srv.port}"}}') == 1.0
    targets = requests.get(prometheus + "/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
    assert [t["lastError"] for t in targets] == [""], targets


def test_metrics_text_format(serve):
    srv = serve[0]
    r = requests.get(srv.uri + "/metrics", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain"), r.headers
    assert "version=0.0.4" in r.headers["Content-Type"]
    text = r.text
    assert "# TYPE cairn_inference_requests_total counter" in text
    assert "# TYPE cairn_inference_request_seconds histogram" in text
