"""Per-backend fast paths, each beside its portable twin (array-api-extra's delegation pattern).

A function here computes what its portable twin ``*_portable`` computes — the formula the math modules would
write, using only the Array API standard — but hands the work to a backend's own fused kernel, or to NumPy's
in-place (``out=``) forms, where that was measured to win (``benchmarks/elementwise.py``; figures below). On
every other backend it calls the twin. Tests hold each fast path equal to its twin on every backend
(``tests/test_fast.py``). Like every module of ``bpxp.backend`` (and only those), it knows array libraries by
name. On ndonnx (an ONNX graph being recorded, ``bpxp.onnx.export``) σ and the row maxima are single ONNX nodes
(``bpxp.backend.onnx_graph``; held equal to ``predict`` through onnxruntime in ``tests/test_onnx_export.py``).

``overwrite=True`` says the caller made the input array and needs it no more (scipy's ``overwrite_a``
convention): the result may then live in the input's memory. The math modules pass it only for arrays they
created themselves in the same function (``bpxp.backprop``), so nothing a user holds is ever changed; on JAX,
whose arrays never change, the flag changes nothing.

Measured here (2-core EPYC under load ~10, CPU time, float32, one thread, 256×256 arrays; the epoch figures from
``benchmarks/elementwise.py`` on the 784-256-128-10 sigmoid network, batch 256), and kept because they win:

- ``sigmoid``, NumPy, ``overwrite=True``: the tanh form's four passes written into Z, allocating nothing —
  60 µs on top of the layer's product against 89 µs for the twin. ``scipy.special.expit`` was slower there (263 µs;
  measured: 170 against 153 ms per epoch) and the textbook e⁻ᶻ form no faster (66 µs); on arrays of up to
  512 elements (the seeds' layers), where each call's overhead dominates, ``expit``'s single call wins (below);
- ``sigmoid``, PyTorch: ``torch.sigmoid`` (29 µs; the twin's four kernels 221 µs); JAX: ``jax.nn.sigmoid``
  (eager 111 against 225 µs; under ``jax.jit`` XLA fuses either form and they tie);
- ``sigmoid_backward``, NumPy, ``overwrite=True``: G ⊙ A ⊙ (1 − A) into G, one temporary instead of three;
  PyTorch: its fused ``sigmoid_backward`` kernel (13 against 34 µs).

Together they take a NumPy epoch of that network from 1.16–1.17× to 1.15× the time of its own matrix products
(1.10× against 1.14× for the portable twins on a quiet machine, 2026-11-30). Also here, each with its figures
beside it: ReLU and its backward in place, Σ M⊙N as one BLAS dot, Adam's moments packed, the row and column
sums as products with kept vectors of ones (NumPy) or plain sums (elsewhere), and the row maxima of narrow
matrices down a transposed copy and log(1 + eᶻ) in vectorised passes (NumPy).
"""

from __future__ import annotations

import weakref
from typing import Any

import array_api_compat


def sigmoid_portable(Z: Any, *, xp: Any) -> Any:
    """σ(z) = 1 / (1 + e⁻ᶻ), computed as ½·tanh(z/2) + ½: never overflows, no warning at |z| = 1000."""
    return 0.5 * xp.tanh(0.5 * Z) + 0.5


def sigmoid(Z: Any, *, xp: Any, overwrite: bool = False) -> Any:
    """σ(Z) elementwise; equal to :func:`sigmoid_portable` up to rounding.

    Parameters
    ----------
    Z : array
    xp : namespace of Z
    overwrite : bool
        Z may hold the result (the caller made it and needs it no more).
    """
    if array_api_compat.is_numpy_namespace(xp) and Z.size <= EXPIT_UP_TO and _expit() is not None:
        return _expit()(Z, out=Z if overwrite else None)  # one call where four calls' overhead dominates
    if array_api_compat.is_numpy_namespace(xp) and overwrite:
        import numpy as np

        # The same four passes as the twin, written into Z: no 256 kB temporaries to allocate and fault in.
        np.multiply(Z, 0.5, out=Z)
        np.tanh(Z, out=Z)
        np.multiply(Z, 0.5, out=Z)
        np.add(Z, 0.5, out=Z)
        return Z
    if array_api_compat.is_torch_namespace(xp):
        return Z.sigmoid_() if overwrite else Z.sigmoid()  # one fused kernel instead of four
    if array_api_compat.is_jax_namespace(xp):
        import jax

        return jax.nn.sigmoid(Z)
    if array_api_compat.is_ndonnx_namespace(xp):  # an ONNX graph being recorded: one Sigmoid node, not four
        from . import onnx_graph

        return onnx_graph.sigmoid(Z)
    return sigmoid_portable(Z, xp=xp)


