"""One backend fixture runs every test on every installed backend.

``pytest --backend NAME`` (repeatable) narrows the run to some backends; each nox session runs the whole suite
once on its own. Missing libraries skip; CuPy skips with "no CUDA device" where none exists. array-api-strict
also runs on its non-default ``device1``, which behaves like an accelerator (no implicit NumPy conversion, no
mixing of devices) and so catches device leaks on the CPU. Functions tagged with ``lazy_xp_function`` in a test
module run under ``jax.jit`` on the JAX backend.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import bpxp
from bpxp.backend import namespaces as _backend

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("SCIPY_ARRAY_API", "1")  # lets scikit-learn's checks feed the estimators Array API inputs
# the seed tutorials' data (binary.csv, Iris.csv): the folder in BPXP_DATA, as the gallery reads it, else ../shared/data
SHARED_DATA = Path(os.environ.get("BPXP_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")

# (id, backend name, device label): the backend matrix of the suite. The ids are plain strings, so every
# process (each pytest-xdist worker) collects the same test ids. The GPU variants run where the library sees a
# GPU and skip elsewhere, saying why; `--backend torch` runs both torch variants.
VARIANTS = [
    ("numpy", "numpy", None),
    ("array_api_strict", "array_api_strict", None),
    ("array_api_strict-device1", "array_api_strict", "device1"),
    ("torch", "torch", "cpu"),
    ("torch-cuda", "torch", "cuda:0"),
    ("jax", "jax", None),
    ("jax-gpu", "jax", "gpu:0"),
    ("cupy", "cupy", None),
    ("mlx", "mlx", None),
    ("mlx-gpu", "mlx", "gpu"),
]
GPU_VARIANTS = ("torch-cuda", "jax-gpu", "cupy", "mlx-gpu")


@dataclass(frozen=True)
class Backend:
    """A backend under test: its name, namespace and device (None: the library's default)."""

    name: str
    xp: Any
    device: Any

    def asarray(self, host, dtype=None):
        """Host data on this backend and device (float64 unless ``dtype`` says otherwise)."""
        host = np.asarray(host)
        if dtype is not None:
            host = host.astype(dtype)
        return self.xp.asarray(host, device=self.device)

    def mlp(self, *args, **kwargs) -> bpxp.MLP:
        return bpxp.MLP(*args, backend=self.name, device=self.device, **kwargs)

    def from_weights(self, *args, **kwargs) -> bpxp.MLP:
        return bpxp.MLP.from_weights(*args, backend=self.name, device=self.device, **kwargs)


def pytest_addoption(parser):
    parser.addoption("--backend", action="append", default=[], choices=_backend.BACKEND_NAMES,
                     help="run the suite on this backend only (repeatable); default: every installed one")
    parser.addoption("--gpu-only", action="store_true",
                     help=f"of the chosen backends, run only the GPU variants {list(GPU_VARIANTS)} (.ci/gpu)")


def pytest_configure(config):
    wanted = config.getoption("--backend") or list(_backend.BACKEND_NAMES)
    config.bpxp_backends = wanted
    if "jax" in wanted and importlib.util.find_spec("jax") is not None:
        import jax

        # float64 on JAX needs 64-bit mode before any array exists; float32 tests pass dtype explicitly.
        jax.config.update("jax_enable_x64", True)
    if "torch" in wanted and importlib.util.find_spec("torch") is not None:
        import torch

        torch.set_num_threads(1)  # two threads on a 2-core machine make tiny steps 10x slower
    config.addinivalue_line("markers", "numpy_session(reason, without_backend=False): checks on the host alone (the "
                                       "CLI, files, the documentation, the package's shape), run once: in the numpy "
                                       "session; with without_backend, only the tests that take no backend")


def pytest_collection_modifyitems(config, items):
    # numpy_session: skipped elsewhere before any fixture is set up (a module-scoped one included)
    if "numpy" not in config.bpxp_backends:
        for item in items:
            marker = item.get_closest_marker("numpy_session")
            if marker is not None and not (marker.kwargs.get("without_backend") and "backend" in item.fixturenames):
                item.add_marker(pytest.mark.skip(reason=marker.args[0] if marker.args else "runs in the numpy session"))
    # Object addresses in ids (`<function <lambda> at 0x7f…>`) differ between processes: pytest-xdist's
    # workers would collect different tests and refuse to run. Catch one here, where it is introduced.
    unstable = [item.nodeid for item in items if re.search(r" at 0x[0-9a-fA-F]+|0x[0-9a-fA-F]{8,}", item.nodeid)]
    if unstable:
        raise pytest.UsageError(f"test ids must not hold object addresses (give them explicit ids): {unstable[:3]}")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        wanted = metafunc.config.bpxp_backends
        chosen = [v for v in VARIANTS if v[1] in wanted]
        if metafunc.config.getoption("--gpu-only"):
            chosen = [v for v in chosen if v[0] in GPU_VARIANTS]
        metafunc.parametrize("backend", chosen, ids=[v[0] for v in chosen], indirect=True)


def _cuda_device_count() -> int:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount()
    except Exception:
        return 0


def _gpu_missing(name: str, device_label: Any) -> str | None:
    """Why a GPU variant cannot run here (None when it can): checked in the fixture, so ids never depend on it."""
    if name == "cupy" and _cuda_device_count() == 0:
        return "no CUDA device"
    if name == "torch" and device_label == "cuda:0":
        import torch

        if not torch.cuda.is_available():
            return "torch sees no CUDA device (torch.cuda.is_available() is False)"
    if name == "mlx" and device_label == "gpu":
        import mlx.core as mx

        if not mx.is_available(mx.gpu):
            return "MLX has no GPU here (Metal on Apple silicon; mlx[cpu] on Linux)"
    if name == "jax" and device_label == "gpu:0":
        import jax

        try:
            jax.devices("gpu")
        except RuntimeError:
            return "JAX has no GPU backend here (jax.devices('gpu') found none)"
    return None


@pytest.fixture(scope="session", autouse=True)
def ctrl_c_reaches_python():
    """The Ctrl-C tests need SIGINT handled by Python. A shell starts a background job (``.ci/run &``) with SIGINT
    ignored; Python then keeps ignoring it, ``_thread.interrupt_main`` does nothing and child processes ignore it
    too, so those tests would hang until their time limits. Python's own handler is restored for the session."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield


@pytest.fixture
def backend(request):
    _, name, device_label = request.param
    if importlib.util.find_spec(_backend._BACKENDS[name].module) is None:
        pytest.skip(f"{name} is not installed")
    missing = _gpu_missing(name, device_label)
    if missing is not None:
        pytest.skip(missing)
    xp = _backend.namespace(name)
    device = _backend.resolve_device(xp, device_label)
    from array_api_extra.testing import patch_lazy_xp_functions

    with patch_lazy_xp_functions(request, xp=xp):
        yield Backend(name, xp, device)


@pytest.fixture
def admissions_csv() -> Path:
    path = SHARED_DATA / "binary.csv"
    if not path.exists():
        pytest.skip(f"seed data not found at {path} (the shared/ folder beside the checkout)")
    return path


def assert_close(actual, expected, *, dtype: str, float64_atol: float = 1e-10, float32_rtol: float = 1e-5):
    """Compare a backend array (or list of them) with a float64 NumPy reference at dtype-aware tolerance."""
    if isinstance(expected, list | tuple):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_close(a, e, dtype=dtype, float64_atol=float64_atol, float32_rtol=float32_rtol)
        return
    a, e = bpxp.to_numpy(actual), bpxp.to_numpy(expected)
    if dtype == "float64":
        np.testing.assert_allclose(a, e, rtol=0, atol=float64_atol)
    else:
        np.testing.assert_allclose(a, e, rtol=float32_rtol, atol=float32_rtol * max(1.0, np.abs(e).max()))


@pytest.fixture
def dask_session(request):
    """Dask chunks are NumPy or CuPy arrays: sessions of the other backends skip the Dask modules, not repeat them."""
    if not {"numpy", "cupy"} & set(request.config.bpxp_backends):
        pytest.skip("training on Dask runs in the numpy and cupy sessions")


@pytest.fixture(scope="module")
def client(request):
    """A LocalCluster of 2 single-threaded worker processes on the loopback interface, one per test module.

    Started only in the sessions that train on Dask (see ``dask_session``): elsewhere its tests skip first."""
    if not {"numpy", "cupy"} & set(request.config.bpxp_backends):
        pytest.skip("training on Dask runs in the numpy and cupy sessions")
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  host="127.0.0.1") as cluster, distributed.Client(cluster, set_as_default=False) as c:
        yield c


@pytest.fixture(params=["local processes", "default"])
def scheduler(request, client):
    """Run the body under a 2-worker LocalCluster, or under Dask's default scheduler."""
    if request.param == "local processes":
        with client.as_current():
            yield request.param
    else:
        yield request.param
