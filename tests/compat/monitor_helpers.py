"""Helpers for the monitoring scenario (tests/compat/test_monitoring.py).

- WebhookReceiver: an http.server on a thread that records every POST (headers, body) and checks
  the X-Cairn-Signature HMAC (registry/webhook_dispatcher.h: "sha256=" + hex HMAC-SHA256(secret, body)).
- LowDiscrepancySampler: rows whose every contiguous run follows the reference's distribution
  closely (Weyl sequences through the reference's empirical quantiles), so an unshifted feature is
  never flagged by chance: a random sample would be, in 5 % of the windows at p < 0.05.
- wait_until: polling with a deadline and a message that says what was last seen.
- drifted_by_window: per window, the features a `cairn monitors report --json` document marks
  drifted (the report's layout is the monitor service's; this walks it generically).

Only the standard library, numpy and requests: usable from any of the compat venvs.
"""

import hashlib
import hmac
import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def wait_until(predicate, timeout, what, interval=0.2):
    """Calls predicate() until it returns a truthy value (returned) or `timeout` s pass
    (AssertionError naming `what` and the last value or exception)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - reported when the deadline passes
            last = f"{type(e).__name__}: {e}"
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


# --------------------------------------------------------------------------- webhooks


class WebhookReceiver:
    """Records POSTs to http://127.0.0.1:<port>/<path>; answers 200 (or `status` when set).

    deliveries: list of dicts {path, headers (lower-case keys), body (bytes), json, signature_ok,
    received_at}. events(): the parsed bodies, de-duplicated on X-Cairn-Delivery (delivery is at
    least once), in arrival order.
    """

    def __init__(self, secret):
        self.secret = secret.encode()
        self.deliveries = []
        self.status = 200
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver._record(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver",
                                        daemon=True)

    @property
    def port(self):
        return self._server.server_address[1]

    def url(self, path="/hook"):
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def expected_signature(self, body):
        return "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()

    def _record(self, path, headers, body):
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        sig = headers.get("x-cairn-signature", "")
        ok = hmac.compare_digest(sig, self.expected_signature(body))
        with self._lock:
            self.deliveries.append({"path": path, "headers": headers, "body": body, "json": doc,
                                    "signature_ok": ok, "received_at": time.time()})

    def snapshot(self):
        with self._lock:
            return list(self.deliveries)

    def events(self):
        seen, out = set(), []
        for d in self.snapshot():
            key = d["headers"].get("x-cairn-delivery") or id(d)
            if key in seen:
                continue
            seen.add(key)
            if isinstance(d["json"], dict):
                out.append(d["json"])
        return out


# --------------------------------------------------------------------------- traffic

# Quadratic irrationals (bounded continued-fraction quotients): every contiguous block of
# frac(k * alpha) is spread evenly over [0, 1) (discrepancy O(log n / n)).
_ALPHAS = [(math.sqrt(5) - 1) / 2, math.sqrt(2) - 1, math.sqrt(3) - 1, math.sqrt(6) - 2,
           math.sqrt(7) - 2, math.sqrt(10) - 3, math.sqrt(11) - 3, math.sqrt(17) - 4]


class LowDiscrepancySampler:
    """Rows that follow the reference's per-column distributions.

    reference: a pandas DataFrame of numeric columns. next_rows(n, shift) returns a DataFrame of n
    rows; `shift` maps column -> a constant added to that column (the drift). Row k's value in
    column j is the reference's empirical quantile at frac(k * alpha_j + 0.5 / len(ref)), with a
    different alpha per column so columns are not functions of one another.
    """

    def __init__(self, reference):
        import numpy as np
        if reference.shape[1] > len(_ALPHAS):
            raise ValueError(f"at most {len(_ALPHAS)} columns")
        self.columns = list(reference.columns)
        self.sorted = {c: np.sort(reference[c].to_numpy(dtype=np.float64)) for c in self.columns}
        self.k = 0

    def next_rows(self, n, shift=None):
        import numpy as np
        import pandas as pd
        shift = shift or {}
        ks = np.arange(self.k, self.k + n, dtype=np.float64)
        self.k += n
        cols = {}
        for j, c in enumerate(self.columns):
            u = np.mod(ks * _ALPHAS[j] + 0.5 / len(self.sorted[c]), 1.0)
            cols[c] = np.quantile(self.sorted[c], u) + float(shift.get(c, 0.0))
        return pd.DataFrame(cols, columns=self.columns)


# --------------------------------------------------------------------------- reports


def _window_start(w):
    for key in ("start", "window_start", "start_ms", "start_millis"):
        if isinstance(w.get(key), (int, float)):
            return int(w[key])
    return None


def _truthy_drift(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value >= 1
    if isinstance(value, str):
        return value.lower() in ("true", "1", "yes", "drifted")
    return False


def _drifted_features(node, parent_key=None, out=None):
    """Names of the objects in `node` that say drifted: {"feature"|"column"|"name": X,
    "drifted"|"drift_detected": true}, or {X: {"drifted": true}}."""
    if out is None:
        out = set()
    if isinstance(node, dict):
        flag = None
        for key in ("drifted", "drift_detected"):
            if key in node:
                flag = node[key]
                break
        if flag is not None and _truthy_drift(flag):
            name = None
            for key in ("feature", "column", "name"):
                if isinstance(node.get(key), str):
                    name = node[key]
                    break
            if name is None and isinstance(parent_key, str):
                name = parent_key
            if name:
                out.add(name)
        for k, v in node.items():
            if k in ("drifted_columns", "drifted_features") and isinstance(v, list):
                out.update(x for x in v if isinstance(x, str))
            elif isinstance(v, (dict, list)):
                _drifted_features(v, k, out)
    elif isinstance(node, list):
        for v in node:
            _drifted_features(v, parent_key, out)
    return out


def drifted_by_window(doc):
    """{window start (ms): set of drifted feature names} from a `monitors report --json` document:
    a list of windows, or an object with "windows" (each window: start + report, the report
    possibly as a JSON string)."""
    windows = doc.get("windows") if isinstance(doc, dict) else doc
    if not isinstance(windows, list):
        raise ValueError(f"no list of windows in the report: {str(doc)[:500]}")
    out = {}
    for w in windows:
        if not isinstance(w, dict):
            continue
        start = _window_start(w)
        if start is None and isinstance(w.get("window"), dict):
            start = _window_start(w["window"])
        if start is None:
            continue
        report = w.get("report", w)
        if isinstance(report, str):
            report = json.loads(report) if report.strip() else {}
        out.setdefault(start, set()).update(_drifted_features(report))
    return out


def parse_text_table(text, first_header):
    """The first aligned table in `text` whose header line starts with `first_header` (TextTable:
    left-justified columns separated by two spaces, a rule of dashes under the header), as a list
    of {header: cell} in row order. Cells are cut at the header's column offsets."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith(first_header) or i + 1 >= len(lines) or not lines[i + 1].startswith("-"):
            continue
        headers = line.split()
        offsets, pos = [], 0
        for h in headers:
            pos = line.index(h, pos)
            offsets.append(pos)
            pos += len(h)
        rows = []
        for row in lines[i + 2:]:
            if not row.strip():
                break
            cells = {}
            for j, h in enumerate(headers):
                end = offsets[j + 1] if j + 1 < len(offsets) else len(row)
                cells[h] = row[offsets[j]:end].strip()
            rows.append(cells)
        return rows
    raise ValueError(f"no table with a header starting with {first_header!r} in:\n{text[:2000]}")
