"""monitor/stats.h against SciPy, NumPy and scikit-learn.

Drives the `stats_oracle` binary (one JSON request per line on stdin, one
answer per line on stdout) in a single process for the whole module and
compares every answer with the reference library on seeded random cases.

Run:  /tmp/evvenv/bin/python -m pytest tests/compat/test_monitor_stats.py
(the venv needs numpy, scipy and scikit-learn; mlflow is not needed:
add `--noconftest` if the directory's conftest.py cannot import mlflow).

The oracle: $CAIRN_STATS_ORACLE, else <repo>/build/tests/monitor/stats_oracle.
Tolerances: rtol 1e-9 everywhere unless a comment next to a case says why.
The worst relative error seen per function is printed at the end
(pytest -s shows it).
"""

import json
import math
import os
import subprocess
import threading
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
scipy_stats = pytest.importorskip("scipy.stats")
scipy_distance = pytest.importorskip("scipy.spatial.distance")
sk_metrics = pytest.importorskip("sklearn.metrics")

REPO = Path(__file__).resolve().parents[2]
ORACLE = Path(os.environ.get("CAIRN_STATS_ORACLE", REPO / "build" / "tests" / "monitor" / "stats_oracle"))

RTOL = 1e-9
WORST = {}  # function -> worst relative error seen
CASES = {}  # function -> number of values compared


def _decode(v):
    if v is None:
        return math.nan
    if v == "inf":
        return math.inf
    if v == "-inf":
        return -math.inf
    return v


