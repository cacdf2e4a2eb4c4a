"""Time bpxp next to hand-written NumPy, scikit-learn, PyTorch and the seed-style loop, in one process.

    python benchmarks/run.py [--quick] [--only SUBSTRING] [--out benchmarks/results]

For each workload: every implementation trains from the same initial weights and must end at the same weights
(1e-5) before any time is reported; then the implementations are timed in turn, rotating their order each
repeat so that machine drift hits all alike. Reported: median time per epoch with min–max, the ratio to the
hand-written NumPy step, samples/s, achieved matmul FLOP/s and its fraction of this run's float32 matmul rate,
peak traced memory against what training needs, and thread counts. Writes Markdown and JSON. Asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from implementations import Bpxp, HandwrittenNumpy, ScikitLearn, SeedLoop, Torch, write_report
from workloads import WORKLOADS

BASELINE = "hand-written NumPy"


def matmul_rates(repeats: int = 7) -> dict[str, float]:
    """The machine's limit: numpy's matmul FLOP/s (best of `repeats`) on square float32/float64 matrices."""
    rates = {}
    rng = np.random.default_rng(0)
    for dtype in ("float32", "float64"):
        for n in (1024, 2048):
            A, B = (rng.normal(size=(n, n)).astype(dtype) for _ in range(2))
            A @ B
            best = min(_timed(lambda A=A, B=B: A @ B) for _ in range(repeats))
            rates[f"{dtype} {n}"] = 2.0 * n**3 / best
    return rates


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def implementations_for(workload) -> list:
    chosen = [Bpxp("numpy"), Bpxp("numpy", snapshot=False), HandwrittenNumpy()]
    small = workload.layer_sizes[1] <= 64
    for backend in ("torch", "jax", "mlx") + (("array_api_strict",) if small else ()):
        if importlib.util.find_spec(backend):
            chosen.append(Bpxp(backend))
    if importlib.util.find_spec("sklearn"):
        chosen.append(ScikitLearn())
    if importlib.util.find_spec("torch"):
        chosen.append(Torch())
    if workload.layer_sizes == (6, 2, 1):
        chosen.append(SeedLoop())
    return chosen


def _epochs_for(implementation, workload) -> int:
    if isinstance(implementation, SeedLoop) or getattr(implementation, "backend", "") == "array_api_strict":
        return max(1, workload.epochs // 20)  # slow ones: fewer epochs, same per-epoch figure
    return workload.epochs


def check_same_weights(implementations, workload) -> dict[str, float]:
    """Train each for check_epochs and compare with the first (bpxp on NumPy); return the max relative gap.

    The first training run also warms every implementation up (JAX compiles its step here).
    """
    results = {}
    reference = None
    for implementation in implementations:
        implementation.reset()
        implementation.train(workload.check_epochs)
        parameters = implementation.parameters()
        if reference is None:
            reference = parameters
        gap = max(float(np.max(np.abs(p - r)) / max(1.0, float(np.max(np.abs(r)))))
                  for p, r in zip(parameters, reference))
        results[implementation.name] = gap
        if gap > 1e-5:
            raise AssertionError(f"{implementation.name} ends {gap:.2e} away from bpxp's weights on {workload.name}")
    return results


def peak_memory(implementation, workload) -> int | None:
    """Peak bytes a training run holds: the parameters it starts from plus the peak of NumPy allocations
    traced during the run (the data set is not counted). None where tracemalloc cannot see the allocations."""
    if isinstance(implementation, Torch) or getattr(implementation, "backend", "numpy") != "numpy":
        return None
    implementation.reset()
    parameters = sum(p.nbytes for p in implementation.parameters())
    tracemalloc.start()
    tracemalloc.reset_peak()
    implementation.train(min(workload.epochs, 2))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return parameters + peak


def run_workload(workload, quick: bool) -> dict:
    _set_torch_threads(1 if workload.layer_sizes[1] <= 64 else os.cpu_count())
    X, y = workload.data()
    weights, biases = workload.initial_parameters()
    implementations = implementations_for(workload)
    # The weight check runs on the first 8 batches: over hundreds of float32 steps, two BLAS libraries' sums
    # drift apart by more than 1e-5 through no fault of either.
    rows = slice(0, 8 * workload.batch_size if workload.batch_size else None)
    for implementation in implementations:
        implementation.setup(workload, X[rows], y[rows], weights, biases)
    gaps = check_same_weights(implementations, workload)
    for implementation in implementations:
        implementation.setup(workload, X, y, weights, biases)
    repeats = 2 if quick else workload.repeats
    times: dict[str, list[float]] = {i.name: [] for i in implementations}
    for repeat in range(repeats):
        rotated = implementations[repeat % len(implementations):] + implementations[:repeat % len(implementations)]
        for implementation in rotated:
            implementation.reset()
            epochs = _epochs_for(implementation, workload)
            times[implementation.name].append(_timed(lambda: implementation.train(epochs)) / epochs)  # noqa: B023
    rows = []
    for implementation in implementations:
        per_epoch = times[implementation.name]
        median = statistics.median(per_epoch)
        flops = workload.matmul_flops_per_epoch / median
        peak = peak_memory(implementation, workload)
        rows.append({
            "implementation": implementation.name, "median_s": median, "min_s": min(per_epoch),
            "max_s": max(per_epoch), "samples_per_s": workload.n_samples / median, "flops": flops,
            "peak_bytes": peak,
            "memory_ratio": None if peak is None else peak / workload.memory_needed(),
            "threads": implementation.threads or _default_threads(), "weight_gap": gaps[implementation.name],
        })
    baseline = next(r["median_s"] for r in rows if r["implementation"] == BASELINE)
    for row in rows:
        row["vs_handwritten"] = row["median_s"] / baseline
    return {"workload": workload.name, "epochs_per_run": workload.epochs, "repeats": repeats, "rows": rows}


def _set_torch_threads(n: int) -> None:
    if importlib.util.find_spec("torch"):
        import torch

        torch.set_num_threads(n)


def _default_threads() -> str:
    from threadpoolctl import threadpool_info

    blas = {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}
    return "BLAS " + "/".join(str(n) for n in sorted(blas))


def _parameter_share(result: dict) -> float:
    """One set of parameters as a fraction of what the workload's training needs (the kept last-finite epoch)."""
    workload = next(w for w in WORKLOADS if w.name == result["workload"])
    parameters = sum(a * b + b for a, b in zip(workload.layer_sizes[:-1], workload.layer_sizes[1:]))
    return 4 * parameters / workload.memory_needed()


