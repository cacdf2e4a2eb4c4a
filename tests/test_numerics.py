"""Numerics at the edges: logits of ±1e4 give finite, correct values and no warnings.

Every activation (forward and backward, called directly) and every loss with each output activation it allows
(Ŷ, Σᵢ ℓᵢ, δ and the mean L) is checked at logits of ±1e4, 0 and mixed rows, in float32 and float64 on every
backend, against the limits computed in float64 by NumPy/SciPy: σ(1e4) = 1, σ(−1e4) = 0, a softmax row with one
saturated winner is one-hot, derivatives at saturation are 0 (not NaN), a confidently wrong cross-entropy costs
|z|. Warnings are errors, and NumPy's floating-point errors raise (see :func:`_edges`).
"""

import contextlib
import warnings

import numpy as np
import pytest

import bpxp
from bpxp.activations import ACTIVATIONS, LEAKY_SLOPE
from bpxp.losses import LOSSES

special = pytest.importorskip("scipy.special")

BIG = 1e4
# Rows: saturated both ways and 0; all saturated low (softmax uniform); a tie at the top; the middle;
# saturated and right; |z| = 1000 with a near tie.
LOGITS = np.array([[BIG, -BIG, 0.0],
                   [-BIG, -BIG, -BIG],
                   [BIG, BIG, -BIG],
                   [0.0, 0.0, 0.0],
                   [-BIG, 0.0, BIG],
                   [1000.0, 999.0, -1000.0]])
TARGETS = np.array([[0.0, 1.0, 0.0],  # confidently wrong: cross-entropy 2e4
                    [1.0, 0.0, 0.0],
                    [0.0, 0.0, 1.0],  # wrong: 2e4 + log 2
                    [1.0, 0.0, 0.0],
                    [0.0, 0.0, 1.0],  # confidently right: cross-entropy 0
                    [0.0, 1.0, 0.0]])
UPSTREAM = np.array([[0.5, -1.25, 2.0], [-0.75, 1.5, 0.25], [1.0, 1.0, -2.0], [0.3, -0.6, 0.9],
                     [2.0, -1.0, 0.5], [-1.5, 0.25, 1.75]])  # an upstream gradient G = ∂ℓ/∂A for backward
# 'exp' (the log link of the Poisson loss) is unbounded: e^(1e4) overflows by definition, so the saturation limits
# below do not apply to it; its gradient is checked against finite differences in tests/test_sklearn_core.py.
BOUNDED = [name for name in ACTIVATIONS if name != "exp"]
PAIRS = [(loss, output) for loss, rule in LOSSES.items() for output in BOUNDED
         if rule.required_output in (None, output)]


