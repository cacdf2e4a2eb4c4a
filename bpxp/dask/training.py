"""``MLP.fit`` on Dask arrays: epochs of synchronous data-parallel steps, validation, early stopping, checkpoints.

One step on a batch of rows B, split into chunks c (``bpxp.dask.chunks``):

    g = (1/|B|) · Σ_c Σ_{i∈c} ∂ℓᵢ/∂θ        θ ← θ − η·d(g)

The per-chunk sums are computed where the chunks are, in the chunks' own namespace and device (NumPy, CuPy on
GPU workers, array-api-strict); the client adds them in chunk order and the update step the in-memory loop runs
(``bpxp.math.optimizers.apply_update``: L2, clipping, optimizer) updates the parameters in the network's own namespace
and device: they stay on the client, and travel to the chunks as host arrays. A full-batch epoch is one Dask graph
over the data's own graph (tree-reduced on the workers), so data larger than the cluster's memory is
read chunk by chunk each epoch; mini-batch epochs keep the prepared chunks for the whole fit
(``bpxp.dask.store``) and send each step straight to the workers that hold its rows.

The epochs run in the one training loop (``bpxp.training.loop``) with :class:`DaskEpochs` as its driver
(:func:`train`, which ``MLP.fit`` on Dask arrays and the scikit-learn estimators on Dask arrays both call, each
with its own monitor): the loss and the parameters are checked once per epoch, the validation loss (and, where a
rule watches it, the score) is read after the epoch's updates, adding up chunk by chunk, the monitor keeps the
best epoch under early stopping, and a checkpoint holds the same ``Outcome`` in the same file format, so
``fit(resume=...)`` continues a Dask fit exactly as an in-memory one.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..backend import epochs
from ..backend import namespaces as _backend
from ..math.losses import l2_penalty
from ..math.optimizers import UpdateOptions, apply_update
from ..spec import Spec
from ..training import session
from ..training.config import TrainingConfig
from ..training.history import History, Outcome
from ..training.loop import Plan, Validation
from ..training.progress import shown
from ..training.recovery import report
from . import chunks as dask_chunks
from .store import open_chunks


def fit(net, X: Any, y: Any, config: TrainingConfig, *, start: session.Start, callback: Any, verbose: bool = False,
        validation_data: Any = None) -> History:
    """``net.fit`` on Dask arrays, with the options ``MLP.fit`` has checked (``config``), from ``start`` (the
    parameters or a checkpoint); ``verbose``: a progress bar, once the inputs are checked."""
    if net.biases is None:
        raise ValueError("training on Dask arrays needs a network with biases (bias=True)")
    if config.record:
        raise ValueError(f"`record` {config.record!r} is not available on Dask arrays (their steps run per chunk "
                         f"on the workers); record it on an in-memory sample")
    X, y = dask_chunks.check_data(X, y, net)
    n = X.shape[0]
    if config.batch_size is not None and math.isnan(n):
        raise ValueError("`batch_size` needs the row count of each chunk, which this Dask array does not know; "
                         "call X.compute_chunk_sizes() (or dataframe.to_dask_array(lengths=True)) first")
    with validated(net, validation_data) as validation:
        if config.early_stopping is not None and validation is None:
            raise ValueError("`early_stopping` needs `validation_data` to watch: pass "
                             "validation_data=(X_val, y_val)")
        outcome, write = start.outcome(net, config, None if math.isnan(n) else int(n))
        with shown(callback, config.epochs, verbose) as callback:
            train(net, X, y, outcome, config, session.plan(net, config, monitor=config.monitor(), callback=callback,
                                                           checkpoint=write, validation=validation))
    net.set_parameters(outcome.weights, outcome.biases, optimizer=config.optimizer, optimizer_state=outcome.state)
    report(outcome.history, on_divergence=config.on_divergence, snapshot=True)
    return outcome.history


def train(net, X: Any, Y: Any, outcome: Outcome, config: TrainingConfig, plan: Plan, *,
          row_order: np.ndarray | None = None) -> Outcome:
    """Run the training loop on Dask X, Y (checked by ``bpxp.dask.chunks.check_data``) from ``outcome``, as
    ``config`` and ``plan`` say: what ``MLP.fit`` on Dask arrays and the scikit-learn estimators on Dask arrays
    both run (``bpxp.training.session.train`` is its in-memory twin).

    ``row_order``: the rows of X, by position, in the order an in-memory fit holds them (X[row_order]); the
    batches then take the rows that fit's batches take. None: X's own order.
    """
    if outcome.state is None:
        outcome.state = config.optimizer.init((*outcome.weights, *outcome.biases), xp=net.xp)
    n = X.shape[0]
    batch_size = None if config.batch_size is None or config.batch_size >= n else config.batch_size
    orders = None if batch_size is None else epochs.epoch_orders(
        int(n), batch_size, shuffle=config.shuffle, random_state=config.random_state, rng_state=outcome.rng_state)
    batches = _Batches(X, Y, net.spec, dask_chunks.current_client(), batch_size, orders, row_order)
    try:
        return session.drive(net, outcome, DaskEpochs(batches, config, xp=net.xp, device=net.device), plan)
    finally:
        batches.close()


class DaskEpochs:
    """The loop's driver for Dask arrays (``bpxp.backend.epochs``): each step's gradient sums per chunk on the
    workers, added on the client, and the update step in the network's namespace and device."""

    several = False

    def __init__(self, batches: _Batches, config: TrainingConfig, *, xp: Any, device: Any):
        self.batches, self.config, self.xp, self.device = batches, config, xp, device
        self.rows = 0  # the rows of the last epoch (a Dask array may not know its length before)

    @property
    def rng_state(self) -> dict | None:
        return self.batches.rng_state

    def start(self, parameters: tuple) -> tuple:
        return parameters

    def epoch(self, parameters: tuple, learning_rate: float) -> tuple:
        """``(parameters, Σ loss, rows)`` after one epoch of data-parallel steps from ``parameters``."""
        xp, config, l2 = self.xp, self.config, self.config.l2
        weights, biases, state = parameters
        epoch_loss, epoch_rows = 0.0, 0.0
        for vector in self.batches.epoch(lambda: _on_host(weights, biases)):  # noqa: B023 (the step's own)
            grads, batch_loss, m = _split_sums(vector, self.batches.spec, len(weights))
            grads = [xp.asarray(g, device=self.device) for g in grads]  # the network's namespace and device
            if l2:
                batch_loss += l2 * float(l2_penalty(weights, xp=xp))
            weights, biases, state = apply_update(
                (weights, biases), (grads[:len(weights)], grads[len(weights):]), state, config.optimizer,
                learning_rate, xp=xp, penalty=l2 / m if l2 else None, options=UpdateOptions(clip_norm=config.clip_norm))
            epoch_loss, epoch_rows = epoch_loss + batch_loss, epoch_rows + m
        self.rows = round(epoch_rows)
        return (weights, biases, state), epoch_loss, epoch_rows

    def read(self, run: tuple) -> float:
        """The epoch's loss (already on the host), or NaN when a parameter is not finite."""
        (weights, biases, _), total, rows = run
        value = total / rows
        finite = math.isfinite(value) and all(bool(self.xp.all(self.xp.isfinite(p))) for p in (*weights, *biases))
        return value if finite else math.nan


