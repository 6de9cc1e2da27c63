"""The model registry through the real mlflow client (MlflowClient): registered models, model
versions, stages, aliases, search and paging, with MLflow's values and error codes.

Every test here must pass against the real `mlflow server` too (CAIRN_COMPAT_TARGET=mlflow);
nothing in this file is Cairn-only. Names carry a unique suffix: the server is shared by the session.
"""

import os
import time

import mlflow
import pytest
import requests
from mlflow.exceptions import MlflowException

MLFLOW_MAJOR = int(mlflow.__version__.split(".")[0])

MLMODEL = """\
artifact_path: model
flavors:
  python_function:
    env:
      virtualenv: python_env.yaml
    loader_module: mlflow.pyfunc.model
    python_version: 3.11.2
mlflow_version: 2.22.0
model_uuid: 0b1c2d3e4f5a46b7a8c9d0e1f2a3b4c5
signature:
  inputs: '[{"type": "double", "name": "x", "required": true}]'
  outputs: '[{"type": "double", "required": true}]'
  params: null
utc_time_created: '2025-01-01 00:00:00.000000'
"""


def error_code(excinfo):
    return excinfo.value.error_code


@pytest.fixture(autouse=True)
def _quiet_stage_deprecation(monkeypatch):
    # Stages are deprecated in MLflow >= 2.9; the client warns, it still works.
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


@pytest.fixture
def make_source(client, experiment_id, tmp_path):
    """Logs a tiny model folder as a run's artifacts; returns (run_id, source URI)."""
    counter = [0]

    def make(payload="w=1"):
        counter[0] += 1
        d = tmp_path / f"model-src-{counter[0]}"
        d.mkdir()
        (d / "MLmodel").write_text(MLMODEL)
        (d / "weights.txt").write_text(payload)
        run = client.create_run(experiment_id)
        run_id = run.info.run_id
        client.log_artifacts(run_id, str(d), artifact_path="model")
        client.set_terminated(run_id)
        return run_id, f"{run.info.artifact_uri}/model"

    return make


@pytest.fixture
def model_with_versions(client, uniq, make_source):
    """A registered model with three versions (each from its own run): (name, [run_ids], [sources])."""
    name = f"mv-{uniq}"
    client.create_registered_model(name)
    runs, sources = [], []
    for i in range(3):
        run_id, src = make_source(f"w={i}")
        mv = client.create_model_version(name, src, run_id=run_id)
        assert mv.version == str(i + 1)
        runs.append(run_id)
        sources.append(src)
    return name, runs, sources


def all_pages(fetch, max_results):
    """Follows page tokens to the end; returns the list of pages (each a list)."""
    pages, token = [], None
    for _ in range(100):
        page = fetch(max_results=max_results, page_token=token)
        pages.append(list(page))
        token = page.token
        if not token:
            return pages
    raise AssertionError("page tokens never ended")


# --------------------------------------------------------------------------- registered models


def test_create_and_get_registered_model(client, uniq):
    name = f"rm-create-{uniq}"
    t0 = int(time.time() * 1000)
    rm = client.create_registered_model(name, tags={"team": "risk", "tier": "1"}, description="fraud scorer")
    assert rm.name == name
    assert rm.description == "fraud scorer"
    assert rm.tags == {"team": "risk", "tier": "1"}
    assert rm.creation_timestamp >= t0 - 5000
    assert rm.last_updated_timestamp == rm.creation_timestamp

    got = client.get_registered_model(name)
    assert got.name == name
    assert got.description == "fraud scorer"
    assert got.tags == {"team": "risk", "tier": "1"}
    assert got.creation_timestamp == rm.creation_timestamp
    assert got.latest_versions == []
    assert got.aliases == {}


def test_create_registered_model_duplicate_is_already_exists(client, uniq):
    name = f"rm-dup-{uniq}"
    client.create_registered_model(name)
    with pytest.raises(MlflowException) as e:
        client.create_registered_model(name)
    assert error_code(e) == "RESOURCE_ALREADY_EXISTS"
    assert name in str(e.value)


def test_create_registered_model_empty_name_is_invalid(client):
    with pytest.raises(MlflowException) as e:
        client.create_registered_model("")
    assert error_code(e) == "INVALID_PARAMETER_VALUE"