@contextlib.contextmanager
def _edges():
    """Warnings are errors; NumPy (under numpy and array-api-strict) raises on overflow, 0/0 and log(0).

    Underflow alone is allowed: e^(−2e4) rounding to 0 is the exact limit these tests ask for (σ(−1e4) = 0), and
    NumPy reports it only when asked (its default is ``under='ignore'``).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            yield


def _eps(dtype):
    return float(np.finfo(dtype).eps)


def _reference_forward(name, Z):
    """f(Z) in float64 from NumPy/SciPy, independently of bpxp."""
    with np.errstate(under="ignore"):
        return {"sigmoid": special.expit, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0),
                "leaky_relu": lambda z: np.where(z > 0, z, LEAKY_SLOPE * z), "identity": lambda z: z,
                "softmax": lambda z: special.softmax(z, axis=1)}[name](Z)


def _reference_backward(name, G, Z):
    """G ⊙ f′(Z) (the softmax's Jacobian-vector product) in float64."""
    A = _reference_forward(name, Z)
    if name == "softmax":
        return A * (G - np.sum(G * A, axis=1, keepdims=True))
    slope = {"sigmoid": A * (1 - A), "tanh": 1 - A * A, "relu": (Z > 0) * 1.0,
             "leaky_relu": np.where(Z > 0, 1.0, LEAKY_SLOPE), "identity": np.ones_like(Z)}[name]
    return G * slope


def _reference_loss(loss, output, Y, Z):
    """(Σᵢ ℓᵢ, δ) in float64: BCE and CE from the logits, MSE from Ŷ."""
    A = _reference_forward(output, Z)
    if loss == "binary_cross_entropy":
        return np.sum(np.logaddexp(0.0, Z) - Z * Y), A - Y
    if loss == "cross_entropy":
        return -np.sum(Y * special.log_softmax(Z, axis=1)), A - Y
    k = Y.shape[1]
    return 0.5 / k * np.sum((A - Y) ** 2), _reference_backward(output, (A - Y) / k, Z)


def _assert_within_ulps(actual, expected, dtype, ulps=4):
    """Equal to ``expected`` rounded to ``dtype`` within a few ulps; an expected 0 must be exactly 0."""
    expected = np.asarray(expected).astype(dtype)
    np.testing.assert_allclose(bpxp.to_numpy(actual), expected, rtol=ulps * _eps(dtype), atol=0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", BOUNDED)
def test_activations_and_derivatives_reach_their_limits_at_logits_of_1e4(backend, name, dtype):
    f, xp = ACTIVATIONS[name], backend.xp
    with _edges():
        A = f.forward(backend.asarray(LOGITS, dtype), xp=xp)
        dZ = f.backward(backend.asarray(UPSTREAM, dtype), A, xp=xp)
        A, dZ = bpxp.to_numpy(A), bpxp.to_numpy(dZ)
    assert A.dtype == dtype and dZ.dtype == dtype
    assert np.all(np.isfinite(A)) and np.all(np.isfinite(dZ))
    _assert_within_ulps(A, _reference_forward(name, LOGITS), dtype)
    expected = _reference_backward(name, UPSTREAM, LOGITS)
    np.testing.assert_allclose(dZ, expected.astype(dtype), rtol=4 * _eps(dtype),
                               atol=4 * _eps(dtype) * np.abs(UPSTREAM).max())
    if name in ("sigmoid", "tanh"):  # saturated: f′ = 0 exactly, so no gradient at all flows
        assert np.all(dZ[np.abs(LOGITS) >= 1000] == 0)
    if name == "sigmoid":
        assert np.all(A[LOGITS >= 1000] == 1) and np.all(A[LOGITS <= -1000] == 0) and np.all(A[LOGITS == 0] == 0.5)
    if name == "softmax":
        np.testing.assert_allclose(A.sum(axis=1), 1.0, rtol=4 * _eps(dtype))
        one_hot = [0, 4]  # rows with a single saturated winner
        assert np.array_equal(A[one_hot], [[1, 0, 0], [0, 0, 1]]) and np.all(dZ[one_hot] == 0)
        assert np.array_equal(A[2], [0.5, 0.5, 0.0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("loss", "output"), PAIRS)
def test_losses_and_deltas_reach_their_limits_at_logits_of_1e4(backend, loss, output, dtype):
    """Loss.output (Ŷ, Σᵢ ℓᵢ, scale·δ) and Loss.value for every loss and each output activation it allows."""
    rule, f, xp = LOSSES[loss], ACTIVATIONS[output], backend.xp
    Y, Z = backend.asarray(TARGETS, dtype), backend.asarray(LOGITS, dtype)
    m = LOGITS.shape[0]
    total_expected, delta_expected = _reference_loss(loss, output, TARGETS, LOGITS)
    rtol = 4 * _eps(dtype)
    for scale in (1.0, 1.0 / m):  # the unscaled δ, and the δ/m of a training step
        with _edges():
            Y_hat, total, delta = rule.output(Y, Z, f, scale=scale, xp=xp)
            value = rule.value(Y, Y_hat, Z, xp=xp)
            Y_hat, total, delta, value = (bpxp.to_numpy(a) for a in (Y_hat, total, delta, value))
        for array in (Y_hat, total, delta, value):
            assert array.dtype == dtype and np.all(np.isfinite(array))
        _assert_within_ulps(Y_hat, _reference_forward(output, LOGITS), dtype)
        np.testing.assert_allclose(total, total_expected, rtol=rtol)
        np.testing.assert_allclose(value, total_expected / m, rtol=rtol)
        np.testing.assert_allclose(delta, scale * delta_expected, rtol=rtol,
                                   atol=rtol * scale * np.abs(delta_expected).max())
        if loss == "binary_cross_entropy":  # fused δ = Ŷ − Y: exactly 0 where a unit is saturated and right
            right = ((LOGITS >= 1000) & (TARGETS == 1)) | ((LOGITS <= -1000) & (TARGETS == 0))
            assert np.all(delta[right] == 0)
        if loss == "cross_entropy":
            assert np.all(delta[4] == 0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("z", [BIG, -BIG])
def test_a_confidently_wrong_logit_costs_its_magnitude_and_a_right_one_nothing(backend, z, dtype):
    """BCE of one logit z with the wrong label is |z|, with the right one 0; CE of the row (z, −z) likewise 2|z|."""
    xp, bce, ce = backend.xp, LOSSES["binary_cross_entropy"], LOSSES["cross_entropy"]
    right = 1.0 if z > 0 else 0.0  # the label that σ(z) predicts; for the row (z, −z), class 0 if z > 0
    Z, row = backend.asarray([[z]], dtype), backend.asarray([[z, -z]], dtype)

    def cost(loss, Y, logits):
        with _edges():
            return float(loss.value(backend.asarray(Y, dtype), None, logits, xp=xp))

    assert cost(bce, [[1.0 - right]], Z) == abs(z) and cost(bce, [[right]], Z) == 0
    assert cost(ce, [[1.0 - right, right]], row) == 2 * abs(z) and cost(ce, [[right, 1.0 - right]], row) == 0


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
    """Weights that drive the output logits to ±1e4: loss, δ and every gradient finite, no warning."""
    X = np.array([[1.0, -1.0], [-1.0, 1.0], [0.5, 0.5]])
    weights = [np.array([[1.0, -1.0], [-1.0, 1.0]]), np.array([[1e4, -1e4], [-1e4, 1e4]]) * 2]  # logits ≈ ±1.5e4
    y = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])  # confidently wrong on the first two rows
    net = backend.from_weights(weights, output=output, loss=loss, dtype=dtype)
    with _edges():
        grads = net.backward(X, y)
        arrays = [bpxp.to_numpy(a) for a in (*grads.weights, *grads.deltas, grads.activations[-1])]
        assert np.isfinite(float(grads.loss))
    for array in arrays:
        assert np.all(np.isfinite(array))


# -- the estimator's public probabilities ---------------------------------------------------------------------
# A fitted MLPClassifier whose network is swapped for one with identity hidden units and output logits
# Z = (10⁴·(x₀ − x₁), 10⁴·(x₁ − x₀), 0): rows of ±1e4, of 0 and of ±500 (e⁻⁵⁰⁰ is 0 in float32 only).
CLASSIFIER_WEIGHTS = [np.eye(2), np.array([[BIG, -BIG, 0.0], [-BIG, BIG, 0.0]])]
CLASSIFIER_X = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.55, 0.5]])
CLASSIFIER_LOGITS = CLASSIFIER_X @ CLASSIFIER_WEIGHTS[1]


