"""The training loop: epochs of (mini-)batches, validation and early stopping.

One step is a pure function ``step(weights, biases, state, X_batch, Y_batch) → (weights, biases, state, L)``:
forward, backward (``bpxp.network``) and the optimizer's update. It is compiled once where that pays (JAX).
The loop keeps the epoch's running loss on the device and reads it on the host once per epoch — the only host
synchronisation in training. Shuffled batches are gathered on the device from one host permutation per epoch.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

from . import _host
from ._backend import compile_step
from .activations import Activation
from .losses import Loss
from .network import forward_pass, gradients
from .optimizers import Optimizer


@dataclass
class History:
    """Per-epoch record of a ``fit``.

    Attributes
    ----------
    loss : list of float
        Training loss of each epoch: the mean over the epoch's batches of L computed before each batch's update
        (for full-batch training, the loss of the weights the epoch started with).
    val_loss : list of float
        Loss on ``validation_data`` after each epoch's updates (empty without validation data).
    best_epoch : int or None
        0-based epoch with the lowest ``val_loss`` (the weights kept under early stopping).
    stopped_early : bool
        Whether early stopping ended training before ``epochs``.
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    @property
    def epochs(self) -> int:
        """Number of epochs run."""
        return len(self.loss)


@functools.lru_cache(maxsize=64)
def make_step(activations: tuple[Activation, ...], loss: Loss, optimizer: Optimizer, learning_rate: float,
              *, xp: Any) -> Callable:
    """Build the pure training step for one architecture, compiled for the namespace where that pays.

    Cached: calling ``fit`` again with the same architecture and settings reuses the compiled step.
    """

    def step(weights, biases, state, X, Y):
        grads = gradients(X, Y, weights, biases, activations, loss, xp=xp)
        n_layers = len(weights)
        params = (*weights, *(biases or ()))
        updates = (*grads.weights, *(grads.biases or ()))
        params, state = optimizer.update(params, updates, state, learning_rate, xp=xp)
        new_biases = None if biases is None else tuple(params[n_layers:])
        return tuple(params[:n_layers]), new_biases, state, grads.loss

    return compile_step(step, xp)


def positive_int(value: Any, name: str) -> int:
    """``value`` as an int ≥ 1, or a ValueError/TypeError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"`{name}` must be a positive integer, got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value}")
    return int(value)


def positive_float(value: Any, name: str) -> float:
    """``value`` as a finite float > 0, or a ValueError/TypeError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"`{name}` must be a positive number, got {value!r} ({type(value).__name__})")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"`{name}` must be a positive finite number, got {value}")
    return float(value)


@dataclass(frozen=True)
class Schedule:
    """The options of one ``fit`` that decide which batches the steps see and when training stops."""

    epochs: int
    batch_size: int
    shuffle: bool
    random_state: Any
    early_stopping: int | None


def run(weights: tuple, biases: tuple | None, X: Any, Y: Any, *, activations: tuple[Activation, ...],
        loss: Loss, optimizer: Optimizer, learning_rate: float, schedule: Schedule, validation: tuple | None,
        callback: Callable | None, xp: Any):
    """Train from (weights, biases); return the final (or best) parameters, the optimizer state and History.

    Inputs are already checked and on the network's device; nothing in the loop validates, looks up a
    namespace or reads the device except the once-per-epoch loss read.
    """
    step = make_step(activations, loss, optimizer, learning_rate, xp=xp)
    state = optimizer.init((*weights, *(biases or ())), xp=xp)
    n = X.shape[0]
    batch = min(schedule.batch_size, n)
    # Full-batch gradients do not depend on row order: shuffling would only cost a gather.
    orders = _host.permutations(n, schedule.random_state) if schedule.shuffle and batch < n else None
    device = _device_of(X)
    history, best, since_best = History(), None, 0
    for epoch in range(schedule.epochs):
        order = None if orders is None else xp.asarray(next(orders), device=device)
        total = None
        for start in range(0, n, batch):
            stop = min(start + batch, n)
            if order is None:
                X_batch, Y_batch = X[start:stop, ...], Y[start:stop, ...]
            else:
                rows = order[start:stop]
                X_batch, Y_batch = xp.take(X, rows, axis=0), xp.take(Y, rows, axis=0)
            weights, biases, state, batch_loss = step(weights, biases, state, X_batch, Y_batch)
            weighted = batch_loss * (stop - start)
            total = weighted if total is None else total + weighted
        history.loss.append(float(total) / n)  # the one host read of the epoch
        if validation is not None:
            X_val, Y_val = validation
            A, Z = forward_pass(X_val, weights, biases, activations, xp=xp)
            history.val_loss.append(float(loss.value(Y_val, A[-1], Z, xp=xp)))
            if best is None or history.val_loss[-1] < history.val_loss[history.best_epoch]:
                best, since_best, history.best_epoch = (weights, biases, state), 0, epoch
            else:
                since_best += 1
        if callback is not None:
            callback(epoch, history)
        if schedule.early_stopping is not None and since_best >= schedule.early_stopping:
            history.stopped_early = True
            break
    if schedule.early_stopping is not None and best is not None:
        weights, biases, state = best
    return weights, biases, state, history


def _device_of(x: Any) -> Any:
    from array_api_compat import device

    return device(x)
