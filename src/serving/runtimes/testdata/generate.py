"""Regenerates the python_function runtime's test models (run from this folder).

    /work/main/.venv/mlflow3/bin/python generate.py

Writes, with the venv's mlflow (3.17.2) and scikit-learn (1.9.1):
  sklearn_iris/                a LogisticRegression on iris (mlflow.sklearn.save_model,
                               with signature and input example)
  sklearn_iris.inputs.csv      10 iris rows (header: the column names)
  sklearn_iris.expected.txt    scikit-learn's predicted labels for them
  behavior/                    behavior_model.py saved as a models-from-code pyfunc,
                               with a params schema {"scale": double = 1.0}
"""
import shutil

import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import ParamSchema, ParamSpec
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

iris = load_iris(as_frame=True)
X, y = iris.data, iris.target
classifier = LogisticRegression(max_iter=1000).fit(X, y)
X_test = X.iloc[::15]
shutil.rmtree("sklearn_iris", ignore_errors=True)
mlflow.sklearn.save_model(classifier, "sklearn_iris",
                          signature=infer_signature(X, classifier.predict(X)),
                          input_example=X.head(3), pip_requirements=["mlflow", "scikit-learn"])
X_test.to_csv("sklearn_iris.inputs.csv", index=False, float_format="%.17g")
np.savetxt("sklearn_iris.expected.txt", classifier.predict(X_test), fmt="%d")

shutil.rmtree("behavior", ignore_errors=True)
mlflow.pyfunc.save_model(
    "behavior", python_model="behavior_model.py",
    signature=ModelSignature(params=ParamSchema([ParamSpec("scale", "double", 1.0)])),
    pip_requirements=["mlflow"])
print("mlflow", mlflow.__version__)
