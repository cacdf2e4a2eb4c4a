"""GPU benchmark: bpxp on every GPU backend beside hand-written CuPy/torch steps and torch nn + optim.SGD.

    python benchmarks/gpu.py --out results/          # on a CUDA machine, ≤ 3 minutes (.ci/gpu-all runs it)
    python benchmarks/gpu.py --smoke --out /tmp/x    # anywhere: tiny workloads on the CPU (a test runs this)

Every implementation trains the same network (float32, plain SGD, relu/softmax + cross-entropy or the seeds'
sigmoid, batches in order) from the same initial weights. Before any time is taken, one epoch of each is checked
against the first implementation's weights; then ms per epoch (median of the repeats) are reported beside the
same run's matrix-product rate (``cupy.matmul``, FP32 and TF32) and the share of it each epoch reaches. bpxp runs
at ``precision='float32'`` and ``'tf32'``. Writes gpu.md (Markdown) and gpu.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from implementations import torch_sequential, write_report
from workloads import Workload

import bpxp
from bpxp.backend import namespaces as _backend

GPU_WORKLOADS = [
    Workload("iris 4-8-3, full batch", (4, 8, 3), "sigmoid", 150, None, 0.1, 200, 5, 1),
    Workload("784-256-128-10, 60k rows, batch 256", (784, 256, 128, 10), "relu", 60_000, 256, 0.01, 1, 5, 1),
    Workload("784-256-128-10, 60k rows, batch 4096", (784, 256, 128, 10), "relu", 60_000, 4096, 0.01, 2, 5, 1),
    Workload("1024-4096-4096-1024, 16k rows, batch 1024", (1024, 4096, 4096, 1024), "relu", 16_384, 1024,
             0.01, 1, 5, 1),
    Workload("4096-8192-8192-4096, 64k rows, batch 8192", (4096, 8192, 8192, 4096), "relu", 65_536, 8192,
             0.01, 1, 3, 1),
]
SMOKE_WORKLOADS = [
    Workload("iris 4-8-3, full batch", (4, 8, 3), "sigmoid", 150, None, 0.1, 3, 1, 1),
    Workload("32-16-4, 256 rows, batch 64", (32, 16, 4), "relu", 256, 64, 0.01, 2, 1, 1),
]


class Bpxp:
    """bpxp's ``MLP.fit`` on one backend, device and precision."""

    def __init__(self, backend, device, precision):
        self.backend, self.device, self.precision = backend, device, precision
        self.name = f"bpxp {backend} ({_backend.device_label(device) if device else 'default'}), {precision}"

    def setup(self, workload, X, Y, weights, biases):
        self.workload, self.initial = workload, (weights, biases)
        xp = _backend.namespace(self.backend)
        device = _backend.resolve_device(xp, self.device)
        self.X, self.Y = xp.asarray(X, device=device), xp.asarray(Y, device=device)

    def reset(self):
        w, b = self.initial
        self.net = bpxp.MLP.from_weights(w, b, hidden=self.workload.hidden, output=self.workload.output,
                                         loss=self.workload.loss, backend=self.backend, device=self.device,
                                         dtype="float32", precision=self.precision)

    def train(self, epochs):
        self.net.fit(self.X, self.Y, epochs=epochs, learning_rate=self.workload.learning_rate,
                     batch_size=self.workload.batch_size, shuffle=False,
                     optimizer="sgd")  # reads each epoch's loss: synchronised

    def parameters(self):
        return [bpxp.to_numpy(p) for p in (*self.net.weights, *self.net.biases)]


