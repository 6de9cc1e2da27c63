"""Tests of the monitoring scenario's helpers (monitor_helpers.py): a helper that silently
accepts anything would let test_monitoring.py pass without checking what it claims."""

import hashlib
import hmac
import json
import time

import numpy as np
import pandas as pd
import pytest
import requests

from monitor_helpers import (LowDiscrepancySampler, WebhookReceiver, drifted_by_window,
                             parse_text_table, wait_until)


def test_wait_until_returns_the_first_truthy_value():
    calls = []

    def pred():
        calls.append(1)
        return "ready" if len(calls) == 3 else None
    assert wait_until(pred, 5, "ready", interval=0.01) == "ready"
    assert len(calls) == 3


def test_wait_until_times_out_naming_what_and_the_last_value_or_exception():
    with pytest.raises(AssertionError, match=r"timed out after 0.05s waiting for the thing; last: 0"):
        wait_until(lambda: 0, 0.05, "the thing", interval=0.01)

    def boom():
        raise ValueError("nope")
    with pytest.raises(AssertionError, match=r"last: 'ValueError: nope'"):
        wait_until(boom, 0.05, "x", interval=0.01)


def _post(receiver, body, secret, delivery="d1"):
    sig = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return requests.post(receiver.url(), data=body, timeout=5,
                         headers={"X-Cairn-Signature": sig, "X-Cairn-Delivery": delivery,
                                  "Content-Type": "application/json"})


def test_webhook_receiver_checks_signatures_and_dedups_deliveries():
    with WebhookReceiver("s3cret") as rx:
        body = json.dumps({"event": "monitor.alert.fired", "feature": "f3"}).encode()
        assert _post(rx, body, b"s3cret").status_code == 200
        assert _post(rx, body, b"s3cret").status_code == 200          # a retry: same delivery id
        assert _post(rx, body, b"wrong", delivery="d2").status_code == 200
        got = rx.snapshot()
        assert [d["signature_ok"] for d in got] == [True, True, False]
        assert got[0]["path"] == "/hook" and got[0]["json"]["feature"] == "f3"
        # events(): one per delivery id, in arrival order
        assert [e["feature"] for e in rx.events()] == ["f3", "f3"]
        rx.status = 503
        assert _post(rx, body, b"s3cret", delivery="d3").status_code == 503


def test_sampler_follows_the_reference_and_applies_the_shift():
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"a": rng.normal(10, 2, 2000), "b": rng.uniform(0, 1, 2000)})
    s = LowDiscrepancySampler(ref)
    rows = s.next_rows(1000)
    assert list(rows.columns) == ["a", "b"] and len(rows) == 1000
    for c in ("a", "b"):
        for q in (0.1, 0.5, 0.9):
            assert abs(np.quantile(rows[c], q) - np.quantile(ref[c], q)) < 0.05 * ref[c].std()
    shifted = s.next_rows(1000, shift={"a": 5.0})
    assert abs(shifted["a"].mean() - ref["a"].mean() - 5.0) < 0.1
    assert abs(shifted["b"].mean() - ref["b"].mean()) < 0.02
    with pytest.raises(ValueError):
        LowDiscrepancySampler(pd.DataFrame({str(i): [1.0] for i in range(9)}))


def test_drifted_by_window_reads_report_documents():
    doc = {"windows": [
        {"start": 1000, "report": {"drift": {"columns": [
            {"column": "f3", "drifted": True}, {"column": "f1", "drifted": False}]}}},
        {"start": 4000, "report": json.dumps({"drift": {"columns": [{"column": "f4", "drifted": 1}]}})},
        {"start": 7000, "report": ""},
    ]}
    assert drifted_by_window(doc) == {1000: {"f3"}, 4000: {"f4"}, 7000: set()}
    with pytest.raises(ValueError):
        drifted_by_window({"no": "windows"})


def test_parse_text_table_cuts_cells_at_header_offsets():
    text = ("Monitor 'm'\n"
            "window   status  rows\n"
            "-------  ------  ----\n"
            "w1 (m)   done    61\n"
            "w2       empty   0\n"
            "\n"
            "tail\n")
    assert parse_text_table(text, "window") == [
        {"window": "w1 (m)", "status": "done", "rows": "61"},
        {"window": "w2", "status": "empty", "rows": "0"}]
    with pytest.raises(ValueError):
        parse_text_table(text, "column")
