"""`cairn drift --json` against Evidently 0.7's DataDriftPreset on the same CSV files.

For each seeded scenario, the reference and current CSVs are written once and given to both:
Evidently reads them with pandas (`pd.read_csv`, as a user would) and runs
`Report([DataDriftPreset()]).run(current, reference)`; Cairn runs
`cairn drift --reference ref.csv --current cur.csv --json`. Asserted per column:

- the same test chosen (Evidently's display names mapped to Cairn's: "K-S p_value" -> ks,
  "chi-square p_value" -> chisquare, "Z-test p_value" -> z, "Wasserstein distance (normed)" ->
  wasserstein, "Jensen-Shannon distance" -> jensenshannon, "PSI" -> psi) and the same threshold;
- the same score within tolerance: relative 1e-6 (absolute 1e-9 for p-values, since Evidently's
  z-test computes 2 * (1 - cdf) which rounds tiny p-values to 0 where Cairn keeps them; absolute
  1e-12 for distances);
- the same verdict (drift or not);

and per dataset the same number of drifted columns, the same share and the same dataset verdict
(Evidently's DriftedColumnsCount share >= 0.5).

The scenarios cover every default test: references of <= 1000 rows (1000 exactly: still KS /
chi-squared / z) and > 1000 rows (1001: Wasserstein / Jensen-Shannon); numeric columns with many
values, with 3-5 values and with 2 values; categorical columns with 2 and with more categories;
columns shifted a little, a lot, or not at all; missing values (dropped before the test, so a column
of a 1,020-row reference with 40 missing cells is tested as a <= 1000 one); a new category in the
current data; and one scenario where most columns drift (dataset drift) next to ones where few do.

Evidently decides a column's kind from the pandas dtype: an *integer* column with at most 10
distinct values is categorical there. Cairn follows it (a reference column of whole numbers
without missing values and at most 10 distinct values takes the categorical choice), which the
int8_* columns (8 whole numbers: chi-squared / Jensen-Shannon, not KS / Wasserstein) check.

Run: CAIRN_BIN=build/cairn <venv with evidently 0.7, pandas < 3, pytest>/bin/python -m pytest
--noconftest tests/compat/test_monitor_evidently.py (this folder's conftest.py needs mlflow, which
this test does not). CAIRN_BIN defaults to <repo>/build/cairn.
"""

import json
import math
import os
import pathlib
import subprocess

import numpy as np
import pandas as pd
import pytest

evidently = pytest.importorskip("evidently")
from evidently import Report  # noqa: E402
from evidently.presets import DataDriftPreset  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]

EVIDENTLY_TEST_NAMES = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "PSI": "psi",
}
P_VALUE_TESTS = {"ks", "chisquare", "z"}


def cairn_bin():
    path = os.environ.get("CAIRN_BIN") or str(ROOT / "build" / "cairn")
    if not os.access(path, os.X_OK):
        pytest.fail(f"no cairn binary at {path} (build it, or set CAIRN_BIN)")
    return path


# ------------------------------------------------------------------ data


