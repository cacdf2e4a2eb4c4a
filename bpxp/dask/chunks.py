"""Dask arrays as training data: the checks of their layout, and the work done on one chunk.

One step of synchronous data-parallel gradient descent on a batch of rows B, split into chunks c:

    g = (1/|B|) · Σ_c Σ_{i∈c} ∂ℓᵢ/∂θ        θ ← θ − η·d(g)

Each chunk's sums come from :func:`bpxp.backprop.gradient_sums` — the same forward pass, δ and products as in
memory — run where the chunk is, in the chunk's own namespace and device (NumPy, CuPy, array-api-strict): the
parameters arrive as host arrays and are moved there. A chunk is prepared (checked, cast, targets encoded) by
:func:`prepared_chunk`, the checks in-memory training runs once per fit. The driver is
``bpxp.dask.training``; where the chunks are kept between steps, ``bpxp.dask.store``.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import array_api_compat
import numpy as np

from ..backend import inputs as _inputs
from ..backend import namespaces as _backend
from ..math import metrics
from ..math.backprop import dataset_loss, forward_pass, gradient_sums
from ..spec import Spec


def is_dask(x: Any) -> bool:
    """Whether ``x`` is a Dask array (without importing Dask)."""
    return array_api_compat.is_dask_array(x)


def _on_chunk(X, weights, biases):
    """The chunk's namespace and device, and the (host) parameters moved there."""
    xp = _backend.array_namespace(X)
    device = _backend.device_of(X)
    move = lambda arrays: None if arrays is None else [xp.asarray(a, device=device) for a in arrays]  # noqa: E731
    return xp, move(weights), move(biases)


def prepared_chunk(X_block, y_block, spec: Spec):
    """One chunk of rows checked and cast, its targets checked and encoded (one-hot labels): ``(X, Y)``.

    These are the checks of ``bpxp.backend.inputs`` that in-memory training runs once per fit; kept chunks (mini-batch
    training) are prepared once per fit, chunks recomputed from their graph (full batch) each time they are read.
    """
    xp = _backend.array_namespace(X_block)
    device = _backend.device_of(X_block)
    dtype = getattr(xp, spec.dtype)
    X = _inputs.features(X_block, n_features=spec.layer_sizes[0], xp=xp, device=device, dtype=dtype,
                         float_name=spec.dtype)
    Y = None if y_block is None else _block_targets(y_block, spec, n_rows=X.shape[0])
    return X, Y


def piece_sums(X, Y, rows, weights, biases, spec: Spec) -> np.ndarray:
    """Gradient sums of some rows of a prepared chunk, as one host vector: Σ∂ℓ/∂W…, Σ∂ℓ/∂b…, Σℓ, rows.

    ``rows`` is None (the whole chunk), a ``(start, stop)`` pair or a sorted host array of row indices.
    """
    if rows is not None:
        X, Y = _rows(X, rows), _rows(Y, rows)
    if X.shape[0] == 0:
        return np.zeros(parameter_count(spec) + 2, dtype=spec.dtype)
    xp, W, b = _on_chunk(X, weights, biases)
    with _backend.floating_point_warnings_silenced():  # divergence is checked on the client, once per epoch
        dW, db, total = gradient_sums(X, Y, W, b, spec.activations, spec.loss_function, xp=xp)
    parts = [_backend.to_numpy(a).ravel() for a in (*dW, *(db or ()), total)]
    return np.concatenate([*parts, np.asarray([X.shape[0]], dtype=spec.dtype)])


def piece_loss(X, Y, weights, biases, spec: Spec) -> np.ndarray:
    """(Σℓ, rows) of a prepared chunk: the validation loss L = Σℓ / n adds up chunk by chunk."""
    if X.shape[0] == 0:
        return np.zeros(2)
    xp, W, b = _on_chunk(X, weights, biases)
    with _backend.floating_point_warnings_silenced():
        value = dataset_loss(X, Y, W, b, spec.activations, spec.loss_function, xp=xp)
    return np.asarray([float(value) * X.shape[0], X.shape[0]])


