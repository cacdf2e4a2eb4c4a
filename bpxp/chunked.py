"""Training on Dask arrays: bpxp's own forward and backward pass per chunk, on the workers of a cluster.

One step of synchronous data-parallel gradient descent on a batch of rows B, split into chunks c:

    g = (1/|B|) · Σ_c Σ_{i∈c} ∂ℓᵢ/∂θ        θ ← θ − η·d(g)

Each chunk's sums come from :func:`bpxp.network.gradient_sums` — the same forward pass, δ and products as in
memory — run on the worker that holds the chunk, in the chunk's own namespace (NumPy or CuPy). Dask
tree-reduces the per-chunk vectors (``sum(axis=0)``), so only one vector the size of the parameters reaches the
client; the optimizer (``bpxp.optimizers``, on NumPy) updates the parameters once, and with a
``dask.distributed`` Client they are scattered to every worker for the next step. Each step builds a fresh graph
on the data's own graph: nothing accumulates from step to step. The epoch's loss comes back as a by-product of
the steps and is checked once per epoch, as in memory.

The data stays where Dask keeps it: persisted on the workers (``X.persist()``) when it fits in their memory,
recomputed chunk by chunk from its lazy graph each epoch when it does not.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

from . import _backend, _host, _inputs, train
from .activations import get_activation
from .losses import get_loss
from .network import forward_pass, gradient_sums
from .optimizers import clip_by_global_norm

_NUMPY = array_api_compat.array_namespace(np.empty(0))


def is_dask(x: Any) -> bool:
    """Whether ``x`` is a Dask array (without importing Dask)."""
    return array_api_compat.is_dask_array(x)


@dataclass(frozen=True)
class Spec:
    """What a worker needs to rebuild the network's math: picklable names, no arrays."""

    layer_sizes: tuple[int, ...]
    hidden: str
    output: str
    loss: str
    task: str
    dtype: str

    @classmethod
    def of(cls, net) -> Spec:
        return cls(net.layer_sizes, net.hidden, net.output, net.loss, net.task, net.dtype_name)

    @property
    def activations(self):
        n_hidden = len(self.layer_sizes) - 2
        return tuple([get_activation(self.hidden, hidden=True)] * n_hidden + [get_activation(self.output)])


def _on_block(block: Any, weights, biases, spec: Spec):
    """The block's namespace and device, its rows cast to the network's dtype, and the parameters moved there."""
    xp = array_api_compat.array_namespace(block)
    device = array_api_compat.device(block)
    dtype = getattr(xp, spec.dtype)
    X = _inputs.features(block, n_features=spec.layer_sizes[0], xp=xp, device=device, dtype=dtype,
                         float_name=spec.dtype)
    move = lambda arrays: None if arrays is None else [xp.asarray(a, device=device) for a in arrays]  # noqa: E731
    return xp, device, dtype, X, move(weights), move(biases)


def _block_sums(X_block, y_block, weights, biases, spec: Spec) -> np.ndarray:
    """One chunk's gradient sums, flattened into a (1, P + 2) host row: Σ∂ℓ/∂W…, Σ∂ℓ/∂b…, Σℓ, rows."""
    size = sum(math.prod(shape) for shape in spec_shapes(spec))
    if X_block.shape[0] == 0:
        return np.zeros((1, size + 2), dtype=spec.dtype)
    xp, device, dtype, X, W, b = _on_block(X_block, weights, biases, spec)
    Y = _inputs.targets(y_block, n_rows=X.shape[0], n_outputs=spec.layer_sizes[-1], task=spec.task, loss=spec.loss,
                        xp=xp, device=device, dtype=dtype, float_name=spec.dtype)
    with _backend.floating_point_warnings_silenced():  # divergence is checked on the client, once per epoch
        dW, db, total = gradient_sums(X, Y, W, b, spec.activations, get_loss(spec.loss, output=spec.output), xp=xp)
    parts = [_backend.to_numpy(a).ravel() for a in (*dW, *(db or ()), total)]
    return np.concatenate([*parts, np.asarray([X.shape[0]], dtype=spec.dtype)])[None, :]


def _block_outputs(X_block, weights, biases, spec: Spec):
    """Ŷ of one chunk, in the chunk's namespace."""
    xp, _, _, X, W, b = _on_block(X_block, weights, biases, spec)
    A, _ = forward_pass(X, W, b, spec.activations, xp=xp)
    return A[-1]


def _block_targets(y_block, spec: Spec):
    """One chunk of targets checked and encoded (one-hot labels) as the network's outputs are."""
    xp = array_api_compat.array_namespace(y_block)
    return _inputs.targets(y_block, n_rows=y_block.shape[0], n_outputs=spec.layer_sizes[-1], task=spec.task,
                           loss=spec.loss, xp=xp, device=array_api_compat.device(y_block),
                           dtype=getattr(xp, spec.dtype), float_name=spec.dtype)


# -- the client side ---------------------------------------------------------------------------------------------

def _client():
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


def _sums(X, y, weights, biases, spec: Spec, client) -> np.ndarray:
    """Σ over the chunks of X of their gradient rows, tree-reduced by Dask; one vector back on the client."""
    import dask.array as da

    if client is not None:  # the parameters travel once per step, to every worker, not once per task
        weights, biases = client.scatter([list(weights), list(biases) if biases is not None else None],
                                         broadcast=True, hash=False)
    size = sum(math.prod(shape) for shape in spec_shapes(spec))
    y_index = "i" if y.ndim == 1 else "ik"
    rows = da.blockwise(_block_sums, "ip", X, "ij", y, y_index, weights, None, biases, None, spec, None,
                        new_axes={"p": size + 2}, adjust_chunks={"i": 1}, concatenate=True, dtype=spec.dtype,
                        meta=np.empty((0, 0), dtype=spec.dtype))
    total = rows.sum(axis=0)
    return total.compute() if client is None else client.compute(total).result()


