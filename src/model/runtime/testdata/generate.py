"""Regenerates the XGBoost runtime test models (run from this folder).

    /work/main/.venv/mlflow3/bin/python generate.py

Writes, with the venv's xgboost (3.2.0) and mlflow (3.17.2):
  inputs.txt                 20 rows x 10 float32 features ("nan" = missing)
  <name>/                    an MLflow model folder from mlflow.xgboost.save_model
  <name>.expected.txt        Python xgboost's predictions for inputs.txt, row-major
"""
import shutil

import mlflow.xgboost
import numpy as np
import xgboost as xgb

rng = np.random.default_rng(42)
X = rng.normal(size=(200, 10)).astype(np.float32)
X[::17, 3] = np.nan
y_binary = (X[:, 0] + 0.5 * X[:, 1] - X[:, 2] > 0).astype(int)
y_reg = X[:, 0] * 2.0 + X[:, 4] - 0.3 * X[:, 5]
y_multi = (np.nan_to_num(X[:, 0]) > 0.5).astype(int) + (np.nan_to_num(X[:, 1]) > 0).astype(int)

models = {
    # name: (model, model_format)
    "binary_ubj": (xgb.XGBClassifier(n_estimators=5, max_depth=3).fit(X, y_binary), "ubj"),
    "regressor_json": (xgb.XGBRegressor(n_estimators=5, max_depth=3).fit(X, y_reg), "json"),
    "multiclass_ubj": (xgb.XGBClassifier(n_estimators=4, max_depth=2).fit(X, y_multi), "ubj"),
}
X_test = X[:20]
np.savetxt("inputs.txt", X_test, fmt="%.9g")
for name, (model, fmt) in models.items():
    shutil.rmtree(name, ignore_errors=True)
    mlflow.xgboost.save_model(model, name, model_format=fmt)
    predictions = np.asarray(model.get_booster().inplace_predict(X_test), dtype=np.float32)
    np.savetxt(f"{name}.expected.txt", predictions.reshape(-1), fmt="%.9g")
print("xgboost", xgb.__version__, "mlflow", mlflow.__version__)
