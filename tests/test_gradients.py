"""∂L/∂W, ∂L/∂b and δ agree with central finite differences, for every activation and output/loss pair.

A 3-layer network (two hidden layers) in float64. δˡᵢ = ∂ℓᵢ/∂Zˡ is checked through the biases: since
Zˡ = Aˡ⁻¹·Wˡ + bˡ, the loss of sample i alone has ∂ℓᵢ/∂bˡ = δˡᵢ.
"""

import numpy as np
import pytest
from conftest import assert_close

import bpxp
from bpxp.activations import HIDDEN_ACTIVATIONS

OUTPUT_LOSS_PAIRS = [(output, "mse") for output in (*HIDDEN_ACTIVATIONS, "softmax")] + [
    ("sigmoid", "binary_cross_entropy"),
    ("softmax", "cross_entropy"),
]
STEP = 1e-6


def _problem(output, loss):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(5, 3))
    if output == "softmax" or loss == "binary_cross_entropy":
        Y = np.eye(3)[rng.integers(0, 3, size=5)]
    else:
        Y = rng.normal(size=(5, 3)) * 0.5 + 0.25
    weights = [rng.normal(size=s) for s in ((3, 4), (4, 4), (4, 3))]
    # keep pre-activations away from relu's kink, where finite differences are meaningless
    biases = [rng.uniform(0.2, 0.6, size=n) * rng.choice([-1, 1], size=n) for n in (4, 4, 3)]
    return X, Y, weights, biases


def _loss(backend, weights, biases, hidden, output, loss, X, Y):
    net = bpxp.MLP.from_weights(weights, biases, hidden=hidden, output=output, loss=loss,
                                backend=backend.name, device=backend.device, dtype="float64")
    return net.loss_value(X, Y)


def _finite_difference(f, params):
    """Central differences of f(params) with respect to every entry of every array in params."""
    result = []
    for k, p in enumerate(params):
        grad = np.zeros_like(p)
        for index in np.ndindex(p.shape):
            up = [q.copy() for q in params]
            down = [q.copy() for q in params]
            up[k][index] += STEP
            down[k][index] -= STEP
            grad[index] = (f(up) - f(down)) / (2 * STEP)
        result.append(grad)
    return result


@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize(("output", "loss"), OUTPUT_LOSS_PAIRS)
def test_weight_and_bias_gradients_match_finite_differences(backend, hidden, output, loss):
    X, Y, weights, biases = _problem(output, loss)
    net = backend.from_weights(weights, biases, hidden=hidden, output=output, loss=loss, dtype="float64")
    grads = net.backward(X, Y)
    n = len(weights)
    numeric = _finite_difference(
        lambda p: _loss(backend, p[:n], p[n:], hidden, output, loss, X, Y), weights + biases)
    assert_close(grads.weights, numeric[:n], dtype="float64", float64_atol=1e-7)
    assert_close(grads.biases, numeric[n:], dtype="float64", float64_atol=1e-7)


@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize(("output", "loss"), OUTPUT_LOSS_PAIRS)
def test_per_sample_deltas_match_finite_differences(backend, hidden, output, loss):
    X, Y, weights, biases = _problem(output, loss)
    net = backend.from_weights(weights, biases, hidden=hidden, output=output, loss=loss, dtype="float64")
    deltas = net.backward(X, Y).deltas
    for i in (0, 3):
        per_sample = _finite_difference(
            lambda b, i=i: _loss(backend, weights, b, hidden, output, loss, X[i:i + 1], Y[i:i + 1]), biases)
        for layer, expected in enumerate(per_sample):
            assert_close(deltas[layer][i, :], expected, dtype="float64", float64_atol=1e-7)


def test_gradient_is_the_mean_of_per_sample_terms(backend):
    """∂L/∂Wˡ = Aˡ⁻¹ᵀ·δˡ / m, the relation that defines δ."""
    X, Y, weights, biases = _problem("sigmoid", "mse")
    grads = backend.from_weights(weights, biases, dtype="float64").backward(X, Y)
    for layer in range(3):
        A_prev = bpxp.to_numpy(grads.activations[layer])
        delta = bpxp.to_numpy(grads.deltas[layer])
        assert_close(grads.weights[layer], A_prev.T @ delta / len(X), dtype="float64", float64_atol=1e-14)
        assert_close(grads.biases[layer], delta.mean(axis=0), dtype="float64", float64_atol=1e-14)


@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize(("output", "loss"), OUTPUT_LOSS_PAIRS)
def test_input_gradients_match_finite_differences(backend, hidden, output, loss):
    """Gradients.inputs is ∂L/∂X: the loss's central differences with respect to every input element."""
    X, Y, weights, biases = _problem(output, loss)
    net = backend.from_weights(weights, biases, hidden=hidden, output=output, loss=loss, dtype="float64")
    inputs = net.backward(X, Y).inputs
    (numeric,) = _finite_difference(lambda p: net.loss_value(p[0], Y), [X])
    assert inputs.shape == X.shape
    assert_close(inputs, numeric, dtype="float64", float64_atol=1e-7)


def test_input_gradients_are_the_first_layers_delta_carried_back(backend):
    """m·∂L/∂X = δ¹·W¹ᵀ: the per-sample δ⁰ of a layer before the first."""
    X, Y, weights, biases = _problem("sigmoid", "mse")
    grads = backend.from_weights(weights, biases, dtype="float64").backward(X, Y)
    expected = bpxp.to_numpy(grads.deltas[0]) @ weights[0].T
    assert_close(grads.inputs * len(X), expected, dtype="float64", float64_atol=1e-14)