def test_get_unknown_registered_model_is_not_found(client, uniq):
    with pytest.raises(MlflowException) as e:
        client.get_registered_model(f"no-such-model-{uniq}")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_update_registered_model_description(client, uniq):
    name = f"rm-upd-{uniq}"
    rm = client.create_registered_model(name, description="old")
    time.sleep(0.01)
    up = client.update_registered_model(name, description="new words")
    assert up.name == name
    assert up.description == "new words"
    got = client.get_registered_model(name)
    assert got.description == "new words"
    assert got.last_updated_timestamp >= rm.last_updated_timestamp
    with pytest.raises(MlflowException) as e:
        client.update_registered_model(f"no-such-{uniq}", description="x")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_rename_registered_model_versions_follow(client, model_with_versions, uniq):
    name, runs, _ = model_with_versions
    client.set_registered_model_alias(name, "champion", "2")
    new = f"renamed-{uniq}"
    client.rename_registered_model(name, new)  # the client returns None (2.x) or the model

    with pytest.raises(MlflowException) as e:
        client.get_registered_model(name)
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"

    got = client.get_registered_model(new)
    assert got.aliases == {"champion": "2"}
    for v in ("1", "2", "3"):
        mv = client.get_model_version(new, v)
        assert mv.name == new
        assert mv.run_id == runs[int(v) - 1]
    assert client.get_model_version_by_alias(new, "champion").version == "2"
    found = client.search_model_versions(f"name = '{new}'")
    assert sorted(mv.version for mv in found) == ["1", "2", "3"]
    assert client.search_model_versions(f"name = '{name}'") == []

    # A new version continues the numbering under the new name.
    mv4 = client.create_model_version(new, client.get_model_version(new, "1").source, run_id=runs[0])
    assert mv4.version == "4"


def test_rename_to_existing_name_is_already_exists(client, uniq):
    a, b = f"rn-a-{uniq}", f"rn-b-{uniq}"
    client.create_registered_model(a)
    client.create_registered_model(b)
    with pytest.raises(MlflowException) as e:
        client.rename_registered_model(a, b)
    assert error_code(e) == "RESOURCE_ALREADY_EXISTS"
    assert client.get_registered_model(a).name == a  # nothing changed


def test_rename_unknown_model_is_not_found(client, uniq):
    with pytest.raises(MlflowException) as e:
        client.rename_registered_model(f"no-such-{uniq}", f"other-{uniq}")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_delete_registered_model_deletes_versions(client, model_with_versions):
    name, _, _ = model_with_versions
    client.delete_registered_model(name)
    with pytest.raises(MlflowException) as e:
        client.get_registered_model(name)
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.get_model_version(name, "1")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    assert client.search_model_versions(f"name = '{name}'") == []
    with pytest.raises(MlflowException) as e:
        client.delete_registered_model(name)
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    # The name is free again, and numbering starts over for the new model.
    client.create_registered_model(name)
    assert client.get_registered_model(name).latest_versions == []


def test_registered_model_tags_set_overwrite_delete(client, uniq):
    name = f"rm-tags-{uniq}"
    client.create_registered_model(name, tags={"a": "1"})
    client.set_registered_model_tag(name, "b", "2")
    client.set_registered_model_tag(name, "a", "one")
    assert client.get_registered_model(name).tags == {"a": "one", "b": "2"}
    client.delete_registered_model_tag(name, "a")
    assert client.get_registered_model(name).tags == {"b": "2"}
    client.delete_registered_model_tag(name, "a")  # deleting a missing tag is a no-op
    assert client.get_registered_model(name).tags == {"b": "2"}
    with pytest.raises(MlflowException) as e:
        client.set_registered_model_tag(f"no-such-{uniq}", "a", "1")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.delete_registered_model_tag(f"no-such-{uniq}", "a")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


# --------------------------------------------------------------------------- search registered models


@pytest.fixture
def search_models(client, uniq):
    """Five registered models under a unique prefix, created in a known order."""
    prefix = f"srch-{uniq}"
    # Lower case only: the order of mixed case depends on the database's collation.
    names = [f"{prefix}-delta", f"{prefix}-alpha", f"{prefix}-charlie", f"{prefix}-bravo", f"{prefix}-echo"]
    for i, n in enumerate(names):
        client.create_registered_model(n, tags={"team": "risk" if i % 2 == 0 else "growth", "idx": str(i)})
        time.sleep(0.01)  # distinct timestamps
    return prefix, names


