"""Regenerates the models of the native tree walker's tests (run from this folder).

    /work/main/.venv/mlflow3/bin/python generate_native.py

Writes MLflow model folders (mlflow.xgboost.save_model, xgboost 3.2 so the
>= 3.1 vector base_score rewrite is involved) trained on 300 rows x 6 float32
features where ~20 % of the values are missing (NaN), so default directions
matter. Small on purpose (<= 8 trees, depth <= 4). No expected files: the
tests compare the native walker with libxgboost's C API on random rows.
  native_binary/       binary:logistic
  native_softprob/     multi:softprob, 3 classes, base_score=0.5 (one intercept)
  native_softmax/      multi:softmax, 3 classes, base_score=0.5
  native_regression/   reg:squarederror (JSON model file)
  native_logitraw/     binary:logitraw
  native_poisson/      count:poisson
  fallback_dart/       booster=dart: must keep the C-API path
  fallback_hinge/      binary:hinge (an objective the walker does not handle)
  fallback_categorical/ a categorical split (pandas category column)
(gblinear is not here: libxgboost 1.7 cannot predict it in place, so the
runtime does not load it at all.)
"""
import shutil

import mlflow.xgboost
import numpy as np
import pandas as pd
import xgboost as xgb

rng = np.random.default_rng(7)
X = rng.normal(size=(300, 6)).astype(np.float32)
X[rng.random(X.shape) < 0.2] = np.nan
Z = np.nan_to_num(X, nan=-1.0)
y_binary = ((Z[:, 0] + 0.5 * Z[:, 1] - Z[:, 2]) > 0).astype(int)
y_multi = (Z[:, 0] > 0.3).astype(int) + (Z[:, 1] > -0.2).astype(int)
y_reg = Z[:, 0] * 2.0 + Z[:, 3] - 0.3 * Z[:, 4]
y_count = rng.poisson(np.exp(0.5 * Z[:, 0]))

common = dict(n_estimators=8, max_depth=4, learning_rate=0.3)
models = {
    "native_binary": (xgb.XGBClassifier(**common), y_binary, "ubj"),
    "native_softprob": (xgb.XGBClassifier(objective="multi:softprob", base_score=0.5, **common),
                        y_multi, "ubj"),
    "native_softmax": (xgb.XGBClassifier(objective="multi:softmax", base_score=0.5, **common),
                       y_multi, "ubj"),
    "native_regression": (xgb.XGBRegressor(**common), y_reg, "json"),
    "native_logitraw": (xgb.XGBRegressor(objective="binary:logitraw", **common), y_binary, "ubj"),
    "native_poisson": (xgb.XGBRegressor(objective="count:poisson", **common), y_count, "ubj"),
    "fallback_dart": (xgb.XGBRegressor(booster="dart", **common), y_reg, "ubj"),
    "fallback_hinge": (xgb.XGBClassifier(objective="binary:hinge", **common), y_binary, "ubj"),
}
for name, (model, y, fmt) in models.items():
    model.fit(X, y)
    shutil.rmtree(name, ignore_errors=True)
    mlflow.xgboost.save_model(model, name, model_format=fmt)
# A categorical column (codes 0-3) beside two numeric ones.
frame = pd.DataFrame({"c": pd.Categorical(rng.integers(0, 4, size=300)),
                      "x0": X[:, 0], "x1": X[:, 1]})
y_cat = ((frame["c"].cat.codes.to_numpy() == 2) ^ (Z[:, 0] > 0)).astype(int)
categorical = xgb.XGBClassifier(enable_categorical=True, tree_method="hist", **common)
categorical.fit(frame, y_cat)
shutil.rmtree("fallback_categorical", ignore_errors=True)
mlflow.xgboost.save_model(categorical, "fallback_categorical", model_format="ubj")
print("xgboost", xgb.__version__, "mlflow", mlflow.__version__)