def _saturated_classifier(backend, dtype, inputs):
    """(classifier, X): fitted on host data or on the backend's arrays (``inputs``), logits as above."""
    sklearn_estimator = pytest.importorskip("bpxp.sklearn")
    X = CLASSIFIER_X.astype(dtype) if inputs == "host" else backend.asarray(CLASSIFIER_X, dtype)
    y = np.array([0, 1, 2, 0]) if inputs == "host" else backend.asarray(np.array([0, 1, 2, 0]))
    clf = sklearn_estimator.MLPClassifier((2,), activation="identity", max_iter=1, backend=backend.name,
                                          device=backend.device, dtype=dtype, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one epoch does not converge
        clf.fit(X, y)
    clf.network_ = backend.from_weights(CLASSIFIER_WEIGHTS, [np.zeros(2), np.zeros(3)], hidden="identity",
                                        output="softmax", loss="cross_entropy", dtype=dtype)
    return clf, X


@pytest.mark.parametrize("inputs", ["host", "backend"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_predict_proba_is_exact_at_saturated_logits(backend, dtype, inputs):
    clf, X = _saturated_classifier(backend, dtype, inputs)
    with _edges():
        P = bpxp.to_numpy(clf.predict_proba(X))
    assert P.dtype == dtype and np.all(np.isfinite(P))
    _assert_within_ulps(P, special.softmax(CLASSIFIER_LOGITS, axis=1), dtype)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=4 * _eps(dtype))


@pytest.mark.parametrize("inputs", ["host", "backend"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_predict_log_proba_is_finite_at_saturated_logits(backend, dtype, inputs):
    """log P from the logits (log_softmax), never log(0): −2e4 where P rounds to 0, with no warning."""
    clf, X = _saturated_classifier(backend, dtype, inputs)
    with _edges():
        log_P = bpxp.to_numpy(clf.predict_log_proba(X))
    assert log_P.dtype == dtype and np.all(np.isfinite(log_P))
    expected = special.log_softmax(CLASSIFIER_LOGITS, axis=1)
    np.testing.assert_allclose(log_P, expected.astype(dtype), rtol=4 * _eps(dtype), atol=4 * _eps(dtype))
