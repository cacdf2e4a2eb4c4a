"""Count the array operations (kernels, on a GPU) that one bpxp training step launches, per layer.

Runs bpxp's step on the PyTorch backend under ``torch.profiler`` and counts the top-level ATen operations that
compute something (views, transposes and shape changes launch no kernel and are not counted). The count for a
network with one more hidden layer minus the count without it is the cost of one hidden layer.

    python benchmarks/kernels.py
"""

from __future__ import annotations

import numpy as np
import torch

import bpxp
from bpxp.training.step import make_step

NO_KERNEL = {"aten::t", "aten::transpose", "aten::view", "aten::reshape", "aten::expand", "aten::as_strided",
             "aten::empty", "aten::empty_strided", "aten::select", "aten::slice", "aten::unsqueeze",
             "aten::squeeze", "aten::detach", "aten::alias", "aten::resolve_conj", "aten::resolve_neg",
             "aten::lift_fresh", "aten::numpy_T", "aten::permute", "aten::_unsafe_view", "aten::result_type"}


def kernels_per_step(hidden_layers: int, hidden: str, output: str, loss: str, optimizer: str = "sgd",
                     width: int = 32, outputs: int = 4) -> tuple[int, dict[str, int]]:
    sizes = [16] + [width] * hidden_layers + [outputs]
    net = bpxp.MLP(sizes, hidden=hidden, output=output, loss=loss, backend="torch", random_state=0)
    xp, rng = net.xp, np.random.default_rng(0)
    X = xp.asarray(rng.normal(size=(64, 16)).astype(np.float32))
    Y = xp.asarray(np.eye(outputs, dtype=np.float32)[rng.integers(0, outputs, 64)])
    rule = bpxp.optimizers.get_optimizer(optimizer)
    step = make_step(net.spec.activations, net.spec.loss_function, rule, xp=xp)
    weights, biases = tuple(net.weights), tuple(net.biases)
    state = rule.init((*weights, *biases), xp=xp)
    total = xp.zeros(())
    step(weights, biases, state, total, X, Y, learning_rate=0.1)  # warm up
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
        step(weights, biases, state, total, X, Y, learning_rate=0.1)
    counts: dict[str, int] = {}
    for event in profile.events():
        top_level = event.cpu_parent is None or not event.cpu_parent.name.startswith("aten::")
        if event.name.startswith("aten::") and top_level and event.name not in NO_KERNEL:
            counts[event.name] = counts.get(event.name, 0) + 1
    return sum(counts.values()), counts


def main() -> None:
    torch.set_num_threads(1)
    rows = [("sigmoid", "sigmoid", "mse"), ("sigmoid", "sigmoid", "binary_cross_entropy"),
            ("relu", "softmax", "cross_entropy"), ("tanh", "identity", "mse"), ("leaky_relu", "softmax", "mse")]
    print("| hidden | output + loss | optimizer | kernels per step, 1 hidden layer | each further hidden layer |")
    print("|---|---|---|---|---|")
    for hidden, output, loss in rows:
        for optimizer in ("sgd", "momentum", "adam") if hidden == "relu" else ("sgd",):
            one, _ = kernels_per_step(1, hidden, output, loss, optimizer)
            two, _ = kernels_per_step(2, hidden, output, loss, optimizer)
            print(f"| {hidden} | {output} + {loss} | {optimizer} | {one} | {two - one} |")
    _, detail = kernels_per_step(1, "relu", "softmax", "cross_entropy")
    print("\nrelu / softmax + cross_entropy / sgd, one hidden layer:", dict(sorted(detail.items())))


if __name__ == "__main__":
    main()