def piece_score(X, Y, weights, biases, spec: Spec) -> np.ndarray:
    """What the validation score adds up chunk by chunk (:func:`score_of`), as one float64 host vector: for a
    classifier (Σ[ŷ = y], rows); for a regressor, per output, Σ(y − ŷ)², the chunk's mean ȳ_c, Σ(y − ȳ_c)², the
    largest and the smallest y, then the rows."""
    m = X.shape[0]
    regression = spec.task == "regression"
    if m == 0:
        k = spec.layer_sizes[-1]
        return np.concatenate([np.zeros(3 * k), np.full(k, -np.inf), np.full(k, np.inf), [0.0]]) if regression \
            else np.zeros(2)
    xp, W, b = _on_chunk(X, weights, biases)
    with _backend.floating_point_warnings_silenced():
        P = forward_pass(X, W, b, spec.activations, xp=xp)[0][-1]
        if not regression:
            parts = (xp.sum(metrics.classified_right(Y, P, task=spec.task, xp=xp)),)
        else:
            mean = xp.mean(Y, axis=0)
            parts = (xp.sum((Y - P) ** 2, axis=0), mean, xp.sum((Y - mean) ** 2, axis=0), xp.max(Y, axis=0),
                     xp.min(Y, axis=0))
    return np.concatenate([*(np.asarray(_backend.to_numpy(a), dtype=np.float64).ravel() for a in parts), [m]])


def score_of(vectors: list[np.ndarray], spec: Spec) -> float:
    """Accuracy, or R² for a regressor (``bpxp.math.metrics``), from the chunks' :func:`piece_score` vectors.

    The chunks' spreads add up as in Chan, Golub and LeVeque's pairwise variance, without a second pass:

        Σ(y − ȳ)² = Σ_c [Σ(y − ȳ_c)² + n_c·(ȳ_c − ȳ)²],    ȳ = Σ_c n_c·ȳ_c / n
    """
    V = np.stack(vectors)
    rows = V[:, -1:]
    if spec.task != "regression":
        return float(V[:, 0].sum() / rows.sum())
    residual, means, spreads, largest, smallest = np.split(V[:, :-1], 5, axis=1)
    mean = (rows * means).sum(axis=0) / rows.sum()
    total = spreads.sum(axis=0) + (rows * (means - mean) ** 2).sum(axis=0)
    xp = _backend.array_namespace(total)
    return float(metrics.r2_of_sums(residual.sum(axis=0), total, largest.max(axis=0) > smallest.min(axis=0), xp=xp))


def _rows(M, rows):
    if isinstance(rows, tuple):
        return M[rows[0]:rows[1], ...]
    xp = _backend.array_namespace(M)
    return xp.take(M, xp.asarray(rows, device=_backend.device_of(M)), axis=0)


def _block_sums(X_block, y_block, weights_and_biases, spec: Spec) -> np.ndarray:
    """One chunk of the lazy graph (full batch): prepared, then its gradient sums (P + 2 values)."""
    X, Y = prepared_chunk(X_block, y_block, spec)
    return piece_sums(X, Y, None, *weights_and_biases, spec)


def _block_outputs(X_block, weights, biases, spec: Spec):
    """Ŷ of one chunk, in the chunk's namespace."""
    X, _ = prepared_chunk(X_block, None, spec)
    xp, W, b = _on_chunk(X, weights, biases)
    A, _ = forward_pass(X, W, b, spec.activations, xp=xp)
    return A[-1]


def _block_targets(y_block, spec: Spec, n_rows: int | None = None):
    """One chunk of targets checked and encoded (one-hot labels) as the network's outputs are."""
    xp = _backend.array_namespace(y_block)
    return _inputs.targets(y_block, n_rows=y_block.shape[0] if n_rows is None else n_rows, spec=spec, xp=xp,
                           device=_backend.device_of(y_block))


# -- the client side ---------------------------------------------------------------------------------------------

def current_client():
    """The dask.distributed Client in use, or None (Dask's default scheduler)."""
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        return None


def check_data(X: Any, y: Any, net, *, name: str = "X"):
    """X as rows in chunks with all columns in one chunk; y (Dask or host) aligned with X's row chunks."""
    import dask.array as da

    if X.ndim != 2:
        raise ValueError(f"`{name}` must be 2-D (n_samples, n_features), got a Dask array of shape {X.shape}")
    if X.shape[1] != net.layer_sizes[0]:
        raise ValueError(f"`{name}` has {X.shape[1]} columns but the network's input layer has "
                         f"{net.layer_sizes[0]} (layer_sizes[0])")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})  # a row needs all its features: one chunk across the columns
    if y is None:
        return X, None
    if not is_dask(y):
        host = np.asarray(y)
        if any(math.isnan(c) for c in X.chunks[0]):
            raise ValueError(f"`y` is in memory but `{name}` has unknown chunk sizes; pass y as a Dask array "
                             f"chunked like {name}, or call {name}.compute_chunk_sizes() first")
        y = da.from_array(host, chunks=(X.chunks[0], *((s,) for s in host.shape[1:])))
    if y.ndim not in (1, 2):
        raise ValueError(f"`y` must be 1-D or 2-D, got a Dask array of shape {y.shape}")
    if y.ndim == 2 and len(y.chunks[1]) > 1:
        y = y.rechunk({1: -1})
    if y.chunks[0] != X.chunks[0]:
        if any(math.isnan(c) for c in (*X.chunks[0], *y.chunks[0])):
            if y.numblocks[0] != X.numblocks[0]:
                raise ValueError(f"`y` has {y.numblocks[0]} row chunks but `{name}` has {X.numblocks[0]}, with "
                                 "unknown sizes; chunk them alike (dataframe.to_dask_array(lengths=True))")
        elif y.shape[0] != X.shape[0]:
            raise ValueError(f"`y` has {y.shape[0]} rows but `{name}` has {X.shape[0]}")
        else:
            y = y.rechunk({0: X.chunks[0]})
    return X, y


