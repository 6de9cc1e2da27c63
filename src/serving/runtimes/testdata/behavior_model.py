"""A python_function test model for python_runtime_test.cc (saved as models-from-code).

Its behaviour is chosen by the input's column names, so one loaded model covers
the runtime's paths: "boom" raises ValueError, "internal" raises RuntimeError,
"crash" exits the process with the column's first value as exit code, "scalar"
answers a single number (not one per row), a first column named "identity"
answers that column as it came (a trivial model, for overhead figures), "sleep"
sleeps that many seconds first, "noise" prints a lot to stdout and stderr.
A DataFrame answers a DataFrame echoing what it received (column names, dtypes,
the row sums times params["scale"], the worker's pid); an array answers
array * scale (strings upper-cased); a dict answers one output per key.
"""
import os
import sys
import time

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel


class BehaviorModel(PythonModel):
    def predict(self, context, model_input, params=None):
        scale = float((params or {}).get("scale", 1.0))
        if isinstance(model_input, pd.DataFrame):
            return self._frame(model_input, scale)
        if isinstance(model_input, dict):
            return {"keys": np.array([",".join(model_input)] * len(next(iter(model_input.values())))),
                    **{k: self._array(v, scale) for k, v in model_input.items()}}
        return self._array(model_input, scale)

    @staticmethod
    def _array(array, scale):
        array = np.asarray(array)
        if array.dtype == object:
            return np.array([str(x).upper() for x in array.reshape(-1)],
                            dtype=object).reshape(array.shape)
        if array.dtype == np.bool_:
            return ~array
        return array * scale

    @staticmethod
    def _frame(frame, scale):
        columns = list(frame.columns)
        if columns[0] == "identity":
            return frame["identity"]
        if "boom" in columns:
            raise ValueError("column 'boom' is not allowed")
        if "internal" in columns:
            raise RuntimeError("internal failure")
        if "crash" in columns:
            os._exit(int(frame["crash"].iloc[0]))
        if "scalar" in columns:
            return 42.0
        if "sleep" in columns:
            time.sleep(float(frame["sleep"].iloc[0]))
        if "noise" in columns:
            for _ in range(2000):
                print("noise on stdout " + "x" * 200)
                print("noise on stderr " + "y" * 200, file=sys.stderr)
            os.write(1, b"raw noise on fd 1\n")
        numeric = frame.select_dtypes(include=["number"])
        rows = len(frame)
        return pd.DataFrame({
            "columns": [",".join(str(c) for c in columns)] * rows,
            "dtypes": [",".join(str(t) for t in frame.dtypes)] * rows,
            "sum": numeric.sum(axis=1).to_numpy(dtype=np.float64) * scale,
            "pid": np.full(rows, os.getpid(), dtype=np.int64),
        })


mlflow.models.set_model(BehaviorModel())
