"""Training matches an independent reference: a float64 NumPy loop written out plainly in this file.

The reference shares no code with bpxp — its own sigmoid (the textbook 1/(1 + e⁻ᶻ), not bpxp's tanh form), its
own losses, δ carried back layer by layer as the tutorials print it, and each optimizer's update written from
its definition — so the NumPy session is checked against something other than NumPy-bpxp itself.

    forward     Zˡ = Aˡ⁻¹·Wˡ + bˡ,  Aˡ = f(Zˡ)
    output δ    mse: (Ŷ − Y)/k ⊙ f′;   cross-entropies with their fused output: Ŷ − Y
    backward    ∂L/∂Wˡ = Aˡ⁻¹ᵀ·δˡ/m + (α/m)·Wˡ,   ∂L/∂bˡ = Σᵢ δˡᵢ/m,   δˡ⁻¹ = (δˡ·Wˡᵀ) ⊙ f′(Aˡ⁻¹)
    loss        the epoch's Σᵢ ℓᵢ (each before its batch's update) plus (α/2)·Σₗ‖Wˡ‖² per batch, over n
"""

from dataclasses import dataclass

import numpy as np
import pytest

import bpxp


def _sigmoid(Z):
    return 1.0 / (1.0 + np.exp(-Z))


FORWARD = {"sigmoid": _sigmoid, "tanh": np.tanh, "relu": lambda Z: np.maximum(Z, 0.0), "identity": lambda Z: Z}
DERIVATIVE_FROM_OUTPUT = {"sigmoid": lambda A: A * (1.0 - A), "tanh": lambda A: 1.0 - A**2,
                          "relu": lambda A: (A > 0).astype(float), "identity": np.ones_like}


def _softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Config:
    layer_sizes: tuple
    hidden: str
    output: str
    loss: str
    optimizer: str
    learning_rate: float
    batch_size: int | None
    epochs: int
    l2: float = 0.0


CONFIGS = {
    "sigmoid-mse-full-batch-sgd": Config((4, 5, 2), "sigmoid", "sigmoid", "mse", "sgd", 0.5, None, 30),
    "relu-softmax-ce-minibatch-momentum": Config((4, 6, 5, 3), "relu", "softmax", "cross_entropy", "momentum",
                                                 0.05, 8, 8),
    "tanh-sigmoid-bce-ragged-adam-l2": Config((4, 5, 1), "tanh", "sigmoid", "binary_cross_entropy", "adam",
                                              0.01, 7, 8, l2=0.3),
    "tanh-identity-mse-ragged-sgd-l2": Config((4, 3, 2), "tanh", "identity", "mse", "sgd", 0.05, 9, 6, l2=0.1),
}
MU, BETA1, BETA2, EPS = 0.9, 0.9, 0.999, 1e-8  # bpxp's defaults for 'momentum' and 'adam'


def _problem(config, n=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, config.layer_sizes[0]))
    k = config.layer_sizes[-1]
    if config.output == "softmax":
        Y = np.eye(k)[rng.integers(0, k, size=n)]
    elif config.output == "sigmoid":
        Y = (rng.random(size=(n, k)) < 0.5).astype(float)
    else:
        Y = rng.normal(size=(n, k))
    W = [rng.normal(scale=0.7, size=(a, b)) for a, b in zip(config.layer_sizes[:-1], config.layer_sizes[1:])]
    b = [rng.normal(scale=0.1, size=size) for size in config.layer_sizes[1:]]
    return X, Y, W, b


def _reference_fit(config, X, Y, W, b):
    """Plain float64 mini-batch training, batches in order; returns (W, b, per-epoch mean loss)."""
    W, b = [w.copy() for w in W], [v.copy() for v in b]
    n, L = len(X), len(W)
    batch = config.batch_size or n
    params = W + b  # the same arrays: updated in place below
    velocity = [np.zeros_like(p) for p in params]
    first, second = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    t = 0
    losses = []
    for _ in range(config.epochs):
        total = 0.0
        for start in range(0, n, batch):
            Xb, Yb = X[start:start + batch], Y[start:start + batch]
            m, k = Yb.shape
            # forward
            A = [Xb]
            for layer in range(L):
                Z = A[-1] @ W[layer] + b[layer]
                if layer < L - 1:
                    A.append(FORWARD[config.hidden](Z))
                elif config.output == "softmax":
                    A.append(_softmax(Z))
                else:
                    A.append(FORWARD[config.output](Z))
            Y_hat = A[-1]
            # loss and the output layer's δ
            if config.loss == "mse":
                total += np.sum((Y_hat - Yb) ** 2) / (2 * k)
                delta = (Y_hat - Yb) / k * DERIVATIVE_FROM_OUTPUT[config.output](Y_hat)
            elif config.loss == "binary_cross_entropy":
                total += -np.sum(Yb * np.log(Y_hat) + (1 - Yb) * np.log(1 - Y_hat))
                delta = Y_hat - Yb
            else:
                total += -np.sum(Yb * np.log(Y_hat))
                delta = Y_hat - Yb
            total += 0.5 * config.l2 * sum(np.sum(w * w) for w in W)
            # backward: every gradient from the weights before the update
            dW, db = [None] * L, [None] * L
            for layer in range(L - 1, -1, -1):
                dW[layer] = A[layer].T @ delta / m + (config.l2 / m) * W[layer]
                db[layer] = delta.sum(axis=0) / m
                if layer > 0:
                    delta = (delta @ W[layer].T) * DERIVATIVE_FROM_OUTPUT[config.hidden](A[layer])
            grads = dW + db
            # update
            t += 1
            for p, g, v, m1, m2 in zip(params, grads, velocity, first, second):
                if config.optimizer == "sgd":
                    p -= config.learning_rate * g
                elif config.optimizer == "momentum":
                    v *= MU
                    v += g
                    p -= config.learning_rate * v
                else:
                    m1[...] = BETA1 * m1 + (1 - BETA1) * g
                    m2[...] = BETA2 * m2 + (1 - BETA2) * g * g
                    m_hat, v_hat = m1 / (1 - BETA1**t), m2 / (1 - BETA2**t)
                    p -= config.learning_rate * m_hat / (np.sqrt(v_hat) + EPS)
        losses.append(total / n)
    return W, b, losses


@pytest.mark.parametrize("name", list(CONFIGS))
def test_training_matches_the_hand_written_float64_reference(backend, name):
    config = CONFIGS[name]
    X, Y, W, b = _problem(config)
    expected_W, expected_b, expected_losses = _reference_fit(config, X, Y, W, b)
    net = backend.from_weights(W, b, hidden=config.hidden, output=config.output, loss=config.loss,
                               dtype="float64")
    history = net.fit(X, Y, epochs=config.epochs, learning_rate=config.learning_rate,
                      batch_size=config.batch_size, optimizer=config.optimizer, shuffle=False, l2=config.l2)
    for actual, expected in zip([*net.weights, *net.biases], [*expected_W, *expected_b]):
        np.testing.assert_allclose(bpxp.to_numpy(actual), expected, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(history.loss, expected_losses, rtol=1e-10)


def test_the_reference_moves_the_weights():
    """The comparison means something only if training changes the weights visibly in every configuration."""
    for config in CONFIGS.values():
        X, Y, W, b = _problem(config)
        W_after, _, losses = _reference_fit(config, X, Y, W, b)
        assert max(np.abs(w1 - w0).max() for w1, w0 in zip(W_after, W)) > 1e-2
        assert losses[-1] < losses[0]