# ``scipy.special.expit`` is one ufunc call but slow per element (3.4 ns in float32, against the four in-place passes'
# 0.5 ns): measured here, it wins up to ~500 elements — a (360, 1) output 1.4 against 2.8 µs, a (16, 8) hidden layer
# 1.2 against 4.1 µs — and loses beyond (a (150, 8) layer 4.2 against 3.4 µs, a (256, 256) one 219 against 31 µs).
EXPIT_UP_TO = 512
_EXPIT: list = []  # [scipy.special.expit or None], filled on first use (SciPy is optional)


def _expit() -> Any:
    if not _EXPIT:
        try:
            from scipy.special import expit
        except ImportError:  # pragma: no cover - SciPy comes with the test and sklearn extras
            expit = None
        _EXPIT.append(expit)
    return _EXPIT[0]


def sigmoid_backward_portable(G: Any, A: Any, *, xp: Any) -> Any:
    """G ⊙ σ′ with σ′ = A·(1 − A) computed from the output A = σ(Z)."""
    return G * (A * (1.0 - A))


def sigmoid_backward(G: Any, A: Any, *, xp: Any, overwrite: bool = False) -> Any:
    """G ⊙ A ⊙ (1 − A); equal to :func:`sigmoid_backward_portable` up to rounding.

    ``overwrite=True``: G may hold the result (A is never changed).
    """
    if array_api_compat.is_numpy_namespace(xp) and overwrite:
        import numpy as np

        np.multiply(G, A, out=G)
        np.multiply(G, np.subtract(1.0, A, dtype=A.dtype), out=G)
        return G
    if array_api_compat.is_torch_namespace(xp):
        import torch

        return torch.ops.aten.sigmoid_backward(G, A)  # G·(1 − A)·A in one kernel (what autograd runs)
    return sigmoid_backward_portable(G, A, xp=xp)


def softplus_portable(Z: Any, *, xp: Any) -> Any:
    """log(1 + eᶻ) elementwise, as ``logaddexp(0, z)``: no overflow (1000 at z = 1000)."""
    return xp.logaddexp(0.0, Z)


def softplus(Z: Any, *, xp: Any) -> Any:
    """log(1 + eᶻ); equal to :func:`softplus_portable` up to rounding (the binary cross-entropy's core).

    NumPy: max(z, 0) + log1p(e^−|z|) — the formula NumPy's ``logaddexp`` evaluates element by element, here as
    vectorised passes into one new array: a (360, 1) batch 2.7 against 4.1 µs, (256, 10) 6.0 against 24.5 µs,
    (10000, 1) 17 against 95 µs (float32, one thread). Other dtypes and 0-d arrays: the twin.
    """
    if array_api_compat.is_numpy_namespace(xp) and Z.ndim > 0 and Z.dtype.kind == "f" and Z.dtype.itemsize >= 4:
        import numpy as np

        out = np.abs(Z)
        np.negative(out, out=out)
        np.exp(out, out=out)
        np.log1p(out, out=out)
        out += np.maximum(Z, 0.0)
        return out
    return softplus_portable(Z, xp=xp)


def relu_portable(Z: Any, *, xp: Any) -> Any:
    """max(z, 0) elementwise."""
    return xp.maximum(Z, 0.0)


def relu(Z: Any, *, xp: Any, overwrite: bool = False) -> Any:
    """max(Z, 0); equal to :func:`relu_portable`. NumPy, ``overwrite=True``: written into Z (no new array)."""
    if array_api_compat.is_numpy_namespace(xp) and overwrite:
        import numpy as np

        return np.maximum(Z, 0.0, out=Z)
    return relu_portable(Z, xp=xp)


