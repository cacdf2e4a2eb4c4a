"""bpxp.sklearn's estimators next to scikit-learn's, fold by fold, in one process and on one thread each.

    PYTHONPATH=. python benchmarks/sklearn_dropin.py [--folds 5] [--repeats 1]

- adam: digits, 64-100-10, 200 epochs (tol=0 and a patience beyond max_iter, so both run every epoch), batch 200;
  once on the standardised float64 data, once on the same data as float32 (both estimators keep float32 input in
  float32, so both compute in the data's dtype);
- lbfgs: breast-cancer and iris (standardised), the default (100,) hidden layer, max_iter=200.

For every fold both estimators fit the same split, one right after the other (their order alternating), so load
from other processes hits both alike; the report gives the median fit time per fold, the ratio
scikit-learn / bpxp (> 1: bpxp faster) and the mean accuracy of each.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold
from sklearn.neural_network import MLPClassifier as ScikitLearn
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from bpxp.sklearn import MLPClassifier as Bpxp

ADAM = dict(hidden_layer_sizes=(100,), solver="adam", max_iter=200, tol=0.0, n_iter_no_change=1000)
CASES = {  # label: (loader, settings, the data's dtype)
    "adam, digits 64-100-10, 200 epochs": (load_digits, ADAM, np.float64),
    "adam, digits, float32 data": (load_digits, ADAM, np.float32),
    "lbfgs, breast-cancer": (load_breast_cancer, dict(solver="lbfgs", max_iter=200), np.float64),
    "lbfgs, iris": (load_iris, dict(solver="lbfgs", max_iter=200), np.float64),
}


def _fit_time(estimator, X, y, X_test, y_test):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        estimator.fit(X, y)
        elapsed = time.perf_counter() - start
    return elapsed, estimator.score(X_test, y_test)


def measure(load, settings, dtype, folds: int, repeats: int) -> dict:
    X, y = load(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(dtype)
    times = {"bpxp": [], "scikit-learn": []}
    scores = {"bpxp": [], "scikit-learn": []}
    runs = 0
    for repeat in range(repeats):
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=repeat).split(X, y):
            pair = [("bpxp", Bpxp), ("scikit-learn", ScikitLearn)]
            for name, cls in pair if runs % 2 == 0 else pair[::-1]:
                seconds, score = _fit_time(cls(**settings, random_state=repeat), X[train], y[train], X[test],
                                           y[test])
                times[name].append(seconds)
                scores[name].append(score)
            runs += 1
    return {name: (statistics.median(times[name]), float(np.mean(scores[name]))) for name in times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    with threadpool_limits(1):
        print(f"{'case':40s} {'bpxp s/fold':>12s} {'sklearn s/fold':>15s} {'ratio':>6s} {'acc bpxp':>9s} "
              f"{'acc sklearn':>12s}")
        for label, (load, settings, dtype) in CASES.items():
            result = measure(load, settings, dtype, args.folds, args.repeats)
            (ours, our_score), (theirs, their_score) = result["bpxp"], result["scikit-learn"]
            print(f"{label:40s} {ours:12.3f} {theirs:15.3f} {theirs / ours:6.2f} {our_score:9.4f} "
                  f"{their_score:12.4f}", flush=True)


if __name__ == "__main__":
    main()
