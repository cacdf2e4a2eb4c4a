"""bpxp's Adam fit on digits beside scikit-learn's and beside a hand-written NumPy floor, in one process.

    PYTHONPATH=. python benchmarks/adam_floor.py [--repeats 5]

The Adam case of ``benchmarks/sklearn_dropin.py`` — digits standardised, 64-100-10, relu, softmax, batch 200,
200 epochs every one of which runs, α = 10⁻⁴, float64, one thread — on a training split of 1,437 rows (8 steps an
epoch, the last of 37 rows). "NumPy floor" is the same training written as lean as NumPy allows: the parameters,
their gradients and both moments each one flat buffer (every layer's arrays views of it), every product written
into a buffer made once, every elementwise pass in place, the same shuffling (one permutation and one gather an
epoch), the loss summed each step, and no Python but the batch loop — none of what an estimator does around its
steps. Its figure is how fast one NumPy call per operation can train this network: the bound of any estimator
built on NumPy's eager calls. The three are timed in alternation, R times, in CPU time of the process (robust to
other processes on a busy machine); reported are the median seconds per fit and scikit-learn's / each. Asserts
nothing.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before NumPy loads its BLAS

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as ScikitLearn
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from bpxp.sklearn import MLPClassifier as Bpxp

SETTINGS = dict(hidden_layer_sizes=(100,), solver="adam", max_iter=200, tol=0.0, n_iter_no_change=1000)
ALPHA, RATE, BETA1, BETA2, EPS, BATCH = 1e-4, 1e-3, 0.9, 0.999, 1e-8, 200


def numpy_floor(X: np.ndarray, y: np.ndarray, epochs: int = 200, seed: int = 0) -> float:
    """Train the network by hand, as lean as NumPy allows; return the last epoch's mean loss."""
    rng = np.random.default_rng(seed)
    n, sizes = X.shape[0], [(X.shape[1], 100), (100, 10), (100,), (10,)]
    Y = np.eye(10)[y]
    flat = {name: np.zeros(sum(int(np.prod(s)) for s in sizes)) for name in ("theta", "grad", "m", "v", "tmp", "d")}
    bounds = np.cumsum([0] + [int(np.prod(s)) for s in sizes])
    W1, W2, b1, b2 = (flat["theta"][a:b].reshape(s) for a, b, s in zip(bounds, bounds[1:], sizes))
    gW1, gW2, gb1, gb2 = (flat["grad"][a:b].reshape(s) for a, b, s in zip(bounds, bounds[1:], sizes))
    W1[...] = rng.normal(0.0, np.sqrt(2.0 / X.shape[1]), W1.shape)
    W2[...] = rng.normal(0.0, np.sqrt(2.0 / 100), W2.shape)
    theta, grad, m, v, tmp, d, weights = *flat.values(), bounds[2]
    buffers = {rows: (np.empty((rows, 100)), np.empty((rows, 10)), np.empty((rows, 100)), np.ones(rows))
               for rows in {BATCH, n % BATCH or BATCH}}
    ones10, powers = np.ones(10), [1.0, 1.0]

    def step(Xb, Yb):
        rows = Xb.shape[0]
        A1, Z2, G1, ones = buffers[rows]
        np.matmul(Xb, W1, out=A1)
        A1 += b1
        np.maximum(A1, 0.0, out=A1)
        np.matmul(A1, W2, out=Z2)
        Z2 += b2
        Z2 -= np.maximum.reduce(np.ascontiguousarray(Z2.T), axis=0)[:, None]
        S = Z2.copy()
        np.exp(Z2, out=Z2)
        sums = Z2 @ ones10
        Z2 /= sums[:, None]
        loss = np.vdot(Yb, np.log(sums)[:, None] - S) + 0.5 * ALPHA * np.vdot(theta[:weights], theta[:weights])
        Z2 -= Yb
        Z2 *= 1.0 / rows  # G = (Ŷ − Y)/m
        np.matmul(A1.T, Z2, out=gW2)
        np.dot(ones, Z2, out=gb2)
        np.matmul(Z2, W2.T, out=G1)
        G1 *= A1 > 0
        np.matmul(Xb.T, G1, out=gW1)
        np.dot(ones, G1, out=gb1)
        np.multiply(theta[:weights], ALPHA / rows, out=tmp[:weights])
        grad[:weights] += tmp[:weights]
        powers[0] *= BETA1
        powers[1] *= BETA2
        root = np.sqrt(1.0 - powers[1])
        np.multiply(grad, grad, out=tmp)
        tmp[...] *= 1.0 - BETA2
        v[...] *= BETA2
        v[...] += tmp
        m[...] *= BETA1
        grad[...] *= 1.0 - BETA1
        m[...] += grad
        np.sqrt(v, out=d)
        d[...] += EPS * root
        np.divide(m, d, out=d)
        d[...] *= RATE * root / (1.0 - powers[0])
        theta[...] -= d
        return loss

    for _ in range(epochs):
        order = rng.permutation(n)
        Xs, Ys = X[order], Y[order]
        total = sum(step(Xs[a:a + BATCH], Ys[a:a + BATCH]) for a in range(0, n, BATCH))
    return float(total) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X, _, y, _ = train_test_split(X, y, test_size=360, stratify=y, random_state=0)
    X = np.ascontiguousarray(X)
    runs = {"bpxp": lambda: Bpxp(**SETTINGS, random_state=0).fit(X, y),
            "scikit-learn": lambda: ScikitLearn(**SETTINGS, random_state=0).fit(X, y),
            "NumPy floor": lambda: numpy_floor(X, y)}
    times = {name: [] for name in runs}
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for repeat in range(args.repeats):
            names = list(runs)[repeat % 3:] + list(runs)[:repeat % 3]  # rotate the order
            for name in names:
                start = time.process_time()
                runs[name]()
                times[name].append(time.process_time() - start)
    sklearn = statistics.median(times["scikit-learn"])
    print(f"{'':14s} {'s/fit':>7s} {'µs/step':>8s} {'scikit-learn / it':>18s}")
    for name, seconds in times.items():
        median = statistics.median(seconds)
        print(f"{name:14s} {median:7.3f} {median / 1600 * 1e6:8.0f} {sklearn / median:18.2f}")


if __name__ == "__main__":
    main()