def make_frames(n_ref, n_cur, seed, mostly_shifted=False):
    """A reference and a current frame with one column per case (see the module docstring).

    Column names say what the current data does: *_same (the reference's distribution),
    *_little (a small shift), *_lot (a large one)."""
    rng = np.random.default_rng(seed)

    def both(make_ref, make_cur):
        return make_ref(n_ref), make_cur(n_cur)

    cols = {}
    # Numeric, many values.
    cols["num_same"] = both(lambda n: rng.normal(10, 2, n), lambda n: rng.normal(10, 2, n))
    cols["num_little"] = both(lambda n: rng.normal(0, 1, n), lambda n: rng.normal(0.12, 1, n))
    cols["num_lot"] = both(lambda n: rng.lognormal(0, 0.5, n),
                           lambda n: rng.lognormal(0, 0.5, n) * 1.6 + 0.5)
    # Numeric, 3-5 values (floats, so numeric for Evidently too).
    four = np.array([0.5, 1.5, 2.5, 3.5])
    cols["few_same"] = both(lambda n: rng.choice(four, n, p=[0.1, 0.2, 0.3, 0.4]),
                            lambda n: rng.choice(four, n, p=[0.1, 0.2, 0.3, 0.4]))
    cols["few_lot"] = both(lambda n: rng.choice(four, n, p=[0.1, 0.2, 0.3, 0.4]),
                           lambda n: rng.choice(four, n, p=[0.4, 0.3, 0.2, 0.1]))
    # Integers with 3 values (categorical for Evidently, numeric for Cairn: same test).
    cols["int3_little"] = both(lambda n: rng.choice([1, 2, 3], n, p=[0.5, 0.3, 0.2]),
                               lambda n: rng.choice([1, 2, 3], n, p=[0.45, 0.33, 0.22]))
    # Integers with 8 values: categorical in both (chi-squared or Jensen-Shannon).
    eight = np.arange(8)
    p8 = [0.2, 0.15, 0.15, 0.1, 0.1, 0.1, 0.1, 0.1]
    cols["int8_same"] = both(lambda n: rng.choice(eight, n, p=p8), lambda n: rng.choice(eight, n, p=p8))
    cols["int8_lot"] = both(lambda n: rng.choice(eight, n, p=p8), lambda n: rng.choice(eight, n, p=p8[::-1]))
    # Numeric, 2 values.
    two = np.array([0.0, 1.0])
    cols["two_same"] = both(lambda n: rng.choice(two, n, p=[0.7, 0.3]),
                            lambda n: rng.choice(two, n, p=[0.7, 0.3]))
    cols["two_little"] = both(lambda n: rng.choice(two, n, p=[0.7, 0.3]),
                              lambda n: rng.choice(two, n, p=[0.64, 0.36]))
    # Categorical, 2 categories.
    cols["cat2_lot"] = both(lambda n: rng.choice(["no", "yes"], n, p=[0.8, 0.2]),
                            lambda n: rng.choice(["no", "yes"], n, p=[0.5, 0.5]))
    # Categorical, more categories; one with a category the reference never had.
    six = ["de", "fr", "it", "es", "nl", "pl"]
    p6 = [0.3, 0.25, 0.15, 0.12, 0.1, 0.08]
    cols["cat6_same"] = both(lambda n: rng.choice(six, n, p=p6), lambda n: rng.choice(six, n, p=p6))
    cols["cat6_new"] = both(lambda n: rng.choice(six, n, p=p6),
                            lambda n: rng.choice(six + ["us"], n, p=[0.26, 0.22, 0.13, 0.1, 0.09,
                                                                     0.07, 0.13]))

    # More unshifted columns, so that few columns drift (no dataset drift) by default.
    cols["uni_same"] = both(lambda n: rng.uniform(-3, 3, n), lambda n: rng.uniform(-3, 3, n))
    cols["int4_same"] = both(lambda n: rng.choice([2, 4, 6, 8], n), lambda n: rng.choice([2, 4, 6, 8], n))
    cols["cat2_same"] = both(lambda n: rng.choice(["a", "b"], n, p=[0.6, 0.4]),
                             lambda n: rng.choice(["a", "b"], n, p=[0.6, 0.4]))
    cols["cat3_same"] = both(lambda n: rng.choice(["x", "y", "z"], n, p=[0.5, 0.3, 0.2]),
                             lambda n: rng.choice(["x", "y", "z"], n, p=[0.5, 0.3, 0.2]))

    if mostly_shifted:  # every *_same column shifts a lot
        cols["num_same"] = both(lambda n: rng.normal(10, 2, n), lambda n: rng.normal(12, 2, n))
        cols["few_same"] = both(lambda n: rng.choice(four, n, p=[0.1, 0.2, 0.3, 0.4]),
                                lambda n: rng.choice(four, n, p=[0.4, 0.3, 0.2, 0.1]))
        cols["two_same"] = both(lambda n: rng.choice(two, n, p=[0.7, 0.3]),
                                lambda n: rng.choice(two, n, p=[0.3, 0.7]))
        cols["cat6_same"] = both(lambda n: rng.choice(six, n, p=p6),
                                 lambda n: rng.choice(six, n, p=p6[::-1]))
        cols["uni_same"] = both(lambda n: rng.uniform(-3, 3, n), lambda n: rng.uniform(-1, 5, n))
        cols["int4_same"] = both(lambda n: rng.choice([2, 4, 6, 8], n),
                                 lambda n: rng.choice([2, 4, 6, 8], n, p=[0.1, 0.1, 0.4, 0.4]))
        cols["cat2_same"] = both(lambda n: rng.choice(["a", "b"], n, p=[0.6, 0.4]),
                                 lambda n: rng.choice(["a", "b"], n, p=[0.3, 0.7]))
        cols["cat3_same"] = both(lambda n: rng.choice(["x", "y", "z"], n, p=[0.5, 0.3, 0.2]),
                                 lambda n: rng.choice(["x", "y", "z"], n, p=[0.2, 0.3, 0.5]))

    ref = pd.DataFrame({k: v[0] for k, v in cols.items()})
    cur = pd.DataFrame({k: v[1] for k, v in cols.items()})
    # Missing values: 4 % of a shifted numeric column, on both sides.
    miss_ref = rng.normal(5, 1, n_ref)
    miss_ref[rng.choice(n_ref, size=max(1, n_ref // 25), replace=False)] = np.nan
    miss_cur = rng.normal(5.8, 1, n_cur)
    miss_cur[rng.choice(n_cur, size=max(1, n_cur // 25), replace=False)] = np.nan
    ref["num_missing_lot"] = miss_ref
    cur["num_missing_lot"] = miss_cur
    return ref, cur


# Reference rows, current rows, seed, mostly shifted.
SCENARIOS = {
    "small": (400, 300, 1, False),  # 8 of 16 drift: share 0.5 exactly, dataset drift (>=)
    "n1000": (1000, 800, 2, False),   # n <= 1000: KS / chi-squared / z
    "n1001": (1001, 1200, 3, False),  # n > 1000: Wasserstein / Jensen-Shannon
    "n1020_missing": (1020, 900, 4, False),  # num_missing_lot: 980 values -> KS
    "large": (5000, 4000, 5, False),
    "small_mostly_shifted": (600, 600, 6, True),
    "large_mostly_shifted": (3000, 5000, 7, True),
}


# ------------------------------------------------------------ the two tools


def evidently_report(ref_csv, cur_csv):
    """Per-column {test, score, threshold, drifted} and the dataset verdict, from Evidently."""
    reference = pd.read_csv(ref_csv)
    current = pd.read_csv(cur_csv)
    snapshot = Report([DataDriftPreset()]).run(current, reference)
    columns, count = {}, None
    for m in snapshot.dict()["metrics"]:
        config = m["config"]
        kind = config["type"].rsplit(":", 1)[-1]
        if kind == "DriftedColumnsCount":
            count = m["value"]
        elif kind == "ValueDrift":
            test = EVIDENTLY_TEST_NAMES[config["method"]]
            score, threshold = float(m["value"]), float(config["threshold"])
            drifted = score < threshold if test in P_VALUE_TESTS else score >= threshold
            columns[config["column"]] = {"test": test, "score": score, "threshold": threshold,
                                         "drifted": drifted}
    assert count is not None, "no DriftedColumnsCount in Evidently's report"
    return {"columns": columns, "drifted_columns": int(count["count"]),
            "drift_share": float(count["share"]), "dataset_drift": float(count["share"]) >= 0.5}


def cairn_report(ref_csv, cur_csv):
    p = subprocess.run([cairn_bin(), "drift", "--reference", str(ref_csv), "--current",
                        str(cur_csv), "--json"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def scores_agree(test, ours, theirs):
    if test in P_VALUE_TESTS:
        return math.isclose(ours, theirs, rel_tol=1e-6, abs_tol=1e-9)
    return math.isclose(ours, theirs, rel_tol=1e-6, abs_tol=1e-12)


# ------------------------------------------------------------------ tests


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Both reports for every scenario, computed once."""
    out = {}
    for name, (n_ref, n_cur, seed, mostly) in SCENARIOS.items():
        d = tmp_path_factory.mktemp(name)
        ref, cur = make_frames(n_ref, n_cur, seed, mostly)
        ref.to_csv(d / "ref.csv", index=False)
        cur.to_csv(d / "cur.csv", index=False)
        out[name] = (evidently_report(d / "ref.csv", d / "cur.csv"),
                     cairn_report(d / "ref.csv", d / "cur.csv"))
    return out


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_same_columns_tests_scores_and_verdicts(reports, scenario):
    ev, ours = reports[scenario]
    drift = ours["drift"]
    by_column = {c["column"]: c for c in drift["columns"]}
    assert set(by_column) == set(ev["columns"])
    problems = []
    for name, theirs in ev["columns"].items():
        c = by_column[name]
        assert c["tested"], name
        if c["test"] != theirs["test"]:
            problems.append(f"{name}: test {c['test']} vs Evidently's {theirs['test']}")
            continue
        if c["threshold"] != pytest.approx(theirs["threshold"]):
            problems.append(f"{name}: threshold {c['threshold']} vs {theirs['threshold']}")
        if not scores_agree(c["test"], c["score"], theirs["score"]):
            problems.append(f"{name} ({c['test']}): score {c['score']!r} vs {theirs['score']!r}")
        if c["drifted"] != theirs["drifted"]:
            problems.append(f"{name} ({c['test']}): drifted {c['drifted']} vs {theirs['drifted']}")
    assert not problems, "\n".join(problems)
    flagged = sorted(c["column"] for c in drift["columns"] if c["drifted"])
    assert flagged == sorted(k for k, v in ev["columns"].items() if v["drifted"])
    assert drift["drifted_columns"] == ev["drifted_columns"]
    assert drift["drift_share"] == pytest.approx(ev["drift_share"], rel=1e-12)
    assert drift["dataset_drift"] == ev["dataset_drift"]


def test_every_default_test_is_exercised(reports):
    """The scenarios reach each default test, both verdicts, and both dataset verdicts."""
    seen = {(c["test"], c["drifted"]) for _, ours in reports.values()
            for c in ours["drift"]["columns"]}
    for test in ("ks", "chisquare", "z", "wasserstein", "jensenshannon"):
        assert (test, True) in seen, f"no drifted column tested with {test}"
        assert (test, False) in seen, f"no undrifted column tested with {test}"
    verdicts = {ours["drift"]["dataset_drift"] for _, ours in reports.values()}
    assert verdicts == {True, False}


@pytest.mark.parametrize("scenario", ["n1000", "large"])
def test_shifted_columns_flagged_unshifted_not(reports, scenario):
    """Independent of Evidently: the columns built with a large shift drift, the unshifted don't.
    ("small" is left out: by chance, two of its unshifted columns have p < 0.05 there.)"""
    _, ours = reports[scenario]
    drifted = {c["column"]: c["drifted"] for c in ours["drift"]["columns"]}
    for name in ("num_lot", "few_lot", "cat2_lot", "cat6_new", "num_missing_lot"):
        assert drifted[name], name
    for name in ("num_same", "few_same", "two_same", "cat6_same", "uni_same", "int4_same",
                 "cat2_same", "cat3_same"):
        assert not drifted[name], name


def test_boundary_at_1000_reference_rows(reports):
    tests_1000 = {c["column"]: c["test"] for c in reports["n1000"][1]["drift"]["columns"]}
    tests_1001 = {c["column"]: c["test"] for c in reports["n1001"][1]["drift"]["columns"]}
    assert (tests_1000["num_same"], tests_1001["num_same"]) == ("ks", "wasserstein")
    assert (tests_1000["few_same"], tests_1001["few_same"]) == ("chisquare", "jensenshannon")
    assert (tests_1000["two_same"], tests_1001["two_same"]) == ("z", "jensenshannon")
    assert (tests_1000["cat2_lot"], tests_1001["cat2_lot"]) == ("z", "jensenshannon")
    assert (tests_1000["cat6_same"], tests_1001["cat6_same"]) == ("chisquare", "jensenshannon")
    missing = {c["column"]: c for c in reports["n1020_missing"][1]["drift"]["columns"]}
    assert missing["num_missing_lot"]["test"] == "ks"  # 1020 rows, 40 missing: 980 values
    assert missing["num_missing_lot"]["reference_count"] == 980
    assert missing["num_same"]["test"] == "wasserstein"
