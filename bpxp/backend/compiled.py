"""Compiled epochs: how a whole epoch (or several) of the same pure training step runs in one library call.

The training step (``bpxp.training.step.make_step``) is written once and stays pure. What differs between libraries is
only how an epoch *drives* it:

- eagerly, one Python call per mini-batch (``bpxp.training.loop``'s loop: NumPy, array-api-strict, CuPy, torch);
- on JAX, here: every mini-batch of an epoch — the batch gather from the epoch's permutation, the steps, the loss
  sum and the finite check of the last step — is one compiled call (``lax.scan`` over the full batches, then the
  checked step on the last, possibly ragged, batch), compiled once per shape. Several epochs also run in one
  call (a ``lax.fori_loop`` over up to 1,024 epochs, their number an argument, so that one compilation serves the
  fit's last, shorter chunk too) that returns every epoch's loss sum and one finite check of the parameters it
  ends with, for fits in which nothing has to happen on the host between epochs (no callback, validation,
  early stopping, checkpoint or learning-rate schedule). A fit's first call compiles one function, not two:
  measured here, a first 200-epoch fit of iris (batch 16) took 0.65 s against 1.3–1.8 s before.

A JAX dispatch costs tens of microseconds on a CPU; a tiny full-batch network's epoch (the seeds') is a few
microseconds of arithmetic, so one call per epoch — or per hundred epochs — is where its time goes.
``bpxp.backend.epochs.CompiledEpochs`` drives these calls for the training loop.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import array_api_compat


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

    if all(getattr(a, "committed", False) and a.devices() == {device} for a in jax.tree_util.tree_leaves(tree)):
        return tree  # already there (a network's parameters after its first fit): no 45–200 µs device_put
    return jax.device_put(tree, device)


_KEPT: dict[tuple, Any] = {}
_KEPT_AT_MOST = 64


def kept(key: tuple, make: Callable[[], Any], *, xp: Any) -> Any:
    """``make()`` — the constant arrays of a fit (the finite check's probes, the zero its loss sums start from) —
    made once per ``key`` and kept on JAX, made afresh elsewhere. JAX arrays never change, so one serves every fit
    of that shape, dtype and device; making them eagerly costs 50–250 µs each there — 0.5 ms of a 1.3 ms fit of
    the admissions network. Mutable arrays are never shared between fits."""
    if not compiles_epochs(xp):
        return make()
    try:
        return _KEPT[key]
    except KeyError:
        if len(_KEPT) >= _KEPT_AT_MOST:
            _KEPT.clear()
        _KEPT[key] = made = make()
        return made


def jax_epochs(step: Callable, checked_step: Callable, check: Callable, batches: Batches, *, in_order: bool,
               per_call: int) -> tuple[Callable, ...]:
    """``(one_epoch, many_epochs)``: one epoch, and up to ``per_call`` epochs, of ``step`` compiled with ``jax.jit``.

    ``parameters`` is ``(weights, biases, state)`` and ``data`` is ``(X, Y)``, each passed as one argument.
    ``one_epoch(parameters, data, order, probes, zero, learning_rate) → (parameters, total, check)`` runs
    ``batches.scanned`` unchecked steps (``lax.scan``) and the checked step on the rest of the rows; ``order`` is
    the epoch's permutation (rows are gathered from it on the device) or None for batches in order (slices).

    ``many_epochs(parameters, data, orders, count, probes, zero, learning_rate) → (parameters, sums)`` runs ``count``
    (≤ ``per_call``, a traced number: one compilation serves every count) epochs of unchecked steps, epoch e on row
    e of ``orders`` (shape (per_call, n); ignored for batches in order), and returns in one array ``sums`` (shape
    (per_call + 1,), so that the chunk is one host read) the loss sum of every epoch (the first ``count`` filled)
    and, last, ``check(zero, ...)`` of the final parameters (``bpxp.training.recovery.finite_check``).
    The chunk is finite iff that check and every total are: a parameter that turns NaN or infinite stays so in
    every later step (θ − η·d, d from a loss through it).
    Both are cached per step and split (:func:`_jax_epochs`) and compiled once per shape; η (``learning_rate``)
    is a traced argument, so a schedule's new η each epoch compiles nothing.
    """
    return _jax_epochs(step, checked_step, check, batches, in_order, per_call)


@functools.lru_cache(maxsize=64)
def _jax_epochs(step, checked_step, check, batches: Batches, in_order: bool, per_call: int):
    import jax
    from jax import lax
    from jax import numpy as jnp

    size, start = batches.size, batches.last_start

    def rows(data, order, first, count):
        """``count`` rows from ``first``: a slice of the data in order, else a gather by the permutation."""
        if in_order:
            return lax.dynamic_slice_in_dim(data, first, count, axis=0)
        return jnp.take(data, lax.dynamic_slice_in_dim(order, first, count, axis=0), axis=0)

    def as_the_step_returns(parameters, zero, data, learning_rate):
        """The carry in the nesting the step returns (a resumed state may hold lists; lax.scan needs equal trees)."""
        X, Y = data
        shapes = jax.eval_shape(functools.partial(step, learning_rate=learning_rate), *parameters, zero, X[:size],
                                Y[:size])
        leaves = jax.tree_util.tree_leaves((*parameters, zero))
        *parameters, zero = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(shapes), leaves)
        return tuple(parameters), zero

    def epoch(parameters, total, data, order, learning_rate, last_step, *extra):
        """The epoch's full batches (scanned), then ``last_step`` on the rest of the rows: (*parameters, total, *…)."""
        X, Y = data

        def one_step(carry, i):
            X_batch, Y_batch = rows(X, order, i * size, size), rows(Y, order, i * size, size)
            return step(*carry, X_batch, Y_batch, learning_rate=learning_rate), None

        carry = (*parameters, total)
        if batches.scanned:
            carry, _ = lax.scan(one_step, carry, jnp.arange(batches.scanned))
        last = batches.n - start
        return last_step(*carry, rows(X, order, start, last), rows(Y, order, start, last), *extra,
                         learning_rate=learning_rate)

    def one_epoch(parameters, data, order, probes, zero, learning_rate):
        parameters, zero = as_the_step_returns(parameters, zero, data, learning_rate)
        *parameters, total, check = epoch(parameters, zero, data, order, learning_rate, checked_step, probes)
        return tuple(parameters), total, check

    def many_epochs(parameters, data, orders, count, probes, zero, learning_rate):
        parameters, zero = as_the_step_returns(parameters, zero, data, learning_rate)

        def body(e, carry):
            parameters, totals = carry
            *parameters, total = epoch(parameters, zero, data, None if in_order else orders[e], learning_rate, step)
            return tuple(parameters), totals.at[e].set(total)

        totals = jnp.zeros((per_call,), dtype=zero.dtype)
        parameters, totals = lax.fori_loop(0, count, body, (parameters, totals))
        weights, biases, _ = parameters
        finite = jnp.reshape(check(zero, weights, biases, probes, xp=jnp), (1,)).astype(totals.dtype)
        return parameters, jnp.concatenate([totals, finite])  # read on the host at once

    return jax.jit(one_epoch), jax.jit(many_epochs)


# Epochs per compiled call when several can run in one (JAX): enough to hide a call's ~0.3 ms (dispatch, the host
# read) behind a tiny network's epochs — measured here, admissions' epoch took 12.9 µs in calls of 64 and 8.7 µs in
# calls of 1,024 — few enough that a large network's call stays short (the work cap).
EPOCHS_PER_CALL = 1024
WORK_PER_CALL = 2e8  # rows × weights, ~6 flops each: a fraction of a second on a CPU core
# Steps in one call: each costs microseconds even when tiny, and a call is where Ctrl-C waits (it lands after
# the call returns), so a call of many small mini-batches stays a few tens of milliseconds.
STEPS_PER_CALL = 4096


def epochs_per_call(n: int, weights: tuple, steps_per_epoch: int = 1) -> int:
    """Epochs in one compiled call for ``n`` rows in ``steps_per_epoch`` steps and these weight matrices (≥ 1)."""
    weights_count = sum(W.shape[0] * W.shape[1] for W in weights)
    return max(1, min(EPOCHS_PER_CALL, int(WORK_PER_CALL // max(1, n * weights_count)),
                      STEPS_PER_CALL // max(1, steps_per_epoch)))
