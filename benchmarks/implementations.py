"""The implementations the benchmark times side by side, each behind the same small interface.

``setup(workload, X, y, weights, biases)`` moves data once (untimed); ``reset()`` restores the initial weights
(untimed); ``train(epochs)`` is what the clock measures; ``parameters()`` returns the final W… then b… as NumPy.

Every implementation computes the same thing per epoch: forward, backward, a plain SGD update per batch
(batches in order), and the epoch's training loss accumulated without a per-step host read.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np

import bpxp


class Implementation:
    name = ""
    threads = ""

    def setup(self, workload, X, y, weights, biases):
        self.workload, self.X, self.y = workload, X, y
        self.initial = ([w.copy() for w in weights], [b.copy() for b in biases])
        self.Y = np.eye(workload.layer_sizes[-1], dtype=np.float32)[y] if workload.layer_sizes[-1] > 1 \
            else y[:, None].astype(np.float32)

    def reset(self):
        raise NotImplementedError

    def train(self, epochs: int):
        raise NotImplementedError

    def parameters(self) -> list[np.ndarray]:
        raise NotImplementedError


class Bpxp(Implementation):
    """bpxp's own ``MLP.fit`` on one backend."""

    def __init__(self, backend: str, snapshot: bool = True):
        self.backend = backend
        self.snapshot = snapshot  # False: every step in place, no last-finite epoch kept (fit(snapshot=False))
        self.name = f"bpxp ({backend})" if snapshot else f"bpxp ({backend}, snapshot=False)"

    def setup(self, workload, X, y, weights, biases):
        super().setup(workload, X, y, weights, biases)
        xp = bpxp.backend.namespaces.namespace(self.backend)
        self.X_dev = xp.asarray(X)  # data lives on the backend, as a user's would
        self.Y_dev = xp.asarray(self.Y)
        if self.backend == "torch":
            import torch

            self.threads = f"torch {torch.get_num_threads()}"

    def reset(self):
        w, b = self.initial
        self.net = bpxp.MLP.from_weights(w, b, hidden=self.workload.hidden, output=self.workload.output,
                                         loss=self.workload.loss, backend=self.backend, dtype="float32")

    def train(self, epochs):
        self.net.fit(self.X_dev, self.Y_dev, epochs=epochs, learning_rate=self.workload.learning_rate,
                     batch_size=self.workload.batch_size, shuffle=False, snapshot=self.snapshot, optimizer="sgd")

    def parameters(self):
        return [bpxp.to_numpy(p) for p in (*self.net.weights, *self.net.biases)]


def _activation(name):
    """Hand-written activations and their derivatives from the output, NumPy operations of the standard only."""
    if name == "sigmoid":
        return (lambda Z: 1.0 / (1.0 + np.exp(-Z))), (lambda A: A * (1.0 - A))
    if name == "tanh":
        return np.tanh, (lambda A: 1.0 - A * A)
    return (lambda Z: np.maximum(Z, 0.0)), (lambda A: (A > 0).astype(A.dtype))


class HandwrittenNumpy(Implementation):
    """What a learner writes from the equations: vectorized NumPy, standard operations only, in-place updates."""

    name = "hand-written NumPy"

    def reset(self):
        w, b = self.initial
        self.W, self.b = [x.copy() for x in w], [x.copy() for x in b]

    def train(self, epochs):
        f, f_prime = _activation(self.workload.hidden)
        X, Y, W, b, lr = self.X, self.Y, self.W, self.b, self.workload.learning_rate
        n = len(X)
        batch = self.workload.batch_size or n
        softmax = Y.shape[1] > 1
        for _ in range(epochs):
            total = np.zeros((), dtype=np.float32)
            for start in range(0, n, batch):
                A = [X[start:start + batch]]
                T = Y[start:start + batch]
                for layer in range(len(W) - 1):
                    A.append(f(A[-1] @ W[layer] + b[layer]))
                Z = A[-1] @ W[-1] + b[-1]
                if softmax:
                    S = Z - np.max(Z, axis=1, keepdims=True)
                    log_p = S - np.log(np.sum(np.exp(S), axis=1, keepdims=True))
                    P = np.exp(log_p)
                    total += -np.sum(T * log_p)
                else:
                    P = 1.0 / (1.0 + np.exp(-Z))
                    total += np.sum(np.maximum(Z, 0.0) - Z * T + np.log1p(np.exp(-np.abs(Z))))
                delta, m = P - T, len(T)
                for layer in range(len(W) - 1, -1, -1):
                    dW = A[layer].T @ delta / m
                    db = np.sum(delta, axis=0) / m
                    if layer > 0:
                        delta = (delta @ W[layer].T) * f_prime(A[layer])
                    W[layer] -= lr * dW
                    b[layer] -= lr * db
            self.last_loss = float(total) / n

    def parameters(self):
        return [*self.W, *self.b]