def test_search_registered_models_name_like_and_order(client, search_models):
    prefix, names = search_models
    got = [m.name for m in client.search_registered_models(filter_string=f"name LIKE '{prefix}-%'")]
    # Default order: name ASC.
    assert got == sorted(names)
    got_desc = [m.name for m in client.search_registered_models(filter_string=f"name LIKE '{prefix}-%'",
                                                                order_by=["name DESC"])]
    assert got_desc == sorted(names, reverse=True)
    # LIKE is case-sensitive, ILIKE is not.
    assert [m.name for m in client.search_registered_models(
        filter_string=f"name LIKE '{prefix}-C%'")] == []
    assert [m.name for m in client.search_registered_models(
        filter_string=f"name LIKE '{prefix}-c%'")] == [f"{prefix}-charlie"]
    assert [m.name for m in client.search_registered_models(
        filter_string=f"name ILIKE '{prefix.upper()}-C%'")] == [f"{prefix}-charlie"]
    assert [m.name for m in client.search_registered_models(
        filter_string=f"name LIKE '%{prefix[5:]}-_lpha'")] == [f"{prefix}-alpha"]


def test_search_registered_models_name_equals(client, search_models):
    prefix, _ = search_models
    got = client.search_registered_models(filter_string=f"name = '{prefix}-bravo'")
    assert [m.name for m in got] == [f"{prefix}-bravo"]
    assert got[0].tags == {"team": "growth", "idx": "3"}
    assert list(client.search_registered_models(filter_string=f"name = '{prefix}-nothing'")) == []


def test_search_registered_models_by_tag(client, search_models):
    prefix, names = search_models
    got = [m.name for m in client.search_registered_models(
        filter_string=f"name LIKE '{prefix}-%' AND tags.team = 'risk'")]
    assert got == sorted([names[0], names[2], names[4]])
    got = [m.name for m in client.search_registered_models(
        filter_string=f"tags.idx = '3' AND name LIKE '{prefix}%'")]
    assert got == [names[3]]
    got = [m.name for m in client.search_registered_models(
        filter_string=f"name LIKE '{prefix}-%' AND tags.team != 'risk'")]
    assert got == sorted([names[1], names[3]])


def test_search_registered_models_order_by_last_updated(client, search_models):
    prefix, names = search_models
    flt = f"name LIKE '{prefix}-%'"
    got = [m.name for m in client.search_registered_models(filter_string=flt,
                                                           order_by=["last_updated_timestamp DESC"])]
    assert got == list(reversed(names))
    # Touching one moves it to the front.
    time.sleep(0.01)
    client.update_registered_model(names[1], description="touched")
    got = [m.name for m in client.search_registered_models(filter_string=flt,
                                                           order_by=["last_updated_timestamp DESC"])]
    assert got[0] == names[1]
    got = [m.name for m in client.search_registered_models(filter_string=flt,
                                                           order_by=["last_updated_timestamp ASC"])]
    assert got[-1] == names[1]
    assert got[0] == names[0]


