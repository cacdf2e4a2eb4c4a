"""Properties of backpropagation over generated networks (hypothesis), on NumPy and array-api-strict.

Hypothesis draws an architecture (1–3 hidden layers of width 1–6), a hidden activation, a valid output/loss pair,
biases or none, a batch size and a seed for the weights and data, and checks that

(a) ``net.backward(X, y)`` gives gradients equal to central finite differences of ``net.loss_value`` (float64),
    along a random direction in each parameter array — one check per Wˡ and bˡ, two loss evaluations each;
(b) one full-batch SGD step with a small learning rate, η = 10⁻³ / (1 + ‖g‖²), never increases the full-batch
    loss (float32; the slack is float32 rounding of the loss, a few ulps).
"""

from __future__ import annotations

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import bpxp  # noqa: E402
from bpxp.activations import HIDDEN_ACTIVATIONS  # noqa: E402

BACKENDS = ("numpy", "array_api_strict")
# Every valid (output, loss) pair: mse fits any output; the cross-entropies are fused with their activation.
OUTPUT_LOSS = [(output, "mse") for output in ("sigmoid", "tanh", "relu", "leaky_relu", "identity", "softmax")] + [
    ("sigmoid", "binary_cross_entropy"), ("softmax", "cross_entropy")]
KINKED = {"relu", "leaky_relu"}  # not differentiable at 0: finite differences across the kink disagree
PROPERTY_SETTINGS = settings(max_examples=50, deadline=None, database=None)


@pytest.fixture(params=BACKENDS, scope="module")
def backend_name(request) -> str:
    if request.param not in request.config.bpxp_backends:
        pytest.skip(f"{request.param} is not in this session's backends")
    pytest.importorskip(request.param)
    return request.param


@st.composite
def problems(draw) -> dict:
    """A network's configuration and a batch of data for it, as keyword arguments and arrays."""
    output, loss = draw(st.sampled_from(OUTPUT_LOSS))
    n_out = draw(st.integers(2 if output == "softmax" else 1, 4))
    sizes = [draw(st.integers(1, 5)), *draw(st.lists(st.integers(1, 6), min_size=1, max_size=3)), n_out]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    m = draw(st.integers(1, 8))
    X = rng.normal(size=(m, sizes[0]))
    if loss == "cross_entropy":
        Y = rng.dirichlet(np.ones(n_out), size=m) if draw(st.booleans()) else np.eye(n_out)[rng.integers(0, n_out, m)]
    elif loss == "binary_cross_entropy":
        Y = rng.uniform(size=(m, n_out)) if draw(st.booleans()) else rng.integers(0, 2, (m, n_out)) * 1.0
    else:
        Y = rng.normal(size=(m, n_out))
    return {"sizes": sizes, "hidden": draw(st.sampled_from(HIDDEN_ACTIVATIONS)), "output": output, "loss": loss,
            "bias": draw(st.booleans()), "seed": int(rng.integers(2**31)), "X": X, "Y": Y}


def _network(problem: dict, backend: str, dtype: str) -> bpxp.MLP:
    net = bpxp.MLP(problem["sizes"], hidden=problem["hidden"], output=problem["output"], loss=problem["loss"],
                   bias=problem["bias"], dtype=dtype, backend=backend, random_state=problem["seed"])
    if problem["bias"]:  # non-zero biases, so that no pre-activation sits at 0 by construction
        rng = np.random.default_rng(problem["seed"])
        net = bpxp.MLP.from_weights([bpxp.to_numpy(W) for W in net.weights],
                                    [rng.uniform(-0.5, 0.5, size=b.shape) for b in net.biases],
                                    hidden=net.hidden, output=net.output, loss=net.loss, backend=backend, dtype=dtype)
    return net


def _parameters(net: bpxp.MLP) -> list[np.ndarray]:
    return [bpxp.to_numpy(a).astype(np.float64) for a in (*net.weights, *(net.biases or ()))]


def _rebuilt(net: bpxp.MLP, parameters: list[np.ndarray]) -> bpxp.MLP:
    L = net.n_layers
    return bpxp.MLP.from_weights(parameters[:L], parameters[L:] or None, hidden=net.hidden, output=net.output,
                                 loss=net.loss, backend=net.backend, dtype=net.dtype_name)


def _away_from_kinks(net: bpxp.MLP, X: np.ndarray, margin: float) -> bool:
    """Whether every pre-activation feeding relu/leaky_relu is farther than ``margin`` from its kink at 0."""
    parameters, L = _parameters(net), net.n_layers
    A = X
    for layer in range(L):
        Z = A @ parameters[layer] + (parameters[L + layer] if net.biases is not None else 0.0)
        f = net.hidden if layer < L - 1 else net.output
        if f in KINKED and np.abs(Z).min() <= margin:
            return False
        A = _numpy_activation(f, Z)
    return True


def _numpy_activation(name: str, Z: np.ndarray) -> np.ndarray:
    if name == "softmax":
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)
    return {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0),
            "leaky_relu": lambda z: np.maximum(z, 0.01 * z), "identity": lambda z: z}[name](Z)


@PROPERTY_SETTINGS
@given(problem=problems())
def test_backward_gradients_match_central_finite_differences(backend_name, problem):
    net = _network(problem, backend_name, "float64")
    X, Y, eps = problem["X"], problem["Y"], 1e-6
    assume(_away_from_kinks(net, X, margin=1e-3))
    grads = net.backward(X, Y)
    analytic = [bpxp.to_numpy(g) for g in (*grads.weights, *(grads.biases or ()))]
    parameters = _parameters(net)
    rng = np.random.default_rng(problem["seed"] + 1)
    for i, (theta, g) in enumerate(zip(parameters, analytic, strict=True)):
        assert g.shape == theta.shape
        direction = rng.normal(size=theta.shape)
        direction /= np.linalg.norm(direction)
        shifted = []
        for sign in (1.0, -1.0):
            moved = [p if j != i else p + sign * eps * direction for j, p in enumerate(parameters)]
            shifted.append(_rebuilt(net, moved).loss_value(X, Y))
        numeric = (shifted[0] - shifted[1]) / (2 * eps)
        exact = float(np.sum(g * direction))
        assert numeric == pytest.approx(exact, rel=1e-5, abs=1e-7), f"parameter array {i} of {net!r}"


@PROPERTY_SETTINGS
@given(problem=problems())
def test_one_small_sgd_step_never_increases_the_full_batch_loss(backend_name, problem):
    net = _network(problem, backend_name, "float32")
    X, Y = problem["X"].astype(np.float32), problem["Y"].astype(np.float32)
    grads = net.backward(X, Y)
    norm2 = sum(float(np.sum(bpxp.to_numpy(g).astype(np.float64) ** 2))
                for g in (*grads.weights, *(grads.biases or ())))
    before = net.loss_value(X, Y)
    history = net.fit(X, Y, epochs=1, learning_rate=1e-3 / (1.0 + norm2), shuffle=False,
                      optimizer="sgd", batch_size=None)
    after = net.loss_value(X, Y)
    assert history.loss[0] == pytest.approx(before, rel=1e-5, abs=1e-6)  # the loss of the starting weights
    slack = 8 * np.finfo(np.float32).eps * max(abs(before), 1e-3)  # float32 rounding of the loss, a few ulps
    assert after <= before + slack, f"{net!r}: loss {before} → {after} with ‖g‖² = {norm2}"
