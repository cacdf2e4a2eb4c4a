"""Training on Dask: epoch time for 1 and 2 worker processes next to in-memory NumPy, and the per-step round trip.

    python benchmarks/dask_scaling.py [--rows 1000000] [--out benchmarks/results]

Full batch, a workload where compute dominates (default: 1M rows × 32 float32 features, 32-128-128-1 sigmoid/mse,
16 chunks persisted on the workers): median seconds per epoch and rows/s for in-memory NumPy (1 and 2 BLAS
threads) and Dask LocalClusters of 1 and 2 single-threaded worker processes. Then small batches (256 rows) on the
same data: seconds per step on Dask (the epochs after the first of one fit, so that preparing the kept chunks
and starting the per-worker holders is not counted) against in memory; the difference is what a step costs on
top of the work (send the parameters to the holders of the batch's chunks, get a vector per chunk back).
Every run starts from the same weights; the Dask runs must end at the in-memory weights (1e-4, float32) before
any time is reported. Asserts nothing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")  # each worker process is one core's worth


def _network(features: int):
    import bpxp

    return bpxp.MLP([features, 128, 128, 1], hidden="sigmoid", output="sigmoid", loss="mse", dtype="float32",
                    random_state=0)


def _timed(features: int, X, y, repeats: int, **options) -> list[float]:
    """Seconds per ``fit(X, y, epochs=1, **options)`` of a fresh network, ``repeats`` times."""
    net, times = _network(features), []
    for _ in range(repeats):
        start = time.perf_counter()
        net.fit(X, y, epochs=1, learning_rate=0.5, **{"optimizer": "sgd", "batch_size": None, **options})
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--chunks", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()

    import dask
    import dask.array as da
    import distributed
    from threadpoolctl import threadpool_limits

    rows_per_chunk = -(-args.rows // args.chunks)
    # the data is generated chunk by chunk (on the workers, for the clusters); the in-memory runs compute it whole
    lazy_X = da.random.default_rng(0).standard_normal((args.rows, args.features), chunks=(rows_per_chunk, -1),
                                                      dtype=np.float32)
    lazy_y = (lazy_X[:, 0] + lazy_X[:, 1] > 0).astype(np.float32)
    X, y = dask.compute(lazy_X, lazy_y, scheduler="synchronous")
    results: dict[str, dict] = {}

    def in_memory(threads: int, batch_size=None):
        with threadpool_limits(threads):
            return _timed(args.features, X, y, args.repeats + 1, batch_size=batch_size, shuffle=False)[1:]

    results["NumPy in memory, 1 thread"] = {"epoch_s": in_memory(1)}
    results["NumPy in memory, 2 threads"] = {"epoch_s": in_memory(2)}
    small_steps = 40
    small_rows = 256 * small_steps
    step_times = in_memory(1, batch_size=256)

    for workers in (1, 2):
        with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                      dashboard_address=":0", host="127.0.0.1") as cluster, \
                distributed.Client(cluster):
            X_dask, y_dask = lazy_X.persist(), lazy_y.persist()
            distributed.wait([X_dask, y_dask])
            net = _network(args.features)
            net.fit(X_dask, y_dask, epochs=1, learning_rate=0.5,
                    optimizer="sgd", batch_size=None)  # warm-up, and the same-answer check
            check = _network(args.features)
            check.fit(X, y, epochs=1, learning_rate=0.5, optimizer="sgd", batch_size=None)
            worst = max(float(np.abs(a - b).max()) for a, b in zip([*net.weights, *net.biases],
                                                                    [*check.weights, *check.biases], strict=True))
            assert worst < 1e-4, f"Dask with {workers} workers ends {worst} away from in-memory NumPy"
            times = _timed(args.features, X_dask, y_dask, args.repeats)
            results[f"Dask, {workers} worker process{'es' if workers > 1 else ''}"] = {"epoch_s": times}
            small_X = lazy_X[:small_rows].rechunk((256 * 10, -1)).persist()
            small_y = lazy_y[:small_rows].rechunk(256 * 10).persist()
            distributed.wait([small_X, small_y])
            ends: list[float] = []
            _network(args.features).fit(small_X, small_y, epochs=4, learning_rate=0.5, batch_size=256,
                                        shuffle=False, callback=lambda epoch, history, ends=ends: ends.append(
                                            time.perf_counter()), optimizer="sgd")
            results[f"Dask, {workers} worker process{'es' if workers > 1 else ''}"]["step_s"] = [
                (b - a) / small_steps for a, b in itertools.pairwise(ends)]
    in_memory_step = statistics.median(step_times) / (args.rows / 256)

    lines = [f"Training on Dask: {args.rows:,} rows × {args.features} float32 features, "
             f"{args.features}-128-128-1 sigmoid/mse, full batch, {args.chunks} chunks persisted on the workers; "
             f"median of {args.repeats} epochs.", "",
             "| run | s / epoch (min–max) | rows/s | × in-memory 1 thread |", "|---|---|---|---|"]
    base = statistics.median(results["NumPy in memory, 1 thread"]["epoch_s"])
    for name, entry in results.items():
        median = statistics.median(entry["epoch_s"])
        lines.append(f"| {name} | {median:.3f} ({min(entry['epoch_s']):.3f}–{max(entry['epoch_s']):.3f}) | "
                     f"{args.rows / median:,.0f} | {median / base:.2f} |")
    lines += ["", f"Small batches (256 rows, chunks of 2,560 rows): in memory {in_memory_step * 1e3:.2f} ms/step; "
              + "; ".join(f"{name}: {statistics.median(e['step_s']) * 1e3:.1f} ms/step (round trip ≈ "
                          f"{(statistics.median(e['step_s']) - in_memory_step) * 1e3:.1f} ms)"
                          for name, e in results.items() if "step_s" in e) + ".",
              "", f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
              f"dask {dask.__version__}, distributed {distributed.__version__}, numpy {np.__version__}."]
    report = "\n".join(lines)
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "dask_latest.md").write_text(report + "\n")
    (args.out / "dask_latest.json").write_text(json.dumps({"rows": args.rows, "features": args.features,
                                                           "chunks": args.chunks, "results": results,
                                                           "in_memory_step_s": in_memory_step}, indent=1))


if __name__ == "__main__":
    main()
