"""What a fit leaves: the per-epoch ``History`` a user reads, and the ``Outcome`` the loop keeps up to date.

One record serves training in memory, on Dask and in checkpoints: a checkpoint stores an ``Outcome``, and
``fit(resume=...)`` starts from one read back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
        The epoch whose weights the network holds after ``fit`` (the last one, the best under early stopping);
        after a divergence, the one before the last finite epoch — its weights are those the last finite loss
        was measured at, while the last finite epoch's updates may already give a non-finite loss. None when
        it holds the weights it started with.
    gradient_norms : list of list of float
        With ``fit(..., record=("gradient_norms",))``: for each epoch, each layer's ‖∂L/∂Wˡ‖ (Frobenius norm of
        the loss's gradient — the ``l2`` penalty aside, before clipping) averaged over the epoch's steps. Summed
        on the device and read with the epoch's loss; empty when not recorded. Vanishing gradients show here as
        the first layers' norms falling far below the last's.
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    schedule_ended: bool = False
    diverged_at: int | None = None
    interrupted: bool = False
    kept_epoch: int | None = None
    gradient_norms: list[list[float]] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """Number of epochs completed."""
        return len(self.loss)

    def finished(self, epochs: int) -> str | None:
        """Why a run with this History has nothing left to train towards ``epochs`` in all — it stopped early,
        its adaptive schedule ended it, or it ran them all — or None when it has (``fit(resume=...)`` asks)."""
        if self.schedule_ended:
            return "its adaptive learning rate had reached its floor"
        if self.stopped_early:
            return "it had stopped early"
        if self.epochs >= epochs:
            return f"it had run all {epochs} epochs"
        return None

    def plot(self, path: Any = None, **options):
        """Plot the loss curves with matplotlib; save a PNG to ``path`` if given (see ``bpxp.training.progress``)."""
        from .progress import plot_history

        return plot_history(self, path, **options)

    def plot_gradient_norms(self, path: Any = None, **options):
        """Plot each layer's recorded gradient norm per epoch (``bpxp.training.progress.plot_gradient_norms``)."""
        from .progress import plot_gradient_norms

        return plot_gradient_norms(self, path, **options)


@dataclass
class Outcome:
    """Where a fit stands: the parameters to keep, the optimizer state, the History — whatever stops it.

    The loop (``bpxp.training.loop.run``) updates it after every verified epoch and, when training stops for any
    reason (the end, early stopping, divergence, Ctrl-C, an error), leaves in it the parameters the network should
    hold. A checkpoint stores it; ``fit(resume=...)`` starts from one read back.
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
    samples_seen: int = 0  # samples trained on before this run's next epoch (what a schedule counts as t)
    held: int | None = None  # the epoch whose parameters it holds, when not ``epoch`` (after a divergence)

    @property
    def parameters(self) -> tuple:
        """(weights, biases, state): what a step takes and returns."""
        return self.weights, self.biases, self.state