class SeedLoop(Implementation):
    """The admissions tutorial's style: a Python loop over records accumulating Δw, then ``w += η·Δw/m``."""

    name = "seed-style per-record loop"

    def reset(self):
        w, b = self.initial
        self.W, self.b = [x.copy() for x in w], [x.copy() for x in b]

    def train(self, epochs):
        (W1, W2), (b1, b2) = self.W, self.b
        lr = self.workload.learning_rate
        for _ in range(epochs):
            dW1, dW2 = np.zeros_like(W1), np.zeros_like(W2)
            db1, db2 = np.zeros_like(b1), np.zeros_like(b2)
            for x, t in zip(self.X, self.Y):
                hidden = 1.0 / (1.0 + np.exp(-(x @ W1 + b1)))
                output = 1.0 / (1.0 + np.exp(-(hidden @ W2 + b2)))
                error_term = t - output  # sigmoid + cross-entropy: the output error term is y − ŷ
                hidden_error_term = (W2 @ error_term) * hidden * (1 - hidden)
                dW2 += np.outer(hidden, error_term)
                db2 += error_term
                dW1 += np.outer(x, hidden_error_term)
                db1 += hidden_error_term
            m = len(self.X)
            W1 += lr * dW1 / m
            W2 += lr * dW2 / m
            b1 += lr * db1 / m
            b2 += lr * db2 / m

    def parameters(self):
        return [*self.W, *self.b]


class ScikitLearn(Implementation):
    """``sklearn.neural_network.MLPClassifier``, solver 'sgd' with momentum 0, the same weights and batches."""

    name = "scikit-learn MLPClassifier"

    def setup(self, workload, X, y, weights, biases):
        super().setup(workload, X, y, weights, biases)
        self.threads = _blas_threads()

    def reset(self):
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        activation = {"sigmoid": "logistic"}.get(self.workload.hidden, self.workload.hidden)
        self.model = MLPClassifier(
            hidden_layer_sizes=self.workload.layer_sizes[1:-1], activation=activation, solver="sgd", alpha=0.0,
            batch_size=self.workload.batch_size or self.workload.n_samples, learning_rate="constant",
            learning_rate_init=self.workload.learning_rate, momentum=0.0, nesterovs_momentum=False,
            shuffle=False, tol=0.0, n_iter_no_change=10**9, warm_start=True, max_iter=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", UserWarning)  # "batch_size ... clipped" on the few rows below
            # a one-epoch fit on a few rows (every class among them) builds the layers; then our weights go in
            rows = np.union1d(np.unique(self.y, return_index=True)[1], np.arange(min(50, len(self.y))))
            self.model.fit(self.X[rows], self.y[rows])
        w, b = self.initial
        self.model.coefs_ = [x.copy() for x in w]
        self.model.intercepts_ = [x.copy() for x in b]

    def train(self, epochs):
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        self.model.max_iter = epochs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(self.X, self.y)

    def parameters(self):
        return [*self.model.coefs_, *self.model.intercepts_]


class Torch(Implementation):
    """PyTorch the usual way: ``nn.Sequential`` of ``nn.Linear``, ``optim.SGD``, autograd."""

    name = "PyTorch CPU (nn + optim)"

    def setup(self, workload, X, y, weights, biases):
        import torch

        super().setup(workload, X, y, weights, biases)
        self.torch = torch
        self.X_t, self.y_t = torch.from_numpy(X), torch.from_numpy(y)
        self.Y_t = torch.from_numpy(self.Y)
        self.threads = f"torch {torch.get_num_threads()}"

    def reset(self):
        self.model, self.optimizer, self.loss = torch_sequential(self.torch, self.workload, self.initial)

    def train(self, epochs):
        n = len(self.X_t)
        batch = self.workload.batch_size or n
        targets = self.Y_t if self.workload.layer_sizes[-1] == 1 else self.y_t
        for _ in range(epochs):
            total = self.torch.zeros(())
            for start in range(0, n, batch):
                self.optimizer.zero_grad()
                loss = self.loss(self.model(self.X_t[start:start + batch]), targets[start:start + batch])
                loss.backward()
                self.optimizer.step()
                total += loss.detach() * min(batch, n - start)
            self.last_loss = float(total) / n

    def parameters(self):
        linears = [m for m in self.model if isinstance(m, self.torch.nn.Linear)]
        return [*(m.weight.detach().numpy().T for m in linears), *(m.bias.detach().numpy() for m in linears)]


def _blas_threads() -> str:
    from threadpoolctl import threadpool_info

    blas = {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}
    return "BLAS " + "/".join(str(n) for n in sorted(blas))


def torch_sequential(torch, workload, initial, device="cpu"):
    """``nn.Sequential`` of ``workload``'s layers holding ``initial`` = (weights, biases), its ``optim.SGD`` and loss.

    Weights are (n_in, n_out) here and (n_out, n_in) in ``nn.Linear``: transposed on the way in.
    """
    nn, sizes = torch.nn, workload.layer_sizes
    activation = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}[workload.hidden]
    layers = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        linear = nn.Linear(n_in, n_out)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(initial[0][i].T.copy()))
            linear.bias.copy_(torch.from_numpy(initial[1][i]))
        layers += [linear, activation()] if i < len(sizes) - 2 else [linear]
    model = nn.Sequential(*layers).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=workload.learning_rate)
    return model, optimizer, nn.BCEWithLogitsLoss() if sizes[-1] == 1 else nn.CrossEntropyLoss()


def write_report(out, stem: str, report: dict, markdown) -> None:
    """``out/stem.json`` and ``out/stem.md`` (``markdown(report)``), and the Markdown on standard output."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(report, indent=1))
    (out / f"{stem}.md").write_text(markdown(report))
    print(markdown(report))
