"""ONNX Runtime on bpxp's exported graph next to bpxp's own predict, for 1 row and for 10,000 rows.

    PYTHONPATH=. python benchmarks/onnx_inference.py [--repeats 200]

Networks: the seeds' shapes and the digits-like 784-256-128-10, float32, relu hidden layers and a softmax output,
as ``bpxp.MLP`` on NumPy (``predict_proba``, host arrays in and out) and as the model of ``bpxp.onnx.export`` in one
``onnxruntime.InferenceSession`` (CPU, one thread, the probabilities and labels of every row). Outputs are checked
equal (1e-5) before timing; the median of ``repeats`` calls is reported, with the ONNX graph's node count.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import onnxruntime as ort

import bpxp
import bpxp.onnx

NETWORKS = {"iris 4-16-3": [4, 16, 3], "admissions 6-8-2": [6, 8, 2], "digits 784-256-128-10": [784, 256, 128, 10]}
ROWS = (1, 10_000)


def _median_seconds(call, repeats: int) -> float:
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args(argv)
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    print("| network | rows | bpxp predict_proba (NumPy) | ONNX Runtime | bpxp / ORT | ONNX nodes |")
    print("|---|---|---|---|---|---|")
    for name, sizes in NETWORKS.items():
        net = bpxp.MLP(sizes, random_state=0)
        model = bpxp.onnx.export(net)
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        for n in ROWS:
            X = np.random.default_rng(n).normal(size=(n, sizes[0])).astype(np.float32)
            np.testing.assert_allclose(session.run(["probabilities"], {"X": X})[0], net.predict_proba(X),
                                       rtol=1e-5, atol=1e-6)
            repeats = args.repeats if n == 1 else max(5, args.repeats // 20)
            ours = _median_seconds(lambda X=X, net=net: net.predict_proba(X), repeats)
            theirs = _median_seconds(lambda X=X, session=session: session.run(None, {"X": X}), repeats)
            print(f"| {name} | {n:,} | {ours * 1e6:,.1f} µs | {theirs * 1e6:,.1f} µs | {ours / theirs:.2f} | "
                  f"{len(model.graph.node)} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