def test_search_registered_models_paging(client, search_models):
    prefix, names = search_models
    flt = f"name LIKE '{prefix}-%'"
    pages = all_pages(lambda **kw: client.search_registered_models(filter_string=flt, **kw), 2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [m.name for p in pages for m in p] == sorted(names)
    exact = client.search_registered_models(filter_string=flt, max_results=5)
    assert len(exact) == 5
    first = client.search_registered_models(filter_string=flt, max_results=2, order_by=["name DESC"])
    second = client.search_registered_models(filter_string=flt, max_results=2, order_by=["name DESC"],
                                             page_token=first.token)
    assert [m.name for m in list(first) + list(second)] == sorted(names, reverse=True)[:4]


def test_search_registered_models_excludes_prompts(server, client, uniq):
    """MLflow stores prompts as registered models tagged mlflow.prompt.is_prompt=true. Search leaves
    them out unless asked, and the clients (>= 2.21) append `tags.`mlflow.prompt.is_prompt` != 'true'`
    to every search: that must keep the models that have no such tag."""
    plain, prompt = f"plain-{uniq}", f"prompt-{uniq}"
    client.create_registered_model(plain)
    r = requests.post(f"{server.uri}/api/2.0/mlflow/registered-models/create", timeout=30,
                      json={"name": prompt, "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}]})
    assert r.status_code == 200, r.text

    def raw(flt):
        r = requests.get(f"{server.uri}/api/2.0/mlflow/registered-models/search", params={"filter": flt},
                         timeout=30)
        assert r.status_code == 200, r.text
        return [m["name"] for m in r.json().get("registered_models", [])]

    assert raw(f"name LIKE '%-{uniq}'") == [plain]
    assert raw(f"name LIKE '%-{uniq}' AND tags.`mlflow.prompt.is_prompt` != 'true'") == [plain]
    assert raw(f"name LIKE '%-{uniq}' AND tags.`mlflow.prompt.is_prompt` = 'true'") == [prompt]
    assert [m.name for m in client.search_registered_models(filter_string=f"name LIKE '%-{uniq}'")] == [plain]
    # The server's get is not filtered (the client refuses to return a prompt by itself).
    r = requests.get(f"{server.uri}/api/2.0/mlflow/registered-models/get", params={"name": prompt}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["registered_model"]["name"] == prompt


def test_search_registered_models_bad_input(client):
    with pytest.raises(MlflowException) as e:
        client.search_registered_models(max_results=1001)  # the limit is 1000
    assert error_code(e) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        client.search_registered_models(filter_string="nonsense ~~ 3")
    assert error_code(e) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        client.search_registered_models(order_by=["no_such_column ASC"])
    assert error_code(e) == "INVALID_PARAMETER_VALUE"


# --------------------------------------------------------------------------- model versions


def test_create_and_get_model_version(client, uniq, make_source):
    name = f"mv-create-{uniq}"
    client.create_registered_model(name)
    run_id, src = make_source()
    t0 = int(time.time() * 1000)
    mv = client.create_model_version(name, src, run_id=run_id, tags={"k": "v"}, description="first")
    assert mv.name == name
    assert mv.version == "1"
    assert mv.source == src
    assert mv.run_id == run_id
    assert mv.description == "first"
    assert mv.tags == {"k": "v"}
    assert mv.current_stage == "None"
    assert mv.status == "READY"
    assert mv.creation_timestamp >= t0 - 5000

    got = client.get_model_version(name, "1")
    assert (got.name, got.version, got.source, got.run_id, got.description, got.tags, got.current_stage) == \
        (name, "1", src, run_id, "first", {"k": "v"}, "None")
    assert got.aliases == []

    run_id2, src2 = make_source("w=2")
    mv2 = client.create_model_version(name, src2, run_id=run_id2)
    assert mv2.version == "2"
    rm = client.get_registered_model(name)
    assert rm.last_updated_timestamp >= mv2.creation_timestamp
    assert [(v.version, v.current_stage) for v in rm.latest_versions] == [("2", "None")]


def test_create_model_version_for_unknown_model_is_not_found(client, uniq, make_source):
    run_id, src = make_source()
    with pytest.raises(MlflowException) as e:
        client.create_model_version(f"no-such-{uniq}", src, run_id=run_id)
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_get_unknown_model_version_is_not_found(client, model_with_versions):
    name, _, _ = model_with_versions
    with pytest.raises(MlflowException) as e:
        client.get_model_version(name, "99")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.get_model_version(name + "-nope", "1")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_non_numeric_version_is_invalid(client, model_with_versions):
    name, _, _ = model_with_versions
    with pytest.raises(MlflowException) as e:
        client.get_model_version(name, "abc")
    assert error_code(e) == "INVALID_PARAMETER_VALUE"


def test_update_model_version_description(client, model_with_versions):
    name, _, _ = model_with_versions
    before = client.get_model_version(name, "2")
    time.sleep(0.01)
    mv = client.update_model_version(name, "2", description="better recall")
    assert mv.version == "2"
    assert mv.description == "better recall"
    got = client.get_model_version(name, "2")
    assert got.description == "better recall"
    assert got.last_updated_timestamp >= before.last_updated_timestamp
    assert client.get_model_version(name, "1").description in ("", None)
    with pytest.raises(MlflowException) as e:
        client.update_model_version(name, "42", description="x")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_delete_model_version_numbers_not_reused(client, model_with_versions):
    name, runs, sources = model_with_versions
    client.delete_model_version(name, "3")
    with pytest.raises(MlflowException) as e:
        client.get_model_version(name, "3")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    assert sorted(mv.version for mv in client.search_model_versions(f"name = '{name}'")) == ["1", "2"]
    with pytest.raises(MlflowException) as e:
        client.delete_model_version(name, "3")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    mv = client.create_model_version(name, sources[0], run_id=runs[0])
    assert mv.version == "4"


def test_model_version_tags(client, model_with_versions):
    name, _, _ = model_with_versions
    client.set_model_version_tag(name, "1", "validated", "yes")
    client.set_model_version_tag(name, "1", "owner", "ana")
    client.set_model_version_tag(name, "1", "validated", "no")
    assert client.get_model_version(name, "1").tags == {"validated": "no", "owner": "ana"}
    assert client.get_model_version(name, "2").tags == {}
    client.delete_model_version_tag(name, "1", "owner")
    assert client.get_model_version(name, "1").tags == {"validated": "no"}
    with pytest.raises(MlflowException) as e:
        client.set_model_version_tag(name, "77", "a", "b")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.delete_model_version_tag(name, "77", "a")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_model_version_download_uri_serves_the_files(client, model_with_versions, tmp_path):
    name, _, _ = model_with_versions
    uri = client.get_model_version_download_uri(name, "2")
    assert isinstance(uri, str) and uri
    local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp_path / "dl"))
    assert sorted(os.listdir(local)) == ["MLmodel", "weights.txt"]
    assert open(os.path.join(local, "weights.txt")).read() == "w=1"
    # models:/ URIs resolve through the registry to the same files.
    local2 = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/3", dst_path=str(tmp_path / "dl2"))
    assert open(os.path.join(local2, "weights.txt")).read() == "w=2"
    with pytest.raises(MlflowException) as e:
        client.get_model_version_download_uri(name, "9")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


# --------------------------------------------------------------------------- search model versions


def test_search_model_versions_by_name_and_order(client, model_with_versions):
    name, runs, sources = model_with_versions
    got = client.search_model_versions(f"name = '{name}'", order_by=["version_number ASC"])
    assert [mv.version for mv in got] == ["1", "2", "3"]
    assert [mv.run_id for mv in got] == runs
    assert [mv.source for mv in got] == sources
    got = client.search_model_versions(f"name = '{name}'", order_by=["version_number DESC"])
    assert [mv.version for mv in got] == ["3", "2", "1"]
    got = client.search_model_versions(f"name = '{name}'")
    assert sorted(mv.version for mv in got) == ["1", "2", "3"]


def test_search_model_versions_by_run_id(client, model_with_versions):
    name, runs, _ = model_with_versions
    got = client.search_model_versions(f"run_id = '{runs[1]}'")
    assert [(mv.name, mv.version) for mv in got] == [(name, "2")]
    got = client.search_model_versions(f"run_id IN ('{runs[0]}', '{runs[2]}')",
                                       order_by=["version_number ASC"])
    assert [(mv.name, mv.version) for mv in got] == [(name, "1"), (name, "3")]
    got = client.search_model_versions(f"name = '{name}' AND run_id = '{runs[0]}'")
    assert [mv.version for mv in got] == ["1"]
    assert client.search_model_versions("run_id = '0123456789abcdef0123456789abcdef'") == []


def test_search_model_versions_by_tag(client, model_with_versions):
    name, _, _ = model_with_versions
    client.set_model_version_tag(name, "1", "stage", "canary")
    client.set_model_version_tag(name, "3", "stage", "canary")
    client.set_model_version_tag(name, "2", "stage", "shadow")
    got = client.search_model_versions(f"name = '{name}' AND tags.stage = 'canary'",
                                       order_by=["version_number ASC"])
    assert [mv.version for mv in got] == ["1", "3"]
    got = client.search_model_versions(f"name = '{name}' AND tags.stage = 'shadow'")
    assert [mv.version for mv in got] == ["2"]


def test_search_model_versions_paging(client, model_with_versions):
    name, runs, sources = model_with_versions
    client.create_model_version(name, sources[0], run_id=runs[0])  # version 4
    client.create_model_version(name, sources[1], run_id=runs[1])  # version 5
    pages = all_pages(lambda **kw: client.search_model_versions(
        f"name = '{name}'", order_by=["version_number ASC"], **kw), 2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [mv.version for p in pages for mv in p] == ["1", "2", "3", "4", "5"]


def test_search_model_versions_bad_input(client):
    with pytest.raises(MlflowException) as e:
        client.search_model_versions("name ~~ 'x'")
    assert error_code(e) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        client.search_model_versions("name = 'x'", max_results=0)
    assert error_code(e) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        client.search_model_versions("name = 'x'", order_by=["nope DESC"])
    assert error_code(e) == "INVALID_PARAMETER_VALUE"


# --------------------------------------------------------------------------- stages


def test_transition_stage_and_latest_versions(client, model_with_versions):
    name, _, _ = model_with_versions
    mv = client.transition_model_version_stage(name, "1", "Production")
    assert (mv.version, mv.current_stage) == ("1", "Production")
    client.transition_model_version_stage(name, "2", "staging")  # case-insensitive, canonical spelling back
    assert client.get_model_version(name, "2").current_stage == "Staging"

    latest = client.get_latest_versions(name)
    assert sorted((v.version, v.current_stage) for v in latest) == [
        ("1", "Production"), ("2", "Staging"), ("3", "None")]
    assert [(v.version, v.current_stage) for v in client.get_latest_versions(name, stages=["Production"])] == \
        [("1", "Production")]
    assert [v.version for v in client.get_latest_versions(name, stages=["Archived"])] == []

    # Without archiving, two versions can be in Production; latest per stage is the highest.
    client.transition_model_version_stage(name, "3", "Production")
    assert client.get_model_version(name, "1").current_stage == "Production"
    assert [v.version for v in client.get_latest_versions(name, stages=["Production"])] == ["3"]
    rm = client.get_registered_model(name)
    assert sorted((v.version, v.current_stage) for v in rm.latest_versions) == [
        ("2", "Staging"), ("3", "Production")]
    # Search answers the same latest versions (read for the whole page at once).
    found = client.search_registered_models(filter_string=f"name = '{name}'")
    assert [sorted((v.version, v.current_stage) for v in m.latest_versions) for m in found] == [
        [("2", "Staging"), ("3", "Production")]]


def test_transition_stage_archive_existing(client, model_with_versions):
    name, _, _ = model_with_versions
    client.transition_model_version_stage(name, "1", "Production")
    client.transition_model_version_stage(name, "2", "Staging")
    mv = client.transition_model_version_stage(name, "3", "Production", archive_existing_versions=True)
    assert mv.current_stage == "Production"
    assert client.get_model_version(name, "1").current_stage == "Archived"
    assert client.get_model_version(name, "2").current_stage == "Staging"  # other stages untouched
    assert sorted((v.version, v.current_stage) for v in client.get_latest_versions(name)) == [
        ("1", "Archived"), ("2", "Staging"), ("3", "Production")]


def test_transition_stage_bad_input(client, model_with_versions):
    name, _, _ = model_with_versions
    with pytest.raises(MlflowException) as e:
        client.transition_model_version_stage(name, "1", "Deployed")
    assert error_code(e) == "INVALID_PARAMETER_VALUE"
    # archive_existing_versions only with Staging/Production. (MLflow answers INTERNAL_ERROR here,
    # so only the refusal is checked, not the code.)
    with pytest.raises(MlflowException):
        client.transition_model_version_stage(name, "1", "Archived", archive_existing_versions=True)
    with pytest.raises(MlflowException) as e:
        client.transition_model_version_stage(name, "12", "Staging")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.get_latest_versions(name + "-nope")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_model_version(name, "1").current_stage == "None"


# --------------------------------------------------------------------------- aliases


def test_alias_set_get_move_delete(client, model_with_versions):
    name, runs, _ = model_with_versions
    client.set_registered_model_alias(name, "champion", "1")
    client.set_registered_model_alias(name, "challenger", "2")
    mv = client.get_model_version_by_alias(name, "champion")
    assert (mv.name, mv.version, mv.run_id) == (name, "1", runs[0])
    assert mv.aliases == ["champion"]
    assert client.get_registered_model(name).aliases == {"champion": "1", "challenger": "2"}

    # Moving an alias takes it off the old version.
    client.set_registered_model_alias(name, "champion", "3")
    assert client.get_model_version_by_alias(name, "champion").version == "3"
    assert client.get_model_version(name, "1").aliases == []
    assert client.get_model_version(name, "3").aliases == ["champion"]
    # Two aliases on one version.
    client.set_registered_model_alias(name, "challenger", "3")
    assert sorted(client.get_model_version(name, "3").aliases) == ["challenger", "champion"]

    client.delete_registered_model_alias(name, "challenger")
    assert client.get_registered_model(name).aliases == {"champion": "3"}
    client.delete_registered_model_alias(name, "challenger")  # deleting a missing alias is a no-op
    assert client.get_registered_model(name).aliases == {"champion": "3"}
    with pytest.raises(MlflowException) as e:
        client.get_model_version_by_alias(name, "challenger")
    assert error_code(e) == "INVALID_PARAMETER_VALUE"


def test_alias_resolves_in_models_uri(client, model_with_versions, tmp_path):
    name, _, _ = model_with_versions
    client.set_registered_model_alias(name, "prod", "2")
    local = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}@prod", dst_path=str(tmp_path))
    assert open(os.path.join(local, "weights.txt")).read() == "w=1"


@pytest.mark.parametrize("alias", ["latest", "LATEST", "v1", "V12"])
def test_reserved_alias_names_are_rejected(client, model_with_versions, alias):
    name, _, _ = model_with_versions
    with pytest.raises(MlflowException) as e:
        client.set_registered_model_alias(name, alias, "1")
    assert error_code(e) == "INVALID_PARAMETER_VALUE"
    assert client.get_registered_model(name).aliases == {}


def test_alias_on_missing_version_or_model_is_rejected(server, client, model_with_versions, uniq):
    name, _, _ = model_with_versions
    with pytest.raises(MlflowException) as e:
        client.set_registered_model_alias(name, "champion", "9")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.set_registered_model_alias(f"no-such-{uniq}", "champion", "1")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.get_model_version_by_alias(f"no-such-{uniq}", "champion")
    # MLflow 3 says the model does not exist; the 2.x server said INVALID_PARAMETER_VALUE.
    assert error_code(e) == ("INVALID_PARAMETER_VALUE" if server.legacy_mlflow else "RESOURCE_DOES_NOT_EXIST")
    with pytest.raises(MlflowException) as e:
        client.set_registered_model_alias(name, "bad alias!", "1")
    assert error_code(e) == "INVALID_PARAMETER_VALUE"
    assert client.get_registered_model(name).aliases == {}


def test_alias_is_dropped_with_its_version(server, client, model_with_versions):
    name, _, _ = model_with_versions
    client.set_registered_model_alias(name, "champion", "2")
    client.set_registered_model_alias(name, "other", "1")
    client.delete_model_version(name, "2")
    with pytest.raises(MlflowException) as e:
        client.get_model_version_by_alias(name, "champion")
    if server.legacy_mlflow:
        # The 2.x server kept the dangling alias, pointing at a version that is gone.
        assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    else:
        assert error_code(e) == "INVALID_PARAMETER_VALUE"
        assert client.get_registered_model(name).aliases == {"other": "1"}
    assert client.get_model_version_by_alias(name, "other").version == "1"


def test_alias_rest_shape(server, client, model_with_versions):
    """The raw REST answer of get-by-alias, as MLflow shapes it."""
    name, runs, _ = model_with_versions
    client.set_registered_model_alias(name, "champion", "3")
    r = requests.get(f"{server.uri}/api/2.0/mlflow/registered-models/alias",
                     params={"name": name, "alias": "champion"}, timeout=30)
    assert r.status_code == 200, r.text
    mv = r.json()["model_version"]
    assert mv["name"] == name
    assert mv["version"] == "3"
    assert mv["run_id"] == runs[2]
    assert mv["aliases"] == ["champion"]
    assert mv["current_stage"] == "None"
    r = requests.get(f"{server.uri}/api/2.0/mlflow/registered-models/alias",
                     params={"name": name, "alias": "nobody"}, timeout=30)
    assert r.status_code == 400
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = requests.get(f"{server.uri}/api/2.0/mlflow/registered-models/get", params={"name": name + "-x"},
                     timeout=30)
    assert r.status_code == 404
    assert r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
