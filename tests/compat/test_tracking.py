"""Experiments, runs, metrics, params, tags, search and datasets through the real mlflow client."""

import json
import math
import sys
import time

import mlflow
import pytest
import requests
from mlflow.entities import Metric, Param, RunStatus, RunTag, ViewType
from mlflow.exceptions import MlflowException
from mlflow.utils.search_utils import SearchUtils

from compat_server import cairn_only


def error_code(excinfo):
    return excinfo.value.error_code


# --------------------------------------------------------------------------- the issue's example


def test_issue_example(server, tmp_path):
    mlflow.set_experiment("fraud")
    with mlflow.start_run() as run:
        mlflow.log_params({"lr": 0.1, "depth": 6})
        for step in range(100):
            mlflow.log_metric("loss", 1 / (step + 1), step=step)
        model = tmp_path / "model.json"
        model.write_text(json.dumps({"trees": 6, "kind": "gbdt"}))
        mlflow.log_artifact(str(model))

    df = mlflow.search_runs(filter_string="metrics.loss < 0.5 and params.depth = '6'",
                            order_by=["metrics.loss ASC"])
    assert len(df) == 1
    row = df.iloc[0]
    assert row["run_id"] == run.info.run_id
    assert row["metrics.loss"] == pytest.approx(0.01)
    assert row["params.depth"] == "6"
    assert row["params.lr"] == "0.1"
    assert row["status"] == "FINISHED"

    # The artifact is there, byte for byte.
    names = [a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id)]
    assert names == ["model.json"]
    text = mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/model.json")
    assert json.loads(text) == {"trees": 6, "kind": "gbdt"}

    # A filter that excludes it returns nothing.
    df2 = mlflow.search_runs(filter_string="metrics.loss > 0.5 and params.depth = '6'")
    assert len(df2) == 0


# --------------------------------------------------------------------------- experiments


def test_experiment_create_get_by_id_and_name(client, uniq):
    name = f"exp-create-{uniq}"
    exp_id = client.create_experiment(name, tags={"team": "risk", "owner": "ana"})
    assert isinstance(exp_id, str) and exp_id

    exp = client.get_experiment(exp_id)
    assert exp.experiment_id == exp_id
    assert exp.name == name
    assert exp.lifecycle_stage == "active"
    assert exp.tags["team"] == "risk"
    assert exp.tags["owner"] == "ana"
    assert exp.artifact_location  # the server assigns one
    assert exp.creation_time and exp.creation_time > 1_600_000_000_000  # milliseconds

    by_name = client.get_experiment_by_name(name)
    assert by_name is not None and by_name.experiment_id == exp_id

    assert client.get_experiment_by_name(f"no-such-experiment-{uniq}") is None


def test_experiment_duplicate_name_is_already_exists(client, uniq):
    name = f"exp-dup-{uniq}"
    client.create_experiment(name)
    with pytest.raises(MlflowException) as e:
        client.create_experiment(name)
    assert error_code(e) == "RESOURCE_ALREADY_EXISTS"


def test_experiment_unknown_id_is_does_not_exist(client):
    with pytest.raises(MlflowException) as e:
        client.get_experiment("987654321")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_experiment_search_filter_order_and_pages(client, uniq):
    prefix = f"srch-{uniq}-"
    ids = {}
    for i in range(5):
        ids[i] = client.create_experiment(f"{prefix}{i}", tags={"team": "a" if i % 2 else "b"})

    found = client.search_experiments(filter_string=f"name LIKE '{prefix}%'")
    assert sorted(e.name for e in found) == [f"{prefix}{i}" for i in range(5)]

    team_a = client.search_experiments(filter_string=f"name LIKE '{prefix}%' AND tags.team = 'a'")
    assert sorted(e.experiment_id for e in team_a) == sorted([ids[1], ids[3]])

    desc = client.search_experiments(filter_string=f"name LIKE '{prefix}%'", order_by=["name DESC"])
    assert [e.name for e in desc] == [f"{prefix}{i}" for i in reversed(range(5))]

    # ILIKE is case-insensitive, LIKE is not.
    upper = prefix.upper()
    assert len(client.search_experiments(filter_string=f"name ILIKE '{upper}%'")) == 5
    assert len(client.search_experiments(filter_string=f"name LIKE '{upper}%'")) == 0

    # Paging: 2 + 2 + 1, no duplicates, every experiment exactly once, in order.
    pages, token, seen = 0, None, []
    while True:
        page = client.search_experiments(filter_string=f"name LIKE '{prefix}%'", order_by=["name ASC"],
                                         max_results=2, page_token=token)
        pages += 1
        assert len(page) <= 2
        seen.extend(e.name for e in page)
        token = page.token
        if not token:
            break
        assert pages < 10, "page token never ends"
    assert pages == 3
    assert seen == [f"{prefix}{i}" for i in range(5)]


