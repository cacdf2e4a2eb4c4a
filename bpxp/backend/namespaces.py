"""The one place that knows which array libraries exist.

Everything else in bpxp takes its namespace ``xp`` from its inputs (``array_namespace``) and never asks which
library it runs on. This module turns backend *names* into namespaces, devices and dtypes, lists what is installed,
brings any backend's array back to NumPy, and holds the few library quirks that need a named workaround.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

from . import on_mlx
from .precision import PRECISION_NAMES as PRECISION_NAMES  # re-exported: the policies' names
from .precision import check_precision, cupy_matmul_precision, jax_matmul_precision, torch_matmul_precision
from .usable import BackendUnusable, unusable_reason


@dataclass(frozen=True)
class _BackendSpec:
    module: str  # what must be importable
    install: str  # how a user gets it


def install_hint(extra: str) -> str:
    """How to install one of bpxp's extras (pyproject.toml's optional-dependencies). bpxp is on no package
    index, so the extra is installed from the clone it was installed from, never as ``bpxp[extra]``."""
    return f"pip install '.[{extra}]' (in your clone of bpxp)"


_BACKENDS: dict[str, _BackendSpec] = {
    "numpy": _BackendSpec("numpy", "pip install numpy"),
    "cupy": _BackendSpec("cupy", f"{install_hint('cupy')} (needs an NVIDIA GPU with CUDA 12)"),
    "torch": _BackendSpec("torch", install_hint("torch")),
    "jax": _BackendSpec("jax", install_hint("jax")),
    "array_api_strict": _BackendSpec("array_api_strict", install_hint("strict")),
    "mlx": _BackendSpec("mlx", f"{install_hint('mlx')} (Apple silicon; on Linux the CPU build, mlx[cpu])"),
}
BACKEND_NAMES: tuple[str, ...] = tuple(_BACKENDS)
DTYPE_NAMES: tuple[str, ...] = ("float32", "float64")


def check_backend_name(backend: Any) -> str:
    """Return ``backend`` if it names a known backend, else raise a ValueError listing the valid names."""
    if not isinstance(backend, str) or backend not in _BACKENDS:
        raise ValueError(f"`backend` must be one of {list(BACKEND_NAMES)}, got {backend!r}")
    return backend


def backend_install(backend: str) -> str:
    """How a user installs a known backend."""
    return _BACKENDS[backend].install


def namespace(backend: str) -> Any:
    """The Array API namespace of a backend named by a string, imported on first use.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).
    ImportError
        For a known backend that is not installed (the message says how to install it).
    """
    spec = _BACKENDS[check_backend_name(backend)]
    if importlib.util.find_spec(spec.module) is None:
        raise ImportError(f"backend {backend!r} is not installed; install it with: {spec.install}")
    if backend == "numpy":
        return importlib.import_module("array_api_compat.numpy")
    if backend == "cupy":
        return importlib.import_module("array_api_compat.cupy")
    if backend == "torch":
        return importlib.import_module("array_api_compat.torch")
    if backend == "jax":
        return importlib.import_module("jax.numpy")
    if backend == "mlx":
        return on_mlx.namespace()  # mlx.core, taking the standard's device= (a named quirk)
    return importlib.import_module("array_api_strict")


def backend_name(xp: Any) -> str:
    """The backend name of a namespace returned by ``array_namespace``."""
    checks = {
        "numpy": array_api_compat.is_numpy_namespace,
        "cupy": array_api_compat.is_cupy_namespace,
        "torch": array_api_compat.is_torch_namespace,
        "jax": array_api_compat.is_jax_namespace,
        "array_api_strict": array_api_compat.is_array_api_strict_namespace,
        "mlx": on_mlx.is_mlx_namespace,
    }
    for name, is_it in checks.items():
        if is_it(xp):
            return name
    raise TypeError(f"arrays of namespace {getattr(xp, '__name__', xp)!r} are not supported; "
                    f"bpxp runs on {list(BACKEND_NAMES)}")


def array_namespace(*arrays: Any) -> Any:
    """``array_api_compat.array_namespace``, except that MLX arrays give bpxp's namespace of ``mlx.core``
    (``bpxp.backend.on_mlx.Namespace``: the standard's ``device=`` accepted)."""
    xp = array_api_compat.array_namespace(*arrays)
    return on_mlx.namespace() if on_mlx.is_mlx_namespace(xp) else xp


def device_of(x: Any) -> Any:
    """``array_api_compat.device``, except that an MLX array, which has no ``.device``, is on the device its
    operations run on (``bpxp.backend.on_mlx.device_of``)."""
    return on_mlx.device_of(x) if on_mlx.is_mlx_array(x) else array_api_compat.device(x)


def array_backend(x: Any) -> str | None:
    """The backend name of an array, or None for host data (NumPy arrays, lists, scalars)."""
    if isinstance(x, np.ndarray | np.generic | list | tuple | int | float):
        return None
    try:
        return backend_name(array_api_compat.array_namespace(x))
    except TypeError:
        return None


def devices(xp: Any) -> list[Any]:
    """The devices a namespace can place arrays on (the Array API inspection API)."""
    with warnings.catch_warnings():
        # torch's device listing probes legacy device types and warns about 'mkldnn' (torch 2.13).
        warnings.simplefilter("ignore", UserWarning)
        listed = list(xp.__array_namespace_info__().devices())
    # jax lists None (its default placement) first; torch lists its shape-only 'meta' device; strict lists
    # test devices that disallow float64. None of these hold real numbers for training.
    return [d for d in listed if d is not None and str(d) != "meta"]


def device_label(device: Any) -> str:
    """A short human name for a device: 'cpu', 'cuda:0' (torch and CuPy alike), 'gpu:0' (JAX), 'device1'."""
    quoted = re.fullmatch(r"[\w.]*Device\('(.+)'\)", str(device))  # array_api_strict.Device('device1')
    if quoted:
        return quoted.group(1)
    cuda = re.fullmatch(r"<CUDA Device (\d+)>", str(device))  # cupy.cuda.Device(0), labelled as torch does
    if cuda:
        return f"cuda:{cuda.group(1)}"
    mlx = re.fullmatch(r"Device\((cpu|gpu), (\d+)\)", str(device))  # mlx.core.Device(cpu, 0)
    if mlx:
        return mlx.group(1) if mlx.group(2) == "0" else f"{mlx.group(1)}:{mlx.group(2)}"
    platform, index = getattr(device, "platform", None), getattr(device, "id", None)  # jax
    if platform is not None and index is not None:
        return f"{platform}:{index}"
    return str(device)


def resolve_device(xp: Any, device: Any) -> Any:
    """Turn ``device`` (None, a label such as 'cuda:0' or 'device1', or a device object) into a device object."""
    if device is None:
        return None
    available = devices(xp)
    for candidate in available:
        if device is candidate or device == candidate:
            return candidate
    if isinstance(device, str | int):
        wanted = str(device)
        for candidate in available:
            label = device_label(candidate)
            if wanted in (label, str(candidate)) or label == f"{wanted}:0" or label.endswith(f":{wanted}"):
                return candidate
    raise ValueError(f"`device` must be one of {[device_label(d) for d in available]} for backend "
                     f"{backend_name(xp)!r}, got {device!r}")


def resolve_dtype(xp: Any, dtype: Any) -> Any:
    """The namespace's floating dtype for ``dtype`` ('float32', 'float64', or a dtype object)."""
    name = dtype if isinstance(dtype, str) else next(
        (n for n in DTYPE_NAMES if dtype == getattr(xp, n)), None)
    if name not in DTYPE_NAMES:
        raise ValueError(f"`dtype` must be one of {list(DTYPE_NAMES)}, got {dtype!r}")
    if name == "float64" and backend_name(xp) == "jax" and not _jax_x64_enabled():
        # JAX silently computes in float32 unless x64 mode is on before arrays are made.
        raise ValueError("`dtype` 'float64' on backend 'jax' needs 64-bit mode: run "
                         "jax.config.update('jax_enable_x64', True) first (or set JAX_ENABLE_X64=1)")
    return getattr(xp, name)


# -- precision of float32 matrix products -------------------------------------------------------------------------
def _outside_bpxp() -> int:
    """The ``stacklevel`` at which a warning given by this module's caller points at the first line outside bpxp
    (and outside ``contextlib``, whose frames a ``with`` adds): the user's call, wherever bpxp enters the policy."""
    package, level, frame = os.path.dirname(os.path.dirname(__file__)), 2, sys._getframe(2)
    while frame is not None and (frame.f_code.co_filename.startswith(package)
                                 or frame.f_code.co_filename == contextlib.__file__):
        level, frame = level + 1, frame.f_back
    return level


_said_tf32_is_a_no_op: set[str] = set()  # the backends already told (the warning is given once per process)


def _on_cuda(device: Any) -> bool:
    """Whether ``device`` is an NVIDIA GPU: torch's 'cuda', JAX's 'gpu'/'cuda' platform, or any CuPy device."""
    kind = getattr(device, "type", None) or getattr(device, "platform", None)
    return kind in ("cuda", "gpu") or device_label(device).startswith("cuda:")


@contextlib.contextmanager
def matmul_precision(xp: Any, device: Any, precision: str) -> Iterator[None]:
    """Within the context, float32 matrix products on ``xp`` follow ``precision``; the library's setting returns after.

    'float32' means IEEE float32 products everywhere, so that every backend computes the same numbers:

    - JAX: ``jax.default_matmul_precision('highest')`` — XLA's default on a GPU is TF32 (10-bit mantissa
      products), which put its weights 1.8e-4 away from every other backend's after 4 steps of a 784-256-128-10
      network on an H200;
    - torch: ``torch.backends.cuda.matmul.fp32_precision = 'ieee'`` (``allow_tf32 = False`` before torch 2.9),
      cuDNN too;
    - CuPy: its default cuBLAS compute type for float32 (``cupy._core._routines_linalg.set_compute_type``),
      whatever ``CUPY_TF32`` said.

    'tf32' opts into tensor-core float32 (TF32 products, float32 sums) on CUDA for the same three; on a CPU (and
    on NumPy, array-api-strict) it changes nothing, which a UserWarning says once per backend and process.
    float64 products are never affected.
    """
    check_precision(precision)
    name = backend_name(xp)
    if precision == "tf32" and not (name in ("cupy", "torch", "jax") and _on_cuda(device)):
        if name not in _said_tf32_is_a_no_op:
            _said_tf32_is_a_no_op.add(name)
            warnings.warn(f"precision='tf32' changes nothing on backend {name!r}, device "
                          f"{device_label(device)!r}: TF32 products exist on CUDA GPUs only (float32 is used)",
                          UserWarning, stacklevel=_outside_bpxp())
        precision = "float32"
    if name == "mlx" and device is not None:  # MLX arrays have no device: their operations run on a stream's
        with on_mlx.stream(device):
            yield
        return
    switch = {"jax": jax_matmul_precision, "torch": torch_matmul_precision, "cupy": cupy_matmul_precision}
    if name not in switch:
        yield
        return
    with switch[name](precision == "tf32"):
        yield


def network_precision(net: Any) -> contextlib.AbstractContextManager[None]:
    """:func:`matmul_precision` for a network: its namespace, device and policy (``net.xp``, ``net.device``,
    ``net.precision``). The one place a network enters its policy: :func:`follows_precision` uses it."""
    return matmul_precision(net.xp, net.device, net.precision)


def follows_precision(method: Callable) -> Callable:
    """Decorate a network's method so that it runs inside the network's precision policy (:func:`network_precision`).

    Every method of ``bpxp.MLP`` that multiplies (forward, logits, backward, the loss, the score, the L-BFGS fit)
    carries it, so that 'float32' means IEEE products on every path; a method reached through another
    (``predict`` through ``forward``) needs none of its own. The training loops, whose warnings must point at the
    caller of ``fit``, enter the same :func:`network_precision` in a ``with`` block instead, which adds no frame.
    Nested entries set the same switch and restore it in turn.
    """

    @functools.wraps(method)
    def within_precision(net, *args, **kwargs):
        with network_precision(net):
            return method(net, *args, **kwargs)

    return within_precision


def _jax_x64_enabled() -> bool:
    import jax

    return bool(jax.config.read("jax_enable_x64"))


def to_numpy(x: Any) -> np.ndarray:
    """Copy any backend's array (on any device) into a NumPy array on the host.

    Parameters
    ----------
    x : array of any supported backend, any shape

    Returns
    -------
    numpy.ndarray
        Same shape and dtype (``x`` itself when it already is a NumPy array).

    Examples
    --------
    >>> import bpxp, numpy as np
    >>> bpxp.to_numpy(np.arange(3.0))
    array([0., 1., 2.])
    """
    if isinstance(x, np.ndarray):
        return x
    if array_api_compat.is_cupy_array(x):
        return x.get()
    if array_api_compat.is_torch_array(x):
        return x.detach().cpu().numpy()
    if array_api_compat.is_array_api_strict_namespace(array_api_compat.array_namespace(x)):
        import array_api_strict

        # arrays on strict's test devices refuse implicit conversion, as a GPU array would
        return np.asarray(array_api_strict.asarray(x, device=array_api_strict.Device("CPU_DEVICE")))
    if array_api_compat.is_jax_array(x):
        import jax

        # a read on purpose: allowed where jax.transfer_guard("disallow") forbids implicit device→host transfers
        with jax.transfer_guard_device_to_host("allow"):
            return np.asarray(x)
    return np.asarray(x)


def host_float(x: Any) -> float:
    """A one-element array's value, read on the host on purpose (:func:`to_numpy`): the training loop's only way to
    read the device, so that a transfer elsewhere stands out (``tests/test_host_reads.py``, JAX's transfer guard)."""
    return float(to_numpy(x))


def subtract_in_place(target: Any, update: Any) -> Any:
    """``target − update``, written into ``target`` where the library allows; return the result.

    NumPy, CuPy, PyTorch and array-api-strict arrays are mutable: the in-place subtraction reuses the
    parameter's memory, so large networks never hold two copies of their weights. JAX arrays are immutable:
    Python falls back to ``target = target − update``, a new array — which is why callers must use the value
    this returns (a bare ``p -= u`` in a loop would lose the update on JAX).
    """
    target -= update
    return target


def arrays_are_immutable(xp: Any) -> bool:
    """Whether the namespace's arrays never change once made (JAX): a reference to them is a snapshot."""
    return array_api_compat.is_jax_namespace(xp)


def moved(hosts: list[np.ndarray], *, xp: Any, device: Any) -> list:
    """Host arrays on the namespace's ``device``: one ``asarray`` each, or — JAX, whose ``asarray`` costs ~0.1 ms
    a call — one ``jax.device_put`` of them all, committed to the device as compiled calls' outputs are (so that
    the first compiled epoch does not place them again). Tested equal to the portable form."""
    if array_api_compat.is_jax_namespace(xp) and hosts:
        import jax

        return list(jax.device_put(hosts, device if device is not None else jax.devices()[0]))
    return [xp.asarray(host, device=device) for host in hosts]


def shareable_host_array(host: np.ndarray, backend: str) -> np.ndarray:
    """A host array that the backend's ``asarray`` may share memory with.

    PyTorch shares memory with a NumPy array and cannot honour a read-only one: it warns ("The given NumPy array
    is not writable") and hands out a writable tensor. A read-only array is copied for it first; the others
    copy (JAX, CuPy) or keep NumPy's flags (array-api-strict) themselves.
    """
    return host.copy() if backend == "torch" and not host.flags.writeable else host


def floating_point_warnings_silenced():
    """A context in which NumPy (and array-api-strict, built on it) stays silent about overflow and NaN.

    Training checks once per epoch that the loss and the parameters are finite and reports a divergence itself
    (``bpxp.training.recovery``); NumPy's own "overflow encountered in multiply" on the way there would be noise — and
    CuPy, PyTorch and JAX never warn.
    """
    return np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore")


def compile_step(step: Any, xp: Any) -> Any:
    """Compile a pure training step where the library rewards it: ``jax.jit`` on JAX, ``mlx.core.compile`` on MLX,
    unchanged elsewhere.

    JAX dispatches every eager operation separately (~1 ms for a tiny step); compiled once, the same step runs
    in tens of microseconds. A different batch shape (the ragged last batch) compiles once more and is cached.
    """
    if array_api_compat.is_jax_namespace(xp):
        import jax

        return jax.jit(step)
    if on_mlx.is_mlx_namespace(xp):
        return on_mlx.compiled(step)
    return step


def check_usable(backend: str, device: Any = None) -> None:
    """Raise :class:`BackendUnusable` (one line: what, why, what to do) if ``backend``/``device`` cannot run here.

    A backend that is not installed passes: ``namespace`` then says how to install it.
    """
    if importlib.util.find_spec(_BACKENDS[check_backend_name(backend)].module) is None:
        return
    reason = unusable_reason(backend, device if isinstance(device, str | type(None)) else None)
    if reason is not None:
        asked = f"backend {backend!r}" + (f" with device {device!r}" if device is not None else "")
        raise BackendUnusable(f"{asked} is not usable on this machine: {reason}; `bpxp backends` lists what "
                              f"works here (backend 'numpy' always does)")
