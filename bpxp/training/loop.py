"""The training loop: epochs of (mini-)batches, validation and early stopping.

One step, ``step(weights, biases, state, total, X_batch, Y_batch) → (weights, biases, state, total)``, is
forward, backward (``bpxp.backprop``) and the update (``bpxp.optimizers.apply_update``; see :func:`make_step`),
compiled once where that pays (JAX). The loop keeps the epoch's running loss on the device and reads it on the host
once per epoch — the only host synchronisation in training (one epoch late when nothing needs it at once). Shuffled
batches are gathered on the device from one host permutation per epoch. How an epoch drives the step is the backend
layer's: eager steps here, a whole epoch (or several) per compiled call on JAX (``bpxp.backend.compiled``), each step
replayed as a CUDA graph on CuPy and torch-CUDA (``bpxp.backend.graphs``). What an epoch's result does to the fit — kept
if finite, the best one remembered under early stopping — is :func:`keep_epoch`, shared with the Dask driver.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from array_api_compat import device as _device_of

from ..backend import compiled as _compiled
from ..backend import graphs as _graphs
from ..backend import randomness as _random
from ..backend.namespaces import arrays_are_immutable, floating_point_warnings_silenced
from ..math.activations import Activation
from ..math.backprop import forward_pass
from ..math.losses import Loss
from ..math.optimizers import Optimizer
from .recovery import exactly_finite, finite_check, finite_probes
from .step import StepOptions, make_step


@dataclass
class History:
    """Per-epoch record of a ``fit``.

    Attributes
    ----------
    loss : list of float
        Training loss of each completed epoch: the mean over the epoch's n samples, (1/n)·Σ_b m_b·L_b, of each
        batch's loss L_b (the ``l2`` penalty included) computed before that batch's update and weighted by its
        m_b rows — so a ragged last batch counts by its rows, not as a whole batch. Without ``l2`` this is
        (1/n)·Σᵢ ℓᵢ; for full-batch training, the loss of the weights the epoch started with.
    val_loss : list of float
        Loss on ``validation_data`` after each epoch's updates (empty without validation data).
    best_epoch : int or None
        0-based epoch with the lowest ``val_loss`` (the weights kept under early stopping).
    stopped_early : bool
        Whether early stopping (or an adaptive learning-rate schedule at its floor) ended training before
        ``epochs``.
    schedule_ended : bool
        Whether it was the adaptive learning-rate schedule, its η at the floor, that ended training.
    diverged_at : int or None
        0-based epoch whose loss, validation loss or weights were not finite, when training diverged.
    interrupted : bool
        Whether Ctrl-C (KeyboardInterrupt) ended training.
    kept_epoch : int or None
        The epoch whose weights the network holds after ``fit`` (the last one, the best under early stopping,
        the last finite one after a divergence); None when it holds the weights it started with.
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    schedule_ended: bool = False
    diverged_at: int | None = None
    interrupted: bool = False
    kept_epoch: int | None = None

    @property
    def epochs(self) -> int:
        """Number of epochs completed."""
        return len(self.loss)

    def plot(self, path: Any = None, **options):
        """Plot the loss curves with matplotlib; save a PNG to ``path`` if given (see ``bpxp.training.progress``)."""
        from .progress import plot_history

        return plot_history(self, path, **options)


@dataclass(frozen=True)
class Schedule:
    """The options of one ``fit`` that decide which batches the steps see and when training stops."""

    epochs: int
    batch_size: int
    shuffle: bool
    random_state: Any
    early_stopping: int | None


@dataclass
class Outcome:
    """Where a fit stands: the parameters to keep, the optimizer state, the History — whatever stops it.

    ``run`` updates it after every verified epoch and, when training stops for any reason (the end, early
    stopping, divergence, Ctrl-C, an error), leaves in it the parameters the network should hold. A checkpoint
    stores it; ``fit(resume=...)`` starts from one read back.
    """

    weights: tuple
    biases: tuple | None
    state: Any = None
    history: History = field(default_factory=History)
    epoch: int = -1  # the last completed, verified epoch
    rng_state: dict | None = None  # the shuffling Generator's state after that epoch's permutation
    best: tuple | None = None  # (weights, biases, state) of the best epoch under early stopping
    since_best: int = 0
    rate: Any = None  # a bpxp.optimizers.ScheduledRate when η follows a schedule: η of the next epoch