class HandWritten:
    """The step written by hand for one array library (no autograd): Z = AW + b, δ, dW = Aᵀδ, W −= η·dW."""

    def __init__(self, name, xp, device, synchronize):
        self.name, self.xp, self.device, self.synchronize = name, xp, device, synchronize

    def setup(self, workload, X, Y, weights, biases):
        self.workload, self.initial = workload, (weights, biases)
        self.X, self.Y = (self.xp.asarray(a, device=self.device) for a in (X, Y))

    def reset(self):
        self.W = [self.xp.asarray(w, device=self.device, copy=True) for w in self.initial[0]]
        self.b = [self.xp.asarray(b, device=self.device, copy=True) for b in self.initial[1]]

    def _hidden(self, Z):
        xp = self.xp
        return xp.maximum(Z, 0.0) if self.workload.hidden == "relu" else 1.0 / (1.0 + xp.exp(-Z))

    def _hidden_grad(self, A):
        return self.xp.astype(A > 0, A.dtype) if self.workload.hidden == "relu" else A * (1.0 - A)

    def train(self, epochs):
        xp, n = self.xp, self.X.shape[0]
        batch, lr = self.workload.batch_size or n, self.workload.learning_rate
        for _ in range(epochs):
            total = xp.zeros((), dtype=self.X.dtype, device=self.device)
            for start in range(0, n, batch):
                A = [self.X[start:start + batch, ...]]
                Y = self.Y[start:start + batch, ...]
                for i, (W, b) in enumerate(zip(self.W, self.b)):
                    Z = A[-1] @ W + b
                    A.append(self._hidden(Z) if i < len(self.W) - 1 else Z)
                Z = A.pop()
                if Z.shape[1] == 1:  # sigmoid + binary cross-entropy
                    P = 1.0 / (1.0 + xp.exp(-Z))
                else:  # softmax + cross-entropy
                    E = xp.exp(Z - xp.max(Z, axis=1, keepdims=True))
                    P = E / xp.sum(E, axis=1, keepdims=True)
                total = total + xp.sum(-Y * xp.log(xp.clip(P, 1e-7, 1.0)))
                delta = (P - Y) * (lr / Y.shape[0])
                for i in range(len(self.W) - 1, -1, -1):
                    dW, db = A[i].T @ delta, xp.sum(delta, axis=0)
                    if i:
                        delta = (delta @ self.W[i].T) * self._hidden_grad(A[i])
                    self.W[i] -= dW
                    self.b[i] -= db
            float(total)  # one host read per epoch, as bpxp does
        self.synchronize()

    def parameters(self):
        return [bpxp.to_numpy(p) for p in (*self.W, *self.b)]


class TorchNN:
    """torch the usual way, on a device: nn.Sequential of nn.Linear, optim.SGD, autograd."""

    def __init__(self, device):
        self.device, self.name = device, f"torch nn + optim.SGD ({device})"

    def setup(self, workload, X, Y, weights, biases):
        import torch

        self.torch, self.workload, self.initial = torch, workload, (weights, biases)
        self.X, self.Y = torch.from_numpy(X).to(self.device), torch.from_numpy(Y).to(self.device)

    def reset(self):
        self.model, self.optimizer, self.loss = torch_sequential(self.torch, self.workload, self.initial, self.device)

    def train(self, epochs):
        n = self.X.shape[0]
        batch = self.workload.batch_size or n
        targets = self.Y if self.Y.shape[1] == 1 else self.Y.argmax(1)
        for _ in range(epochs):
            total = self.torch.zeros((), device=self.device)
            for start in range(0, n, batch):
                self.optimizer.zero_grad()
                loss = self.loss(self.model(self.X[start:start + batch]), targets[start:start + batch])
                loss.backward()
                self.optimizer.step()
                total += loss.detach()
            float(total)

    def parameters(self):
        linears = [m for m in self.model if isinstance(m, self.torch.nn.Linear)]
        return [*(m.weight.detach().cpu().numpy().T for m in linears), *(m.bias.detach().cpu().numpy()
                                                                          for m in linears)]


def implementations(smoke: bool) -> list:
    """What this machine can run: the GPU backends (or, in smoke mode, their CPU stand-ins)."""
    chosen = []
    has = lambda module: importlib.util.find_spec(module) is not None  # noqa: E731
    if smoke:
        import array_api_compat.numpy as xp_numpy

        for precision in ("float32", "tf32"):
            chosen.append(Bpxp("numpy", None, precision))
        chosen.append(HandWritten("hand-written NumPy (stand-in)", xp_numpy, None, lambda: None))
        if has("torch"):
            chosen.append(TorchNN("cpu"))
        return chosen
    if has("cupy"):
        import array_api_compat.cupy as xp_cupy
        import cupy

        chosen += [Bpxp("cupy", None, p) for p in ("float32", "tf32")]
        chosen.append(HandWritten("hand-written CuPy", xp_cupy, None, cupy.cuda.Device().synchronize))
    if has("torch"):
        import array_api_compat.torch as xp_torch
        import torch

        if torch.cuda.is_available():
            chosen += [Bpxp("torch", "cuda:0", p) for p in ("float32", "tf32")]
            chosen += [HandWritten("hand-written torch-CUDA", xp_torch, "cuda:0", torch.cuda.synchronize),
                       TorchNN("cuda:0")]
    if has("jax"):
        import jax

        if any(d.platform == "gpu" for d in jax.devices()):
            chosen += [Bpxp("jax", "gpu:0", p) for p in ("float32", "tf32")]
    return chosen


