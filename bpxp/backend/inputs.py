"""The API boundary: user data in, checked once, on the network's namespace and device.

"Inputs follow the network": NumPy arrays, lists and scalars are moved to the network's backend and device once
per call. An array of another backend, or on another device, is refused with an error that says how to fix it:
nothing is mixed, broadcast, truncated or cast silently. Every check here runs once per public call, never in
the training loop. Host data is checked on the host before its one move — targets (a column or a few) always,
features up to ``HOST_CHECKED_BYTES`` — and the rest with the network's own namespace, where it lies: a GPU
network checks a large X on the GPU and reads back one boolean. A network's own placement (:func:`placement`,
from the names it is given) and parameters (:func:`parameters`, copies of the given arrays) are checked here too.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np

from . import namespaces, on_mlx
from .namespaces import (
    DTYPE_NAMES,
    array_backend,
    array_namespace,
    arrays_are_immutable,
    backend_name,
    check_backend_name,
    check_usable,
    compile_step,
    device_label,
    device_of,
    namespace,
    resolve_device,
    resolve_dtype,
    shareable_host_array,
)

_NUMERIC_KINDS = "iuf"
_host_namespace = array_namespace(np.empty(0))  # NumPy's, as array-api-compat wraps it: host data's checks


def _describe_dtype(x: Any) -> str:
    return str(getattr(x, "dtype", type(x).__name__))


def to_network(x: Any, *, name: str, xp: Any, device: Any, dtype: Any = None, float_name: str | None = None):
    """Move ``x`` onto the network's namespace and device, refusing other backends and devices.

    ``float_name`` ('float32'/'float64') casts host data on the host before the move and ``dtype`` (the
    namespace's dtype object) casts backend arrays; without them integer data stays integer. Booleans are
    numbers here (False → 0, True → 1); object arrays are read again as the numbers they hold, if they do.
    A float64 value that float32 cannot hold is an error, never a silent ±inf.
    """
    target = backend_name(xp)
    source = array_backend(x)
    if source is None:
        if float_name is not None:
            return _onto(_host_floats(x, float_name, name=name), xp=xp, device=device)
        host = _host_numbers(x, name=name)
        host = host.astype(np.int64) if host.dtype.kind == "b" else _integers_that_fit(host, xp=xp, device=device)
        return _onto(host, xp=xp, device=device)
    if source != target:
        raise TypeError(
            f"`{name}` is a {source} array but this network runs on {target}; convert it with "
            f"bpxp.to_numpy({name}) (it is then moved to {target} once per call), or build the network with "
            f"backend={source!r}")
    here = device_of(x)
    if device is not None and here != device:
        raise ValueError(f"`{name}` is on device {device_label(here)} but the network is on "
                         f"{device_label(device)}; move it there first (e.g. xp.asarray({name}, device=net.device))")
    if xp.isdtype(x.dtype, "bool"):
        integers = xp.__array_namespace_info__().default_dtypes(device=here)["integral"]
        x = xp.astype(x, integers if dtype is None else dtype)
    if not xp.isdtype(x.dtype, ("real floating", "integral")):
        raise TypeError(f"`{name}` must hold real numbers (integer or floating), got dtype {_describe_dtype(x)}")
    if dtype is not None and x.dtype != dtype:
        x = _narrowed(x, dtype, name=name, xp=xp)
    return x


def _host_numbers(x: Any, *, name: str) -> np.ndarray:
    """Host data (a NumPy array, nested lists, a scalar, a DataFrame) as a NumPy array of real numbers or bools."""
    try:
        host = np.asarray(x)
        if host.dtype == object:  # numbers boxed as Python objects (a list mixing ints and floats, a DataFrame)
            host = np.asarray(host.tolist())
    except (ValueError, TypeError) as error:
        raise ValueError(f"`{name}` must be a rectangular array of numbers, got {type(x).__name__} "
                         f"that NumPy cannot read as one ({error})") from None
    if host.dtype.kind not in _NUMERIC_KINDS + "b":
        what = type(x).__name__ if host.ndim == 0 and host.dtype == object else f"dtype {host.dtype}"
        raise TypeError(f"`{name}` must hold real numbers (integer or floating), got {what}")
    return host


def _integers_that_fit(host: np.ndarray, *, xp: Any, device: Any) -> np.ndarray:
    """Host integers as the network's namespace can hold them: unchanged when its default integer dtype takes them
    all, else as float64 (on the host), so that no value wraps on the way to the device and every backend sees the
    same numbers. JAX without 64-bit mode reads int64 as int32: a label 2³² + 1 would arrive as 1 and train.
    """
    if host.dtype.kind not in "iu" or host.size == 0:
        return host
    limits = xp.iinfo(xp.__array_namespace_info__().default_dtypes(device=device)["integral"])
    if np.iinfo(host.dtype).min >= limits.min and np.iinfo(host.dtype).max <= limits.max:
        return host  # every value of the dtype fits: no scan
    if int(host.min()) >= limits.min and int(host.max()) <= limits.max:
        return host
    return host.astype(np.float64)


def _host_floats(x: Any, float_name: str, *, name: str) -> np.ndarray:
    """Host data as a NumPy array of the floating dtype ``float_name``, refusing values it turns into ±inf."""
    return _narrowed(_host_numbers(x, name=name), np.dtype(float_name), name=name, xp=_host_namespace)


def _onto(host: np.ndarray, *, xp: Any, device: Any) -> Any:
    """A checked host array on the network's namespace and device: one move, sharing memory where it may."""
    return namespaces.moved([shareable_host_array(host, backend_name(xp))], xp=xp, device=device)[0]


def _narrowed(x: Any, dtype: Any, *, name: str, xp: Any) -> Any:
    """``x`` cast to the floating ``dtype``, refusing finite values the narrower dtype turns into ±inf."""
    if not xp.isdtype(x.dtype, "real floating") or xp.finfo(x.dtype).bits <= xp.finfo(dtype).bits:
        return xp.astype(x, dtype, copy=False)  # integers, or as wide or wider: nothing can overflow
    with np.errstate(over="ignore", invalid="ignore"):  # NumPy (and strict, on NumPy) warn; the check says more
        cast = xp.astype(x, dtype, copy=False)
        if bool(xp.isfinite(xp.sum(cast))):
            return cast
        overflowed = xp.isfinite(x) & ~xp.isfinite(cast)
    if bool(xp.any(overflowed)):
        largest = float(xp.max(xp.abs(xp.where(overflowed, x, xp.zeros_like(x)))))
        kind = str(cast.dtype).split(".")[-1]
        raise ValueError(f"`{name}` exceeds the {kind} range: its largest magnitude is {largest:.3g} and {kind} "
                         f"holds at most {float(xp.finfo(cast.dtype).max):.3g}; rescale it or use dtype='float64'")
    return cast


def shape_of(x: Any, *, name: str) -> tuple[int, ...]:
    """The shape of a backend array or of host data (lists included), without moving it."""
    if array_backend(x) is not None:
        return tuple(x.shape)
    try:
        return np.shape(np.asarray(x))
    except (ValueError, TypeError):
        raise ValueError(f"`{name}` must be a rectangular array of numbers, got {type(x).__name__}") from None


@functools.lru_cache(maxsize=16)
def _sum_is_finite(xp: Any) -> Any:
    """x ↦ isfinite(Σ x), compiled where that pays (JAX: one call instead of three eager ones, ~90 → ~25 µs)."""
    return compile_step(lambda x: xp.isfinite(xp.sum(x)), xp)


def check_finite(x: Any, *, name: str, xp: Any) -> None:
    """Raise if ``x`` holds NaN or ±inf (one host read).

    A finite sum proves every element finite in one pass with no temporary array; only when the sum is not
    finite (NaN or inf inside, or finite values whose sum overflows) are the elements themselves checked.
    """
    if not xp.isdtype(x.dtype, "real floating"):
        return
    if not bool(_sum_is_finite(xp)(x)) and not bool(xp.all(xp.isfinite(x))):
        raise ValueError(f"`{name}` contains NaN or infinite values; remove or impute them first")


def _copies(arrays: Sequence[Any], names: Sequence[str], *, xp: Any, device: Any, dtype: Any,
            float_name: str) -> list:
    """A network's own copies of its parameter arrays: moved, cast, checked finite, never sharing memory with the
    caller's. Host data is checked on the host, before the move — no device read — and moved all at once
    (``namespaces.moved``: one transfer on JAX, its arrays committed to the device)."""
    hosts = {}
    for i, (array, name) in enumerate(zip(arrays, names)):
        if array_backend(array) is None:
            host = _host_floats(array, float_name, name=name)
            if not np.isfinite(host).all():
                raise ValueError(f"`{name}` contains NaN or infinite values; remove or impute them first")
            hosts[i] = shareable_host_array(host, backend_name(xp))
    moved = dict(zip(hosts, namespaces.moved(list(hosts.values()), xp=xp, device=device)))
    for i, (array, name) in enumerate(zip(arrays, names)):
        if i not in moved:
            moved[i] = to_network(array, name=name, xp=xp, device=device, dtype=dtype, float_name=float_name)
            check_finite(moved[i], name=name, xp=xp)
    immutable = arrays_are_immutable(xp)  # JAX's arrays never change: nothing to copy
    return [moved[i] if immutable else xp.asarray(moved[i], copy=True) for i in range(len(arrays))]


# Host X up to this size is checked on the host before its move, as host targets are: a check on the device is a
# call and a read (~40–120 µs on JAX, a launch and a synchronisation on a GPU), one on the host ~1 µs per 10 kB; a
# larger X is checked where it lands, in one pass of the device over it.
HOST_CHECKED_BYTES = 1 << 20


def features(X: Any, *, n_features: int, xp: Any, device: Any, dtype: Any, float_name: str,
             name: str = "X") -> Any:
    """Check and convert a feature matrix X of shape (n_samples, n_features) to the network's dtype."""
    if array_backend(X) is None:
        X = _host_floats(X, float_name, name=name)
        if X.nbytes <= HOST_CHECKED_BYTES:
            _check_features(X, n_features=n_features, name=name, xp=_host_namespace)
            return _onto(X, xp=xp, device=device)
        X = _onto(X, xp=xp, device=device)
    else:
        X = to_network(X, name=name, xp=xp, device=device, dtype=dtype, float_name=float_name)
    _check_features(X, n_features=n_features, name=name, xp=xp)
    return X


def _check_features(X: Any, *, n_features: int, name: str, xp: Any) -> None:
    """Refuse an X that is not 2-D, has no rows, another number of columns than ``n_features``, or NaN or ±inf."""
    if X.ndim != 2:
        hint = f"; for one sample use {name}.reshape(1, -1), for one feature {name}.reshape(-1, 1)" \
            if X.ndim == 1 else ""
        raise ValueError(f"`{name}` must be 2-D (n_samples, n_features), got shape {tuple(X.shape)}{hint}")
    if X.shape[0] == 0:
        raise ValueError(f"`{name}` is empty (shape {tuple(X.shape)}); expected at least one sample")
    if X.shape[1] != n_features:
        raise ValueError(f"`{name}` has {X.shape[1]} columns but the network's input layer has {n_features} "
                         f"(layer_sizes[0])")
    check_finite(X, name=name, xp=xp)


class Description(Protocol):
    """What targets are checked against: the network's description (a ``bpxp.spec.Spec`` is one).

    Only these names are read; the backend floor never imports the description's module.
    """

    @property
    def layer_sizes(self) -> tuple[int, ...]: ...  # n_L, the last, is the number of outputs

    @property
    def task(self) -> str: ...  # 'multiclass' takes 1-D labels and one-hot encodes them

    @property
    def loss(self) -> str: ...  # the loss whose range the targets must lie in

    @property
    def dtype(self) -> str: ...  # 'float32' or 'float64', the namespace's dtype of that name


def targets(y: Any, *, n_rows: int, spec: Description, xp: Any, device: Any, name: str = "y",
            rows_of: str = "X") -> Any:
    """Check and convert targets to an (n_rows, n_outputs) float array in ``xp`` on ``device``.

    A 1-D ``y`` is one column when the network ``spec`` describes has one output, and class labels in
    [0, n_outputs) — one-hot encoded here — when it is a multi-class classifier. ``rows_of`` names the array
    whose rows ``y`` must match, for the error that says they differ. Host data is checked and encoded on the host
    and then moved, once: its checks read several figures (finiteness, range, the labels' extremes), each a device
    read on the device, while y has one or a few columns.
    """
    if array_backend(y) is None:
        host = _host_numbers(y, name=name)
        host = host.astype(np.int64) if host.dtype.kind == "b" else host
        Y = _checked_targets(host, n_rows=n_rows, spec=spec, xp=_host_namespace, name=name, rows_of=rows_of)
        return _onto(Y, xp=xp, device=device)
    y = to_network(y, name=name, xp=xp, device=device)
    return _checked_targets(y, n_rows=n_rows, spec=spec, xp=xp, name=name, rows_of=rows_of)


def _checked_targets(y: Any, *, n_rows: int, spec: Description, xp: Any, name: str, rows_of: str) -> Any:
    """:func:`targets` of y already in ``xp``, where y lies."""
    n_outputs, dtype = spec.layer_sizes[-1], getattr(xp, spec.dtype)
    if y.ndim == 0 or y.ndim > 2:
        raise ValueError(f"`{name}` must be 1-D or 2-D, got shape {tuple(y.shape)}")
    if y.shape[0] != n_rows:
        raise ValueError(f"`{name}` has {y.shape[0]} rows but `{rows_of}` has {n_rows}")
    check_finite(y, name=name, xp=xp)
    if y.ndim == 1 and n_outputs > 1:
        if spec.task != "multiclass":
            raise ValueError(f"`{name}` has shape {tuple(y.shape)} but the network has {n_outputs} outputs; "
                             f"pass `{name}` of shape ({n_rows}, {n_outputs})")
        return one_hot(y, n_outputs, xp=xp, dtype=dtype, name=name)
    Y = xp.reshape(y, (n_rows, 1)) if y.ndim == 1 else y
    if Y.shape[1] != n_outputs:
        raise ValueError(f"`{name}` has {Y.shape[1]} columns but the network has {n_outputs} outputs "
                         f"(layer_sizes[-1])")
    Y = _narrowed(Y, dtype, name=name, xp=xp) if Y.dtype != dtype else Y
    _check_range_of_loss(Y, loss=spec.loss, float_name=spec.dtype, name=name, xp=xp)
    return Y


def _check_range_of_loss(Y: Any, *, loss: str, float_name: str, name: str, xp: Any) -> None:
    """Refuse targets outside what ``loss`` reads: [0, 1] for the cross-entropies, ≥ 0 for Poisson, and for MSE
    values whose squares stay finite in ``float_name``."""
    if loss in ("binary_cross_entropy", "cross_entropy"):
        if not bool(xp.all((Y >= 0.0) & (Y <= 1.0))):
            raise ValueError(f"`{name}` must lie in [0, 1] for loss {loss!r} (probabilities or 0/1 labels), "
                             f"got values from {float(xp.min(Y))} to {float(xp.max(Y))}")
    elif loss == "poisson":
        if not bool(xp.all(Y >= 0.0)):
            raise ValueError(f"`{name}` must be non-negative for loss 'poisson' (counts or rates), got values down "
                             f"to {float(xp.min(Y))}")
    elif loss == "mse":
        # (ŷ − y)² overflows beyond √max: 1.8e19 in float32; better said here than as an inf loss after training
        largest, limit = float(xp.max(xp.abs(Y))), float(xp.finfo(Y.dtype).max) ** 0.5
        if largest >= limit:
            wider = " or use dtype='float64'" if float_name != "float64" else ""  # float64 is the widest there is
            raise ValueError(f"`{name}` holds values up to {largest:.3g}, too large for loss 'mse' in {float_name}: "
                             f"their squares overflow (|{name}| must stay below {limit:.2g}); rescale it{wider}")


def one_hot(labels: Any, n_classes: int, *, xp: Any, dtype: Any, name: str = "y") -> Any:
    """Integer class labels (n,) → one-hot rows (n, n_classes), after checking each label is in range."""
    if xp.isdtype(labels.dtype, "real floating") and not bool(xp.all(labels == xp.round(labels))):
        raise ValueError(f"`{name}` as class labels must be whole numbers, got non-integer values")
    low, high = float(xp.min(labels)), float(xp.max(labels))
    if low < 0 or high >= n_classes:
        raise ValueError(f"`{name}` holds class labels from {low:g} to {high:g}; expected labels in "
                         f"[0, {n_classes}) for a network with {n_classes} outputs")
    # Compared in the default integer dtype: an int8 or uint8 arange would wrap past 127 or 255 classes.
    integers = xp.__array_namespace_info__().default_dtypes(device=device_of(labels))["integral"]
    classes = xp.arange(n_classes, dtype=integers, device=device_of(labels))
    return xp.astype(xp.expand_dims(xp.astype(labels, integers), axis=1) == classes, dtype)


def layer_sizes_of(weights: Sequence[Any]) -> tuple[int, ...]:
    shapes = [shape_of(w, name=f"weights[{i}]") for i, w in enumerate(weights)]
    for i, shape in enumerate(shapes):
        if len(shape) != 2:
            raise ValueError(f"`weights[{i}]` must be 2-D (n_in, n_out), got shape {shape}")
    for i in range(1, len(shapes)):
        if shapes[i][0] != shapes[i - 1][1]:
            raise ValueError(f"`weights[{i}]` has {shapes[i][0]} rows but `weights[{i - 1}]` has "
                             f"{shapes[i - 1][1]} columns; consecutive layers must chain (n_in = previous n_out)")
    return (shapes[0][0], *(s[1] for s in shapes))


def infer_placement(weights: Sequence[Any], biases: Sequence[Any] | None, backend: str | None, dtype: str | None,
                    device: Any):
    """Backend, dtype and device of ``from_weights`` from its arrays (a list of weights, and None or a list of as
    many biases) where the caller named none."""
    if isinstance(weights, str) or not isinstance(weights, Sequence) or len(weights) == 0:
        raise TypeError(f"`weights` must be a non-empty list of 2-D arrays, got {type(weights).__name__}")
    if biases is not None and (isinstance(biases, str) or not isinstance(biases, Sequence)
                               or len(biases) != len(weights)):
        raise ValueError(f"`biases` must be None or a list of {len(weights)} arrays (one per layer), "
                         f"got {biases!r:.80}")
    arrays = [*weights, *(biases or ())]
    found = {array_backend(a) for a in arrays} - {None}
    if len(found) > 1:
        raise TypeError(f"`weights` and `biases` mix arrays of backends {sorted(found)}; convert them to one "
                        f"(bpxp.to_numpy works for all)")
    source = found.pop() if found else None
    backend = backend or source or "numpy"
    if dtype is None:
        first = arrays[0]
        kind = str(getattr(first, "dtype", ""))
        dtype = "float32" if kind.endswith("float32") else "float64"
    if device is None and source == backend:
        device = device_of(arrays[0])
    return backend, dtype, device


class Placement(NamedTuple):
    """Where a network lives: its backend's name and namespace, its dtype (the namespace's object) and device."""

    backend: str
    xp: Any
    dtype: Any
    device: Any

    @property
    def dtype_name(self) -> str:
        return next(name for name in DTYPE_NAMES if getattr(self.xp, name) == self.dtype)


def placement(backend: Any, dtype: Any, device: Any) -> Placement:
    """A new network's placement from the names it was given: the backend known and usable here (:func:`placed`)."""
    check_usable(check_backend_name(backend), device)
    return placed(backend, dtype, device)


def placed(backend: str, dtype: Any, device: Any) -> Placement:
    """The placement a network's names say (a known backend: an unpickled network's): dtype and device resolved in
    the backend's namespace."""
    xp = namespace(backend)
    place = Placement(backend, xp, resolve_dtype(xp, dtype), resolve_device(xp, device))
    if backend == "mlx" and place.dtype_name == "float64" and on_mlx.on_gpu(place.device):
        raise ValueError("`dtype` 'float64' on backend 'mlx' needs device 'cpu': MLX's GPU computes in float32 "
                         "at most")
    return place


def parameters(weights: Sequence[Any], biases: Sequence[Any] | None, *, layer_sizes: tuple[int, ...], xp: Any,
               device: Any, dtype: Any, float_name: str) -> tuple[list[Any], list[Any] | None, Any]:
    """``(weights, biases, device)``: copies of the arrays (never sharing the caller's memory), checked — finite,
    the shapes ``layer_sizes`` asks for — on the network's namespace, dtype and device; the device is the first
    weight's when ``device`` is None. Host arrays are moved all at once (:func:`_copies`)."""
    n_biases = 0 if biases is None else len(biases)
    names = [f"weights[{i}]" for i in range(len(weights))] + [f"biases[{i}]" for i in range(n_biases)]
    copies = _copies([*weights, *(biases or ())], names, xp=xp, device=device, dtype=dtype, float_name=float_name)
    expected = [layer_sizes[i:i + 2] for i in range(len(weights))] + [(layer_sizes[i + 1],) for i in range(n_biases)]
    for name, array, shape in zip(names, copies, expected):
        if tuple(array.shape) != shape:
            raise ValueError(f"`{name}` has shape {tuple(array.shape)}, expected {shape}"
                             + (" (n_in, n_out)" if name.startswith("weights") else ""))
    W = copies[:len(weights)]
    return W, None if biases is None else copies[len(weights):], device_of(W[0]) if device is None else device
