# Cairn's python_function worker: loads one MLflow model and predicts the
# batches the C++ server sends it (src/serving/runtimes/python_runtime.cc).
#
# Started as `<python> -u -c <this script> <model folder>` with fd 3 one end
# of a socketpair (the channel), fd 0 /dev/null, and fds 1 and 2 the server's
# log. The channel is never fd 1, so nothing a library prints can reach it;
# the worker moves it to a non-inheritable descriptor so subprocesses of the
# model never hold it open.
#
# Frame: u32 little-endian length, then the payload.
# Payload: u32 little-endian header length, the JSON header (UTF-8), then the
#   tensors' bytes in header order, each starting at an offset (from the start
#   of the payload) that is a multiple of 8, zero padding in between.
#   Fixed-size datatypes: little-endian elements in row-major order (BOOL one
#   byte 0/1, FP16 binary16). BYTES: per element a u32 length and the bytes.
# Request header:  {"kind": "columns"|"tensors", "rows": int, "params": object|null,
#                   "tensors": [{"name", "datatype", "shape", "nbytes"}, ...]}
# Response header: {"ok": true, "frame": bool, "tensors": [...]} or
#                  {"ok": false, "error_type": "ValueError", "error_code": str|null,
#                   "client_error": bool, "message": "..."}
# Startup: one frame {"ok": true, "ready": true, ...} or an error header.
# EOF on the channel: the worker exits 0.
import json
import os
import socket
import struct
import sys
import traceback

np = None  # numpy and pandas are imported after the channel is set up
pd = None

_NUMPY_DTYPES = {
    "BOOL": "?",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}
_INT_NAMES = {1: "INT8", 2: "INT16", 4: "INT32", 8: "INT64"}
_UINT_NAMES = {1: "UINT8", 2: "UINT16", 4: "UINT32", 8: "UINT64"}
_FLOAT_NAMES = {2: "FP16", 4: "FP32", 8: "FP64"}
_MAX_MESSAGE = 10000
_U32 = struct.Struct("<I")


class ProtocolError(RuntimeError):
    """The request frame does not follow the format above (a server bug)."""


class OutputError(RuntimeError):
    """The model's result cannot be answered (not one value per input row)."""


def _align8(n):
    return (n + 7) & ~7


class Channel:
    def __init__(self, fd):
        self._sock = socket.socket(fileno=fd)

    def _read_exact(self, n, allow_eof):
        buf = bytearray(n)
        view = memoryview(buf)
        pos = 0
        while pos < n:
            got = self._sock.recv_into(view[pos:], n - pos)
            if got == 0:
                if allow_eof and pos == 0:
                    return None
                raise EOFError("the server closed the channel mid-frame")
            pos += got
        return buf

    def read_frame(self):
        head = self._read_exact(4, allow_eof=True)
        if head is None:
            return None
        (n,) = _U32.unpack(head)
        return self._read_exact(n, allow_eof=False) if n else bytearray()

    def write_frame(self, parts):
        total = sum(len(p) for p in parts)
        self._sock.sendall(b"".join([_U32.pack(total)] + parts))


def _payload(header, blobs):
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    parts = [_U32.pack(len(text)), text]
    offset = 4 + len(text)
    for blob in blobs:
        pad = _align8(offset) - offset
        if pad:
            parts.append(b"\0" * pad)
            offset += pad
        parts.append(blob)
        offset += len(blob)
    return parts


def _is_client_error(exc):
    if isinstance(exc, (ValueError, TypeError, KeyError)):
        return True
    return (type(exc).__name__ == "MlflowException"
            and getattr(exc, "error_code", None) == "INVALID_PARAMETER_VALUE")


def _error_payload(exc):
    message = str(exc)
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + "..."
    code = getattr(exc, "error_code", None)
    return _payload({
        "ok": False,
        "error_type": type(exc).__name__,
        "error_code": code if isinstance(code, str) else None,
        "client_error": _is_client_error(exc),
        "message": message,
    }, [])


# ---- request → model input ----

def _decode_strings(view, count):
    out = np.empty(count, dtype=object)
    pos = 0
    for i in range(count):
        if pos + 4 > len(view):
            raise ProtocolError("BYTES tensor is truncated")
        (n,) = _U32.unpack_from(view, pos)
        pos += 4
        raw = bytes(view[pos:pos + n])
        pos += n
        try:
            out[i] = raw.decode("utf-8")
        except UnicodeDecodeError:
            out[i] = raw
    return out


def _decode_request(payload):
    if len(payload) < 4:
        raise ProtocolError("request frame too short")
    (hlen,) = _U32.unpack_from(payload, 0)
    header = json.loads(bytes(payload[4:4 + hlen]))
    view = memoryview(payload)
    offset = _align8(4 + hlen)
    arrays = []
    for spec in header["tensors"]:
        shape = tuple(int(d) for d in spec["shape"])
        nbytes = int(spec["nbytes"])
        if offset + nbytes > len(payload):
            raise ProtocolError("tensor '%s' extends past the frame" % spec["name"])
        count = 1
        for d in shape:
            count *= d
        datatype = spec["datatype"]
        if datatype == "BYTES":
            array = _decode_strings(view[offset:offset + nbytes], count).reshape(shape)
        else:
            dtype = np.dtype(_NUMPY_DTYPES[datatype])
            if count == 0:
                array = np.empty(shape, dtype=dtype)
            else:
                # A view on the bytearray: no copy, and writable.
                array = np.frombuffer(payload, dtype=dtype, count=count,
                                      offset=offset).reshape(shape)
        arrays.append((spec["name"], array))
        offset = _align8(offset + nbytes)
    return header, arrays


