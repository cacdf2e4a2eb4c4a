"""MLX (Apple's array library; ``mlx[cpu]`` on Linux): its Array API namespace, with its quirks named.

MLX arrays carry ``__array_namespace__`` (``mlx.core``) and ``mlx.core`` follows the Array API standard, except
for five quirks:

- **no ``device=``, no ``copy=``** (:class:`Namespace`): MLX arrays live in unified memory and have no device;
  an operation runs on a *stream* of a device (``stream=``). The creation functions of ``mlx.core`` take
  ``stream=`` where the standard has ``device=``; :class:`Namespace` is ``mlx.core`` with ``device=`` accepted
  there and passed on as the stream (``asarray`` drops it: the array it makes has no device); its ``astype``
  takes no ``copy=`` (it always makes a new array); its ``clip`` names the bounds ``a_min``, ``a_max``.
- **no ``.device``** (:func:`device_of`): an MLX array has no ``device`` attribute (``array_api_compat.device``
  raises); its device is the one its operations run on, the default device — which
  ``bpxp.backend.namespaces.matmul_precision`` sets, with ``mlx.core.stream``, for everything a network computes.
- **float64 exponentials** (:meth:`Namespace.exp`, :meth:`Namespace.logaddexp`): MLX computes float64 ``exp`` at
  float32 accuracy (relative error 8.5e-8); from its exact float64 ``expm1`` and powers of 2, eˣ within 1 ulp.
- **float64 from NumPy** (:meth:`Namespace.asarray`): ``mlx.core.asarray`` makes float32 of a NumPy float64 array
  unless given ``dtype``; the standard (and bpxp's float64 networks) keep float64.
- **lazy evaluation** (:func:`evaluate`): MLX records operations and computes them when a value is needed. A
  training step's results are handed to ``mlx.core.async_eval`` (:func:`compiled`: computed in the background, no
  host wait); the epoch's one host read is its one ``mlx.core.eval``, of the parameters, the loss and the finite
  check together (``bpxp.backend.epochs.EagerEpochs.read``).

float64 exists on MLX's CPU only (its GPU computes in float32 at most): ``bpxp.backend.inputs.placement`` says so.
"""

from __future__ import annotations

import importlib
import math
import types
from typing import Any

_LN2_HIGH, _LN2_LOW = 6.93147180369123816490e-01, 1.90821492927058770002e-10  # ln 2 = high + low (fdlibm)
# the creation functions whose `device=` is MLX's `stream=`
_WITH_STREAM = ("zeros", "ones", "full", "empty", "arange", "eye", "linspace", "zeros_like", "ones_like",
                "full_like", "empty_like")


def _core() -> Any:
    return importlib.import_module("mlx.core")


def is_mlx_namespace(xp: Any) -> bool:
    """Whether ``xp`` is ``mlx.core`` or bpxp's :class:`Namespace` of it (never imports MLX)."""
    return isinstance(xp, Namespace) or getattr(xp, "__name__", None) == "mlx.core"


def is_mlx_array(x: Any) -> bool:
    """Whether ``x`` is an MLX array (never imports MLX)."""
    return type(x).__module__ == "mlx.core" and type(x).__name__ == "array"


