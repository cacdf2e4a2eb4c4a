"""One precision policy: IEEE float32 products everywhere by default, TF32 on CUDA only when asked.

The switches are the libraries' own (``bpxp.backend.namespaces.matmul_precision``); here they are checked to be
set inside a
network's computations and restored after, and the float32 products checked equal to NumPy's. The TF32 products
themselves need a GPU (.ci/gpu runs this suite there).
"""

import sys
import types
import warnings

import numpy as np
import pytest
from conftest import assert_close

import bpxp
from bpxp.backend import namespaces as _backend
from bpxp.backend import precision as _precision


@pytest.fixture
def fresh_tf32_notice(monkeypatch):
    """Forget which backends were already told that 'tf32' is a no-op (the notice is once per process)."""
    monkeypatch.setattr(_backend, "_said_tf32_is_a_no_op", set())


def _data():
    rng = np.random.default_rng(3)
    return rng.normal(size=(64, 20)).astype(np.float32), rng.normal(size=(20, 30)).astype(np.float32)


def test_float32_products_equal_numpys_on_every_backend(backend):
    A, B = _data()
    with _backend.matmul_precision(backend.xp, backend.device, "float32"):
        product = backend.xp.matmul(backend.asarray(A), backend.asarray(B))
    assert_close(product, A.astype(np.float64) @ B.astype(np.float64), dtype="float32")
    np.testing.assert_allclose(bpxp.to_numpy(product), A @ B, rtol=1e-5, atol=1e-5)


def test_a_float32_network_predicts_as_numpys_on_every_backend(backend):
    X, _ = _data()
    reference = bpxp.MLP([20, 16, 3], hidden="relu", random_state=0, output="sigmoid", loss="mse")
    net = backend.mlp([20, 16, 3], hidden="relu", random_state=0, precision="float32", output="sigmoid", loss="mse")
    assert_close(net.forward(X), reference.forward(X), dtype="float32")


def test_jax_is_pinned_to_its_highest_precision_inside_and_restored_after():
    jax = pytest.importorskip("jax")
    before = jax.config.jax_default_matmul_precision
    with _backend.matmul_precision(_backend.namespace("jax"), None, "float32"):
        assert jax.config.jax_default_matmul_precision == "highest"
    with _precision.jax_matmul_precision(tf32=True):  # what 'tf32' sets on a GPU
        assert jax.config.jax_default_matmul_precision == "tensorfloat32"
    assert jax.config.jax_default_matmul_precision == before


def test_torch_tf32_is_off_inside_and_the_flags_restored_after():
    torch = pytest.importorskip("torch")
    flags = (torch.backends.cuda.matmul, torch.backends.cudnn)
    attribute = "fp32_precision" if hasattr(flags[0], "fp32_precision") else "allow_tf32"
    ieee, tf32 = ("ieee", "tf32") if attribute == "fp32_precision" else (False, True)
    before = [getattr(f, attribute) for f in flags]
    with _backend.matmul_precision(_backend.namespace("torch"), torch.device("cpu"), "float32"):
        assert [getattr(f, attribute) for f in flags] == [ieee, ieee]
    with _precision.torch_matmul_precision(tf32=True):  # what 'tf32' sets on CUDA
        assert [getattr(f, attribute) for f in flags] == [tf32, tf32]
    assert [getattr(f, attribute) for f in flags] == before


def test_cupy_compute_type_is_set_inside_and_restored_after(monkeypatch):
    """CuPy needs a GPU: its compute-type switch is played by a stand-in module with CuPy's names."""
    calls = []
    linalg = types.SimpleNamespace(COMPUTE_TYPE_DEFAULT=1, COMPUTE_TYPE_TF32=7, current=5)
    linalg.get_compute_type = lambda dtype: linalg.current

    def set_compute_type(dtype, value):
        calls.append((np.dtype(dtype).name, value))
        linalg.current = value

    linalg.set_compute_type = set_compute_type
    core = types.ModuleType("cupy._core")
    core._routines_linalg = linalg
    monkeypatch.setitem(sys.modules, "cupy", types.ModuleType("cupy"))
    monkeypatch.setitem(sys.modules, "cupy._core", core)
    with _precision.cupy_matmul_precision(tf32=False):
        assert linalg.current == 1
    with _precision.cupy_matmul_precision(tf32=True):
        assert linalg.current == 7
    assert calls == [("float32", 1), ("float32", 5), ("float32", 7), ("float32", 5)]


