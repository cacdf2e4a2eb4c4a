"""MLX's quirks (``bpxp.backend.on_mlx``), each worked around and held to what the standard (or NumPy) gives."""

import numpy as np
import pytest

import bpxp
from bpxp.backend import namespaces, on_mlx


@pytest.fixture
def xp(request):
    if "mlx" not in request.config.bpxp_backends:
        pytest.skip("MLX's quirks: the mlx session")
    pytest.importorskip("mlx.core")
    return namespaces.namespace("mlx")


def test_float64_exp_and_logaddexp_are_within_an_ulp_or_two_of_numpys(xp):
    x = np.concatenate([np.linspace(-745.0, 709.0, 100_001), [-np.inf, np.inf, 0.0, -0.0, 1e-300]])
    got = np.asarray(xp.exp(xp.asarray(x)))
    expected = np.exp(x)
    normal = np.isfinite(expected) & (expected > np.finfo(np.float64).tiny)
    np.testing.assert_allclose(got[normal], expected[normal], rtol=2 * np.finfo(np.float64).eps, atol=0)
    np.testing.assert_array_equal(got[~np.isfinite(x)], expected[~np.isfinite(x)])
    a, b = np.linspace(-50, 50, 1001), np.linspace(30, -70, 1001)
    np.testing.assert_allclose(np.asarray(xp.logaddexp(xp.asarray(a), xp.asarray(b))), np.logaddexp(a, b),
                               rtol=4 * np.finfo(np.float64).eps)


def test_float32_exp_is_mlxs_own(xp):
    # MLX's float32 exp: relative error up to 3.6e-6 at |x| ≈ 80 (≈ 30 ulps), 1e-7 near 0; bpxp leaves it as it is
    x = np.linspace(-80, 80, 1001, dtype=np.float32)
    np.testing.assert_allclose(np.asarray(xp.exp(xp.asarray(x))), np.exp(x), rtol=1e-5)


def test_asarray_keeps_float64_and_takes_device(xp):
    cpu = namespaces.resolve_device(xp, "cpu")
    assert xp.asarray(np.arange(3.0), device=cpu).dtype == xp.float64
    assert xp.zeros((2,), dtype=xp.float32, device=cpu).dtype == xp.float32
    assert xp.astype(xp.asarray([1, 2]), xp.float32, copy=False).dtype == xp.float32


def test_an_mlx_array_is_on_the_device_its_operations_run_on(xp):
    x = xp.asarray([1.0, 2.0])
    assert namespaces.array_namespace(x) is xp
    assert namespaces.device_label(namespaces.device_of(x)) == "cpu"


def test_an_epoch_is_evaluated_at_its_read(xp):
    X = np.random.default_rng(0).normal(size=(64, 3))
    net = bpxp.MLP([3, 4, 1], output="identity", loss="mse", backend="mlx", dtype="float64", random_state=0)
    reference = bpxp.MLP([3, 4, 1], output="identity", loss="mse", dtype="float64", random_state=0)
    for model in (net, reference):
        model.fit(X, X[:, :1], epochs=3, batch_size=16, random_state=0)
    np.testing.assert_allclose(bpxp.to_numpy(net.weights[0]), reference.weights[0], rtol=0, atol=1e-12)


def test_mlxs_gpu_is_refused_where_there_is_none_and_float64_there_always(xp):
    import mlx.core as mx

    if mx.is_available(mx.gpu):
        with pytest.raises(ValueError, match="'float64' on backend 'mlx' needs device 'cpu'"):
            bpxp.MLP([2, 1], backend="mlx", device="gpu", dtype="float64")
    else:
        with pytest.raises(bpxp.BackendUnusable, match="MLX has no GPU here"):
            bpxp.MLP([2, 1], backend="mlx", device="gpu")
    assert on_mlx.is_mlx_namespace(xp) and not on_mlx.is_mlx_namespace(np)
