"""How an epoch's training steps run on each backend: one small interface, chosen once per fit.

The training loop (``bpxp.training.loop``) asks a driver for one epoch — or, where a driver can, several in one
call — and settles what comes back; it never asks which library it runs on. A driver gets the step built by the
training floor (``make(first, last)`` → ``step``, taking η as ``learning_rate=``, see ``bpxp.training.step``) and
its batches:

- :class:`EagerEpochs` — NumPy, array-api-strict, torch, CuPy and MLX (its step compiled with ``mlx.core.compile``,
  evaluated lazily: the epoch's read is its one ``mlx.core.eval``): one Python call of the step per mini-batch, the
  batches sliced or gathered on the device from one host permutation per epoch (``bpxp.backend.randomness``);
  on a CUDA device each step is replayed as a CUDA graph where one can be captured (``bpxp.backend.graphs``).
- :class:`CompiledEpochs` — JAX: a whole epoch, or up to ``bpxp.backend.compiled.EPOCHS_PER_CALL`` epochs, in one
  compiled call (``bpxp.backend.compiled``).
- ``bpxp.dask.training.DaskEpochs`` — Dask arrays: each step's gradient sums computed per chunk on the workers.

Every driver returns an epoch as ``(parameters, total, check)`` — the parameters (weights, biases, optimizer
state) after its steps, its summed loss and the finite check of ``bpxp.training.recovery`` — and reads it on the
host once (:meth:`read`), the epoch's one host synchronisation. Each driver owns the epochs' row orders, whose
Generator state a checkpoint records (``rng_state``) and a rewind restores.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import compiled, graphs, on_mlx, randomness
from .namespaces import device_of, host_float, to_numpy


class DenseBatches:
    """An epoch's batches of (X, Y) on the device: slices in row order, or gathered by the epoch's permutation."""

    def __init__(self, X: Any, Y: Any, batch_size: int, *, xp: Any):
        n = X.shape[0]
        self.n, self.size, self.xp, self.X, self.Y = n, min(batch_size, n), xp, X, Y
        self.bounds = [(start, min(start + self.size, n)) for start in range(0, n, self.size)]
        self._in_order = None

    @property
    def count(self) -> int:
        return len(self.bounds)

    @property
    def in_order(self) -> list:
        """The batches in row order, sliced on first use (shuffled epochs, and JAX's compiled ones, never ask)."""
        if self._in_order is None:
            X, Y = self.X, self.Y
            self._in_order = [(X, Y)] if self.size == self.n else [(X[a:b, ...], Y[a:b, ...]) for a, b in self.bounds]
        return self._in_order

    def __call__(self, order: np.ndarray | None):
        if order is None:
            return iter(self.in_order)
        return randomness.shuffled_batches(self.X, self.Y, order, self.bounds, device_of(self.X), xp=self.xp)


def epoch_orders(n: int, batch_size: int, *, shuffle: bool, random_state: Any, rng_state: dict | None):
    """The epochs' row orders (``randomness.EpochOrders``), or None when batches go in row order — unshuffled, or
    full batches, whose gradients do not depend on the order (shuffling would only cost a gather)."""
    if not shuffle or batch_size >= n:
        return None
    if rng_state is not None:
        return randomness.EpochOrders.from_state(n, rng_state)
    return randomness.EpochOrders(n, random_state)


class EagerEpochs:
    """One Python call of the step per mini-batch; each epoch's last step also checks the loss and parameters."""

    several = False  # one epoch per call
    gradient_norms = None  # each layer's ‖∂L/∂Wˡ‖ averaged over the last epoch read, where the steps add them

    def __init__(self, make: Callable, batches: Any, orders: Any, *, constants: tuple, exactly_finite: Callable,
                 capturer: graphs.Capturer | None = None, xp: Any):
        self.make, self.batches, self.orders, self.xp = make, batches, orders, xp
        self.zero, self.probes = constants  # the zero the loss sums start from, the finite check's probes
        self.exactly_finite, self.capturer, self.rows = exactly_finite, capturer, batches.n
        self.lazy = on_mlx.is_mlx_namespace(xp)  # MLX records the steps; the read evaluates them
        self._made: dict = {}
        self._steps: dict = {}

    @property
    def rng_state(self) -> dict | None:
        return None if self.orders is None else self.orders.state

    def rewind(self, rng_state: dict | None) -> None:
        """Draw the next epochs' orders again from ``rng_state`` (the Generator's state before them)."""
        if self.orders is not None:
            self.orders.rewind(rng_state)

    def start(self, parameters: tuple) -> tuple:
        return parameters

    def made(self) -> dict:
        """The four steps (an epoch's first or not, its last or not), built once per fit: η is their argument."""
        if not self._made:
            self._made = {(first, last): self.make(first, last) for first in (True, False) for last in (True, False)}
        return self._made

    def steps(self, learning_rate: float) -> dict:
        """The four steps with η given; with CUDA graphs, captured anew for a new η (a schedule's): a captured
        graph holds the η it was captured with."""
        if learning_rate not in self._steps:
            self._steps.clear()
            steps = {key: functools.partial(step, learning_rate=learning_rate) for key, step in self.made().items()}
            if self.capturer is not None:  # CuPy, torch on CUDA: each step replayed as a CUDA graph
                steps = {(first, last): graphs.GraphedStep(step, self.capturer, xp=self.xp, fresh_outputs=last)
                         for (first, last), step in steps.items()}
            self._steps[learning_rate] = steps
        return self._steps[learning_rate]

    def epoch(self, parameters: tuple, learning_rate: float) -> tuple:
        """``(parameters, total, check)`` after one epoch of steps from ``parameters``."""
        steps, last = self.steps(learning_rate), self.batches.count - 1
        weights, biases, state = parameters
        total = self.zero
        order = None if self.orders is None else next(self.orders)
        for i, (X_batch, Y_batch) in enumerate(self.batches(order)):
            if i < last:
                weights, biases, state, total = steps[i == 0, False](weights, biases, state, total, X_batch, Y_batch)
            else:  # the last step also checks the epoch's loss and parameters
                weights, biases, state, total, check = steps[i == 0, True](
                    weights, biases, state, total, X_batch, Y_batch, self.probes)
        return (weights, biases, state), total, check

    def read(self, run: tuple) -> float:
        """The epoch's loss, read on the host — its one read — or a non-finite number when the loss or the
        parameters are not finite. Where the steps sum a vector [Σℓ, ‖∂L/∂W¹‖, …] (a vector zero), the same read
        brings the gradient norms (``gradient_norms``, averaged over the epoch's steps)."""
        parameters, total, check = run
        if self.lazy:  # MLX only recorded the epoch's steps: one evaluation of them all
            on_mlx.evaluate(parameters, total, check)
        if len(self.zero.shape) == 1:
            host = to_numpy(check)
            check, total, self.gradient_norms = host[0], total[0], (host[1:] / self.batches.count).tolist()
        value = host_float(check) / self.rows
        if not math.isfinite(value) and math.isfinite(host_float(total)) and self.exactly_finite(parameters):
            value = host_float(total) / self.rows  # finite after all: the probe overflowed, not the parameters
        return value


class CompiledEpochs(EagerEpochs):
    """JAX: each epoch one compiled call, and several epochs one call when nothing happens between them."""

    several = True

    def __init__(self, make: Callable, batches: DenseBatches, orders: Any, *, constants: tuple,
                 exactly_finite: Callable, xp: Any, check: Callable, per_call: int):
        super().__init__(make, batches, orders, constants=constants, exactly_finite=exactly_finite, xp=xp)
        self.check, self.per_call = check, per_call
        self.device = device_of(batches.X)

    def start(self, parameters: tuple) -> tuple:
        return compiled.committed(parameters, self.device)

    def compiled(self) -> tuple:
        """(one epoch, several epochs) compiled (``bpxp.backend.compiled.jax_epochs``), η their argument: cached
        per step, so a schedule's new η compiles nothing."""
        steps = self.made()
        batches = compiled.Batches(self.batches.n, self.batches.size)
        return compiled.jax_epochs(steps[False, False], steps[False, True], self.check, batches,
                                   in_order=self.orders is None, per_call=self.per_call)

    def epoch(self, parameters, learning_rate):
        one_epoch, _ = self.compiled()
        order = None if self.orders is None else self.xp.asarray(next(self.orders), device=self.device)
        return one_epoch(parameters, (self.batches.X, self.batches.Y), order, self.probes, self.zero, learning_rate)

    def epochs(self, parameters: tuple, learning_rate: float, count: int) -> tuple:
        """(parameters, each epoch's loss, whether all is finite) after ``count`` ≤ ``per_call`` epochs in one
        call: the losses and the check of the final parameters come back in one host read."""
        _, many_epochs = self.compiled()
        orders = None
        if self.orders is not None:
            padding = np.zeros((self.per_call, self.rows), dtype=np.int64)
            padding[:count] = self.orders.take(count)
            orders = self.xp.asarray(padding, device=self.device)
        parameters, sums = many_epochs(parameters, (self.batches.X, self.batches.Y), orders, count, self.probes,
                                       self.zero, learning_rate)
        sums = to_numpy(sums)  # the chunk's one host read: the epochs' loss sums, then the finite check
        values = (sums[:count] / self.rows).tolist()
        finite = math.isfinite(float(sums[-1])) and all(math.isfinite(v) for v in values)
        return tuple(parameters), values, finite


def eager_or_compiled(make: Callable, batches: Any, orders: Any, *, constants: tuple, exactly_finite: Callable,
                      check: Callable, weights: tuple, xp: Any) -> EagerEpochs:
    """The driver for ``xp`` and the batches' device: compiled epochs on JAX (dense batches), else eager steps —
    replayed as CUDA graphs on CuPy and torch on a CUDA device."""
    if compiled.compiles_epochs(xp) and isinstance(batches, DenseBatches):
        return CompiledEpochs(make, batches, orders, constants=constants, exactly_finite=exactly_finite, xp=xp,
                              check=check, per_call=compiled.epochs_per_call(batches.n, weights, batches.count))
    capturer = graphs.capturer_for(xp, device_of(batches.X)) if isinstance(batches, DenseBatches) else None
    return EagerEpochs(make, batches, orders, constants=constants, exactly_finite=exactly_finite, capturer=capturer,
                       xp=xp)