class Namespace(types.ModuleType):
    """``mlx.core`` with the standard's ``device=`` keyword accepted (passed on as ``stream=``)."""

    def __init__(self) -> None:
        super().__init__("mlx.core")
        self._core = _core()

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._core, name)
        if name in _WITH_STREAM:
            return _with_stream(value)
        return value

    def asarray(self, obj: Any, /, *, dtype: Any = None, device: Any = None, copy: bool | None = None) -> Any:
        # MLX keeps arrays in unified memory: there is nowhere to move them; `device` picks nothing here. And MLX
        # makes float32 of a NumPy float64 array unless told otherwise: the standard keeps its dtype.
        if dtype is None and getattr(getattr(obj, "dtype", None), "name", None) == "float64":
            dtype = self._core.float64
        return self._core.asarray(obj, dtype=dtype, copy=copy)

    def __array_namespace_info__(self) -> Any:
        return _Info(self._core)

    def astype(self, x: Any, dtype: Any, /, *, copy: bool = True, device: Any = None) -> Any:
        # no `copy=` on MLX: its astype always makes a new array (it never changes x)
        return self._core.astype(x, dtype, stream=device)

    def clip(self, x: Any, /, min: Any = None, max: Any = None) -> Any:  # the standard's names
        # MLX names the bounds a_min and a_max, and needs both given
        return self._core.clip(x, min, max)

    def exp(self, x: Any, /) -> Any:
        # MLX's float64 exp is its float32-grade approximation (relative error 8.5e-8, measured on MLX 0.32's
        # CPU), while its float64 expm1 and powers of 2 are exact: eˣ = 2ᵏ·(expm1(r) + 1), x = k·ln 2 + r,
        # |r| ≤ ½ ln 2 (ln 2 in two parts, fdlibm's, so that r is exact): within 1 ulp of NumPy's eˣ
        if x.dtype != self._core.float64:
            return self._core.exp(x)
        core, constant = self._core, lambda value: self._core.array(value, dtype=x.dtype)
        k = core.round(x * constant(1 / math.log(2)))
        r = (x - k * constant(_LN2_HIGH)) - k * constant(_LN2_LOW)
        y = (core.expm1(r) + 1) * core.power(constant(2.0), k)
        return core.where(core.isinf(x), core.where(x > 0, constant(math.inf), constant(0.0)), y)

    def logaddexp(self, x1: Any, x2: Any, /) -> Any:
        # the same in float64 (relative error 1e-8): log(eᵃ + eᵇ) = max + log1p(e^−|a − b|) with the exp above
        if any(hasattr(x, "dtype") and x.dtype == self._core.float64 for x in (x1, x2)):
            return self._core.maximum(x1, x2) + self._core.log1p(self.exp(-self._core.abs(x1 - x2)))
        return self._core.logaddexp(x1, x2)


def _with_stream(create: Any) -> Any:
    def created(*args, device: Any = None, **kwargs):
        return create(*args, stream=device, **kwargs) if device is not None else create(*args, **kwargs)

    created.__name__ = getattr(create, "__name__", "created")
    return created


class _Info:
    """MLX's ``__array_namespace_info__``, listing the GPU too where MLX has one (Metal)."""

    def __init__(self, core: Any):
        self._core, self._info = core, core.__array_namespace_info__()

    def devices(self) -> list[Any]:
        listed = list(self._info.devices())
        if self._core.is_available(self._core.gpu) and self._core.gpu not in listed:
            listed.append(self._core.gpu)
        return listed

    def default_device(self) -> Any:
        return self._core.default_device()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._info, name)


_NAMESPACE: list[Namespace] = []


def namespace() -> Namespace:
    """The one :class:`Namespace` of ``mlx.core`` (made on first use)."""
    if not _NAMESPACE:
        _NAMESPACE.append(Namespace())
    return _NAMESPACE[0]


def device_of(x: Any) -> Any:
    """An MLX array's device: the device its operations run on now (``mlx.core.default_device()``)."""
    return _core().default_device()


def on_gpu(device: Any) -> bool:
    """Whether ``device`` is MLX's GPU."""
    return str(getattr(device, "type", "")).endswith("gpu")


def stream(device: Any) -> Any:
    """The context in which MLX computes on ``device``."""
    return _core().stream(device)


def evaluate(*trees: Any) -> None:
    """Compute, in one ``mlx.core.eval``, everything recorded for the MLX arrays in ``trees`` (nested lists,
    tuples and dicts; anything else, None say, is passed over)."""
    leaves: list = []
    pending = list(trees)
    while pending:
        item = pending.pop()
        if isinstance(item, list | tuple):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif is_mlx_array(item):
            leaves.append(item)
    _core().eval(leaves)


def compiled(step: Any) -> Any:
    """``mlx.core.compile`` of a pure step (the way ``jax.jit`` compiles JAX's), its results handed to
    ``mlx.core.async_eval``: computed in the background, without a host wait, so that the recorded graph never
    spans more than one step (an epoch of 30 Iris steps: 26 ms against 208 ms left lazy to the epoch's end)."""
    core = _core()
    step_compiled = core.compile(step)

    def stepped(*arguments: Any, **keywords: Any) -> Any:
        results = step_compiled(*arguments, **keywords)
        core.async_eval(results)
        return results

    return stepped
