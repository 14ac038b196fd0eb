#!/usr/bin/env python3
"""The serving benchmark's baseline model: the scikit-learn equivalent of
pipelines/breast-cancer.toml's fitted chain (impute median -> standardize ->
logistic regression, C=1, max_iter=100), fitted on the very rows sluice
trained on (the train part of sluice's split, read from its artifact store)
and logged with `mlflow.sklearn.log_model`, signature included, as a user
would log it.

sluice's `logreg` minimises the same L2-regularised objective as
scikit-learn's LogisticRegression by damped Newton to a gradient of 1e-8
(its default); `newton-cholesky` with tol=1e-8 is scikit-learn's match.

Prints the logged model's URI (`models:/m-...`) on stdout.

    python train_mlflow.py TRAIN.parquet TARGET TRACKING_URI ARTIFACT_DIR
"""

import sys

import mlflow
import mlflow.sklearn
import pandas as pd
from mlflow.models import infer_signature
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


def main():
    train, target, tracking_uri, artifacts = sys.argv[1:5]
    frame = pd.read_parquet(train)
    x, y = frame.drop(columns=[target]), frame[target].to_numpy()
    model = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
            (
                "train",
                LogisticRegression(C=1.0, max_iter=100, solver="newton-cholesky", tol=1e-8),
            ),
        ]
    ).fit(x, y)
    mlflow.set_tracking_uri(tracking_uri)
    experiment = mlflow.create_experiment("serve-bench", artifact_location=artifacts)
    with mlflow.start_run(experiment_id=experiment):
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(x, model.predict(x)),
            # MLflow 3.17 saves with skops, which refuses types it was not
            # told to trust; SimpleImputer keeps the dtype it was fitted on.
            skops_trusted_types=["numpy.dtype"],
        )
    print(info.model_uri)


if __name__ == "__main__":
    main()