def relu_backward_portable(G: Any, A: Any, *, xp: Any) -> Any:
    """G ⊙ [A > 0]: the 0/1 mask as G's dtype (a product runs ~10× faster than ``where`` on NumPy)."""
    return G * xp.astype(A > 0, G.dtype)


def relu_backward(G: Any, A: Any, *, xp: Any, overwrite: bool = False) -> Any:
    """G ⊙ [A > 0]; equal to :func:`relu_backward_portable`.

    NumPy, ``overwrite=True``: G times the boolean mask, into G — two passes and one temporary (the mask)
    instead of three passes and two (a (200, 100) float32 batch: measured 5.1 against 8.6 µs).
    """
    if array_api_compat.is_numpy_namespace(xp) and overwrite:
        import numpy as np

        return np.multiply(G, np.greater(A, 0.0), out=G)
    return relu_backward_portable(G, A, xp=xp)


def inner_portable(M: Any, N: Any, *, xp: Any) -> Any:
    """Σ M ⊙ N over all elements (the Frobenius inner product), a 0-d array."""
    return xp.sum(M * N)


def inner(M: Any, N: Any, *, xp: Any) -> Any:
    """Σ M ⊙ N as a 0-d array; equal to :func:`inner_portable` up to the order of additions.

    NumPy: one BLAS dot product (``vdot``) instead of a product and a sum — measured 1.0 against 4.5 µs for a
    (64, 100) float32 matrix (Σ W², the L2 penalty's loss term, every step) and 0.8 against 3.5 µs for a
    (200, 10) one (the losses' sums). The NumPy scalar ``vdot`` gives, as the twin's ``xp.sum`` gives one: the
    step's arithmetic on its loss then runs on scalars (0.1 µs an operation, 0-d arrays 0.5 µs).
    """
    if array_api_compat.is_numpy_namespace(xp):
        import numpy as np

        return np.vdot(M, N)
    return inner_portable(M, N, xp=xp)


# -- Adam's moments and step over all parameters at once (``bpxp.math.optimizers.Adam``) ---------------------------
# An Adam step is a dozen elementwise operations per parameter array, each NumPy call's overhead more than its work
# on a small network (digits' 64-100-10: arrays of 6400, 100, 1000 and 10 elements). So on NumPy each parameter's m
# (and v) is a view into one flat buffer, made on the first step, and every operation runs once over all parameters
# and the gradients concatenated (17 calls a step instead of 44), in the moments the step owns (``overwrite``). On
# that network (batch 200, float64, one thread): penalty, Adam and subtraction 43 against 55 µs a step.
_PACKED: dict[int, tuple] = {}  # id(flat buffer) → (weak reference to it, weak references to its views)


def _packed_buffer(arrays: tuple) -> Any:
    """The flat buffer whose packed views (:func:`_views`) ``arrays`` are, in order, or None (NumPy)."""
    base = arrays[0].base if arrays else None
    entry = None if base is None else _PACKED.get(id(base))
    if entry is None or entry[0]() is not base or len(entry[1]) != len(arrays):
        return None
    for view, a in zip(entry[1], arrays):  # a loop, not all(…): this runs four times a step
        if view() is not a:
            return None
    return base


def _views(flat: Any, like: tuple, *, packed: bool = False) -> tuple:
    """Views of the flat NumPy array ``flat``, one per array of ``like``, shaped as it, in order; ``packed``:
    remembered as the packing of ``flat`` while it lives (its weak reference's callback forgets it with it)."""
    views, start = [], 0
    for a in like:
        views.append(flat[start:start + a.size].reshape(a.shape))
        start += a.size
    if packed:
        key = id(flat)
        _PACKED[key] = (weakref.ref(flat, lambda _, key=key: _PACKED.pop(key, None)),
                        tuple(weakref.ref(v) for v in views))
    return tuple(views)


def adam_moments_portable(first: tuple, second: tuple, grads: tuple, beta1: float, beta2: float, *,
                          xp: Any) -> tuple[tuple, tuple]:
    """(m, v) of each parameter advanced by its gradient g: m ← β₁·m + (1 − β₁)·g, v ← β₂·v + (1 − β₂)·g²."""
    return (tuple(beta1 * m + (1.0 - beta1) * g for m, g in zip(first, grads)),
            tuple(beta2 * v + (1.0 - beta2) * (g * g) for v, g in zip(second, grads)))


