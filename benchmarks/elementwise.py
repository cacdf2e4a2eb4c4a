"""A bpxp-NumPy epoch against its own matrix products alone, measured side by side in one process.

    python benchmarks/elementwise.py [--repeats 15] [--rows 25600] [--hidden sigmoid] [--out FILE.json]

Workload (issue 11's acceptance): the 784-256-128-10 network, sigmoid hidden layers, softmax + cross-entropy,
batch 256, float32, one thread, batches in order. "Matrix products only" runs, batch by batch, exactly the
products bpxp's training step performs — forward Zˡ = Aˡ⁻¹·Wˡ, backward Aˡ⁻¹ᵀ·Gˡ and Gˡ·Wˡᵀ, and the
products with a vector of ones that serve as bias sums and softmax row sums (``bpxp._fast``) — on arrays
of the same shapes, so that the ratio bpxp / products is the cost of everything else: the elementwise work
(sigmoid, its derivative, softmax, the loss), the updates and the Python around them. The two are timed in
alternation, R times (rotating the order); reported are the medians and the median of the R paired ratios,
in CPU time of the process (robust to other processes on a busy machine; ``--wall`` for wall time). A row
"portable twins" runs bpxp with every ``bpxp._fast`` path replaced by its portable twin: the fast paths' gain,
measured in the same run; and the benchmarks' hand-written NumPy loop, for scale. Asserts nothing.
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
    """Within: every fast path of ``bpxp._fast`` replaced by its portable twin (for an A/B in one run)."""
    from bpxp import _fast

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


def measure(repeats: int, n_rows: int, hidden: str) -> dict:
    X, Y, weights, biases = problem(n_rows)
    runs = {"bpxp (numpy)": bpxp_epoch(hidden, True), "bpxp (numpy, snapshot=False)": bpxp_epoch(hidden, False),
            "bpxp (numpy, portable twins)": bpxp_epoch(hidden, True, portable=True),
            "hand-written NumPy": handwritten_epoch(hidden), "matrix products only": products_only_epoch}
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
            "repeats": repeats, "clock": CLOCK.__name__, "load_average": os.getloadavg(), "rows": rows}


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
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