def test_experiment_rename(client, uniq):
    exp_id = client.create_experiment(f"exp-old-{uniq}")
    client.rename_experiment(exp_id, f"exp-new-{uniq}")
    assert client.get_experiment(exp_id).name == f"exp-new-{uniq}"
    assert client.get_experiment_by_name(f"exp-old-{uniq}") is None
    assert client.get_experiment_by_name(f"exp-new-{uniq}").experiment_id == exp_id


def test_experiment_delete_and_restore(client, uniq):
    name = f"exp-del-{uniq}"
    exp_id = client.create_experiment(name)
    client.delete_experiment(exp_id)

    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    flt = f"name = '{name}'"
    assert [e.experiment_id for e in client.search_experiments(filter_string=flt)] == []
    assert [e.experiment_id for e in client.search_experiments(filter_string=flt, view_type=ViewType.ALL)] \
        == [exp_id]
    assert [e.experiment_id
            for e in client.search_experiments(filter_string=flt, view_type=ViewType.DELETED_ONLY)] == [exp_id]

    client.restore_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "active"
    assert [e.experiment_id for e in client.search_experiments(filter_string=flt)] == [exp_id]


def test_experiment_tags(client, uniq):
    exp_id = client.create_experiment(f"exp-tags-{uniq}")
    client.set_experiment_tag(exp_id, "stage", "dev")
    client.set_experiment_tag(exp_id, "stage", "prod")  # overwrite
    client.set_experiment_tag(exp_id, "note", "x" * 5000)
    tags = client.get_experiment(exp_id).tags
    assert tags["stage"] == "prod"
    assert tags["note"] == "x" * 5000
    found = client.search_experiments(filter_string=f"tags.stage = 'prod' AND name = 'exp-tags-{uniq}'")
    assert [e.experiment_id for e in found] == [exp_id]

    if hasattr(client, "delete_experiment_tag"):
        client.delete_experiment_tag(exp_id, "stage")
        tags = client.get_experiment(exp_id).tags
        assert "stage" not in tags
        assert tags["note"] == "x" * 5000


# --------------------------------------------------------------------------- runs


def test_run_create_get_terminate(client, experiment_id):
    before = int(time.time() * 1000)
    run = client.create_run(experiment_id, tags={"team": "risk", "mlflow.user": "ana"}, run_name="first")
    run_id = run.info.run_id
    assert run.info.run_name == "first"
    assert run.info.status == "RUNNING"

    got = client.get_run(run_id)
    assert got.info.run_id == run_id
    assert got.info.experiment_id == experiment_id
    assert got.info.run_name == "first"
    assert got.info.status == "RUNNING"
    assert got.info.lifecycle_stage == "active"
    assert got.info.end_time is None
    assert before - 5000 <= got.info.start_time <= int(time.time() * 1000) + 5000
    assert got.data.tags["team"] == "risk"
    assert got.data.tags["mlflow.runName"] == "first"
    assert got.info.artifact_uri  # the client writes artifacts there

    client.set_terminated(run_id, "FINISHED")
    done = client.get_run(run_id)
    assert done.info.status == "FINISHED"
    assert done.info.end_time is not None and done.info.end_time >= done.info.start_time

    failed = client.create_run(experiment_id, run_name="second")
    client.set_terminated(failed.info.run_id, "FAILED", end_time=done.info.end_time + 1234)
    f = client.get_run(failed.info.run_id)
    assert f.info.status == "FAILED"
    assert f.info.end_time == done.info.end_time + 1234


