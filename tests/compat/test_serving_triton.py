"""The real `tritonclient` (HTTP) against `cairn serve` (Open Inference Protocol v2 over REST).

Cairn-only: `mlflow models serve` has no OIP routes. The model is an XGBClassifier saved with the
real mlflow client (column signature f0..f9, float); requests send one FP32 tensor [n, 10], which
Cairn splits into the signature's columns. Answers are compared to the in-memory model's predict.
"""

import warnings

import numpy as np
import pytest

from compat_server import cairn_only
from serve_server import FEATURES, ServeProcess, make_data, save_model, train_xgb

httpclient = pytest.importorskip("tritonclient.http")
from tritonclient.utils import InferenceServerException  # noqa: E402

pytestmark = cairn_only

MODEL = "fraud-xgb"  # the deployment is named after the folder


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture(scope="module")
def model_and_rows(tmp_path_factory):
    X, y = make_data()
    model = train_xgb(X, y)
    folder = save_model(model, tmp_path_factory.mktemp("triton-models") / MODEL, X)
    rows = X.iloc[100:120].to_numpy(dtype=np.float32)
    return model, folder, rows


@pytest.fixture(scope="module")
def srv(model_and_rows, tmp_path_factory):
    _, folder, _ = model_and_rows
    s = ServeProcess(tmp_path_factory.mktemp("triton-serve"), models=[folder]).start()
    yield s
    alive = s.alive()
    rc = s.stop()
    assert alive, "cairn serve died during the module:\n" + s.log_tail()
    assert rc == 0, s.log_tail()


@pytest.fixture
def client(srv):
    c = httpclient.InferenceServerClient(url=f"127.0.0.1:{srv.port}", network_timeout=30.0)
    yield c
    c.close()


def want(model_and_rows, rows):
    model = model_and_rows[0]
    import pandas as pd
    return model.predict(pd.DataFrame(rows, columns=FEATURES)).astype(np.int64)


def fp32_input(rows, binary):
    inp = httpclient.InferInput("input", list(rows.shape), "FP32")
    inp.set_data_from_numpy(rows, binary_data=binary)
    return inp


def test_server_live_ready_and_metadata(client):
    assert client.is_server_live() is True
    assert client.is_server_ready() is True
    meta = client.get_server_metadata()
    assert meta["name"]
    assert meta["version"]
    assert isinstance(meta.get("extensions", []), list)


def test_model_ready(client):
    assert client.is_model_ready(MODEL) is True
    assert client.is_model_ready(MODEL, "1") is True
    assert client.is_model_ready("no-such-model") is False
    assert client.is_model_ready(MODEL, "42") is False


def test_model_metadata_has_the_signature(client):
    meta = client.get_model_metadata(MODEL)
    assert meta["name"] == MODEL
    assert "1" in meta["versions"]
    inputs = meta["inputs"]
    assert [i["name"] for i in inputs] == FEATURES
    assert all(i["datatype"] == "FP32" for i in inputs), inputs
    assert all(i["shape"] == [-1] for i in inputs), inputs
    assert len(meta["outputs"]) == 1
    assert meta["outputs"][0]["datatype"] == "INT64", meta["outputs"]
    by_version = client.get_model_metadata(MODEL, "1")
    assert by_version["inputs"] == inputs


def test_infer_one_row_json(client, model_and_rows):
    rows = model_and_rows[2][:1]
    out = httpclient.InferRequestedOutput("predict", binary_data=False)
    res = client.infer(MODEL, [fp32_input(rows, binary=False)], outputs=[out])
    got = res.as_numpy("predict")
    assert got is not None, res.get_response()
    np.testing.assert_array_equal(got.reshape(-1), want(model_and_rows, rows))
    resp = res.get_response()
    assert resp["model_name"] == MODEL
    assert resp["outputs"][0]["shape"] == [1]
    assert "data" in resp["outputs"][0]  # JSON, not binary


def test_infer_binary_default(client, model_and_rows):
    rows = model_and_rows[2][:1]
    res = client.infer(MODEL, [fp32_input(rows, binary=True)])  # tritonclient's defaults: binary both ways
    resp = res.get_response()
    assert resp["outputs"][0]["parameters"]["binary_data_size"] == 8  # one INT64
    np.testing.assert_array_equal(res.as_numpy(resp["outputs"][0]["name"]).reshape(-1),
                                  want(model_and_rows, rows))


@pytest.mark.parametrize("binary", [False, True])
def test_infer_many_rows(client, model_and_rows, binary):
    rows = model_and_rows[2]
    expected = want(model_and_rows, rows)
    assert 0 < expected.sum() < len(expected)  # both classes
    out = httpclient.InferRequestedOutput("predict", binary_data=binary)
    res = client.infer(MODEL, [fp32_input(rows, binary=binary)], outputs=[out])
    got = res.as_numpy("predict")
    assert got.shape == (len(rows),)
    np.testing.assert_array_equal(got, expected)


def test_infer_by_version_and_request_id(client, model_and_rows):
    rows = model_and_rows[2][:3]
    res = client.infer(MODEL, [fp32_input(rows, binary=True)], model_version="1", request_id="req-42")
    assert res.get_response()["id"] == "req-42"
    np.testing.assert_array_equal(res.as_numpy("predict").reshape(-1), want(model_and_rows, rows))


def test_wrong_datatype_is_an_error_naming_it(client):
    inp = httpclient.InferInput("input", [1, 10], "BYTES")
    inp.set_data_from_numpy(np.array([[b"x"] * 10], dtype=np.object_), binary_data=False)
    with pytest.raises(InferenceServerException) as e:
        client.infer(MODEL, [inp])
    assert e.value.status() == "400"
    assert "BYTES" in e.value.message(), e.value.message()


def test_wrong_shape_is_an_error(client):
    rows = np.zeros((1, 9), dtype=np.float32)
    with pytest.raises(InferenceServerException) as e:
        client.infer(MODEL, [fp32_input(rows, binary=False)])
    assert e.value.status() == "400"
    assert e.value.message()


def test_unknown_model_and_version(client, model_and_rows):
    rows = model_and_rows[2][:1]
    with pytest.raises(InferenceServerException) as e:
        client.infer("no-such-model", [fp32_input(rows, binary=False)])
    assert e.value.status() == "404"
    assert "no-such-model" in e.value.message()
    with pytest.raises(InferenceServerException) as e:
        client.infer(MODEL, [fp32_input(rows, binary=False)], model_version="42")
    assert e.value.status() == "404"
    assert "42" in e.value.message()
    with pytest.raises(InferenceServerException) as e:
        client.get_model_metadata("no-such-model")
    assert e.value.status() == "404"


@pytest.mark.parametrize("binary", [False, True])
def test_missing_values_as_nan(client, model_and_rows, binary):
    # tritonclient's JSON mode writes NaN as a bare token; XGBoost treats NaN as missing.
    rows = model_and_rows[2][:4].copy()
    rows[:, 5] = np.nan
    rows[1, 0] = np.nan
    out = httpclient.InferRequestedOutput("predict", binary_data=binary)
    res = client.infer(MODEL, [fp32_input(rows, binary=binary)], outputs=[out])
    np.testing.assert_array_equal(res.as_numpy("predict").reshape(-1), want(model_and_rows, rows))
