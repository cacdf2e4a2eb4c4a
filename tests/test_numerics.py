"""Sigmoid, softmax and the log terms stay finite, with no warnings, at |z| = 1000."""

import numpy as np
import pytest

import bpxp
from bpxp.activations import ACTIVATIONS
from bpxp.losses import LOSSES

EXTREME = [[-1000.0, 0.0, 1000.0], [1000.0, 999.0, -1000.0]]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["sigmoid", "softmax", "tanh"])
def test_activations_are_finite_and_bounded_at_extreme_logits(backend, name, dtype):
    Z = backend.asarray(EXTREME, dtype)
    A = bpxp.to_numpy(ACTIVATIONS[name].forward(Z, xp=backend.xp))
    assert np.all(np.isfinite(A)) and np.all((A >= -1) & (A <= 1))
    G = bpxp.to_numpy(ACTIVATIONS[name].backward(backend.asarray(np.ones((2, 3)), dtype), backend.asarray(A),
                                                 xp=backend.xp))
    assert np.all(np.isfinite(G))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("loss", "output"), [("binary_cross_entropy", "sigmoid"), ("cross_entropy", "softmax")])
def test_cross_entropies_from_logits_are_finite_at_extreme_logits(backend, loss, output, dtype):
    Z = backend.asarray(EXTREME, dtype)
    Y = backend.asarray([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype)  # the worst case: confidently wrong
    A = ACTIVATIONS[output].forward(Z, xp=backend.xp)
    Y_hat, total, delta = LOSSES[loss].output(Y, Z, ACTIVATIONS[output], scale=1.0, xp=backend.xp)
    value = LOSSES[loss].value(Y, A, Z, xp=backend.xp)
    assert np.isfinite(float(value)) and float(value) > 900  # ≈ 1000 per wrong confident sample
    assert float(total) == pytest.approx(2 * float(value), rel=1e-6)
    assert np.all(np.isfinite(bpxp.to_numpy(delta))) and np.all(np.isfinite(bpxp.to_numpy(Y_hat)))


def test_cross_entropy_is_exact_where_the_naive_formula_is_fine(backend):
    Z = np.array([[0.3, -1.2, 2.0], [0.1, 0.2, 0.3]])
    Y = np.array([[0, 0, 1.0], [1.0, 0, 0]])
    naive = -np.mean(np.sum(Y * np.log(np.exp(Z) / np.exp(Z).sum(1, keepdims=True)), axis=1))
    value = LOSSES["cross_entropy"].value(backend.asarray(Y), None, backend.asarray(Z), xp=backend.xp)
    assert float(value) == pytest.approx(naive, rel=1e-12)
    p = 1 / (1 + np.exp(-Z))
    naive_bce = -np.mean(np.sum(Y * np.log(p) + (1 - Y) * np.log(1 - p), axis=1))
    value = LOSSES["binary_cross_entropy"].value(backend.asarray(Y), None, backend.asarray(Z), xp=backend.xp)
    assert float(value) == pytest.approx(naive_bce, rel=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("output", "loss"), [("sigmoid", "mse"), ("sigmoid", "binary_cross_entropy"),
                                              ("softmax", "cross_entropy"), ("softmax", "mse")])
def test_gradients_stay_finite_and_quiet_at_logits_of_1e4(backend, output, loss, dtype):
    """Weights that drive the output logits to ±1e4: loss, δ and every gradient finite, no warning (issue 5)."""
    X = np.array([[1.0, -1.0], [-1.0, 1.0], [0.5, 0.5]])
    weights = [np.array([[1.0, -1.0], [-1.0, 1.0]]), np.array([[1e4, -1e4], [-1e4, 1e4]]) * 2]  # logits ≈ ±1.5e4
    y = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])  # confidently wrong on the first two rows
    net = backend.from_weights(weights, output=output, loss=loss, dtype=dtype)
    grads = net.backward(X, y)
    assert np.isfinite(float(grads.loss))
    for array in (*grads.weights, *grads.deltas, grads.activations[-1]):
        assert np.all(np.isfinite(bpxp.to_numpy(array)))
