"""``MLP.fit`` on torch's CPU under torch's default thread count, with and without validation data.

    PYTHONPATH=. python benchmarks/torch_threads.py [--repeats 5]

Run it WITHOUT OMP_NUM_THREADS (the test suite sets it to 1, which hides what this measures): torch then uses
one thread per core. Iris (standardised, 120 training rows, 30 validation rows), 4-16-3, relu, softmax +
cross-entropy, Adam η = 0.01, float32, 100 epochs, at batches of 16 and 32 rows; seconds per fit, min and median
over ``--repeats`` fits after one warm-up, the settings alternating. ``bpxp.backend.precision`` explains the gap it
closed: products of 24 rows or more went to a second thread, whose wake-up cost more than the product.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from sklearn.datasets import load_iris

import bpxp

EPOCHS = 100


def _data():
    X, y = load_iris(return_X_y=True)
    X = ((X - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(y))
    return X[order[30:]], y[order[30:]], X[order[:30]], y[order[:30]]


def _fit(batch: int, validation: tuple | None, X, y) -> float:
    net = bpxp.MLP([4, 16, 3], hidden="relu", output="softmax", loss="cross_entropy", dtype="float32",
                   backend="torch", random_state=0)
    start = time.perf_counter()
    net.fit(X, y, epochs=EPOCHS, learning_rate=0.01, batch_size=batch, optimizer="adam",
            validation_data=validation, random_state=0)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    X, y, X_val, y_val = _data()
    settings = {(batch, name): (batch, pair) for batch in (16, 32)
                for name, pair in (("without validation", None), ("with validation_data", (X_val, y_val)))}
    times = {key: [] for key in settings}
    for batch, pair in settings.values():
        _fit(batch, pair, X, y)  # warm-up
    for _ in range(args.repeats):
        for key, (batch, pair) in settings.items():
            times[key].append(_fit(batch, pair, X, y))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads (torch's default here), {EPOCHS} epochs")
    print(f"{'batch':>5s}  {'':20s} {'min s':>7s} {'median s':>9s}")
    for (batch, name), seconds in times.items():
        print(f"{batch:5d}  {name:20s} {min(seconds):7.3f} {statistics.median(seconds):9.3f}")


if __name__ == "__main__":
    main()