def _model_input(kind, arrays):
    if kind == "columns":
        if len(arrays) > 1 and all(a.ndim == 1 and a.dtype == arrays[0][1].dtype
                                   and a.dtype != object for _, a in arrays):
            # One dtype: a single 2-D block builds the frame several times faster.
            return pd.DataFrame(np.stack([a for _, a in arrays], axis=1),
                                columns=[name for name, _ in arrays])
        columns = {}
        for name, array in arrays:
            # An array column ([rows, k]) holds one array per row, as MLflow's
            # Array type expects.
            columns[name] = array if array.ndim == 1 else list(array)
        return pd.DataFrame(columns)
    if len(arrays) == 1 and arrays[0][0] == "":
        return arrays[0][1]
    return {name: array for name, array in arrays}


# ---- model result → response ----

def _as_array(value):
    if isinstance(value, (pd.Series, pd.DataFrame)):
        value = value.to_numpy()
    array = np.asarray(value)
    if array.dtype == object and array.ndim == 1 and len(array) > 0 and all(
            isinstance(x, (list, tuple, np.ndarray)) for x in array):
        # A column of equal-length vectors (e.g. class probabilities) → [rows, k].
        try:
            stacked = np.stack([np.asarray(x) for x in array])
            if stacked.dtype != object:
                array = stacked
        except ValueError:
            pass
    return array


def _result_items(result):
    if isinstance(result, pd.DataFrame):
        return True, [(str(result.columns[i]), _as_array(result.iloc[:, i]))
                      for i in range(result.shape[1])]
    if isinstance(result, pd.Series):
        return False, [("predict", _as_array(result))]
    if isinstance(result, dict):
        return False, [(str(k), _as_array(v)) for k, v in result.items()]
    return False, [("predict", _as_array(result))]


def _string_bytes(flat):
    parts = []
    for x in flat:
        if isinstance(x, (bytes, bytearray)):
            b = bytes(x)
        elif x is None:
            b = b""
        else:
            b = str(x).encode("utf-8", "surrogatepass")
        parts.append(_U32.pack(len(b)))
        parts.append(b)
    return b"".join(parts)


def _encode_array(name, array, rows):
    if array.ndim == 0:
        raise OutputError("the model returned a single value for output '%s'; expected one "
                          "per input row (%d rows)" % (name, rows))
    if array.shape[0] != rows:
        raise OutputError("the model returned %d rows for output '%s'; the input has %d"
                          % (array.shape[0], name, rows))
    kind = array.dtype.kind
    size = array.dtype.itemsize
    if kind == "b":
        datatype, data = "BOOL", np.ascontiguousarray(array, dtype=np.bool_).tobytes()
    elif kind == "i" and size in _INT_NAMES:
        datatype = _INT_NAMES[size]
        data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    elif kind == "u" and size in _UINT_NAMES:
        datatype = _UINT_NAMES[size]
        data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    elif kind == "f":
        if size not in _FLOAT_NAMES:  # float128
            array, size = array.astype(np.float64), 8
        datatype = _FLOAT_NAMES[size]
        data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    else:  # str, bytes, object, datetime, ...: text
        datatype, data = "BYTES", _string_bytes(array.reshape(-1))
    spec = {"name": name, "datatype": datatype, "shape": list(array.shape), "nbytes": len(data)}
    return spec, data


def _predict(model, payload):
    header, arrays = _decode_request(payload)
    data = _model_input(header.get("kind"), arrays)
    rows = int(header["rows"])
    params = header.get("params")
    if params is None:
        result = model.predict(data)
    else:
        result = model.predict(data, params=params)
    frame, items = _result_items(result)
    specs, blobs = [], []
    for name, array in items:
        spec, blob = _encode_array(name, array, rows)
        specs.append(spec)
        blobs.append(blob)
    return _payload({"ok": True, "frame": frame, "tensors": specs}, blobs)


def _take_channel():
    channel_fd = os.dup(3)  # non-inheritable
    os.close(3)
    return Channel(channel_fd)


def main():
    global np, pd
    channel = _take_channel()
    if len(sys.argv) < 2:
        channel.write_frame(_error_payload(ValueError("no model folder given")))
        return 2
    try:
        import numpy
        import pandas
        np, pd = numpy, pandas
        import mlflow
        import mlflow.pyfunc
        model = mlflow.pyfunc.load_model(sys.argv[1])
    except BaseException as exc:  # noqa: B036 - report anything (SystemExit too) to the server
        traceback.print_exc()
        channel.write_frame(_error_payload(exc))
        return 1
    channel.write_frame(_payload({
        "ok": True, "ready": True, "pid": os.getpid(),
        "python": sys.version.split()[0], "mlflow": getattr(mlflow, "__version__", "?"),
    }, []))
    while True:
        try:
            payload = channel.read_frame()
        except (EOFError, OSError):
            return 0
        if payload is None:
            return 0
        try:
            parts = _predict(model, payload)
        except Exception as exc:
            if not _is_client_error(exc):
                traceback.print_exc()
            parts = _error_payload(exc)
        try:
            channel.write_frame(parts)
        except OSError:
            return 0


if __name__ == "__main__":
    sys.exit(main())
