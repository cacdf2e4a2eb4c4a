"""A bpxp-NumPy epoch against its own matrix products alone, measured side by side in one process.

    python benchmarks/elementwise.py [--repeats 15] [--rows 25600] [--hidden sigmoid] [--out FILE.json]

Workload: the 784-256-128-10 network, sigmoid hidden layers, softmax + cross-entropy,
batch 256, float32, one thread, batches in order. "Matrix products only" runs, batch by batch, exactly the
products bpxp's training step performs — forward Zˡ = Aˡ⁻¹·Wˡ, backward Aˡ⁻¹ᵀ·Gˡ and Gˡ·Wˡᵀ, and the
products with a vector of ones that serve as bias sums and softmax row sums (``bpxp.backend.fast``) — on arrays
of the same shapes, so that the ratio bpxp / products is the cost of everything else: the elementwise work
(sigmoid, its derivative, softmax, the loss), the updates and the Python around them. The two are timed in
alternation, R times (rotating the order); reported are the medians and the median of the R paired ratios,
in CPU time of the process (robust to other processes on a busy machine; ``--wall`` for wall time). A row
"portable twins" runs bpxp with every ``bpxp.backend.fast`` path replaced by its portable twin: the fast paths' gain,
measured in the same run; "steady epoch", an epoch of a 5-epoch fit (without what a fit pays once: the check of
the inputs, the run's set-up); the benchmarks' hand-written NumPy loop, for scale; and (sigmoid only)
"NumPy floor", the same work with every pass in place into buffers made once and no Python but the batch loop:
how close one pass per NumPy operation can come to the products; with numba installed, "fused floor", the same
with each run of elementwise passes fused into one compiled loop. Asserts nothing.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before NumPy loads its BLAS

import argparse
import contextlib
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

LAYER_SIZES = (784, 256, 128, 10)
# CPU time of this process, not wall time: with other processes on the machine, wall time counts their turns on
# the cores too, CPU time only ours (one thread: the two agree on a quiet machine). --wall switches.
CLOCK = time.process_time
BATCH = 256


def problem(n_rows: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, LAYER_SIZES[0])).astype(np.float32)
    labels = rng.integers(0, LAYER_SIZES[-1], size=n_rows)
    Y = np.eye(LAYER_SIZES[-1], dtype=np.float32)[labels]
    weights = [rng.uniform(-1, 1, size=(a, b)).astype(np.float32) * np.float32(np.sqrt(6.0 / (a + b)))
               for a, b in itertools.pairwise(LAYER_SIZES)]
    biases = [np.zeros(b, dtype=np.float32) for b in LAYER_SIZES[1:]]
    return X, Y, weights, biases


@contextlib.contextmanager
def portable_twins():
    """Within: every fast path of ``bpxp.backend.fast`` replaced by its portable twin (for an A/B in one run)."""
    from bpxp.backend import fast as _fast

    saved = {name: getattr(_fast, name) for name in ("sigmoid", "sigmoid_backward")}
    _fast.sigmoid = lambda Z, *, xp, overwrite=False: _fast.sigmoid_portable(Z, xp=xp)
    _fast.sigmoid_backward = lambda G, A, *, xp, overwrite=False: _fast.sigmoid_backward_portable(G, A, xp=xp)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(_fast, name, function)


def bpxp_epoch(hidden: str, snapshot: bool, portable: bool = False):
    import bpxp

    def run(X, Y, weights, biases):
        net = bpxp.MLP.from_weights(weights, biases, hidden=hidden, output="softmax", loss="cross_entropy",
                                    dtype="float32")
        with portable_twins() if portable else contextlib.nullcontext():
            start = CLOCK()
            net.fit(X, Y, epochs=1, learning_rate=0.05, batch_size=BATCH, shuffle=False, snapshot=snapshot,
                    optimizer="sgd")
            return CLOCK() - start

    return run


def bpxp_steady_epoch(hidden: str, epochs: int = 5):
    """The median of epochs 2 … ``epochs`` of one multi-epoch fit, timed between its per-epoch callbacks.

    A one-epoch ``fit`` also pays what a fit pays once: the check of every input value (one pass over X, ~2 ms
    for 12,800 × 784 float32 here) and the run's set-up. A training run of many epochs pays them once; this row
    is the epoch it then pays again and again (each with its first step's new parameter arrays, ``snapshot``).
    """
    import bpxp

    def run(X, Y, weights, biases):
        net = bpxp.MLP.from_weights(weights, biases, hidden=hidden, output="softmax", loss="cross_entropy",
                                    dtype="float32")
        stamps: list[float] = []
        net.fit(X, Y, epochs=epochs, learning_rate=0.05, batch_size=BATCH, shuffle=False, optimizer="sgd",
                callback=lambda epoch, history: stamps.append(CLOCK()))
        return statistics.median(later - earlier for earlier, later in itertools.pairwise(stamps))

    return run


def _floor_buffers(n: int, weights, biases):
    """The floors' own copies of the parameters, and every array their epoch writes, made once: per batch size m,
    the layers' outputs Zˡ, the errors carried back and a scratch array per hidden layer; the weight gradients."""
    widths = LAYER_SIZES[1:]
    sizes = {min(BATCH, n - a) for a in range(0, n, BATCH)}
    outputs = {m: [np.empty((m, k), np.float32) for k in widths] for m in sizes}
    errors = {m: [np.empty((m, k), np.float32) for k in widths[:-1]] for m in sizes}
    scratch = {m: [np.empty((m, k), np.float32) for k in widths[:-1]] for m in sizes}
    return ([W.copy() for W in weights], [b.copy() for b in biases], outputs, errors, scratch,
            [np.empty_like(W) for W in weights])


def _batches(X, Y):
    """(X_batch, Y_batch) of BATCH rows in order, the last one ragged."""
    for a in range(0, X.shape[0], BATCH):
        yield X[a:a + BATCH], Y[a:a + BATCH]


def _elapsed_since(start: float, trained: list | None, weights, biases) -> float:
    """CLOCK() − start; the floor's parameters go into ``trained`` when it is a list."""
    elapsed = CLOCK() - start
    if trained is not None:
        trained.extend([*weights, *biases])
    return elapsed


def numpy_floor_epoch(X, Y, weights, biases, trained: list | None = None):
    """The least elementwise work one-pass-per-operation NumPy can do around bpxp's products (sigmoid only).

    Every output is written into a buffer made once (``matmul(out=)``, in-place ufuncs), σ in the same four
    passes as ``bpxp.backend.fast.sigmoid``, σ′ in three, the softmax (its row maxima as
    ``bpxp.backend.fast.row_max``) and
    cross-entropy in place, η/m folded into δᴸ,
    no Python beyond the loop over batches. Not a trainer (no checks, no loss history): a floor to read bpxp's
    rows against. What remains above the products is the elementwise passes' own cost. ``trained``, a list,
    receives the epoch's weights and biases (``agreement`` checks them against bpxp's).
    """
    f32 = np.float32
    weights, biases, outputs, errors, scratch, gradients = _floor_buffers(X.shape[0], weights, biases)
    ones_rows = {m: np.ones((1, m), dtype=f32) for m in outputs}
    ones_outputs = np.ones((LAYER_SIZES[-1], 1), dtype=f32)
    last, total = len(weights) - 1, 0.0
    start = CLOCK()
    for Xb, Yb in _batches(X, Y):
        m = Xb.shape[0]
        A = [Xb]
        for layer, (W, b) in enumerate(zip(weights, biases)):
            Z = np.matmul(A[-1], W, out=outputs[m][layer])
            Z += b
            if layer < last:  # σ(Z) = ½·tanh(Z/2) + ½ in place
                Z *= 0.5
                np.tanh(Z, out=Z)
                Z *= 0.5
                Z += 0.5
                A.append(Z)
        Z -= np.maximum.reduce(np.ascontiguousarray(Z.T), axis=0)[:, None]  # softmax, CE, δᴸ·η/m in Z's memory
        log_sums = Z.copy()
        np.exp(Z, out=Z)
        sums = Z @ ones_outputs
        Z /= sums
        log_sums -= np.log(sums)
        total -= float(np.vdot(Yb, log_sums))
        Z -= Yb
        Z *= f32(0.05 / m)
        G = Z
        for layer in range(last, -1, -1):
            dW = np.matmul(A[layer].T, G, out=gradients[layer])
            db = (ones_rows[m] @ G)[0]
            if layer > 0:  # G ⊙ A ⊙ (1 − A) in place
                G_below = np.matmul(G, weights[layer].T, out=errors[m][layer - 1])
                G_below *= A[layer]
                G_below *= np.subtract(1.0, A[layer], out=scratch[m][layer - 1])
            weights[layer] -= dW
            biases[layer] -= db
            if layer > 0:
                G = G_below
    return _elapsed_since(start, trained, weights, biases)


def fused_floor_epoch():
    """The NumPy floor with its elementwise passes fused into one loop each, compiled by numba (if installed).

    What a fused kernel would save: Zˡ + bˡ with the ½ before tanh in one pass, ½·T + ½ in one, σ′ in one, the
    softmax, cross-entropy and δᴸ in one loop over rows, the bias updates in one. tanh itself stays NumPy's
    (vectorised; numba's scalar tanhf measured 15× slower here, as llvmlite's wheels carry no vector math
    library). Returns None without numba. Not part of bpxp: a measurement for the choice of σ's fast path.
    """
    try:
        import numba
    except ImportError:
        return None
    import math

    f32 = np.float32
    jit = numba.njit(cache=False)

    @jit
    def add_bias_halve(Z, b):
        for i in range(Z.shape[0]):
            for j in range(Z.shape[1]):
                Z[i, j] = (Z[i, j] + b[j]) * f32(0.5)

    @jit
    def halve_add_half(Z):
        for i in range(Z.shape[0]):
            for j in range(Z.shape[1]):
                Z[i, j] = Z[i, j] * f32(0.5) + f32(0.5)

    @jit
    def times_sigmoid_prime(G, A):
        for i in range(G.shape[0]):
            for j in range(G.shape[1]):
                G[i, j] = G[i, j] * (A[i, j] * (f32(1.0) - A[i, j]))

    @jit
    def softmax_cross_entropy(Z, b, Y, scale):  # Z ← scale·(softmax(Z + b) − Y); returns Σ −y·log softmax
        total = 0.0
        for i in range(Z.shape[0]):
            top = f32(-np.inf)  # float32 throughout, as bpxp computes it
            for j in range(Z.shape[1]):
                Z[i, j] += b[j]
                top = max(top, Z[i, j])
            sum_exp = f32(0.0)
            for j in range(Z.shape[1]):
                sum_exp += math.exp(Z[i, j] - top)
            log_sum = math.log(sum_exp)
            for j in range(Z.shape[1]):
                shifted = Z[i, j] - top
                total += Y[i, j] * (log_sum - shifted)
                Z[i, j] = (math.exp(shifted) / sum_exp - Y[i, j]) * scale
        return total

    @jit
    def subtract_column_sums(b, G):
        for i in range(G.shape[0]):
            for j in range(G.shape[1]):
                b[j] -= G[i, j]

    def run(X, Y, weights, biases, trained: list | None = None):
        weights, biases, outputs, errors, _, gradients = _floor_buffers(X.shape[0], weights, biases)
        last, total = len(weights) - 1, 0.0
        start = CLOCK()
        for Xb, Yb in _batches(X, Y):
            m = Xb.shape[0]
            A = [Xb]
            for layer in range(last):
                Z = np.matmul(A[-1], weights[layer], out=outputs[m][layer])
                add_bias_halve(Z, biases[layer])
                np.tanh(Z, out=Z)
                halve_add_half(Z)
                A.append(Z)
            G = np.matmul(A[-1], weights[last], out=outputs[m][last])
            total += softmax_cross_entropy(G, biases[last], Yb, f32(0.05 / m))
            for layer in range(last, -1, -1):
                dW = np.matmul(A[layer].T, G, out=gradients[layer])
                if layer > 0:
                    G_below = np.matmul(G, weights[layer].T, out=errors[m][layer - 1])
                    times_sigmoid_prime(G_below, A[layer])
                weights[layer] -= dW
                subtract_column_sums(biases[layer], G)
                if layer > 0:
                    G = G_below
        return _elapsed_since(start, trained, weights, biases)

    return run


def handwritten_epoch(hidden: str):
    """The benchmarks' hand-written NumPy loop (``implementations.HandwrittenNumpy``) on the same problem."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from implementations import HandwrittenNumpy
    from workloads import Workload

    workload = Workload("elementwise", LAYER_SIZES, hidden, 0, BATCH, 0.05, 1, 1, 1)

    def run(X, Y, weights, biases):
        implementation = HandwrittenNumpy()
        implementation.setup(workload, X, np.argmax(Y, axis=1), weights, biases)
        implementation.reset()
        start = CLOCK()
        implementation.train(1)
        return CLOCK() - start

    return run


def products_only_epoch(X, Y, weights, biases):
    """The matrix products of one bpxp epoch, on stand-in activations and errors of the same shapes."""
    rng = np.random.default_rng(1)
    sizes, n = LAYER_SIZES, X.shape[0]
    bounds = [(a, min(a + BATCH, n)) for a in range(0, n, BATCH)]
    stand_in = {(m, k): rng.uniform(0.0, 1.0, size=(m, k)).astype(np.float32)
                for m in {b - a for a, b in bounds} for k in sizes[1:]}
    ones_rows = {m: np.ones((1, m), dtype=np.float32) for m in {b - a for a, b in bounds}}
    ones_outputs = np.ones((sizes[-1], 1), dtype=np.float32)
    last = len(weights) - 1
    start = CLOCK()
    for a, b in bounds:
        Xb, m = X[a:b], b - a
        A = [Xb] + [stand_in[m, k] for k in sizes[1:-1]]
        for layer, W in enumerate(weights):  # forward
            A[layer] @ W
        stand_in[m, sizes[-1]] @ ones_outputs  # softmax's row sums
        for layer in range(last, -1, -1):  # backward
            G = stand_in[m, sizes[layer + 1]]
            A[layer].T @ G
            ones_rows[m] @ G  # bias sums
            if layer > 0:
                G @ weights[layer].T
    return CLOCK() - start


def agreement(floors: dict, X, Y, weights, biases) -> dict[str, float]:
    """The largest difference between each floor's parameters after one epoch and bpxp's (the floors must compute
    bpxp's epoch, or their times mean nothing): measured 0 for the NumPy floor, 1.5e-8 for the fused one."""
    import bpxp

    net = bpxp.MLP.from_weights(weights, biases, hidden="sigmoid", output="softmax", loss="cross_entropy",
                                dtype="float32")
    net.fit(X, Y, epochs=1, learning_rate=0.05, batch_size=BATCH, shuffle=False, optimizer="sgd")
    expected = [np.asarray(p) for p in (*net.weights, *net.biases)]
    differences = {}
    for name, floor in floors.items():
        trained: list = []
        floor(X, Y, weights, biases, trained)
        differences[name] = max(float(np.max(np.abs(p - q))) for p, q in zip(trained, expected))
    return differences


def measure(repeats: int, n_rows: int, hidden: str) -> dict:
    X, Y, weights, biases = problem(n_rows)
    runs = {"bpxp (numpy)": bpxp_epoch(hidden, True), "bpxp (numpy, snapshot=False)": bpxp_epoch(hidden, False),
            "bpxp (numpy, portable twins)": bpxp_epoch(hidden, True, portable=True),
            "bpxp (numpy), steady epoch": bpxp_steady_epoch(hidden),
            "hand-written NumPy": handwritten_epoch(hidden), "matrix products only": products_only_epoch}
    if hidden == "sigmoid":
        runs["NumPy floor (in place)"] = numpy_floor_epoch
        if (fused := fused_floor_epoch()) is not None:
            runs["fused floor (numba)"] = fused
        floors = {name: run for name, run in runs.items() if "floor" in name}
        differences = agreement(floors, X[: 4 * BATCH], Y[: 4 * BATCH], weights, biases)
        if disagreeing := {name: d for name, d in differences.items() if d > 1e-5}:
            raise SystemExit(f"the floors must end at bpxp's weights; largest differences: {disagreeing}")
    else:
        differences = {}
    for run in runs.values():  # warm up: caches, the step's construction
        run(X[: 4 * BATCH], Y[: 4 * BATCH], weights, biases)
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for repeat in range(repeats):
        for name in names[repeat % len(names):] + names[: repeat % len(names)]:  # rotate the order
            times[name].append(runs[name](X, Y, weights, biases))
    products = times["matrix products only"]
    rows = {}
    for name, measured in times.items():
        ratios = [t / p for t, p in zip(measured, products)]
        rows[name] = {"median_ms": 1e3 * statistics.median(measured), "min_ms": 1e3 * min(measured),
                      "max_ms": 1e3 * max(measured), "median_paired_ratio": statistics.median(ratios),
                      "ratio_of_minimums": min(measured) / min(products)}
    return {"workload": f"{'-'.join(map(str, LAYER_SIZES))}, {hidden} hidden, softmax + cross-entropy, "
                        f"batch {BATCH}, {n_rows} rows, float32, one thread",
            "repeats": repeats, "clock": CLOCK.__name__, "load_average": os.getloadavg(), "rows": rows,
            "floors_max_difference_from_bpxp": differences}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--rows", type=int, default=25_600)
    parser.add_argument("--hidden", default="sigmoid")
    parser.add_argument("--out", help="also write the result as JSON here")
    parser.add_argument("--wall", action="store_true", help="time in wall-clock seconds instead of CPU time")
    args = parser.parse_args(argv)
    if args.wall:
        global CLOCK
        CLOCK = time.perf_counter
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        result = measure(args.repeats, args.rows, args.hidden)
    print(f"{result['workload']}; {result['repeats']} runs each, {result['clock']}; "
          f"load average {result['load_average']}")
    for name, row in result["rows"].items():
        print(f"  {name:30s} {row['median_ms']:8.1f} ms/epoch (min {row['min_ms']:.1f}, max {row['max_ms']:.1f})"
              f"   × products: median of paired ratios {row['median_paired_ratio']:.3f}, "
              f"of minimums {row['ratio_of_minimums']:.3f}")
    for name, difference in result["floors_max_difference_from_bpxp"].items():
        print(f"  {name} ends at bpxp's weights within {difference:.1e}")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
