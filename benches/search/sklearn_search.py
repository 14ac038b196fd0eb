"""The search of pipeline.toml with scikit-learn: median imputation and
standardization fitted on the train part, then GridSearchCV of
HistGradientBoostingClassifier (no early stopping) over the same 4 x 2
grid, stratified 5-fold, ROC AUC, refit on the whole train part. Prints the
seconds the search took (median of REPEATS) and the best params. Run with
OMP_NUM_THREADS=1 so each fit uses one thread, as each sluice fit does.

    python sklearn_search.py DATA.csv N_JOBS REPEATS
"""
import json
import statistics
import sys
import time

import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler

path, n_jobs, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = pd.read_csv(path)
y = data.pop("benign")
x_train, _, y_train, _ = train_test_split(
    data, y, test_size=0.25, random_state=7, stratify=y
)
x_train = SimpleImputer(strategy="median").fit_transform(x_train)
x_train = StandardScaler().fit_transform(x_train)
grid = {"learning_rate": [0.05, 0.1, 0.2, 0.3], "max_leaf_nodes": [7, 15]}
times = []
for _ in range(repeats):
    search = GridSearchCV(
        HistGradientBoostingClassifier(
            max_iter=50, min_samples_leaf=20, early_stopping=False
        ),
        grid,
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
        scoring="roc_auc",
        n_jobs=n_jobs,
        refit=True,
    )
    start = time.perf_counter()
    search.fit(x_train, y_train)
    times.append(time.perf_counter() - start)
print(
    json.dumps(
        {
            "seconds": statistics.median(times),
            "best_params": search.best_params_,
            "best_score": search.best_score_,
        }
    )
)