def test_run_update_name(client, experiment_id):
    run_id = client.create_run(experiment_id, run_name="before").info.run_id
    client.update_run(run_id, name="after")
    got = client.get_run(run_id)
    assert got.info.run_name == "after"
    assert got.data.tags["mlflow.runName"] == "after"


def test_run_delete_and_restore(client, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id
    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    assert client.search_runs([experiment_id]) == []
    client.restore_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"
    assert [r.info.run_id for r in client.search_runs([experiment_id])] == [run_id]


def test_run_set_and_delete_tag(client, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id
    client.set_tag(run_id, "color", "blue")
    client.set_tag(run_id, "color", "green")
    client.set_tag(run_id, "shape", "round")
    assert client.get_run(run_id).data.tags["color"] == "green"
    client.delete_tag(run_id, "color")
    tags = client.get_run(run_id).data.tags
    assert "color" not in tags
    assert tags["shape"] == "round"
    with pytest.raises(MlflowException) as e:
        client.delete_tag(run_id, "never-set")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_log_batch_metrics_params_tags(client, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id
    ts = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric("acc", 0.5, ts, 0), Metric("acc", 0.75, ts + 1, 1), Metric("loss", 2.5, ts, 0)],
        params=[Param("optimizer", "adam"), Param("layers", "3")],
        tags=[RunTag("phase", "train"), RunTag("gpu", "a100")],
    )
    data = client.get_run(run_id).data
    assert data.metrics == {"acc": 0.75, "loss": 2.5}
    assert data.params == {"optimizer": "adam", "layers": "3"}
    assert data.tags["phase"] == "train" and data.tags["gpu"] == "a100"
    hist = client.get_metric_history(run_id, "acc")
    assert [(m.step, m.value, m.timestamp) for m in hist] == [(0, 0.5, ts), (1, 0.75, ts + 1)]


def test_latest_metric_is_the_highest_step_not_the_last_logged(client, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id
    ts = int(time.time() * 1000)
    client.log_metric(run_id, "m", 5.0, timestamp=ts, step=10)
    client.log_metric(run_id, "m", 1.0, timestamp=ts + 10, step=3)  # older step, logged later
    assert client.get_run(run_id).data.metrics["m"] == 5.0


def test_log_param_conflict_is_invalid_parameter_value(client, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id
    client.log_param(run_id, "depth", "6")
    client.log_param(run_id, "depth", "6")  # same value: allowed
    with pytest.raises(MlflowException) as e:
        client.log_param(run_id, "depth", "7")
    assert error_code(e) == "INVALID_PARAMETER_VALUE"
    assert client.get_run(run_id).data.params["depth"] == "6"


def test_nan_and_inf_metric_values(client, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id
    client.log_metric(run_id, "nan", float("nan"), step=0)
    client.log_metric(run_id, "pinf", float("inf"), step=0)
    client.log_metric(run_id, "ninf", float("-inf"), step=0)
    metrics = client.get_run(run_id).data.metrics
    assert math.isnan(metrics["nan"])
    # MLflow's SQL store clamps +-inf to +-max double; Cairn keeps inf. Both read back as "infinite-ish".
    assert metrics["pinf"] == float("inf") or metrics["pinf"] == sys.float_info.max
    assert metrics["ninf"] == float("-inf") or metrics["ninf"] == -sys.float_info.max
    hist = client.get_metric_history(run_id, "nan")
    assert len(hist) == 1 and math.isnan(hist[0].value)


def test_metric_history_100_steps_in_order(client, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id
    for step in range(100):
        client.log_metric(run_id, "loss", 1 / (step + 1), step=step)
    hist = client.get_metric_history(run_id, "loss")
    assert [m.step for m in hist] == list(range(100))
    for m in hist:
        assert m.value == pytest.approx(1 / (m.step + 1), rel=0, abs=0)  # exact round-trip
        assert m.key == "loss"
    assert client.get_run(run_id).data.metrics["loss"] == 0.01


def test_get_run_unknown_is_does_not_exist(client):
    with pytest.raises(MlflowException) as e:
        client.get_run("0123456789abcdef0123456789abcdef")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_log_batch_over_1000_metrics_is_invalid(server, client, experiment_id):
    # The client splits big batches itself, so the limit is checked through the REST call.
    run_id = client.create_run(experiment_id).info.run_id
    ts = int(time.time() * 1000)
    body = {"run_id": run_id,
            "metrics": [{"key": "m", "value": float(i), "timestamp": ts, "step": i} for i in range(1001)]}
    r = requests.post(server.uri + "/api/2.0/mlflow/runs/log-batch", json=body, timeout=30)
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert client.get_metric_history(run_id, "m") == []

    body["metrics"] = body["metrics"][:1000]
    r = requests.post(server.uri + "/api/2.0/mlflow/runs/log-batch", json=body, timeout=30)
    assert r.status_code == 200, r.text
    assert len(client.get_metric_history(run_id, "m")) == 1000


def test_log_batch_over_100_params_is_invalid(server, client, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id
    body = {"run_id": run_id, "params": [{"key": f"p{i}", "value": "v"} for i in range(101)]}
    r = requests.post(server.uri + "/api/2.0/mlflow/runs/log-batch", json=body, timeout=30)
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert client.get_run(run_id).data.params == {}


def test_client_splits_large_batches(client, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id
    ts = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric("m", float(i), ts, i) for i in range(2500)],
                     params=[Param(f"p{i}", str(i)) for i in range(150)])
    hist = client.get_metric_history(run_id, "m")
    assert sorted((m.step, m.value) for m in hist) == [(i, float(i)) for i in range(2500)]
    assert len(client.get_run(run_id).data.params) == 150


def test_log_to_unknown_run_is_does_not_exist(client):
    with pytest.raises(MlflowException) as e:
        client.log_metric("0123456789abcdef0123456789abcdef", "m", 1.0)
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


@cairn_only
def test_log_batch_is_atomic_when_a_param_conflicts(client, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id
    client.log_param(run_id, "p", "1")
    ts = int(time.time() * 1000)
    with pytest.raises(MlflowException) as e:
        client.log_batch(run_id,
                         metrics=[Metric("atomic", float(i), ts, i) for i in range(10)],
                         params=[Param("q", "new"), Param("p", "2")],
                         tags=[RunTag("t", "x")])
    assert error_code(e) == "INVALID_PARAMETER_VALUE"
    data = client.get_run(run_id).data
    assert "atomic" not in data.metrics
    assert client.get_metric_history(run_id, "atomic") == []
    assert data.params == {"p": "1"}
    assert "t" not in data.tags


# --------------------------------------------------------------------------- search_runs

RUNS = [  # i: (model param, team tag, final status)
    ("xgb", "red", "FINISHED"),
    ("XGB-big", "blue", "FINISHED"),
    ("lgbm", "red", "FAILED"),
    ("xgb-small", "green", "FINISHED"),
    ("rf", "blue", "KILLED"),
    ("lgbm", "red", None),  # still RUNNING
]


@pytest.fixture(scope="module")
def search_fixture(server):
    """Six runs with known params/tags/metrics/status/start_time; returns (exp_id, [run_id by i])."""
    import uuid
    client = mlflow.MlflowClient(tracking_uri=server.uri)
    exp_id = client.create_experiment(f"search-{uuid.uuid4().hex[:10]}")
    base = int(time.time() * 1000) - 100_000
    ids = []
    for i, (model, team, status) in enumerate(RUNS):
        run = client.create_run(exp_id, run_name=f"run-{i}", start_time=base + i * 1000, tags={"team": team})
        rid = run.info.run_id
        client.log_batch(rid, metrics=[Metric("acc", i / 10, base, 0)],
                         params=[Param("model", model), Param("depth", str(i))])
        if status:
            client.set_terminated(rid, status, end_time=base + i * 1000 + 500)
        ids.append(rid)
    return exp_id, ids


def _search_idx(client, fixture, flt, **kw):
    exp_id, ids = fixture
    runs = client.search_runs([exp_id], filter_string=flt, **kw)
    return [ids.index(r.info.run_id) for r in runs]


@pytest.mark.parametrize("flt,expected", [
    ("metrics.acc = 0.3", {3}),
    ("metrics.acc != 0.3", {0, 1, 2, 4, 5}),
    ("metrics.acc < 0.3", {0, 1, 2}),
    ("metrics.acc <= 0.3", {0, 1, 2, 3}),
    ("metrics.acc > 0.3", {4, 5}),
    ("metrics.acc >= 0.3", {3, 4, 5}),
    ("params.model = 'xgb'", {0}),
    ("params.model != 'xgb'", {1, 2, 3, 4, 5}),
    ("params.model LIKE 'xgb%'", {0, 3}),
    ("params.model ILIKE 'xgb%'", {0, 1, 3}),
    ("params.model LIKE '%gb%'", {0, 2, 3, 5}),
    ("params.depth = '4'", {4}),
    ("tags.team = 'red'", {0, 2, 5}),
    ("tags.team != 'red'", {1, 3, 4}),
    ("tags.team LIKE 'b%'", {1, 4}),
    ("tags.team ILIKE 'RE%'", {0, 2, 5}),
    ("attributes.status = 'FINISHED'", {0, 1, 3}),
    ("attributes.status != 'FINISHED'", {2, 4, 5}),
    ("attributes.status = 'RUNNING'", {5}),
    ("attributes.status LIKE 'F%'", {0, 1, 2, 3}),
    ("attributes.run_name = 'run-2'", {2}),
    ("attributes.run_name != 'run-2'", {0, 1, 3, 4, 5}),
    ("attributes.run_name LIKE 'run-%'", {0, 1, 2, 3, 4, 5}),
    ("attributes.run_name ILIKE 'RUN-1%'", {1}),
    ("metrics.acc > 0.1 and params.model LIKE '%gb%' and tags.team = 'red'", {2, 5}),
    ("metrics.acc >= 0 and attributes.status != 'RUNNING' and tags.team ILIKE 'B%'", {1, 4}),
    ("metrics.missing > 0", set()),
    ("params.missing = 'x'", set()),
])
def test_search_runs_comparators(client, search_fixture, flt, expected):
    assert set(_search_idx(client, search_fixture, flt)) == expected


def test_search_runs_numeric_time_attributes(client, search_fixture):
    exp_id, ids = search_fixture
    start3 = client.get_run(ids[3]).info.start_time
    assert set(_search_idx(client, search_fixture, f"attributes.start_time >= {start3}")) == {3, 4, 5}
    assert set(_search_idx(client, search_fixture, f"attributes.start_time < {start3}")) == {0, 1, 2}
    end1 = client.get_run(ids[1]).info.end_time
    assert set(_search_idx(client, search_fixture, f"attributes.end_time = {end1}")) == {1}


def test_search_runs_run_id_in_and_not_in(client, search_fixture):
    exp_id, ids = search_fixture
    in_list = ", ".join(f"'{ids[i]}'" for i in (1, 4))
    assert set(_search_idx(client, search_fixture, f"attributes.run_id IN ({in_list})")) == {1, 4}
    assert set(_search_idx(client, search_fixture, f"attributes.run_id NOT IN ({in_list})")) == {0, 2, 3, 5}
    assert set(_search_idx(client, search_fixture, f"attributes.run_id = '{ids[2]}'")) == {2}


@pytest.mark.skipif("IS NULL" not in SearchUtils.VALID_PARAM_COMPARATORS,
                    reason="IS NULL / IS NOT NULL are not in this mlflow version's grammar")
def test_search_runs_is_null(client, search_fixture):
    assert set(_search_idx(client, search_fixture, "params.model IS NOT NULL")) == {0, 1, 2, 3, 4, 5}
    assert set(_search_idx(client, search_fixture, "params.missing IS NULL")) == {0, 1, 2, 3, 4, 5}
    assert set(_search_idx(client, search_fixture, "tags.team IS NULL")) == set()


@pytest.mark.parametrize("order_by,expected", [
    (["metrics.acc DESC"], [5, 4, 3, 2, 1, 0]),
    (["metrics.acc ASC"], [0, 1, 2, 3, 4, 5]),
    (["metrics.acc"], [0, 1, 2, 3, 4, 5]),
    (["params.depth DESC"], [5, 4, 3, 2, 1, 0]),
    (["attributes.run_name ASC"], [0, 1, 2, 3, 4, 5]),
    (["attributes.start_time DESC"], [5, 4, 3, 2, 1, 0]),
    (["attributes.start_time ASC"], [0, 1, 2, 3, 4, 5]),
    (None, [5, 4, 3, 2, 1, 0]),  # default: newest start_time first
    (["tags.team ASC", "metrics.acc DESC"], [4, 1, 3, 5, 2, 0]),
    (["params.model DESC", "attributes.run_name DESC"], [3, 0, 4, 5, 2, 1]),
])
def test_search_runs_order_by(client, search_fixture, order_by, expected):
    assert _search_idx(client, search_fixture, "", order_by=order_by) == expected


def test_search_runs_paging(client, search_fixture):
    exp_id, ids = search_fixture
    for order_by in (None, ["metrics.acc ASC"]):
        token, seen, pages = None, [], 0
        while True:
            page = client.search_runs([exp_id], max_results=2, order_by=order_by, page_token=token)
            assert len(page) <= 2
            seen.extend(r.info.run_id for r in page)
            pages += 1
            token = page.token
            if not token:
                break
            assert pages < 10, "page token never ends"
        assert len(seen) == len(set(seen)) == 6, "duplicates or missing runs across pages"
        assert set(seen) == set(ids)
        if order_by:
            assert seen == ids  # acc ascends with i
        else:
            assert seen == list(reversed(ids))
        assert pages in (3, 4)  # a final empty page is allowed


def test_search_runs_view_types(client, experiment_id):
    ids = [client.create_run(experiment_id, run_name=f"v{i}").info.run_id for i in range(3)]
    client.delete_run(ids[1])
    active = {r.info.run_id for r in client.search_runs([experiment_id], run_view_type=ViewType.ACTIVE_ONLY)}
    deleted = {r.info.run_id for r in client.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)}
    everything = {r.info.run_id for r in client.search_runs([experiment_id], run_view_type=ViewType.ALL)}
    assert active == {ids[0], ids[2]}
    assert deleted == {ids[1]}
    assert everything == set(ids)


def test_search_runs_across_experiments(client, uniq):
    a = client.create_experiment(f"multi-a-{uniq}")
    b = client.create_experiment(f"multi-b-{uniq}")
    ra = client.create_run(a).info.run_id
    rb = client.create_run(b).info.run_id
    assert {r.info.run_id for r in client.search_runs([a, b])} == {ra, rb}
    assert {r.info.run_id for r in client.search_runs([b])} == {rb}


@pytest.mark.parametrize("flt", [
    "metrics.acc >>> 1",
    "foo.bar = 'x'",
    "params.model = xgb",
    "params.model = 'xgb' OR params.model = 'rf'",
    "params.model = 'xgb'; DROP TABLE runs",
    "params.model IN ('xgb')",
    "metrics.acc < 'abc'",
    "attributes.start_time > 'yesterday'",
])
def test_search_runs_malformed_filter_is_invalid(client, search_fixture, flt):
    exp_id, _ = search_fixture
    with pytest.raises(MlflowException) as e:
        client.search_runs([exp_id], filter_string=flt)
    assert error_code(e) == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("order_by", [["metrics.acc SIDEWAYS"], ["foo.acc"], ["attributes.nope DESC"]])
def test_search_runs_malformed_order_by_is_invalid(client, search_fixture, order_by):
    exp_id, _ = search_fixture
    with pytest.raises(MlflowException) as e:
        client.search_runs([exp_id], order_by=order_by)
    assert error_code(e) == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("flt", [
    "params.model = 'x'' OR 1=1 --'",
    "params.model = 'xgb'' OR ''1''=''1'",
    "tags.`team; DROP TABLE runs; --` = 'x'",
    "params.`model' OR '1'='1` = 'xgb'",
    "attributes.run_name = 'run-0\\' OR 1=1 --'",
])
def test_search_runs_sql_injection_matches_nothing(client, search_fixture, flt):
    exp_id, ids = search_fixture
    try:
        runs = client.search_runs([exp_id], filter_string=flt)
        assert runs == [], f"injection text matched runs: {[r.info.run_name for r in runs]}"
    except MlflowException as e:
        assert e.error_code == "INVALID_PARAMETER_VALUE"
    # The data is intact.
    everything = client.search_runs([exp_id], run_view_type=ViewType.ALL)
    assert {r.info.run_id for r in everything} == set(ids)
    assert client.get_run(ids[0]).data.params["model"] == "xgb"


# --------------------------------------------------------------------------- datasets


def test_log_input_dataset_and_search_by_dataset(client, experiment_id, uniq):
    import pandas as pd
    df = pd.DataFrame({"amount": [1.5, 20.0, 3.25], "label": [0, 1, 0]})
    ds = mlflow.data.from_pandas(df, name=f"transactions-{uniq}", targets="label")
    other = client.create_run(experiment_id).info.run_id
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_input(ds, context="training")
    run_id = run.info.run_id

    inputs = client.get_run(run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    d = inputs[0].dataset
    assert d.name == f"transactions-{uniq}"
    assert d.digest == ds.digest
    assert d.source_type == ds._to_mlflow_entity().source_type
    assert json.loads(d.schema) == json.loads(ds.to_dict()["schema"])
    ctx = {t.key: t.value for t in inputs[0].tags}
    assert ctx.get("mlflow.data.context") == "training"

    assert client.get_run(other).inputs.dataset_inputs == []

    by_name = client.search_runs([experiment_id], filter_string=f"datasets.name = 'transactions-{uniq}'")
    assert [r.info.run_id for r in by_name] == [run_id]
    by_digest = client.search_runs([experiment_id], filter_string=f"datasets.digest = '{ds.digest}'")
    assert [r.info.run_id for r in by_digest] == [run_id]
    by_ctx = client.search_runs([experiment_id], filter_string="datasets.context = 'training'")
    assert [r.info.run_id for r in by_ctx] == [run_id]
    in_list = client.search_runs([experiment_id], filter_string=f"datasets.name IN ('zzz', 'transactions-{uniq}')")
    assert [r.info.run_id for r in in_list] == [run_id]
    assert client.search_runs([experiment_id], filter_string="datasets.name = 'nope'") == []


def test_log_same_dataset_twice_is_deduplicated(client, experiment_id, uniq):
    import pandas as pd
    ds = mlflow.data.from_pandas(pd.DataFrame({"x": [1, 2, 3]}), name=f"dedup-{uniq}")
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_input(ds, context="training")
        mlflow.log_input(ds, context="training")
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    assert inputs[0].dataset.digest == ds.digest


@pytest.mark.skipif(not hasattr(mlflow.MlflowClient, "search_logged_models"),
                    reason="logged models arrived with mlflow 3")
def test_search_logged_models_of_an_experiment_without_models(client, experiment_id):
    # mlflow 3's list_artifacts(run_id, path) / runs:/ URIs call logged-models/search to merge a
    # logged model's files into the run's listing, so the endpoint must answer even when empty.
    client.create_run(experiment_id)
    assert list(client.search_logged_models(experiment_ids=[experiment_id])) == []
    page = client.search_logged_models(experiment_ids=[experiment_id], filter_string="name = 'model'")
    assert list(page) == [] and not page.token


# --------------------------------------------------------------------------- fluent API end to end


def test_fluent_nested_runs_and_autotags(server, uniq):
    mlflow.set_experiment(f"fluent-{uniq}")
    with mlflow.start_run(run_name="parent") as parent:
        mlflow.set_tags({"stage": "sweep"})
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_metric("score", 0.9)
    client = mlflow.MlflowClient()
    c = client.get_run(child.info.run_id)
    assert c.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert c.info.status == "FINISHED"
    p = client.get_run(parent.info.run_id)
    assert p.data.tags["stage"] == "sweep"
    children = client.search_runs([p.info.experiment_id],
                                  filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert [r.info.run_id for r in children] == [child.info.run_id]


def test_fluent_run_failed_on_exception(server, uniq):
    mlflow.set_experiment(f"fluent-fail-{uniq}")
    with pytest.raises(RuntimeError):
        with mlflow.start_run() as run:
            raise RuntimeError("boom")
    assert mlflow.MlflowClient().get_run(run.info.run_id).info.status == RunStatus.to_string(RunStatus.FAILED)
