"""Every fast path of ``bpxp._fast`` equals its portable twin, on every backend, in float64 and float32."""

import numpy as np
import pytest
from conftest import assert_close

import bpxp
from bpxp import _fast

DTYPES = ["float64", "float32"]
OVERWRITE = [pytest.param(False, id="new-array"), pytest.param(True, id="overwrite")]
# large |z| (where a naive e⁻ᶻ overflows), around 0, and ordinary values
Z_HOST = np.array([[-1000.0, -50.0, -3.0, -1e-3, 0.0], [1e-3, 0.5, 3.0, 50.0, 1000.0], [-0.7, 1.3, -9.0, 9.0, 17.0]])
G_HOST = np.array([[0.3, -1.2, 2.0, 0.5, -0.1], [1.0, -2.0, 0.25, 4.0, -3.0], [0.9, 0.8, -0.7, 0.6, -0.5]])


@pytest.mark.parametrize("overwrite", OVERWRITE)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_equals_its_portable_twin(backend, dtype, overwrite):
    xp = backend.xp
    expected = _fast.sigmoid_portable(backend.asarray(Z_HOST, dtype), xp=xp)
    actual = _fast.sigmoid(backend.asarray(Z_HOST, dtype), xp=xp, overwrite=overwrite)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    assert_close(actual, bpxp.to_numpy(expected), dtype=dtype, float64_atol=1e-15, float32_rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_is_the_logistic_function(backend, dtype):
    actual = _fast.sigmoid(backend.asarray(Z_HOST, dtype), xp=backend.xp)
    with np.errstate(over="ignore"):
        textbook = 1.0 / (1.0 + np.exp(-Z_HOST))
    assert_close(actual, textbook, dtype=dtype, float64_atol=1e-15, float32_rtol=1e-6)


def test_sigmoid_without_overwrite_leaves_its_input_alone(backend):
    Z = backend.asarray(Z_HOST)
    _fast.sigmoid(Z, xp=backend.xp)
    assert_close(Z, Z_HOST, dtype="float64", float64_atol=0.0)


@pytest.mark.parametrize("overwrite", OVERWRITE)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_backward_equals_its_portable_twin(backend, dtype, overwrite):
    xp = backend.xp
    A = _fast.sigmoid_portable(backend.asarray(Z_HOST, dtype), xp=xp)
    expected = _fast.sigmoid_backward_portable(backend.asarray(G_HOST, dtype), A, xp=xp)
    A_before = bpxp.to_numpy(A).copy()
    actual = _fast.sigmoid_backward(backend.asarray(G_HOST, dtype), A, xp=xp, overwrite=overwrite)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    assert_close(actual, bpxp.to_numpy(expected), dtype=dtype, float64_atol=1e-15, float32_rtol=1e-6)
    assert_close(A, A_before, dtype=dtype, float64_atol=0.0, float32_rtol=0.0)  # A is never overwritten


def test_sigmoid_backward_without_overwrite_leaves_its_inputs_alone(backend):
    xp = backend.xp
    G, A = backend.asarray(G_HOST), _fast.sigmoid_portable(backend.asarray(Z_HOST), xp=xp)
    A_before = bpxp.to_numpy(A).copy()
    _fast.sigmoid_backward(G, A, xp=xp)
    assert_close([G, A], [G_HOST, A_before], dtype="float64", float64_atol=0.0)


@pytest.mark.parametrize("output", [True, False], ids=["with-output", "without-output"])
def test_forward_pass_never_changes_the_arrays_it_returns_or_was_given(backend, output):
    """The hidden layers' σ may reuse their fresh Zˡ; the returned Zᴸ and the inputs stay as they were."""
    from bpxp.activations import ACTIVATIONS
    from bpxp.backprop import forward_pass

    rng = np.random.default_rng(0)
    X_host, W_host = rng.normal(size=(6, 4)), [rng.normal(size=(4, 5)), rng.normal(size=(5, 3))]
    b_host = [rng.normal(size=5), rng.normal(size=3)]
    X, W, b = backend.asarray(X_host), [backend.asarray(w) for w in W_host], [backend.asarray(v) for v in b_host]
    f = (ACTIVATIONS["sigmoid"], ACTIVATIONS["sigmoid"])
    A, Z = forward_pass(X, W, b, f, xp=backend.xp, output=output)
    hidden = 1.0 / (1.0 + np.exp(-(X_host @ W_host[0] + b_host[0])))
    Z_expected = hidden @ W_host[1] + b_host[1]
    assert_close(A[1], hidden, dtype="float64", float64_atol=1e-14)
    assert_close(Z, Z_expected, dtype="float64", float64_atol=1e-14)
    if output:
        assert_close(A[2], 1.0 / (1.0 + np.exp(-Z_expected)), dtype="float64", float64_atol=1e-14)
    assert_close([X, *W, *b], [X_host, *W_host, *b_host], dtype="float64", float64_atol=0.0)