@dataclass(frozen=True)
class Safety:
    """How ``run`` guards the parameters: the last finite epoch kept intact, checkpoints every few epochs."""

    snapshot: bool = True
    checkpoint: Callable[[Outcome], None] | None = None
    checkpoint_every: int = 1


def run(outcome: Outcome, X: Any, Y: Any, *, activations: tuple[Activation, ...], loss: Loss,
        optimizer: Optimizer, learning_rate: float, schedule: Schedule, validation: tuple | None,
        callback: Callable | None, xp: Any, l2: float = 0.0, clip_norm: float | None = None,
        safety: Safety | None = None, weighted: bool = False) -> Outcome:
    """Train from ``outcome`` (its parameters, state, History and epoch) up to ``schedule.epochs``; return it.

    Inputs are already checked and on the network's device; nothing in the loop validates, looks up a
    namespace or reads the device except the once-per-epoch check of the loss and the parameters
    (``bpxp.training.recovery``). Parameters may be updated in place.

    Training stops at the end, under early stopping, at the first non-finite epoch (``History.diverged_at``)
    or at Ctrl-C (``History.interrupted``); the outcome then holds the last epoch's, the best, the last finite
    or the last completed epoch's parameters. Any other exception propagates, the outcome still holding the
    last completed epoch (it is only ever pointed at verified epochs). With ``weighted``, Y's last column holds
    sample weights (see ``make_step``).
    """
    safety = safety or Safety()
    # Each epoch's first step writes new arrays, so the previous epoch's parameters stay intact — the last
    # finite epoch is kept without a copy (one more set of parameters in memory). JAX's steps always do.
    keeps = safety.snapshot and not arrays_are_immutable(xp)
    rate = outcome.rate  # η per epoch from a schedule (``bpxp.optimizers.ScheduledRate``), or None: fixed
    learning_rate = learning_rate if rate is None else rate.learning_rate
    if outcome.state is None:
        outcome.state = optimizer.init((*outcome.weights, *(outcome.biases or ())), xp=xp)
    weights, biases, state, history = outcome.weights, outcome.biases, outcome.state, outcome.history
    n = X.shape[0]
    batch = min(schedule.batch_size, n)
    bounds = [(start, min(start + batch, n)) for start in range(0, n, batch)]
    device = _device_of(X)
    capturer = _graphs.capturer_for(xp, device)
    per_call = _compiled.epochs_per_call(n, outcome.weights)  # JAX: epochs in one compiled call

    def steps_for(learning_rate):
        """The four steps (an epoch's first or not, its last or not) for η, built lazily, compiled on first use;
        a new η (a schedule's) builds — and on JAX and CUDA graphs compiles or captures — them anew."""
        steps = {(first, last): make_step(activations, loss, optimizer, learning_rate, xp=xp, options=StepOptions(
                     l2=l2, clip_norm=clip_norm, weighted=weighted, in_place=not (first and keeps), checked=last))
                 for first in (True, False) for last in (True, False)}
        if capturer is not None:  # CuPy, torch on CUDA: each step replayed as a CUDA graph (else eager, said once)
            steps = {(first, last): _graphs.GraphedStep(step, capturer, xp=xp, fresh_outputs=last)
                     for (first, last), step in steps.items()}
        if not _compiled.compiles_epochs(xp):
            return steps, None
        # JAX runs each epoch as one compiled call, and several epochs per call when nothing happens between them.
        return steps, _compiled.jax_epochs(steps[False, False], steps[False, True], finite_check,
                                           _compiled.Batches(n, batch), in_order=orders is None, per_call=per_call)

    try:  # nothing has changed yet: Ctrl-C while preparing (JAX compiles the slices here) just returns
        def constants():  # the zero the loss sums start from, the finite check's probes
            return xp.zeros((), dtype=X.dtype, device=device), finite_probes(weights, xp=xp)

        zero, probes = _compiled.kept((X.dtype, str(device), weights[0].shape[0], weights[-1].shape[1]), constants,
                                      xp=xp)  # kept across fits where arrays never change (JAX)
        # Full-batch gradients do not depend on row order: shuffling would only cost a gather.
        orders = None
        if schedule.shuffle and batch < n:
            orders = _random.EpochOrders(n, schedule.random_state) if outcome.rng_state is None \
                else _random.EpochOrders.from_state(n, outcome.rng_state)
        in_order = [(X, Y)] if batch == n else [(X[a:b, ...], Y[a:b, ...]) for a, b in bounds]
    except KeyboardInterrupt:
        history.interrupted = True
        return finish(outcome, early_stopping=False)
    # With nothing to decide per epoch, each epoch's check is read after the next epoch's steps are queued:
    # still one read per epoch, but an asynchronous device never waits for the host. The pending epoch's
    # parameters must then survive one more epoch: free on JAX, whose arrays never change, and on mutable
    # arrays when nothing keeps them (snapshot=False, no checkpoints) — elsewhere it would cost a third set.
    lagging = (validation is None and callback is None and schedule.early_stopping is None and rate is None
               and (arrays_are_immutable(xp) or not (safety.snapshot or safety.checkpoint)))
    # the best epoch under early stopping: intact by reference where epochs are kept, else copied
    remember = (lambda *parameters: parameters) if safety.snapshot or arrays_are_immutable(xp) \
        else functools.partial(_snapshot, xp=xp)

    def settle(epoch, total, check, weights, biases, state, rng_state) -> bool:
        """Read the epoch's check (and validation loss); keep the epoch if finite, else record the divergence."""
        value = float(check) / n  # the one host read of the epoch
        if not math.isfinite(value) and math.isfinite(float(total)) and exactly_finite((*weights, *(biases or ())),
                                                                                      xp=xp):
            value = float(total) / n  # finite after all: the probe's products overflowed, not the parameters
        val_loss = None
        if math.isfinite(value) and validation is not None:
            X_val, Y_val = validation
            A, Z = forward_pass(X_val, weights, biases, activations, xp=xp)
            val_loss = float(loss.value(Y_val, A[-1], Z, xp=xp))
        if not math.isfinite(value) or (val_loss is not None and not math.isfinite(val_loss)):
            history.diverged_at = epoch
            return False
        keep_epoch(outcome, epoch, value, val_loss, (weights, biases, state), rng_state, first_epoch=first_epoch,
                   remember=remember)
        if rate is not None and rate.after(value if val_loss is None else val_loss, (epoch + 1) * n):
            history.schedule_ended = True  # an adaptive η at its floor
        if safety.checkpoint is not None and (epoch + 1) % safety.checkpoint_every == 0:
            safety.checkpoint(outcome)
            checkpointed[0] = epoch  # after the write: a Ctrl-C inside it leaves the epoch to write at the end
        return True

    checkpointed = [outcome.epoch]  # the last epoch whose checkpoint write completed (a resumed one's is on disk)
    last_batch = len(bounds) - 1
    first_epoch = outcome.epoch + 1 - len(history.val_loss)  # val_loss[i] belongs to epoch first_epoch + i
    pending = None
    steps, compiled = steps_for(learning_rate)
    if compiled is not None:
        outcome.weights, outcome.biases, outcome.state = _compiled.committed(
            (outcome.weights, outcome.biases, outcome.state), device)
        weights, biases, state = outcome.weights, outcome.biases, outcome.state
    with floating_point_warnings_silenced():  # divergence is detected and reported below, not warned
        try:
            if compiled is not None and validation is None and callback is None and \
                    schedule.early_stopping is None and safety.checkpoint is None and rate is None:
                orders = _compiled.run_chunks(outcome, X, Y, compiled[1], orders, probes, zero,
                                              schedule.epochs, per_call, xp=xp)
                weights, biases, state = outcome.weights, outcome.biases, outcome.state
            for epoch in range(outcome.epoch + 1, schedule.epochs):
                if rate is not None and rate.learning_rate != learning_rate:
                    learning_rate = rate.learning_rate
                    steps, compiled = steps_for(learning_rate)
                if compiled is not None:  # the whole epoch in one call
                    order = None if orders is None else xp.asarray(next(orders), device=device)
                    weights, biases, state, total, check = compiled[0](
                        weights, biases, state, X, Y, order, probes, zero)
                else:
                    batches = in_order if orders is None else \
                        _random.shuffled_batches(X, Y, next(orders), bounds, device, xp=xp)
                    total = zero
                    for i, (X_batch, Y_batch) in enumerate(batches):
                        if i < last_batch:
                            weights, biases, state, total = steps[i == 0, False](
                                weights, biases, state, total, X_batch, Y_batch)
                        else:  # the last step also checks the epoch's loss and parameters
                            weights, biases, state, total, check = steps[i == 0, True](
                                weights, biases, state, total, X_batch, Y_batch, probes)
                record = (epoch, total, check, weights, biases, state, None if orders is None else orders.state)
                if lagging:
                    previous, pending = pending, record
                    if previous is not None and not settle(*previous):
                        pending = None
                        break
                    continue
                if not settle(*record):
                    break
                if callback is not None:
                    callback(epoch, history)
                if history.schedule_ended or (schedule.early_stopping is not None
                                         and outcome.since_best >= schedule.early_stopping):
                    history.stopped_early = True
                    break
            if pending is not None:
                settle(*pending)
                pending = None
        except KeyboardInterrupt:
            history.interrupted = True
            if pending is not None and history.diverged_at is None:
                settle(*pending)  # the epoch before Ctrl-C had completed: keep it if finite
    # Whatever stopped training, the outcome holds the last verified epoch (the live arrays with snapshot=False).
    if safety.checkpoint is not None and outcome.epoch != checkpointed[0]:
        safety.checkpoint(outcome)  # the last completed epoch, unless it was written (completely) already
    return finish(outcome, early_stopping=schedule.early_stopping is not None)


