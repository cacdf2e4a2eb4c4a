"""Every fast path of ``bpxp.backend.fast`` equals its portable twin, on every backend, in float64 and float32."""

import numpy as np
import pytest
from conftest import assert_close

import bpxp
from bpxp.backend import fast as _fast
from bpxp.backend.namespaces import device_of

DTYPES = ["float64", "float32"]
OVERWRITE = [pytest.param(False, id="new-array"), pytest.param(True, id="overwrite")]
# large |z| (where a naive e⁻ᶻ overflows), around 0, and ordinary values
Z_HOST = np.array([[-1000.0, -50.0, -3.0, -1e-3, 0.0], [1e-3, 0.5, 3.0, 50.0, 1000.0], [-0.7, 1.3, -9.0, 9.0, 17.0]])
G_HOST = np.array([[0.3, -1.2, 2.0, 0.5, -0.1], [1.0, -2.0, 0.25, 4.0, -3.0], [0.9, 0.8, -0.7, 0.6, -0.5]])
# a small array (where NumPy's σ is one scipy call) and a large one (where it is four passes in place)
SIZES = [pytest.param(1, id="small"), pytest.param(_fast.EXPIT_UP_TO // Z_HOST.shape[1] + 1, id="large")]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("overwrite", OVERWRITE)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_equals_its_portable_twin(backend, dtype, overwrite, size):
    xp, host = backend.xp, np.tile(Z_HOST, (size, 1))
    expected = _fast.sigmoid_portable(backend.asarray(host, dtype), xp=xp)
    actual = _fast.sigmoid(backend.asarray(host, dtype), xp=xp, overwrite=overwrite)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    assert_close(actual, bpxp.to_numpy(expected), dtype=dtype, float64_atol=1e-15, float32_rtol=1e-6)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_is_the_logistic_function(backend, dtype, size):
    host = np.tile(Z_HOST, (size, 1))
    actual = _fast.sigmoid(backend.asarray(host, dtype), xp=backend.xp)
    with np.errstate(over="ignore"):
        textbook = 1.0 / (1.0 + np.exp(-host))
    assert_close(actual, textbook, dtype=dtype, float64_atol=1e-15, float32_rtol=1e-6)


@pytest.mark.parametrize("size", SIZES)
def test_sigmoid_without_overwrite_leaves_its_input_alone(backend, size):
    host = np.tile(Z_HOST, (size, 1))
    Z = backend.asarray(host)
    _fast.sigmoid(Z, xp=backend.xp)
    assert_close(Z, host, dtype="float64", float64_atol=0.0)


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


@pytest.mark.parametrize("rows", [1, 3, 2000], ids=lambda rows: f"{rows}-rows")
@pytest.mark.parametrize("dtype", DTYPES)
def test_row_and_column_sums_equal_their_portable_twins(backend, dtype, rows):
    xp = backend.xp
    host = np.resize(G_HOST, (rows, G_HOST.shape[1])) * np.arange(1, rows + 1)[:, None] ** 0.5
    M = backend.asarray(host, dtype)
    for fast, twin, expected in [(_fast.column_sums, _fast.column_sums_portable, host.sum(axis=0)),
                                 (_fast.row_sums, _fast.row_sums_portable, host.sum(axis=1, keepdims=True))]:
        actual, portable = fast(M, xp=xp), twin(M, xp=xp)
        assert actual.shape == portable.shape == expected.shape and actual.dtype == portable.dtype == M.dtype
        assert_close(actual, bpxp.to_numpy(portable), dtype=dtype, float64_atol=1e-9, float32_rtol=1e-5)
        assert_close(actual, expected, dtype=dtype, float64_atol=1e-9, float32_rtol=1e-5)


@pytest.mark.parametrize("shape", [(3, 5), (40, 3), (40, 1), (40, 100), (0, 3)],
                         ids=["few-rows", "narrow", "one-column", "wide", "no-rows"])  # NumPy: transposed on 2, 3
@pytest.mark.parametrize("dtype", DTYPES)
def test_row_max_equals_its_portable_twin_exactly(backend, dtype, shape):
    rng = np.random.default_rng(2)
    host = rng.normal(size=shape) * 100.0
    if shape[0]:
        host[1, 0] = -np.inf  # an infinite logit is still its row's extreme value
        host[2, -1] = np.nan  # a NaN row stays NaN
    M = backend.asarray(host, dtype)
    actual, portable = _fast.row_max(M, xp=backend.xp), _fast.row_max_portable(M, xp=backend.xp)
    assert actual.shape == portable.shape == (shape[0], 1) and actual.dtype == portable.dtype == M.dtype
    np.testing.assert_array_equal(bpxp.to_numpy(actual), bpxp.to_numpy(portable))
    np.testing.assert_array_equal(bpxp.to_numpy(actual), host.astype(dtype).max(axis=1, keepdims=True))


@pytest.mark.parametrize("dtype", DTYPES)
def test_softplus_equals_its_portable_twin(backend, dtype):
    host = np.concatenate([Z_HOST, [[-np.inf, np.inf, -88.0, 88.0, np.nan]]])
    Z = backend.asarray(host, dtype)
    with np.errstate(invalid="ignore"):  # NumPy's logaddexp warns of the NaN it passes on
        actual, portable = _fast.softplus(Z, xp=backend.xp), _fast.softplus_portable(Z, xp=backend.xp)
    assert actual.shape == portable.shape == host.shape and actual.dtype == portable.dtype == Z.dtype
    np.testing.assert_allclose(bpxp.to_numpy(actual), bpxp.to_numpy(portable), rtol=1e-6 if dtype == "float32"
                               else 1e-15, atol=0)
    np.testing.assert_array_equal(bpxp.to_numpy(Z), host.astype(dtype))  # its input is left as it was


def test_row_max_and_softplus_of_strided_views_equal_their_twins():
    xp = bpxp.backend.namespaces.namespace("numpy")
    host = np.random.default_rng(3).normal(size=(80, 12)) * 30.0
    for view in (host[::2, ::3], host.T[:, :20], np.asfortranarray(host)[:, :4]):
        np.testing.assert_array_equal(_fast.row_max(view, xp=xp), _fast.row_max_portable(view, xp=xp))
        np.testing.assert_allclose(_fast.softplus(view, xp=xp), _fast.softplus_portable(view, xp=xp), rtol=1e-15)


def test_the_kept_ones_are_never_written():
    xp = bpxp.backend.namespaces.namespace("numpy")
    short = _fast.column_sums(xp.ones((3, 2)), xp=xp)
    long = _fast.column_sums(xp.ones((5000, 2)), xp=xp)
    np.testing.assert_array_equal(short, [3.0, 3.0])
    np.testing.assert_array_equal(long, [5000.0, 5000.0])
    assert all(not row.flags.writeable for row in _fast._ONES.values())


@pytest.mark.parametrize("overwrite", OVERWRITE)
@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_and_its_backward_equal_their_portable_twins(backend, dtype, overwrite):
    xp = backend.xp
    A_host = np.maximum(Z_HOST, 0.0)
    assert_close(_fast.relu(backend.asarray(Z_HOST, dtype), xp=xp, overwrite=overwrite),
                 bpxp.to_numpy(_fast.relu_portable(backend.asarray(Z_HOST, dtype), xp=xp)), dtype=dtype,
                 float64_atol=0.0, float32_rtol=0.0)
    A = backend.asarray(A_host, dtype)
    actual = _fast.relu_backward(backend.asarray(G_HOST, dtype), A, xp=xp, overwrite=overwrite)
    expected = _fast.relu_backward_portable(backend.asarray(G_HOST, dtype), A, xp=xp)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    assert_close(actual, bpxp.to_numpy(expected), dtype=dtype, float64_atol=0.0, float32_rtol=0.0)
    assert_close(actual, G_HOST * (A_host > 0), dtype=dtype, float64_atol=0.0, float32_rtol=1e-7)
    assert_close(A, A_host.astype(dtype), dtype=dtype, float64_atol=0.0, float32_rtol=0.0)  # A is never overwritten


def test_relu_without_overwrite_leaves_its_inputs_alone(backend):
    xp = backend.xp
    Z, G, A = backend.asarray(Z_HOST), backend.asarray(G_HOST), backend.asarray(np.maximum(Z_HOST, 0.0))
    _fast.relu(Z, xp=xp)
    _fast.relu_backward(G, A, xp=xp)
    assert_close([Z, G], [Z_HOST, G_HOST], dtype="float64", float64_atol=0.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_inner_products_equal_their_portable_twin(backend, dtype):
    xp = backend.xp
    M, N = backend.asarray(G_HOST, dtype), backend.asarray(Z_HOST / 1000.0, dtype)
    for left, right in [(M, M), (M, N)]:
        actual, portable = _fast.inner(left, right, xp=xp), _fast.inner_portable(left, right, xp=xp)
        assert actual.shape == () and actual.dtype == portable.dtype == M.dtype
        assert_close(actual, bpxp.to_numpy(portable), dtype=dtype, float64_atol=1e-12, float32_rtol=1e-6)
    assert_close(_fast.inner(M, N, xp=xp), np.sum(G_HOST * Z_HOST / 1000.0), dtype=dtype, float64_atol=1e-12,
                 float32_rtol=1e-5)


ADAM_SHAPES = [(3, 5), (5,), (2, 3)]  # a network's parameters: a weight matrix, its bias, another weight matrix


def _adam_arrays(backend, dtype, seed):
    rng = np.random.default_rng(seed)
    return tuple(backend.asarray(rng.normal(size=shape), dtype) for shape in ADAM_SHAPES)


@pytest.mark.parametrize("steps", [1, 3], ids=["one-step", "three-steps"])
@pytest.mark.parametrize("overwrite", OVERWRITE)
@pytest.mark.parametrize("dtype", DTYPES)
def test_adams_moments_and_directions_equal_their_portable_twins(backend, dtype, overwrite, steps):
    """Step after step (NumPy: the moments packed into one buffer on the first, updated in it on the next), the
    moments and the directions equal the twins' on every element, and the gradients are never changed."""
    xp = backend.xp
    first, second = _adam_arrays(backend, dtype, 0), tuple(xp.abs(v) for v in _adam_arrays(backend, dtype, 1))
    expected = (tuple(xp.asarray(m, copy=True) for m in first), tuple(xp.asarray(v, copy=True) for v in second))
    for step in range(steps):
        grads = _adam_arrays(backend, dtype, 2 + step)
        grads_host = [bpxp.to_numpy(g).copy() for g in grads]
        expected = _fast.adam_moments_portable(*expected, grads, 0.9, 0.999, xp=xp)
        first, second = _fast.adam_moments(first, second, grads, 0.9, 0.999, xp=xp, overwrite=overwrite)
        assert [(m.shape, m.dtype) for m in (*first, *second)] == [(m.shape, m.dtype) for m in (*expected[0],
                                                                                               *expected[1])]
        assert_close([*first, *second], [bpxp.to_numpy(m) for m in (*expected[0], *expected[1])], dtype=dtype,
                     float64_atol=0.0, float32_rtol=0.0)
        assert_close(list(grads), grads_host, dtype=dtype, float64_atol=0.0, float32_rtol=0.0)
        directions = _fast.adam_directions(first, second, 0.5, 1e-8, xp=xp)
        portable = _fast.adam_directions_portable(*expected, 0.5, 1e-8, xp=xp)
        assert [d.shape for d in directions] == ADAM_SHAPES
        assert_close(list(directions), [bpxp.to_numpy(d) for d in portable], dtype=dtype, float64_atol=1e-15,
                     float32_rtol=1e-6)


def test_adams_moments_without_overwrite_leave_their_inputs_alone(backend):
    """The moments given are never changed without ``overwrite`` — not even packed ones (NumPy)."""
    xp = backend.xp
    first, second = _fast.adam_moments(*(_adam_arrays(backend, "float64", seed) for seed in (0, 1, 2)), 0.9, 0.999,
                                       xp=xp, overwrite=True)
    before = [bpxp.to_numpy(m).copy() for m in (*first, *second)]
    again = _fast.adam_moments(first, second, _adam_arrays(backend, "float64", 3), 0.9, 0.999, xp=xp)
    assert_close([*first, *second], before, dtype="float64", float64_atol=0.0)
    again = _fast.adam_moments(*again, _adam_arrays(backend, "float64", 4), 0.9, 0.999, xp=xp, overwrite=True)
    assert_close([*first, *second], before, dtype="float64", float64_atol=0.0)


@pytest.mark.numpy_session("NumPy's packing of Adam's moments", without_backend=True)
def test_packed_moments_are_recognised_only_as_the_views_they_were_made():
    """NumPy: a packed buffer is used only for the very views it handed out, in their order; a copy, another
    order or a subset of them is computed as separate arrays."""
    import array_api_compat.numpy as xp

    rng = np.random.default_rng(0)
    arrays = [tuple(rng.normal(size=shape) for shape in ADAM_SHAPES) for _ in range(3)]
    first = _fast.adam_moments(*arrays, 0.9, 0.999, xp=xp)[0]  # the second moments' packing dropped at once
    assert _fast._packed_buffer(first) is first[0].base
    assert _fast._packed_buffer(first[::-1]) is None and _fast._packed_buffer(first[:2]) is None
    assert _fast._packed_buffer(tuple(m.copy() for m in first)) is None
    assert _fast._packed_buffer((first[0][:1], *first[1:])) is None
    before = len(_fast._PACKED)
    for _ in range(100):  # packings made and dropped are forgotten with their buffers; the live one is recognised
        _fast.adam_moments(*arrays, 0.9, 0.999, xp=xp)
    assert _fast._packed_buffer(first) is first[0].base and len(_fast._PACKED) == before


def test_host_arrays_moved_at_once_equal_one_asarray_each(backend):
    """``namespaces.moved`` (one ``jax.device_put`` of them all on JAX) gives what one ``asarray`` each gives."""
    from bpxp.backend import namespaces

    rng = np.random.default_rng(0)
    hosts = [rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(4,)).astype(np.float32)]
    moved = namespaces.moved(hosts, xp=backend.xp, device=backend.device)
    for array, host in zip(moved, hosts, strict=True):
        twin = backend.xp.asarray(host, device=backend.device)
        assert array.dtype == twin.dtype and array.shape == twin.shape
        assert device_of(array) == device_of(twin)
        np.testing.assert_array_equal(bpxp.to_numpy(array), bpxp.to_numpy(twin))
    assert namespaces.moved([], xp=backend.xp, device=backend.device) == []