def full_batch_sums(X, y, weights, biases, spec: Spec, client) -> np.ndarray:
    """Σ over the chunks of X of their gradient sums, added up in a fixed binary tree on the workers.

    The parameters are one literal in the graph (a key of their own, sent once to each worker that needs it):
    a worker lost mid-step takes nothing with it that the scheduler cannot recompute. Chunks are handed to the
    tasks whole, never concatenated by Dask, so they may be arrays Dask itself cannot concatenate.
    """
    import dask

    parameters = dask.delayed((list(weights), list(biases)), pure=True, traverse=False)
    block = dask.delayed(_block_sums, pure=True)
    add = dask.delayed(np.add, pure=True)
    sums = [block(x, t, parameters, spec) for x, t in row_chunks(X, y)]
    while len(sums) > 1:
        sums = [add(a, b) for a, b in zip(sums[0::2], sums[1::2])] + sums[len(sums) - len(sums) % 2:]
    return sums[0].compute() if client is None else client.compute(sums[0]).result()


def row_chunks(X, y) -> list:
    """(X chunk, y chunk) pairs as Delayed objects, in row order, on one unoptimised graph.

    Unoptimised, so that a chunk of X that y is computed from (``y = X[:, 0] > 0``) stays one task that both
    read, instead of being fused into each and computed twice.
    """
    return list(zip(X.to_delayed(optimize_graph=False).ravel(), y.to_delayed(optimize_graph=False).ravel(),
                    strict=True))


def spec_shapes(spec: Spec) -> list[tuple[int, ...]]:
    """Shapes of the parameters a Spec describes (weights, then biases)."""
    sizes = spec.layer_sizes
    return [*itertools.pairwise(sizes), *((b,) for b in sizes[1:])]


def parameter_count(spec: Spec) -> int:
    """P, the number of parameters a Spec describes."""
    return sum(math.prod(shape) for shape in spec_shapes(spec))


# -- predictions ----------------------------------------------------------------------------------------------

def outputs(net, X: Any):
    """Ŷ of a Dask array, lazily and chunk by chunk (each chunk in its own namespace)."""
    X, _ = check_data(X, None, net)
    weights = [_backend.to_numpy(w) for w in net.weights]
    biases = None if net.biases is None else [_backend.to_numpy(b) for b in net.biases]
    k = net.layer_sizes[-1]
    return X.map_blocks(_block_outputs, weights, biases, net.spec, chunks=(X.chunks[0], (k,)),
                        dtype=net.dtype_name, meta=np.empty((0, 0), dtype=net.dtype_name))


def targets(net, y: Any, X: Any):
    """Targets encoded as the network's outputs (one-hot labels), lazily, chunked like X."""
    X, y = check_data(X, y, net)
    k = net.layer_sizes[-1]
    drop = {} if y.ndim == 2 else {"new_axis": 1}
    return X, y.map_blocks(_block_targets, net.spec, chunks=(y.chunks[0], (k,)), dtype=net.dtype_name,
                           meta=np.empty((0, 0), dtype=net.dtype_name), **drop)


def score(net, X: Any, y: Any) -> float:
    """The network's score (``bpxp.math.metrics.score``) on Dask arrays, as a float: from its outputs
    (``net.forward``) and the targets encoded chunk by chunk, on Dask's namespace, computed (one graph) — a score
    is one number, wanted now, as in memory; ``predict`` and ``forward`` stay lazy."""
    X, Y = targets(net, y, X)
    return float(metrics.score(Y, net.forward(X), task=net.task, xp=_backend.array_namespace(X)).compute())