class _Batches:
    """Each epoch's batches as reduced gradient vectors: one graph (full batch) or steps on kept chunks."""

    def __init__(self, X, y, spec: Spec, client, batch_size: int | None, orders: Any, row_order: np.ndarray | None):
        self.X, self.y, self.spec, self.client = X, y, spec, client
        self.orders, self.row_order, self.store = orders, row_order, None
        if batch_size is not None:
            n = int(X.shape[0])
            self.bounds = [(a, min(a + batch_size, n)) for a in range(0, n, batch_size)]
            self.offsets = np.cumsum((0, *X.chunks[0]))
            self.store = open_chunks(X, y, spec, client)

    @property
    def rng_state(self) -> dict | None:
        return None if self.orders is None else self.orders.state

    def epoch(self, parameters):
        """Yield each batch's Σ vector; ``parameters()`` gives the parameters of the step about to run."""
        if self.store is None:
            yield dask_chunks.full_batch_sums(self.X, self.y, *parameters(), self.spec, self.client)
            return
        order = None if self.orders is None else next(self.orders)
        if self.row_order is not None:  # the epoch's positions in the in-memory order, as rows of X
            order = self.row_order if order is None else self.row_order[order]
        for a, b in self.bounds:
            pieces = _pieces_in_order(a, b, self.offsets) if order is None else \
                _pieces_of_rows(np.sort(order[a:b]), self.offsets)
            yield _added(self.store.sums(*parameters(), pieces))

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def _on_host(weights, biases) -> tuple[list, list]:
    """Host copies of the parameters, sent to the chunks (which move them to their own device)."""
    return [_backend.to_numpy(w) for w in weights], [_backend.to_numpy(b) for b in biases]