def targets(results: list[dict], matmul_f32: float) -> list[dict]:
    """The issue's speed targets, each with the measured ratio."""
    checks = []

    def row(workload_prefix, name):
        for result in results:
            if result["workload"].startswith(workload_prefix):
                for r in result["rows"]:
                    if r["implementation"] == name:
                        return r
        return None

    def add(text, value, limit, smaller_is_better=True):
        if value is not None:
            met = value <= limit if smaller_is_better else value >= limit
            checks.append({"target": text, "value": round(value, 3), "limit": limit, "met": met})

    for prefix in ("admissions", "iris 4-8-3, 150 rows, full"):
        ours = row(prefix, "bpxp (numpy)")
        if ours is None:
            continue
        add(f"{prefix}: bpxp / hand-written NumPy", ours["vs_handwritten"], 1.2)
        for name, limit in (("scikit-learn MLPClassifier", 2.0), ("PyTorch CPU (nn + optim)", 5.0),
                            ("seed-style per-record loop", 100.0)):
            other = row(prefix, name)
            add(f"{prefix}: {name} / bpxp", other and other["median_s"] / ours["median_s"], limit, False)
        jax = row(prefix, "bpxp (jax)")
        # the target: JAX's compiled epochs at least 3× faster than NumPy on the seeds' networks
        add(f"{prefix}: bpxp (jax) / bpxp (numpy)", jax and jax["median_s"] / ours["median_s"], round(1 / 3, 3))
    ours = row("784", "bpxp (numpy)")
    if ours:
        add("784: bpxp / hand-written NumPy", ours["vs_handwritten"], 1.05)
        for name, limit in (("PyTorch CPU (nn + optim)", 1.2), ("scikit-learn MLPClassifier", 1.5)):
            other = row("784", name)
            add(f"784: {name} / bpxp", other and other["median_s"] / ours["median_s"], limit, False)
    ours = row("1024", "bpxp (numpy)")
    if ours:
        add("wide: bpxp / hand-written NumPy", ours["vs_handwritten"], 1.05)
        add("wide: bpxp FLOP/s / float32 matmul rate", ours["matmul_fraction"], 0.70, False)
    for result in results:
        # on networks of a few dozen weights, Python's own objects dwarf the arrays: memory matters on big ones.
        # By default fit keeps the last finite epoch (one more set of parameters); snapshot=False is the
        # run that holds only what training needs.
        for name in ("bpxp (numpy, snapshot=False)", "bpxp (numpy)"):
            r = row(result["workload"], name)
            if r and r["memory_ratio"] is not None and r["peak_bytes"] > 10e6:
                add(f"{result['workload'].split(',')[0]}: {name} peak memory / needed", r["memory_ratio"],
                    1.3 if "snapshot=False" in name else 1.3 + _parameter_share(result))
    return checks


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    versions = {}
    for name in ("numpy", "torch", "jax", "mlx", "sklearn", "array_api_strict", "array_api_compat"):
        if importlib.util.find_spec(name):
            versions[name] = getattr(__import__(name), "__version__", "?")
    import bpxp

    versions["bpxp"] = bpxp.__version__
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), **versions}


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}; numpy {m.get('numpy')}, "
             f"torch {m.get('torch', '-')}, jax {m.get('jax', '-')}, scikit-learn {m.get('sklearn', '-')}; "
             f"{m['date']}. float32 throughout.", "",
             "Matmul limit (numpy): " + ", ".join(f"{k}: {v / 1e9:.1f} GFLOP/s"
                                                   for k, v in report["matmul_rates"].items()), ""]
    for result in report["results"]:
        lines += [f"**{result['workload']}** ({result['epochs_per_run']} epochs a run, {result['repeats']} runs)",
                  "", "| implementation | ms / epoch, median (min–max) | × hand-written | samples/s | GFLOP/s | "
                  "% of f32 matmul | peak MB (× needed) | threads |", "|---|---|---|---|---|---|---|---|"]
        for r in result["rows"]:
            memory = "–" if r["peak_bytes"] is None else f"{r['peak_bytes'] / 1e6:.1f} ({r['memory_ratio']:.2f})"
            lines.append(f"| {r['implementation']} | {r['median_s'] * 1e3:.3f} ({r['min_s'] * 1e3:.3f}–"
                         f"{r['max_s'] * 1e3:.3f}) | {r['vs_handwritten']:.2f} | {r['samples_per_s']:,.0f} | "
                         f"{r['flops'] / 1e9:.2f} | {100 * r['matmul_fraction']:.1f} | {memory} | {r['threads']} |")
        lines.append("")
    lines += ["| target | measured | limit | met |", "|---|---|---|---|"]
    lines += [f"| {c['target']} | {c['value']} | {'≤' if c['target'].count('/ hand') or 'memory' in c['target'] or 'jax' in c['target'] else '≥'} {c['limit']} | {'yes' if c['met'] else '**no**'} |"  # noqa: E501
              for c in report["targets"]]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two runs per workload (a smoke test)")
    parser.add_argument("--only", help="run the workloads whose name contains this")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args(argv)
    if importlib.util.find_spec("jax"):
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
    rates = matmul_rates()
    print("matmul GFLOP/s:", {k: round(v / 1e9, 1) for k, v in rates.items()}, flush=True)
    results = []
    workloads = [w for w in WORKLOADS if not args.only or args.only in w.name]
    for workload in workloads:
        print(f"-- {workload.name}", flush=True)
        results.append(run_workload(workload, args.quick))
        for r in results[-1]["rows"]:
            print(f"   {r['implementation']:28s} {r['median_s'] * 1e3:10.3f} ms/epoch  "
                  f"x{r['vs_handwritten']:.2f}", flush=True)
    # The machine's limit, measured again at the end: the best of both readings, so that a busy moment at
    # the start cannot make the library look faster than the hardware.
    rates = {k: max(v, w) for (k, v), w in zip(rates.items(), matmul_rates().values())}
    for result in results:
        for r in result["rows"]:
            r["matmul_fraction"] = r["flops"] / rates["float32 2048"]
    report = {"machine": machine(), "matmul_rates": rates, "results": results,
              "targets": targets(results, rates["float32 2048"])}
    write_report(args.out, "latest", report, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