def spec_shapes(spec: Spec) -> list[tuple[int, ...]]:
    """Shapes of the parameters a Spec describes (weights, then biases)."""
    sizes = spec.layer_sizes
    return [*itertools.pairwise(sizes), *((b,) for b in sizes[1:])]


def fit(net, X: Any, y: Any, *, epochs: int, learning_rate: float, batch_size: int | None, rule, shuffle: bool,
        random_state: Any, l2: float, clip_norm: float | None, optimizer_state: Any, callback: Any,
        on_divergence: str) -> train.History:
    """``net.fit`` on Dask arrays, with the options ``MLP.fit`` has checked: synchronous data-parallel steps."""
    from .model import _report

    if net.backend != "numpy":
        raise ValueError(f"training on Dask arrays needs a network with backend='numpy' (it holds the parameters on "
                         f"the client; the chunks may be NumPy or CuPy), got backend={net.backend!r}")
    if net.biases is None:
        raise ValueError("training on Dask arrays needs a network with biases (bias=True)")
    X, y = check_data(X, y, net)
    n = X.shape[0]
    if batch_size is not None and math.isnan(n):
        raise ValueError("`batch_size` needs the row count of each chunk, which this Dask array does not know; "
                         "call X.compute_chunk_sizes() (or dataframe.to_dask_array(lengths=True)) first")
    batches = [(0, None)] if batch_size is None or batch_size >= n else \
        [(a, min(a + batch_size, n)) for a in range(0, int(n), batch_size)]
    orders = _host.EpochOrders(int(n), random_state) if shuffle and len(batches) > 1 else None
    spec, client = Spec.of(net), _client()
    n_layers = net.n_layers
    weights = tuple(_backend.to_numpy(w) for w in net.weights)
    biases = tuple(_backend.to_numpy(b) for b in net.biases)
    state = optimizer_state if optimizer_state is not None else rule.init((*weights, *biases), xp=_NUMPY)
    history = train.History()
    kept = (weights, biases, state)
    for epoch in range(epochs):
        order = next(orders) if orders is not None else None
        epoch_loss, epoch_rows = 0.0, 0
        for a, b in batches:
            if b is None:
                X_batch, y_batch = X, y
            elif order is None:
                X_batch, y_batch = X[a:b], y[a:b]
            else:
                rows = np.sort(order[a:b])  # the batch's rows; their order within the batch does not matter
                X_batch, y_batch = X[rows], y[rows]
            vector = _sums(X_batch, y_batch, weights, biases, spec, client)
            with _backend.floating_point_warnings_silenced():
                grads, batch_loss, m = _unflatten(vector, spec, n_layers)
                if l2:
                    grads = [g + (l2 / m) * p for g, p in zip(grads[:n_layers], weights)] + list(grads[n_layers:])
                    batch_loss += 0.5 * l2 * sum(float(np.sum(W * W)) for W in weights)
                grads = tuple(grads)
                if clip_norm is not None:
                    grads = clip_by_global_norm(grads, clip_norm, xp=_NUMPY)
                params, state = rule.update((*weights, *biases), grads, state, learning_rate, xp=_NUMPY)
            weights, biases = tuple(params[:n_layers]), tuple(params[n_layers:])
            epoch_loss, epoch_rows = epoch_loss + batch_loss, epoch_rows + m
        value = epoch_loss / epoch_rows
        if not (math.isfinite(value) and all(np.isfinite(p).all() for p in (*weights, *biases))):
            history.diverged_at = epoch
            break
        history.loss.append(value)
        kept = (weights, biases, state)
        if callback is not None:
            callback(epoch, history)
    weights, biases, state = kept
    history.kept_epoch = history.epochs - 1 if history.epochs else None
    net.weights = [net.xp.asarray(w) for w in weights]
    net.biases = [net.xp.asarray(b) for b in biases]
    net.optimizer_, net.optimizer_state_ = rule, state
    _report(history, on_divergence=on_divergence, snapshot=True)
    return history


def _unflatten(vector: np.ndarray, spec: Spec, n_layers: int):
    """The reduced row back into gradients (divided by the rows), the summed loss and the row count."""
    m = float(vector[-1])
    grads, at = [], 0
    for shape in spec_shapes(spec):
        size = int(np.prod(shape))
        grads.append(vector[at:at + size].reshape(shape) / m)
        at += size
    return grads, float(vector[-2]), m


# -- predictions ----------------------------------------------------------------------------------------------

def outputs(net, X: Any):
    """Ŷ of a Dask array, lazily and chunk by chunk (each chunk in its own namespace)."""
    X, _ = check_data(X, None, net)
    weights = [_backend.to_numpy(w) for w in net.weights]
    biases = None if net.biases is None else [_backend.to_numpy(b) for b in net.biases]
    k = net.layer_sizes[-1]
    return X.map_blocks(_block_outputs, weights, biases, Spec.of(net), chunks=(X.chunks[0], (k,)),
                        dtype=net.dtype_name, meta=np.empty((0, 0), dtype=net.dtype_name))


def targets(net, y: Any, X: Any):
    """Targets encoded as the network's outputs (one-hot labels), lazily, chunked like X."""
    X, y = check_data(X, y, net)
    k = net.layer_sizes[-1]
    drop = {} if y.ndim == 2 else {"new_axis": 1}
    return X, y.map_blocks(_block_targets, Spec.of(net), chunks=(y.chunks[0], (k,)), dtype=net.dtype_name,
                           meta=np.empty((0, 0), dtype=net.dtype_name), **drop)
