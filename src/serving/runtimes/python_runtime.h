#pragma once
// The python_function Runtime: a pool of Python worker processes, each of
// which loads the model with `mlflow.pyfunc.load_model(folder)` and predicts
// whole batches the C++ server sends it. Python never sees HTTP; the GIL of
// one worker never serializes the server (there are `workers` processes).
//
// Worker: the script is embedded in the binary (python_worker.py, turned into
// a C++ string at build time) and started as `<python> -u -c <script> <folder>`
// in its own process group, with fd 3 (a socketpair) as the channel; stdout
// and stderr go to the server's log, prefixed by the worker's pid (so nothing
// a library prints can corrupt the channel). After loading, the
// worker sends a "ready" frame (or an "error" frame with Python's message,
// e.g. ModuleNotFoundError, which makes Load fail with kInvalidArgument
// "python worker could not load the model: ...").
//
// Channel: length-prefixed frames (u32 little-endian length, then payload).
// A request payload is a small JSON header (kind, params, and per tensor:
// name, datatype, shape, byte length) followed by the tensors' raw bytes
// (BYTES elements as u32 length + bytes). The worker builds numpy arrays
// with numpy.frombuffer (no per-value Python objects for numeric data), a
// pandas DataFrame for kColumns, the array (unnamed) or a dict for kTensors,
// calls model.predict(data, params=...) and answers the same format. A
// DataFrame result answers frame=true (one tensor per column), a Series or
// array one tensor "predict", a dict one tensor per key, a list → array.
// Python errors answer an error frame; Predict returns kInvalidArgument for
// ValueError/TypeError/KeyError (the model rejected the input) and kInternal
// for the rest, with Python's message ("ValueError: ...").
//
// Faults: a worker that exits or crashes while predicting makes that call
// fail with kUnavailable ("python worker 1234 died (signal 9) while
// predicting; restarting it"); a worker that takes longer than
// `predict_timeout` is killed (SIGKILL to its process group), the call fails
// with kDeadlineExceeded. Either way the worker is restarted in the
// background (with backoff 0.1 s .. 10 s if it keeps failing to start) and
// the other workers keep serving. Predict waits up to `acquire_timeout` for
// an idle worker (kUnavailable "no python worker available" after that).
//
// Thread safety: Predict from any number of threads; each call holds one
// worker exclusively for the round trip. Shutdown closes the workers' stdin,
// waits up to 2 s, then kills them. No zombies are left.

#include <chrono>
#include <memory>
#include <string>

#include "core/error.h"
#include "serving/runtime.h"

namespace cairn::serving {

struct PythonRuntimeOptions {
  std::string python = "python3";  // interpreter; must import mlflow
  int workers = 2;                 // processes
  std::chrono::milliseconds load_timeout{120000};    // per worker, to "ready"
  std::chrono::milliseconds predict_timeout{30000};  // per batch
  std::chrono::milliseconds acquire_timeout{30000};  // waiting for an idle worker
};

// Starts the workers and waits until every one is ready (in parallel).
// kInvalidArgument when the model cannot be loaded (Python's message);
// kUnavailable when the interpreter cannot be started ("python 'x' not found").
Result<std::unique_ptr<Runtime>> LoadPythonRuntime(const std::string& folder,
                                                   const PythonRuntimeOptions& options = {});

}  // namespace cairn::serving
