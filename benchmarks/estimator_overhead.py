"""The estimators' cost over ``MLP.fit``: the same network, settings and epochs, side by side in one process.

    PYTHONPATH=. python benchmarks/estimator_overhead.py [--repeats 7] [--backends numpy jax]

iris (150 rows, standardised), 4-16-3, relu, softmax + cross-entropy, Adam η = 0.001, α = 10⁻⁴, float32,
200 epochs at batch 150 (full) and 32. The estimator runs every epoch (``tol=0``, ``n_iter_no_change`` beyond
``max_iter``), as ``MLP.fit`` does. Each figure is the minimum over ``--repeats`` fits, after one warm-up fit of
each (JAX compiles there: compilation is excluded), the two alternating, on one thread. Reported: estimator fit /
``MLP.fit`` per backend (1.00: no overhead) — the estimator builds its network inside ``fit``, so the ratio to
building an ``MLP`` and fitting it is given too — and the NumPy estimator over the JAX one on full batches.

"bound" is the ratio an estimator would reach if it did nothing beside ``MLP.fit`` but the work scikit-learn's
contract asks of every ``fit``: ``validate_data`` on X and y, and scikit-learn's initial parameters drawn from a
RandomState seeded by ``random_state`` (equal initial weights); that work is timed alone, min of as many repeats.
Building the network (what ``MLP(...)`` costs) is left out of it, so the bound is a lower one.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data
from threadpoolctl import threadpool_limits

import bpxp
from bpxp.sklearn import MLPClassifier
from bpxp.sklearn.base import initial_parameters

EPOCHS = 200


def _data():
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X.astype(np.float32), y


def _estimator_fit(backend: str, batch: int, X, y) -> float:
    clf = MLPClassifier((16,), solver="adam", learning_rate_init=1e-3, alpha=1e-4, batch_size=batch,
                        max_iter=EPOCHS, tol=0.0, n_iter_no_change=10 * EPOCHS, random_state=0, backend=backend,
                        dtype="float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        clf.fit(X, y)
        return time.perf_counter() - start


def _mlp_fit(backend: str, batch: int, X, y) -> tuple[float, float]:
    """(seconds of ``fit``, seconds of building the network and ``fit``)."""
    start = time.perf_counter()
    net = bpxp.MLP([4, 16, 3], hidden="relu", output="softmax", loss="cross_entropy", dtype="float32",
                   backend=backend, random_state=0)
    built = time.perf_counter()
    net.fit(X, y, epochs=EPOCHS, learning_rate=1e-3, batch_size=batch, optimizer="adam", l2=1e-4,
            random_state=0)
    end = time.perf_counter()
    return end - built, end - start


def _contract_work(X, y) -> float:
    """Seconds of what scikit-learn's contract asks of every estimator fit: its input checks and its initial
    parameters, drawn from a RandomState seeded by ``random_state``."""
    start = time.perf_counter()
    validate_data(MLPClassifier(), X, y, multi_output=True, dtype=[np.float64, np.float32])
    initial_parameters([4, 16, 3], "relu", check_random_state(0))
    return time.perf_counter() - start


def measure(backend: str, batch: int, repeats: int, X, y) -> tuple[float, float, float, float]:
    """(min estimator fit, min MLP.fit, min MLP built + fit, min contract work) in seconds, alternating, after a
    warm-up of each."""
    _estimator_fit(backend, batch, X, y)
    _mlp_fit(backend, batch, X, y)
    estimator, mlp, contract = [], [], []
    for _ in range(repeats):
        estimator.append(_estimator_fit(backend, batch, X, y))
        mlp.append(_mlp_fit(backend, batch, X, y))
        contract.append(_contract_work(X, y))
    return min(estimator), min(m[0] for m in mlp), min(m[1] for m in mlp), min(contract)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--backends", nargs="+", default=["numpy", "jax"])
    args = parser.parse_args()
    X, y = _data()
    full = {}
    with threadpool_limits(1):
        print(f"{'backend':8s} {'batch':>5s} {'estimator ms':>13s} {'MLP.fit ms':>11s} {'ratio':>6s} "
              f"{'MLP()+fit ms':>13s} {'ratio':>6s} {'bound':>6s}")
        for backend in args.backends:
            for batch in (150, 32):
                estimator, mlp, built, contract = measure(backend, batch, args.repeats, X, y)
                if batch == 150:
                    full[backend] = estimator
                print(f"{backend:8s} {batch:5d} {estimator * 1e3:13.1f} {mlp * 1e3:11.1f} {estimator / mlp:6.2f} "
                      f"{built * 1e3:13.1f} {estimator / built:6.2f} {(mlp + contract) / mlp:6.2f}", flush=True)
    if "numpy" in full and "jax" in full:
        print(f"estimator, full batch: NumPy / JAX = {full['numpy'] / full['jax']:.2f}")


if __name__ == "__main__":
    main()