def adam_moments(first: tuple, second: tuple, grads: tuple, beta1: float, beta2: float, *, xp: Any,
                 overwrite: bool = False) -> tuple[tuple, tuple]:
    """(m, v) advanced; equal to :func:`adam_moments_portable` (the same operations on each element).

    NumPy: over all parameters at once, into new packed moments, or into the packed moments given where the caller
    owns them and needs the old ones no more (``overwrite=True``). The gradients are never changed."""
    if not array_api_compat.is_numpy_namespace(xp) or not grads:
        return adam_moments_portable(first, second, grads, beta1, beta2, xp=xp)
    import numpy as np

    g = np.concatenate([a.reshape(-1) for a in grads])
    m, v = (_packed_buffer(first), _packed_buffer(second)) if overwrite else (None, None)
    fresh = m is None or v is None
    if fresh:
        m, v = np.concatenate([a.reshape(-1) for a in first]), np.concatenate([a.reshape(-1) for a in second])
    square = g * g
    v *= beta2
    square *= 1.0 - beta2
    v += square
    m *= beta1
    g *= 1.0 - beta1
    m += g
    return (_views(m, first, packed=True), _views(v, second, packed=True)) if fresh else (first, second)


def adam_directions_portable(first: tuple, second: tuple, factor: Any, eps: Any, *, xp: Any) -> tuple:
    """c·m / (√v + ε) for each parameter's moments m, v (c and ε 0-d arrays or numbers)."""
    return tuple(factor * (m / (xp.sqrt(v) + eps)) for m, v in zip(first, second))


def adam_directions(first: tuple, second: tuple, factor: Any, eps: Any, *, xp: Any) -> tuple:
    """c·m / (√v + ε) for each parameter; equal to :func:`adam_directions_portable` up to rounding.

    NumPy: each in one new array, not four; for packed moments (:func:`adam_moments`) all at once, as views of one.
    """
    if not array_api_compat.is_numpy_namespace(xp):
        return adam_directions_portable(first, second, factor, eps, xp=xp)
    m, v = _packed_buffer(first), _packed_buffer(second)
    if m is not None and v is not None and m.size == v.size:
        return _views(_numpy_adam_direction(m, v, factor, eps), first)
    return tuple(_numpy_adam_direction(m, v, factor, eps) for m, v in zip(first, second))


def _numpy_adam_direction(first: Any, second: Any, factor: Any, eps: Any) -> Any:
    import numpy as np

    step = np.sqrt(second)
    step += eps
    np.divide(first, step, out=step)
    step *= factor
    return step


# -- row and column sums -----------------------------------------------------------------------------------------
# The bias gradients Σᵢ Gᵢⱼ and the softmax's row sums. ``xp.sum(M, axis=…)`` is the plain way to write them and
# what every backend but NumPy runs: XLA fuses the sum into its neighbours, and CuPy's and torch's reductions are
# single kernels. On NumPy an axis reduction of a small or medium matrix pays a per-row overhead that BLAS does
# not: measured here (2-core EPYC, OpenBLAS, float32, one thread, quiet machine), column sums of a (360, 2) matrix
# take 6.4 µs with ``sum(axis=0)`` and 1.5 µs as ``1ᵀ·M``; of a (150, 8) one 3.4 against 1.1 µs; row sums of a
# (1024, 1024) one 219 against 38 µs as ``M·1``. Making a vector of ones costs 1.6 µs, several per step on the
# seeds' networks. So they are kept, read-only, one per dtype and length (the batch sizes of a fit, the output
# widths): looking one up costs 0.3 µs.
_ONES: dict[tuple, Any] = {}  # (dtype, length) → a read-only (1, length) NumPy row of ones
_ONES_KEPT = 64  # lengths kept at most (a few per fit in practice)