def test_tf32_on_a_cpu_changes_nothing_and_says_so_once(backend, fresh_tf32_notice):
    X, _ = _data()
    reference = backend.mlp([20, 16, 3], hidden="relu", random_state=0, output="sigmoid", loss="mse")
    if _backend._on_cuda(backend.device):
        pytest.skip("TF32 is real on a CUDA device")
    net = backend.mlp([20, 16, 3], hidden="relu", random_state=0, precision="tf32", output="sigmoid", loss="mse")
    with pytest.warns(UserWarning, match=r"precision='tf32' changes nothing on backend .*CUDA GPUs only") as said:
        outputs = net.forward(X)
    assert [w.filename for w in said] == [__file__]  # at the user's line, not inside bpxp
    np.testing.assert_array_equal(bpxp.to_numpy(net.forward(X)), bpxp.to_numpy(outputs))  # silent the 2nd time
    np.testing.assert_array_equal(bpxp.to_numpy(outputs), bpxp.to_numpy(reference.forward(X)))


def test_precision_is_part_of_the_description_and_checked():
    with pytest.raises(ValueError, match=r"`precision` must be one of \['float32', 'tf32'\], got 'half'"):
        bpxp.MLP([2, 2], precision="half", hidden="sigmoid", output="sigmoid", loss="mse")
    assert "precision" not in repr(bpxp.MLP([2, 2], hidden="sigmoid", output="sigmoid", loss="mse"))
    assert repr(bpxp.MLP([2, 2], precision="tf32", hidden="sigmoid", output="sigmoid",
                         loss="mse")).endswith("precision='tf32')")


def test_checkpoints_record_precision_and_older_ones_load_as_float32(tmp_path, fresh_tf32_notice):
    import json

    net = bpxp.MLP([3, 2], precision="tf32", random_state=0, hidden="sigmoid", output="sigmoid", loss="mse")
    path = net.save(tmp_path / "net.npz")
    assert bpxp.load(path).precision == "tf32"
    with np.load(path) as stored:
        arrays = dict(stored)
    metadata = json.loads(str(arrays["metadata"]))
    assert metadata["precision"] == "tf32"
    del metadata["precision"]  # as a checkpoint from before the policy
    arrays["metadata"] = np.array(json.dumps(metadata))
    np.savez(tmp_path / "old.npz", **arrays)
    assert bpxp.load(tmp_path / "old.npz").precision == "float32"


def test_a_pickled_network_keeps_its_precision():
    import pickle

    assert pickle.loads(pickle.dumps(bpxp.MLP([3, 2], precision="tf32", hidden="sigmoid", output="sigmoid",
                                              loss="mse"))).precision == "tf32"


def test_the_estimators_and_the_cli_take_precision(fresh_tf32_notice):
    pytest.importorskip("sklearn")
    from sklearn.exceptions import ConvergenceWarning

    from bpxp.cli.parser import parser as cli_parser
    from bpxp.sklearn import MLPClassifier

    X = np.random.default_rng(0).normal(size=(30, 4))
    y = np.arange(30) % 3
    with pytest.warns(UserWarning, match="changes nothing"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 3 iterations are meant to be few
        clf = MLPClassifier((5,), precision="tf32", max_iter=3, random_state=0).fit(X, y)
    assert clf.network_.precision == "tf32"
    assert MLPClassifier().get_params()["precision"] == "float32"
    assert cli_parser().parse_args(["train", "--precision", "tf32"]).precision == "tf32"
