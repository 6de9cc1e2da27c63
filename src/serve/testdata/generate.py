"""Regenerates the model manager's test models (run from this folder).

    /work/main/.venv/mlflow3/bin/python generate.py

The XGBoost classifier of ../../model/runtime/testdata/binary_ubj saved again
by mlflow.xgboost.save_model with an input example (rows 1-3 of inputs.txt,
which hold no NaN), so the model folder carries what MLflow writes for one:
  xgb_frame_example/    a pandas DataFrame example (columns f0..f9):
                        input_example.json (split orient),
                        serving_input_example.json, a column signature
  xgb_ndarray_example/  a numpy array example: a tensor signature
"""
import shutil

import mlflow.xgboost
import numpy as np
import pandas as pd
import xgboost as xgb

runtime_testdata = "../../model/runtime/testdata"
model = xgb.XGBClassifier()
model.load_model(f"{runtime_testdata}/binary_ubj/model.ubj")
X = np.loadtxt(f"{runtime_testdata}/inputs.txt", dtype=np.float32)[1:4]
frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
for name, example in {"xgb_frame_example": frame, "xgb_ndarray_example": X}.items():
    shutil.rmtree(name, ignore_errors=True)
    mlflow.xgboost.save_model(model, name, model_format="ubj", input_example=example)
print(model.predict(X))