def _pieces_in_order(a: int, b: int, offsets: np.ndarray) -> list:
    """Rows a…b−1 as (chunk, (start, stop)) pieces, in chunk order."""
    first, last = int(np.searchsorted(offsets, a, "right")) - 1, int(np.searchsorted(offsets, b, "left"))
    pieces = []
    for chunk in range(first, last):
        start, stop = max(a, offsets[chunk]) - offsets[chunk], min(b, offsets[chunk + 1]) - offsets[chunk]
        if stop > start:
            pieces.append((chunk, (int(start), int(stop))))
    return pieces


def _pieces_of_rows(rows: np.ndarray, offsets: np.ndarray) -> list:
    """Sorted row numbers as (chunk, row numbers within the chunk) pieces, in chunk order."""
    chunk_of = np.searchsorted(offsets, rows, "right") - 1
    chunks, starts = np.unique(chunk_of, return_index=True)
    ends = [*starts[1:], len(rows)]
    return [(int(c), rows[s:e] - offsets[c]) for c, s, e in zip(chunks, starts, ends)]


def _added(vectors: list[np.ndarray]) -> np.ndarray:
    """Σ of the per-chunk vectors, in chunk order (the same sum wherever the chunks are)."""
    total = np.array(vectors[0], copy=True)
    for vector in vectors[1:]:
        total += vector
    return total


def _split_sums(vector: np.ndarray, spec: Spec, n_layers: int):
    """The reduced vector back into gradients (divided by the rows), the summed loss and the row count."""
    m = float(vector[-1])
    grads, at = [], 0
    for shape in dask_chunks.spec_shapes(spec):
        size = math.prod(shape)
        grads.append(vector[at:at + size].reshape(shape) / m)
        at += size
    return grads, float(vector[-2]), m


@contextlib.contextmanager
def validated(net, validation_data: Any) -> Iterator[Validation | None]:
    """Within: the ``Validation`` of ``validation_data`` — its loss and its score (accuracy or R²) — or None
    without it.

    In-memory validation data is scored as in memory (``bpxp.training.session.validation``); Dask validation data
    is prepared once and kept (``bpxp.dask.store``) until the block ends, and both figures add up chunk by
    chunk: the loss L = Σ_c Σℓ / n, the score from each chunk's sums (``bpxp.dask.chunks.score_of``).
    """
    if validation_data is None:
        yield None
        return
    if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
        raise TypeError("`validation_data` must be a pair (X_val, y_val), got "
                        f"{type(validation_data).__name__}")
    if not dask_chunks.is_dask(validation_data[0]):
        yield session.validation(net, *session.validation_pair(net, validation_data))
        return
    X_val, y_val = dask_chunks.check_data(validation_data[0], validation_data[1], net, name="validation_data[0]")
    store = open_chunks(X_val, y_val, net.spec, dask_chunks.current_client())

    def loss(weights, biases) -> float:
        total = _added(store.losses(*_on_host(weights, biases)))
        return float(total[0] / total[1])

    def score(weights, biases) -> float:
        return dask_chunks.score_of(store.scores(*_on_host(weights, biases)), net.spec)

    try:
        yield Validation(loss, score)
    finally:
        store.close()