def _numpy_ones(dtype: Any, length: int) -> Any:
    """The kept read-only (1, ``length``) row of ones of ``dtype`` (NumPy)."""
    try:
        return _ONES[dtype, length]
    except KeyError:
        import numpy as np

        if len(_ONES) >= _ONES_KEPT:
            _ONES.clear()
        ones = np.ones(length, dtype=dtype)
        ones.flags.writeable = False
        row = _ONES[dtype, length] = ones[None, :]  # its base is the vector (column_sums)
        return row


def column_sums_portable(M: Any, *, xp: Any) -> Any:
    """Σᵢ Mᵢⱼ for each column j of M (m, n): shape (n,)."""
    return xp.sum(M, axis=0)


def column_sums(M: Any, *, xp: Any) -> Any:
    """Σᵢ Mᵢⱼ, shape (n,); equal to :func:`column_sums_portable` up to the order of additions.

    NumPy: ``1ᵀ·M`` (one BLAS call, a vector's: ``numpy.dot`` of the kept ones, 1.0 against 1.9 µs for a (200, 10)
    matrix through ``matmul`` and a (1, m) row).

    Examples
    --------
    >>> import array_api_compat.numpy as xp
    >>> column_sums(xp.asarray([[1.0, 2.0], [3.0, 4.0]]), xp=xp)
    array([4., 6.])
    """
    if array_api_compat.is_numpy_namespace(xp):
        import numpy as np

        return np.dot(_numpy_ones(M.dtype, M.shape[0]).base, M)
    return column_sums_portable(M, xp=xp)


def row_sums_portable(M: Any, *, xp: Any) -> Any:
    """Σⱼ Mᵢⱼ for each row i of M (m, n): shape (m, 1), kept 2-D for broadcasting."""
    return xp.sum(M, axis=1, keepdims=True)


def row_sums(M: Any, *, xp: Any) -> Any:
    """Σⱼ Mᵢⱼ, shape (m, 1); equal to :func:`row_sums_portable` up to the order of additions.

    NumPy: ``M·1`` (one BLAS call).
    """
    if array_api_compat.is_numpy_namespace(xp):
        return M @ _numpy_ones(M.dtype, M.shape[1]).T
    return row_sums_portable(M, xp=xp)


def row_max_portable(M: Any, *, xp: Any) -> Any:
    """maxⱼ Mᵢⱼ for each row i of M (m, n): shape (m, 1), kept 2-D for broadcasting."""
    return xp.max(M, axis=1, keepdims=True)


# NumPy reduces along a matrix's short rows one row at a time: the softmax's row maxima of a (150, 3) batch take
# 6.4 µs, of a (256, 10) one 12.2 µs. Copied into a (n, m) array first, the same maxima are one vectorised pass
# down its columns: 1.7 and 2.8 µs (1024 × 10: 6.5 against 46 µs). The copy costs a pass of its own, so it loses
# from ~64 columns on ((256, 128): 27.5 against 18.1 µs) and on a handful of rows; measured here, 2-core EPYC,
# float32, one thread.
ROW_MAX_TRANSPOSED = (16, 32)  # at least this many rows, at most this many columns


def row_max(M: Any, *, xp: Any) -> Any:
    """maxⱼ Mᵢⱼ, shape (m, 1); equal to :func:`row_max_portable` (a maximum is exact in any order; only a row whose
    maximum is zero may get −0 for +0, which no caller can tell apart after the shift and e^S).

    NumPy, a floating matrix of ≥ 16 rows and ≤ 32 columns (the output layers of classifiers): the maxima down the
    columns of its transposed copy. Anything else: the twin.

    Examples
    --------
    >>> import array_api_compat.numpy as xp
    >>> row_max(xp.asarray([[1.0, 5.0], [7.0, 2.0]]), xp=xp)
    array([[5.],
           [7.]])
    """
    if array_api_compat.is_numpy_namespace(xp) and M.ndim == 2 and M.shape[0] >= ROW_MAX_TRANSPOSED[0] \
            and M.shape[1] <= ROW_MAX_TRANSPOSED[1]:
        import numpy as np

        return np.maximum.reduce(np.ascontiguousarray(M.T), axis=0)[:, None]
    if array_api_compat.is_ndonnx_namespace(xp):  # one ReduceMax node, without ndonnx's guards (onnx_graph)
        from . import onnx_graph

        return onnx_graph.row_max(M)
    return row_max_portable(M, xp=xp)