def keep_epoch(outcome: Outcome, epoch: int, loss: float, val_loss: float | None, parameters: tuple,
               rng_state: dict | None, *, first_epoch: int, remember: Callable = lambda *p: p) -> None:
    """Point ``outcome`` at a verified (finite) epoch: its parameters, loss and validation loss; track the best.

    ``parameters`` is (weights, biases, state). The best epoch is the one of lowest validation loss so far; its
    parameters are kept as ``remember(weights, biases, state)`` returns them (a copy where later steps would
    change them in place), and ``since_best`` counts the epochs since, for early stopping. ``first_epoch`` is the
    epoch of ``history.val_loss[0]``. Shared by the in-memory loop and the Dask driver.
    """
    history = outcome.history
    outcome.weights, outcome.biases, outcome.state = parameters
    outcome.epoch, outcome.rng_state = epoch, rng_state
    history.loss.append(loss)
    if val_loss is not None:
        history.val_loss.append(val_loss)
        if outcome.best is None or val_loss < history.val_loss[history.best_epoch - first_epoch]:
            outcome.best, outcome.since_best, history.best_epoch = remember(*parameters), 0, epoch
        else:
            outcome.since_best += 1


def finish(outcome: Outcome, *, early_stopping: bool) -> Outcome:
    """Under early stopping, swap in the best epoch's parameters; record which epoch the outcome holds."""
    if early_stopping and outcome.best is not None:
        outcome.weights, outcome.biases, outcome.state = outcome.best
        outcome.history.kept_epoch = outcome.history.best_epoch
    else:
        outcome.history.kept_epoch = outcome.epoch if outcome.epoch >= 0 else None
    return outcome


def _snapshot(weights, biases, state, *, xp):
    """Copies of the parameters and of the optimizer state's arrays (the steps update them in place)."""
    def copy(tree):
        if tree is None or isinstance(tree, (tuple, list)):
            return None if tree is None else type(tree)(copy(part) for part in tree)
        return xp.asarray(tree, copy=True)

    return copy(weights), copy(biases), copy(state)
