"""Compiled epochs: how a whole epoch (or several) of the same pure training step runs in one library call.

The training step (``bpxp.train.make_step``) is written once and stays pure. What differs between libraries is
only how an epoch *drives* it:

- eagerly, one Python call per mini-batch (``bpxp.train``'s loop: NumPy, array-api-strict, CuPy, torch);
- on JAX, here: every mini-batch of an epoch — the batch gather from the epoch's permutation, the steps, the loss
  sum and the finite check of the last step — is one compiled call (``lax.scan`` over the full batches, then the
  checked step on the last, possibly ragged, batch), compiled once per shape. Several epochs can also run in one
  call (a ``lax.scan`` over epochs) that returns every epoch's loss sum and finite check, for fits in which
  nothing has to happen on the host between epochs (no callback, validation, early stopping or checkpoint).

A JAX dispatch costs tens of microseconds on a CPU; a tiny full-batch network's epoch (the seeds') is a few
microseconds of arithmetic, so one call per epoch — or per hundred epochs — is where its time goes.
:func:`run_chunks` drives those several-epoch calls for ``bpxp.train.run``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import array_api_compat

from . import _random
from ._backend import to_numpy


@dataclass(frozen=True)
class Batches:
    """How an epoch of ``n`` rows splits: ``scanned`` full batches of ``size``, then one checked last batch."""

    n: int
    size: int

    @property
    def scanned(self) -> int:
        """Batches before the last one (all full): the unchecked steps."""
        return -(-self.n // self.size) - 1

    @property
    def last_start(self) -> int:
        return self.scanned * self.size


def compiles_epochs(xp: Any) -> bool:
    """Whether whole epochs run as one compiled call on this namespace (JAX)."""
    return array_api_compat.is_jax_namespace(xp)


def committed(tree: Any, device: Any) -> Any:
    """JAX arrays placed on ``device`` explicitly (committed), as a compiled call's outputs are.

    ``jax.jit`` keys its compilations by the inputs' placement too: parameters made with ``device=None`` are
    uncommitted, those returned by the first epoch committed, and the epoch would compile twice.
    """
    import jax

    return jax.device_put(tree, device)


def jax_epochs(step: Callable, checked_step: Callable, batches: Batches, *, in_order: bool) -> tuple[Callable, ...]:
    """``(one_epoch, many_epochs)``: one epoch, and several, of ``step`` compiled with ``jax.jit``.

    ``one_epoch(weights, biases, state, X, Y, order, probes, zero) → (weights, biases, state, total, check)``
    runs ``batches.scanned`` unchecked steps (``lax.scan``) and the checked step on the rest of the rows; ``order``
    is the epoch's permutation (rows are gathered from it on the device) or None for batches in order (slices).

    ``many_epochs(weights, biases, state, X, Y, orders, probes, zero)`` runs one epoch per row of ``orders``
    (shape (k, n)), or per element of ``orders`` = ``arange(k)`` for batches in order, and returns
    ``(weights, biases, state, totals, checks)`` with every epoch's loss sum and check, shape (k,).
    Both are cached per step and split (:func:`_jax_epochs`) and compiled once per shape.
    """
    return _jax_epochs(step, checked_step, batches, in_order)


@functools.lru_cache(maxsize=64)
def _jax_epochs(step, checked_step, batches: Batches, in_order: bool):
    import jax
    from jax import lax
    from jax import numpy as jnp

    size, start = batches.size, batches.last_start

    def rows(data, order, first, count):
        """``count`` rows from ``first``: a slice of the data in order, else a gather by the permutation."""
        if in_order:
            return lax.dynamic_slice_in_dim(data, first, count, axis=0)
        return jnp.take(data, lax.dynamic_slice_in_dim(order, first, count, axis=0), axis=0)

    def as_the_step_returns(weights, biases, state, zero, X, Y):
        """The carry in the nesting the step returns (a resumed state may hold lists; lax.scan needs equal trees)."""
        shapes = jax.eval_shape(step, weights, biases, state, zero, X[:size], Y[:size])
        leaves = jax.tree_util.tree_leaves((weights, biases, state, zero))
        return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(shapes), leaves)

    def epoch(weights, biases, state, X, Y, order, probes, zero):
        weights, biases, state, zero = as_the_step_returns(weights, biases, state, zero, X, Y)

        def one_step(carry, i):
            weights, biases, state, total = carry
            X_batch, Y_batch = rows(X, order, i * size, size), rows(Y, order, i * size, size)
            return step(weights, biases, state, total, X_batch, Y_batch), None

        carry = (weights, biases, state, zero)
        if batches.scanned:
            carry, _ = lax.scan(one_step, carry, jnp.arange(batches.scanned))
        last = batches.n - start
        X_last, Y_last = rows(X, order, start, last), rows(Y, order, start, last)
        return checked_step(*carry, X_last, Y_last, probes)

    def epochs(weights, biases, state, X, Y, orders, probes, zero):
        weights, biases, state, zero = as_the_step_returns(weights, biases, state, zero, X, Y)

        def one_epoch(carry, order):
            weights, biases, state, total, check = epoch(*carry, X, Y, None if in_order else order, probes,
                                                         zero)
            return (weights, biases, state), (total, check)

        (weights, biases, state), (totals, checks) = lax.scan(one_epoch, (weights, biases, state), orders)
        return weights, biases, state, totals, checks

    return jax.jit(epoch), jax.jit(epochs)


# Epochs per compiled call when several can run in one (JAX): enough to hide a dispatch behind a tiny network's
# epochs, few enough that a large network's call stays short (the work cap) and that one shape compiles.
EPOCHS_PER_CALL = 64
WORK_PER_CALL = 2e8  # rows × weights, ~6 flops each: a fraction of a second on a CPU core


def run_chunks(outcome: Any, X, Y, many_epochs, orders, probes, zero, epochs: int, *, xp):
    """Run whole chunks of epochs in one compiled call each while every epoch of a chunk stays finite.

    Each chunk's losses and checks come back in one host read; a chunk with a non-finite check is dropped (the
    outcome still holds the chunk's start), and ``bpxp.train.run``'s per-epoch loop replays it to find and report the
    divergence exactly as it always does. The remaining epochs (fewer than a chunk) run one per call. Returns
    the stream of epoch orders to continue with (rewound to the outcome's epoch).
    """
    n = X.shape[0]
    weights_count = sum(W.shape[0] * W.shape[1] for W in outcome.weights)
    per_call = min(EPOCHS_PER_CALL, int(WORK_PER_CALL // max(1, n * weights_count)))
    device = array_api_compat.device(X)
    while per_call >= 2 and epochs - (outcome.epoch + 1) >= per_call:
        before = None if orders is None else orders.state
        chosen = xp.arange(per_call, device=device) if orders is None else \
            xp.asarray(orders.take(per_call), device=device)
        weights, biases, state, _, checks = many_epochs(outcome.weights, outcome.biases, outcome.state, X, Y,
                                                        chosen, probes, zero)
        values = (to_numpy(checks) / n).tolist()  # the one host read of the chunk
        if not all(math.isfinite(v) for v in values):
            return orders if orders is None else _random.EpochOrders.from_state(n, before)
        outcome.history.loss.extend(values)
        outcome.weights, outcome.biases, outcome.state = weights, biases, state
        outcome.epoch, outcome.rng_state = outcome.epoch + per_call, None if orders is None else orders.state
    return orders