def matmul_rates(smoke: bool) -> dict[str, float]:
    """FLOP/s of the same run's float32 matrix products: cupy.matmul at FP32 and TF32 (numpy in smoke mode)."""
    n = 256 if smoke else 8192
    if smoke or not importlib.util.find_spec("cupy"):
        A = np.random.default_rng(0).normal(size=(n, n)).astype(np.float32)
        best = min(_timed(lambda: A @ A, lambda: None) for _ in range(3))
        return {"numpy float32": 2.0 * n**3 / best}
    import array_api_compat.cupy as xp
    import cupy

    A = cupy.asarray(np.random.default_rng(0).normal(size=(n, n)).astype(np.float32))
    rates = {}
    for precision in ("float32", "tf32"):
        with _backend.matmul_precision(xp, A.device, precision):
            A @ A
            best = min(_timed(lambda: A @ A, cupy.cuda.Device().synchronize) for _ in range(5))
        rates[f"cupy.matmul {precision}"] = 2.0 * n**3 / best
    return rates


def _timed(work, synchronize) -> float:
    start = time.perf_counter()
    work()
    synchronize()
    return time.perf_counter() - start


def run_workload(workload, chosen, smoke: bool) -> dict:
    X, y = workload.data()
    Y = np.eye(workload.layer_sizes[-1], dtype=np.float32)[y]
    weights, biases = workload.initial_parameters()
    rows, reference = [], None
    for implementation in chosen:
        try:
            implementation.setup(workload, X, Y, weights, biases)
            implementation.reset()
            implementation.train(workload.check_epochs)  # also compiles/captures: untimed
            params = implementation.parameters()
            reference = reference or params
            scale = max(float(np.abs(p).max()) for p in reference)
            gap = max(float(np.abs(a - b).max()) for a, b in zip(params, reference)) / scale
            times = []
            for _ in range(workload.repeats):
                implementation.reset()
                start = time.perf_counter()
                implementation.train(workload.epochs)
                times.append((time.perf_counter() - start) / workload.epochs)
            rows.append({"implementation": implementation.name, "ms_per_epoch": 1e3 * statistics.median(times),
                         "weights_gap": gap, "weights_agree": gap <= (1e-2 if "tf32" in implementation.name
                                                                      else 1e-3)})
        except Exception as error:  # a missing device or library: reported, never fatal
            rows.append({"implementation": implementation.name, "error": f"{type(error).__name__}: {error}"[:200]})
    flops = workload.matmul_flops_per_epoch
    return {"workload": workload.name, "matmul_flops_per_epoch": flops, "rows": rows}


def markdown(report: dict) -> str:
    lines = [f"# bpxp GPU benchmark ({report['mode']})", "", f"{report['machine']}", "",
             "Matrix-product rates of this run: " + ", ".join(f"{k} {v / 1e12:.2f} TFLOP/s"
                                                              for k, v in report["matmul_rates"].items()), ""]
    fp32 = next(iter(report["matmul_rates"].values()))
    for result in report["results"]:
        lines += [f"## {result['workload']}", "", "| implementation | ms/epoch | % of FP32 matmul rate | weights |",
                  "|---|---|---|---|"]
        for row in result["rows"]:
            if "error" in row:
                lines.append(f"| {row['implementation']} | – | – | {row['error']} |")
                continue
            share = result["matmul_flops_per_epoch"] / (row["ms_per_epoch"] / 1e3) / fp32
            agree = "equal" if row["weights_agree"] else "DIFFER"
            lines.append(f"| {row['implementation']} | {row['ms_per_epoch']:.3f} | {100 * share:.0f}% | "
                         f"{agree} ({row['weights_gap']:.1e}) |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny workloads on the CPU (checks the script)")
    parser.add_argument("--only", help="run the workloads whose name contains this")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args(argv)
    workloads = [w for w in (SMOKE_WORKLOADS if args.smoke else GPU_WORKLOADS) if not args.only or args.only in w.name]
    chosen = implementations(args.smoke)
    if not chosen:
        print("gpu.py: no GPU backend found (CuPy, torch with CUDA, JAX with a GPU); try --smoke", file=sys.stderr)
        return 1
    report = {"mode": "smoke, CPU" if args.smoke else "GPU", "machine": f"{platform.node()} {platform.machine()}",
              "backends": [f"{b.name} {b.version} {b.devices}" for b in bpxp.backends() if b.installed],
              "matmul_rates": matmul_rates(args.smoke), "results": []}
    for workload in workloads:
        with warnings.catch_warnings():  # on a CPU, precision='tf32' says once that it changes nothing
            warnings.filterwarnings("ignore", message="precision='tf32' changes nothing")
            report["results"].append(run_workload(workload, chosen, args.smoke))
        print(f"done: {workload.name}", file=sys.stderr, flush=True)
    write_report(args.out, "gpu", report, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
