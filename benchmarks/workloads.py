"""The benchmark workloads: the seeds' shapes, a 784-wide digits-like network and a wide network.

Every implementation trains the same network from the same initial weights on the same data, so that their
final weights can be checked equal before any time is reported. The losses are those that scikit-learn's MLPs
implement too: sigmoid output + binary cross-entropy (MLPClassifier, two classes) and softmax + cross-entropy
(MLPClassifier, several classes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Workload:
    name: str
    layer_sizes: tuple[int, ...]
    hidden: str  # bpxp's name: sigmoid, tanh, relu
    n_samples: int
    batch_size: int | None  # None: full batch
    learning_rate: float
    epochs: int  # epochs per timed run
    repeats: int
    check_epochs: int  # epochs of the run whose final weights must agree across implementations

    @property
    def output(self) -> str:
        return "sigmoid" if self.layer_sizes[-1] == 1 else "softmax"

    @property
    def loss(self) -> str:
        return "binary_cross_entropy" if self.output == "sigmoid" else "cross_entropy"

    @property
    def steps_per_epoch(self) -> int:
        batch = self.batch_size or self.n_samples
        return -(-self.n_samples // batch)

    @property
    def matmul_flops_per_epoch(self) -> float:
        """Forward Zˡ = Aˡ⁻¹Wˡ, backward Aˡ⁻¹ᵀδˡ and δˡ·Wˡᵀ (not for the first layer): 2·n·(3Σ nᵢnₒ − n₀n₁)."""
        pairs = sum(a * b for a, b in zip(self.layer_sizes[:-1], self.layer_sizes[1:]))
        return 2.0 * self.n_samples * (3 * pairs - self.layer_sizes[0] * self.layer_sizes[1])

    def data(self, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Features (float32) and integer labels with a learnable structure (a random teacher network)."""
        rng = np.random.default_rng(seed)
        n_in, n_out = self.layer_sizes[0], self.layer_sizes[-1]
        if self.name.startswith("iris"):
            from sklearn.datasets import load_iris

            X, y = load_iris(return_X_y=True)
            return ((X - X.mean(0)) / X.std(0)).astype(np.float32), y.astype(np.int64)
        X = rng.normal(size=(self.n_samples, n_in)).astype(np.float32)
        if n_out == 1:
            y = (X @ rng.normal(size=n_in) + 0.5 * rng.normal(size=self.n_samples) > 0).astype(np.int64)
        else:
            y = np.argsort(X @ rng.normal(size=(n_in, n_out)), axis=1)[:, -1]
            y[: n_out] = np.arange(n_out)  # every class present, so every library builds n_out outputs
        return X, y

    def initial_parameters(self, seed: int = 1) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Glorot-uniform weights and small biases, float32, shared by every implementation."""
        rng = np.random.default_rng(seed)
        weights, biases = [], []
        for n_in, n_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:]):
            limit = np.sqrt(6.0 / (n_in + n_out))
            weights.append(rng.uniform(-limit, limit, size=(n_in, n_out)).astype(np.float32))
            biases.append(rng.uniform(-0.1, 0.1, size=n_out).astype(np.float32))
        return weights, biases

    def memory_needed(self, optimizer_state_per_parameter: int = 0) -> int:
        """Bytes that training must hold: parameters, gradients, optimizer state and one batch's activations."""
        parameters = sum(a * b + b for a, b in zip(self.layer_sizes[:-1], self.layer_sizes[1:]))
        batch = self.batch_size or self.n_samples
        activations = batch * sum(self.layer_sizes)
        return 4 * (parameters * (2 + optimizer_state_per_parameter) + activations)


WORKLOADS = [
    Workload("admissions 6-2-1, 360 rows, full batch", (6, 2, 1), "sigmoid", 360, None, 0.05, 400, 21, 50),
    Workload("iris 4-8-3, 150 rows, full batch", (4, 8, 3), "sigmoid", 150, None, 0.1, 400, 21, 50),
    Workload("iris 4-8-3, 150 rows, batch 16", (4, 8, 3), "sigmoid", 150, 16, 0.1, 40, 21, 5),
    Workload("784-256-128-10, 60k rows, batch 256", (784, 256, 128, 10), "relu", 60_000, 256, 0.01, 1, 5, 1),
    Workload("1024-4096-4096-1024, 4096 rows, batch 1024", (1024, 4096, 4096, 1024), "relu", 4096, 1024,
             0.01, 1, 5, 1),
]