class Oracle:
    def __init__(self, path):
        self.proc = subprocess.Popen(
            [str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1 << 20
        )

    def ask_many(self, requests):
        """Sends every request (a writer thread avoids a pipe deadlock), reads the answers."""
        lines = [json.dumps(r, allow_nan=False) + "\n" for r in requests]

        def write():
            for line in lines:
                self.proc.stdin.write(line)
            self.proc.stdin.flush()

        writer = threading.Thread(target=write)
        writer.start()
        answers = []
        for _ in requests:
            line = self.proc.stdout.readline()
            assert line, "stats_oracle exited early"
            answers.append(json.loads(line))
        writer.join()
        return answers

    def ask(self, request):
        return self.ask_many([request])[0]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def oracle():
    if not ORACLE.exists():
        pytest.skip(f"stats_oracle not built at {ORACLE} (build target stats_oracle or set CAIRN_STATS_ORACLE)")
    o = Oracle(ORACLE)
    yield o
    o.close()
    if WORST:
        print("\nworst relative error per function (values compared):")
        for fn, err in sorted(WORST.items()):
            print(f"  {fn:28s} {err:.3e}  ({CASES.get(fn, 0)})")


def check(fn, ours, theirs, rtol=RTOL, atol=0.0, what=""):
    """Asserts ours ~= theirs (NaN == NaN, inf == inf) and records the relative error."""
    CASES[fn] = CASES.get(fn, 0) + 1
    ours = _decode(ours)
    theirs = float(theirs)
    if math.isnan(theirs) or math.isnan(ours):
        assert math.isnan(theirs) and math.isnan(ours), f"{fn} {what}: ours {ours}, reference {theirs}"
        return
    if math.isinf(theirs) or math.isinf(ours):
        assert ours == theirs, f"{fn} {what}: ours {ours}, reference {theirs}"
        return
    err = abs(ours - theirs)
    rel = err / abs(theirs) if theirs != 0 else (0.0 if err == 0 else math.inf)
    if abs(theirs) > 1000 * atol:  # where the relative error means something
        WORST[fn] = max(WORST.get(fn, 0.0), rel)
    assert err <= atol + rtol * abs(theirs), f"{fn} {what}: ours {ours!r}, reference {theirs!r}, rel {rel:.3e}"


def sample(rng, size, kind):
    if kind == "normal":
        return rng.normal(rng.uniform(-5, 5), rng.uniform(0.1, 10), size)
    if kind == "ties":  # few distinct values: many ties within and across samples
        return rng.integers(0, rng.integers(1, 12), size).astype(float)
    if kind == "rounded":
        return np.round(rng.normal(0, 1, size), 1)
    return rng.exponential(rng.uniform(0.5, 3), size)


KINDS = ["normal", "ties", "rounded", "exp"]


# ----------------------------------------------------------------- KS test


def _ks_cases(rng, count, max_size):
    cases = []
    for i in range(count):
        n = int(rng.integers(1, max_size + 1)) if i % 3 else int(rng.integers(1, 60))
        m = n if i % 4 == 0 else int(rng.integers(1, max_size + 1))
        kind = KINDS[i % len(KINDS)]
        a = sample(rng, n, kind)
        # Shift b sometimes so the p-values span the whole range down to tiny ones.
        shift = 0.0 if i % 2 else rng.uniform(0, 0.6)
        b = sample(rng, m, kind) + (np.round(shift, 1) if kind != "normal" else shift)
        cases.append((a, b))
    return cases


def _ks_check(oracle, cases, fn_name, sorted_input=False):
    reqs = []
    for a, b in cases:
        if sorted_input:
            a, b = np.sort(a), np.sort(b)
        reqs.append({"fn": "ks", "a": a.tolist(), "b": b.tolist(), "sorted": sorted_input})
    answers = oracle.ask_many(reqs)
    for (a, b), ans in zip(cases, answers):
        ref = scipy_stats.ks_2samp(a, b, method="auto")
        what = f"n={len(a)} m={len(b)}"
        check(fn_name + ".statistic", ans["statistic"], ref.statistic, what=what)
        # Relative all the way down the tail; the absolute 1e-300 only covers results in
        # the subnormal range (we return 0 below ~exp(-800), SciPy may give 1e-323).
        check(fn_name + ".p_value", ans["p_value"], ref.pvalue, atol=1e-300, what=what)


def test_ks_exact_small_and_medium(oracle):
    rng = np.random.default_rng(7)
    _ks_check(oracle, _ks_cases(rng, 300, 400), "ks_exact")


def test_ks_exact_large(oracle):
    rng = np.random.default_rng(8)
    cases = _ks_cases(rng, 24, 10000)
    # The largest sizes the exact method covers, equal and unequal.
    cases.append((rng.normal(0, 1, 10000), rng.normal(0.03, 1, 10000)))
    cases.append((rng.normal(0, 1, 1000), rng.normal(0.05, 1, 10000)))
    cases.append((rng.normal(0, 1, 9999), rng.normal(0, 1, 10000)))
    # Extreme drift: p-values from 1e-8 down to the subnormal range.
    for m, shift in [(1000, 0.1), (1000, 0.3), (1000, 0.5), (10000, 0.1), (10000, 0.3), (3000, 0.9)]:
        cases.append((np.arange(10000) / 10000.0, np.arange(m) / m + shift))
    _ks_check(oracle, cases, "ks_exact")


def test_ks_sorted_variant(oracle):
    rng = np.random.default_rng(9)
    _ks_check(oracle, _ks_cases(rng, 60, 500), "ks_sorted", sorted_input=True)


def test_ks_asymptotic(oracle):
    # max(n, m) > 10000: SciPy uses kstwo.sf(D, round(n*m/(n+m))).
    rng = np.random.default_rng(10)
    cases = []
    for i in range(100):
        n = int(rng.integers(10001, 20001))
        m = int(rng.integers(1, 20001)) if i % 3 else n
        kind = KINDS[i % len(KINDS)]
        shift = 0.0 if i % 2 else float(np.round(rng.uniform(0, 0.1), 2))
        cases.append((sample(rng, n, kind), sample(rng, m, kind) + shift))
    answers = oracle.ask_many([{"fn": "ks", "a": a.tolist(), "b": b.tolist()} for a, b in cases])
    for (a, b), ans in zip(cases, answers):
        ref = scipy_stats.ks_2samp(a, b, method="auto")
        what = f"n={len(a)} m={len(b)}"
        check("ks_asymp.statistic", ans["statistic"], ref.statistic, what=what)
        # kstwo.sf is itself an approximation for large n (Pelz-Good); the header
        # promises 1e-6 relative where the value is > 1e-10 (see test_kstwo_sf).
        check("ks_asymp.p_value", ans["p_value"], ref.pvalue, rtol=1e-6, atol=1e-10, what=what)


def test_ks_edge_cases(oracle):
    ans = oracle.ask_many(
        [
            {"fn": "ks", "a": [], "b": [1.0, 2.0]},
            {"fn": "ks", "a": [1.0], "b": [1.0]},
            {"fn": "ks", "a": [3.0, 3.0, 3.0], "b": [3.0, 3.0]},
            {"fn": "ks", "a": [1.0], "b": [2.0]},
        ]
    )
    assert ans[0]["p_value"] is None and ans[0]["statistic"] is None
    assert ans[1] == {"statistic": 0.0, "p_value": 1.0}
    assert ans[2] == {"statistic": 0.0, "p_value": 1.0}
    ref = scipy_stats.ks_2samp([1.0], [2.0])
    check("ks_exact.p_value", ans[3]["p_value"], ref.pvalue)
    check("ks_exact.statistic", ans[3]["statistic"], ref.statistic)


# ------------------------------------------------------------ distributions


def test_kstwo_sf_grid(oracle):
    ns = [1, 2, 3, 5, 8, 10, 20, 50, 100, 139, 140, 141, 200, 500, 1000, 2000, 5000, 10000, 50000, 100000,
          100001, 300000, 1000000]
    reqs, refs = [], []
    for n in ns:
        if n >= 300000:  # SciPy takes ~0.3 s per value here: a sparser grid
            ds = np.unique(np.concatenate([np.linspace(0.001, 0.9, 6), np.sqrt(np.geomspace(0.05, 40, 12) / n)]))
        else:
            ds = np.unique(np.concatenate([np.linspace(0.0005, 0.999, 120), np.geomspace(0.3 / n, 1.2 / n, 12),
                                           np.sqrt(np.geomspace(0.05, 40, 40) / n)]))
        for d in ds:
            if not 0 < d < 1:
                continue
            reqs.append({"fn": "kstwo_sf", "d": float(d), "n": n})
            refs.append(float(scipy_stats.kstwo.sf(d, n)))
    answers = oracle.ask_many(reqs)
    for req, ans, ref in zip(reqs, answers, refs):
        n = req["n"]
        what = f"d={req['d']} n={n}"
        if ref < 1e-10:
            # Outside the promised range (values <= 1e-10): only an absolute check.
            check("kstwo_sf.tail", ans["value"], ref, rtol=0, atol=1e-10, what=what)
        elif n <= 140 or req["d"] * n <= 1 or req["d"] >= 0.5:
            # Exact regions on both sides (matrix method / Ruben-Gambino / Smirnov).
            check("kstwo_sf.exact", ans["value"], ref, rtol=1e-9, what=what)
        else:
            # Large n: SciPy's own value is an approximation (Pelz-Good, or twice the
            # one-sided tail); the header promises 1e-6 relative.
            check("kstwo_sf.large_n", ans["value"], ref, rtol=1e-6, what=what)


def test_chi2_sf(oracle):
    rng = np.random.default_rng(11)
    cases = []
    for i in range(400):
        df = int(rng.integers(1, 40)) if i % 2 else float(rng.uniform(0.5, 600))
        x = float(rng.uniform(0, 4 * df + 60)) if i % 5 else float(rng.uniform(0, 1e-3))
        cases.append((x, df))
    cases += [(0.0, 3), (1e-300, 1), (1500.0, 2), (700.0, 100), (5.0, 5), (4.0, 3.0)]
    # Many categories (large dof), around the mean where both branches meet.
    for df in (1000, 5000, 20000, 100000):
        cases += [(float(x), df) for x in np.linspace(0.7 * df, 1.4 * df, 25)]
    answers = oracle.ask_many([{"fn": "chi2_sf", "x": x, "df": df} for x, df in cases])
    for (x, df), ans in zip(cases, answers):
        ref = scipy_stats.chi2.sf(x, df)
        # Deep tail (< 1e-250): the lgamma-based prefactor has an absolute error of
        # ~1e-16 * |log value| in the exponent, i.e. a relative error up to ~1e-13 * df.
        check("chi2_sf", ans["value"], ref, rtol=1e-9 if ref > 1e-250 else 1e-6, what=f"x={x} df={df}")


def test_norm_sf(oracle):
    zs = np.concatenate([np.linspace(-40, 40, 801), np.random.default_rng(12).normal(0, 5, 200)])
    answers = oracle.ask_many([{"fn": "norm_sf", "z": float(z)} for z in zs])
    for z, ans in zip(zs, answers):
        # SciPy flushes results in the subnormal range (< 2.2e-308) to 0; we do not.
        check("norm_sf", ans["value"], scipy_stats.norm.sf(z), atol=1e-300, what=f"z={z}")


# --------------------------------------------------------------- chi-square


# A category with observed 0 and expected 0 gives 0/0 = NaN on both sides (checked).
@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")
def test_chisquare(oracle):
    rng = np.random.default_rng(13)
    cases = []
    for i in range(300):
        k = int(rng.integers(1, 60))
        obs = rng.integers(0, int(rng.integers(1, 500)) + 1, k).astype(float)
        if obs.sum() == 0:
            obs[0] = 1
        p = rng.dirichlet(np.ones(k))
        exp = p * obs.sum() if i % 3 else obs * rng.uniform(0.9, 1.1, k)
        exp = exp * obs.sum() / exp.sum()
        cases.append((obs, exp))
    answers = oracle.ask_many([{"fn": "chisquare", "obs": o.tolist(), "exp": e.tolist()} for o, e in cases])
    for (o, e), ans in zip(cases, answers):
        ref = scipy_stats.chisquare(o, e)
        check("chisquare.statistic", ans["statistic"], ref.statistic, what=f"k={len(o)}")
        check("chisquare.p_value", ans["p_value"], ref.pvalue, what=f"k={len(o)}")


def test_chisquare_zero_expected(oracle):
    ans = oracle.ask({"fn": "chisquare", "obs": [3.0, 1.0], "exp": [4.0, 0.0]})
    assert ans == {"statistic": "inf", "p_value": 0.0}


# ------------------------------------------------------------------ z-test


def _z_reference(sa, na, sb, nb):
    # Evidently's two-proportion z-test with the pooled proportion.
    p1, p2 = sa / na, sb / nb
    if p1 == p2:
        return 0.0, 1.0
    pooled = (sa + sb) / (na + nb)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    return z, 2 * scipy_stats.norm.sf(abs(z))


def test_proportions_z(oracle):
    rng = np.random.default_rng(14)
    cases = []
    for _ in range(300):
        na, nb = int(rng.integers(1, 5000)), int(rng.integers(1, 5000))
        cases.append((int(rng.integers(0, na + 1)), na, int(rng.integers(0, nb + 1)), nb))
    cases += [(0, 10, 0, 20), (10, 10, 5, 5), (5, 10, 10, 20)]
    answers = oracle.ask_many([{"fn": "ztest", "sa": a, "na": b, "sb": c, "nb": d} for a, b, c, d in cases])
    for c, ans in zip(cases, answers):
        z, p = _z_reference(*c)
        check("ztest.statistic", ans["statistic"], z, what=str(c))
        # SciPy flushes subnormal results (< 2.2e-308) to 0; we do not.
        check("ztest.p_value", ans["p_value"], p, atol=1e-300, what=str(c))


# --------------------------------------------------------------- distances


def test_wasserstein(oracle):
    rng = np.random.default_rng(15)
    cases = []
    for i in range(200):
        n = int(rng.integers(1, 20001)) if i % 4 == 0 else int(rng.integers(1, 800))
        m = n if i % 5 == 0 else int(rng.integers(1, 800))
        kind = KINDS[i % len(KINDS)]
        cases.append((sample(rng, n, kind), sample(rng, m, kind) + (i % 3) * 0.5))
    reqs = [{"fn": "wasserstein", "a": a.tolist(), "b": b.tolist(), "sorted": False} for a, b in cases]
    reqs += [{"fn": "wasserstein", "a": np.sort(a).tolist(), "b": np.sort(b).tolist(), "sorted": True}
             for a, b in cases[:50]]
    answers = oracle.ask_many(reqs)
    for (a, b), ans in zip(cases + cases[:50], answers):
        ref = scipy_stats.wasserstein_distance(a, b)
        # A distance of 0 (identical samples) compares absolutely.
        check("wasserstein", ans["value"], ref, atol=1e-15, what=f"n={len(a)} m={len(b)}")


def test_jensenshannon(oracle):
    rng = np.random.default_rng(16)
    cases = []
    for i in range(300):
        k = int(rng.integers(1, 50))
        p = rng.integers(0, 100, k).astype(float)
        q = rng.integers(0, 100, k).astype(float) if i % 7 else p * 3.0
        if i % 5 == 0:
            p[rng.integers(0, k)] = 0
        if p.sum() == 0:
            p[0] = 1
        if q.sum() == 0:
            q[-1] = 1
        cases.append((p, q))
    answers = oracle.ask_many([{"fn": "jensenshannon", "p": p.tolist(), "q": q.tolist()} for p, q in cases])
    for (p, q), ans in zip(cases, answers):
        ref = scipy_distance.jensenshannon(p, q)
        # sqrt of a divergence that is 0 up to rounding: |value| ~ sqrt(1e-16).
        check("jensenshannon", ans["value"], ref, atol=3e-8, what=f"k={len(p)}")


def test_psi(oracle):
    rng = np.random.default_rng(17)
    cases = []
    for _ in range(300):
        k = int(rng.integers(1, 50))
        r = rng.dirichlet(np.ones(k)) + 1e-4
        c = rng.dirichlet(np.ones(k)) + 1e-4
        cases.append((r, c))
    answers = oracle.ask_many([{"fn": "psi", "ref": r.tolist(), "cur": c.tolist()} for r, c in cases])
    for (r, c), ans in zip(cases, answers):
        ref = float(np.sum((r - c) * np.log(r / c)))
        check("psi", ans["value"], ref, atol=1e-15, what=f"k={len(r)}")


# ---------------------------------------------------------------- binning


def test_sturges_and_histogram(oracle):
    rng = np.random.default_rng(18)
    cases = []
    sizes = [1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 32, 64, 100, 1000, 1024, 4096, 20000]
    for i in range(250):
        n = sizes[i % len(sizes)] if i < 2 * len(sizes) else int(rng.integers(1, 20001))
        cases.append(sample(rng, n, KINDS[i % len(KINDS)]))
    cases.append(np.full(10, 2.5))
    reqs = [{"fn": "sturges", "values": v.tolist()} for v in cases]
    edges_ref = [np.histogram_bin_edges(v, bins="sturges") for v in cases]
    reqs += [{"fn": "histogram", "values": v.tolist(), "edges": e.tolist()} for v, e in zip(cases, edges_ref)]
    # Edges that leave values outside, and non-uniform edges.
    for v in cases[:40]:
        e = np.sort(rng.choice(v, size=min(len(v), 5), replace=False)) if len(v) > 1 else np.array([0.0, 1.0])
        e = np.unique(e)
        if len(e) < 2:
            e = np.array([e[0] - 1, e[0]])
        cases.append(v)
        edges_ref.append(e)
        reqs.append({"fn": "histogram", "values": v.tolist(), "edges": e.tolist()})
    answers = oracle.ask_many(reqs)
    n_sturges = len(edges_ref) - 40
    for v, e, ans in zip(cases[:n_sturges], edges_ref[:n_sturges], answers[:n_sturges]):
        assert len(ans["edges"]) == len(e), f"n={len(v)}: {len(ans['edges'])} edges, NumPy {len(e)}"
        # NumPy's own linspace arithmetic, so the edges agree to the last bit.
        np.testing.assert_array_equal(np.array(ans["edges"]), e)
        WORST.setdefault("sturges", 0.0)
        CASES["sturges"] = CASES.get("sturges", 0) + 1
    for v, e, ans in zip(cases[:n_sturges], edges_ref[:n_sturges], answers[n_sturges:2 * n_sturges]):
        assert ans["counts"] == np.histogram(v, e)[0].tolist()
        WORST.setdefault("histogram", 0.0)
        CASES["histogram"] = CASES.get("histogram", 0) + 1
    for v, e, ans in zip(cases[n_sturges:], edges_ref[n_sturges:], answers[2 * n_sturges:]):
        assert ans["counts"] == np.histogram(v, e)[0].tolist(), f"edges {e}"


def test_sturges_empty_and_constant(oracle):
    a = oracle.ask_many([{"fn": "sturges", "values": []}, {"fn": "sturges", "values": [3.0]}])
    assert a[0]["edges"] == np.histogram_bin_edges(np.array([]), bins="sturges").tolist()
    assert a[1]["edges"] == [2.5, 3.5]


def test_std(oracle):
    rng = np.random.default_rng(19)
    cases = [sample(rng, int(rng.integers(1, 20001)), KINDS[i % 4]) + (1e6 if i % 9 == 0 else 0)
             for i in range(200)]
    answers = oracle.ask_many([{"fn": "std", "values": v.tolist()} for v in cases])
    for v, ans in zip(cases, answers):
        # All-equal samples: NumPy's pairwise mean may differ from ours in the last
        # bit, leaving a std of ~1e-16 * |mean| on one side; compare absolutely there.
        check("std", ans["value"], np.std(v), atol=1e-15 * (1 + abs(float(np.mean(v)))), what=f"n={len(v)}")
    assert oracle.ask({"fn": "std", "values": []})["value"] == 0.0


# ------------------------------------------------------------- performance


def _classification_cases(rng):
    cases = []
    for i in range(250):
        rows = int(rng.integers(1, 3000))
        if i % 3 == 0:  # multi-class
            classes = ["a", "b", "c", "d", "e"][: int(rng.integers(3, 6))]
            labels = rng.choice(classes, rows)
            preds = np.where(rng.random(rows) < 0.6, labels, rng.choice(classes, rows))
            cases.append((labels.tolist(), preds.tolist(), "a", None))
        else:
            classes = ["0", "1"] if i % 2 else ["no", "yes"]
            positive = classes[1] if i % 5 else classes[0]
            labels = rng.choice(classes, rows)
            scores = np.round(rng.random(rows), 2 if i % 4 == 0 else 6)  # ties in scores
            if i % 11 == 0:
                scores[: rows // 3] = 0.0
                scores[rows // 3: rows // 2] = 1.0  # exact 0 and 1: clipping in log_loss
            pos_scores = scores
            preds = np.where(pos_scores >= 0.5, positive, [c for c in classes if c != positive][0])
            if i % 13 == 0:
                labels[:] = positive  # one class in the labels: ROC AUC is undefined
            cases.append((labels.tolist(), preds.tolist(), positive, pos_scores.tolist()))
    return cases


def test_classification(oracle):
    rng = np.random.default_rng(20)
    cases = _classification_cases(rng)
    reqs = []
    for labels, preds, positive, scores in cases:
        r = {"fn": "classification", "labels": labels, "predictions": preds, "positive": positive}
        if scores is not None:
            r["scores"] = scores
        reqs.append(r)
    answers = oracle.ask_many(reqs)
    for (labels, preds, positive, scores), ans in zip(cases, answers):
        what = f"rows={len(labels)} classes={sorted(set(labels) | set(preds))}"
        binary = len(set(labels) | set(preds)) <= 2
        kw = {"pos_label": positive, "average": "binary"} if binary else {"average": "macro"}
        check("accuracy", ans["accuracy"], sk_metrics.accuracy_score(labels, preds), what=what)
        check("precision", ans["precision"], sk_metrics.precision_score(labels, preds, zero_division=0, **kw), what=what)
        check("recall", ans["recall"], sk_metrics.recall_score(labels, preds, zero_division=0, **kw), what=what)
        check("f1", ans["f1"], sk_metrics.f1_score(labels, preds, zero_division=0, **kw), what=what)
        assert ans["rows"] == len(labels)
        if scores is None:
            assert ans["roc_auc"] is None and ans["log_loss"] is None
            continue
        y = (np.array(labels) == positive).astype(int)
        if len(set(y.tolist())) < 2:
            assert ans["roc_auc"] is None
        else:
            check("roc_auc", ans["roc_auc"], sk_metrics.roc_auc_score(y, scores), what=what)
        check("log_loss", ans["log_loss"], sk_metrics.log_loss(y, scores, labels=[0, 1]), what=what)


def test_regression(oracle):
    rng = np.random.default_rng(21)
    cases = []
    for i in range(250):
        rows = int(rng.integers(2, 5000))
        y = rng.normal(0, 10, rows) if i % 10 else np.full(rows, 3.0)
        p = y + rng.normal(0, 2, rows) if i % 17 else y.copy()
        cases.append((y, p))
    answers = oracle.ask_many([{"fn": "regression", "labels": y.tolist(), "predictions": p.tolist()}
                               for y, p in cases])
    for (y, p), ans in zip(cases, answers):
        check("mae", ans["mae"], sk_metrics.mean_absolute_error(y, p))
        check("rmse", ans["rmse"], math.sqrt(sk_metrics.mean_squared_error(y, p)))
        check("r2", ans["r2"], sk_metrics.r2_score(y, p), atol=1e-15)
    one = oracle.ask({"fn": "regression", "labels": [1.0], "predictions": [2.0]})
    assert one["r2"] is None and one["mae"] == 1.0


def test_malformed_requests_answer_errors(oracle):
    answers = oracle.ask_many([{"fn": "nope"}, {"fn": "ks", "a": "x"}, {"fn": "std", "values": [1.0, 3.0]}])
    assert "error" in answers[0] and "error" in answers[1]
    assert answers[2]["value"] == 1.0
    oracle.proc.stdin.write("not json\n")
    oracle.proc.stdin.flush()
    assert "error" in json.loads(oracle.proc.stdout.readline())
    assert oracle.ask({"fn": "norm_sf", "z": 0.0})["value"] == 0.5
