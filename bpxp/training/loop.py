"""The training loop, written once: for each epoch, drive the steps, then settle the epoch.

    for each epoch:
        parameters, total, check ← driver.epoch(parameters, η)      (bpxp.backend.epochs: eager, CUDA graphs,
                                                                      compiled JAX epochs, Dask chunks)
        settle: the loss read on the host — the epoch's one read — finite? the validation loss (and score), kept
                as the outcome, the best remembered, η for the next epoch, a checkpoint, the callback; stop?
                                                                     (bpxp.training.monitor)

``MLP.fit``, the scikit-learn estimators (one call per ``fit``; ``partial_fit`` runs one epoch) and training on
Dask arrays all run this loop; only the driver and the monitor's rules differ. Where nothing has to happen on the
host between epochs and the driver can (JAX), several epochs run in one call and are settled after it, in order.

Whatever stops training — the end, the monitor, a non-finite epoch (``History.diverged_at``), Ctrl-C
(``History.interrupted``) — the :class:`~bpxp.training.history.Outcome` holds the last verified epoch's
parameters, or the best epoch's where a rule keeps the best. Any other exception propagates, the outcome still
holding the last completed epoch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..backend.namespaces import floating_point_warnings_silenced
from .history import Outcome
from .monitor import EpochReport, Monitor
from .recovery import interrupts_deferred


@dataclass(frozen=True)
class Validation:
    """The validation figures of given parameters: ``loss(weights, biases) → float`` and, where a rule watches
    it, ``score(weights, biases) → float`` (accuracy or R²)."""

    loss: Callable[[Any, Any], float]
    score: Callable[[Any, Any], float] | None = None
    rows: int = 0  # how many validation rows (the size of its products)


@dataclass(frozen=True)
class Plan:
    """What happens around the steps: how many epochs (in all), η when no schedule sets it (``outcome.rate``),
    the monitor, validation, what keeps the best epoch's parameters intact (``remember``), checkpoints and the
    per-epoch callback."""

    epochs: int
    learning_rate: float
    monitor: Monitor = field(default_factory=Monitor)
    validation: Validation | None = None
    remember: Callable = lambda *parameters: parameters
    checkpoint: Callable[[Outcome], None] | None = None
    checkpoint_every: int = 1
    callback: Callable | None = None
    restore_best: bool = True  # end holding the best epoch where a rule keeps one
    intact: bool = True  # an epoch's parameters stay intact after it (snapshot, or immutable arrays)
    records: bool = False  # the History records more per epoch than its loss (gradient norms)

    @property
    def quiet(self) -> bool:
        """Whether nothing happens on the host between epochs but the monitor's look at the training loss."""
        return (self.validation is None and self.callback is None and self.checkpoint is None
                and not self.monitor.watches_validation and not self.records)


def run(outcome: Outcome, driver: Any, plan: Plan) -> Outcome:
    """Train from ``outcome`` (its parameters, state, History and epoch) up to ``plan.epochs``; return it. A run
    whose History says it stopped early (a resumed one that had ended) trains no further."""
    loop = _Loop(outcome, driver, plan)
    with floating_point_warnings_silenced():  # divergence is detected and reported, not warned
        try:
            outcome.weights, outcome.biases, outcome.state = driver.start(outcome.parameters)
            while not outcome.history.stopped_early and outcome.epoch + 1 < plan.epochs and loop.step():
                pass
        except KeyboardInterrupt:
            outcome.history.interrupted = True
    if plan.checkpoint is not None and outcome.epoch != loop.checkpointed:
        try:  # the last completed epoch, unless it was written (completely) already; a Ctrl-C waits for the file
            with interrupts_deferred():
                plan.checkpoint(outcome)
        except KeyboardInterrupt:
            outcome.history.interrupted = True
    if outcome.history.diverged_at is not None and plan.intact:
        loop.fall_back()  # after the checkpoint, which holds the last completed epoch to resume from
    return finish(outcome, restore_best=plan.restore_best and plan.monitor.keeps_best)


class _Loop:
    """One fit's epochs: driven (one or several per call), then settled one by one."""

    def __init__(self, outcome: Outcome, driver: Any, plan: Plan):
        self.outcome, self.driver, self.plan = outcome, driver, plan
        self.checkpointed = outcome.epoch  # the last epoch whose checkpoint write completed
        self.one_by_one_until = -1  # epochs up to this one run singly (a chunk that diverged is replayed)
        self.before = lambda: None  # the parameters held before the last epoch, and their epoch: see fall_back

    @property
    def learning_rate(self) -> float:
        rate = self.outcome.rate
        return self.plan.learning_rate if rate is None else rate.learning_rate

    def step(self) -> bool:
        """Drive and settle the next epoch (or chunk of epochs); return whether training goes on."""
        outcome, plan = self.outcome, self.plan
        if self.driver.several and plan.quiet and plan.monitor.steady_rate(outcome.rate) \
                and outcome.epoch >= self.one_by_one_until:
            return self.chunk(min(self.driver.per_call, plan.epochs - (outcome.epoch + 1)))
        run = self.driver.epoch(outcome.parameters, self.learning_rate)
        return self.settle(outcome.epoch + 1, self.driver.read(run), run[0], run[1])

    def chunk(self, count: int) -> bool:
        """``count`` epochs in one call, settled in order after it. A chunk that is not finite is replayed one
        epoch at a time (to find the epoch that diverged); one that the monitor stops at an earlier epoch — or
        after which it changes η (an adaptive schedule's plateau) — is run again up to that epoch, so the outcome
        holds its parameters (and the next chunk runs at the new η)."""
        outcome, driver, rate = self.outcome, self.driver, self.learning_rate
        start, rng_state = outcome.parameters, driver.rng_state
        try:
            parameters, values, finite = driver.epochs(start, rate, count)
        except KeyboardInterrupt:  # no epoch of the chunk recorded: the orders drawn for it are drawn again
            driver.rewind(rng_state)
            raise
        if not finite:
            driver.rewind(rng_state)
            self.one_by_one_until = outcome.epoch + count
            return True
        before = outcome.epoch
        try:
            for i, value in enumerate(values):
                if not self.keep(outcome.epoch + 1, value, None, None, parameters):
                    self.hold(self.after(start, rng_state, i + 1, count, parameters, rate))
                    return False
                if self.learning_rate != rate and i + 1 < count:  # η changed: the chunk's later epochs ran at the old
                    end = outcome.epoch
                    self.hold(self.after(start, rng_state, i + 1, count, parameters, rate))
                    self.before = lambda i=i, end=end: (self.after(start, rng_state, i, count, parameters, rate),
                                                        end - 1)
                    return True
        except KeyboardInterrupt:  # the epochs recorded so far count: hold their parameters, then stop
            self.hold(self.after(start, rng_state, outcome.epoch - before, count, parameters, rate))
            raise
        self.hold(parameters)
        end = outcome.epoch  # the last epoch's starting parameters, run again up to there if a divergence asks
        self.before = lambda: (self.after(start, rng_state, count - 1, count, parameters, rate), end - 1)
        return True

    def after(self, start: tuple, rng_state: Any, epochs: int, count: int, parameters: tuple, rate: float) -> tuple:
        """The parameters ``epochs`` epochs into a chunk of ``count`` at η ``rate`` that started at ``start`` and
        ended at ``parameters``: run again up to there when the chunk is settled only that far."""
        if epochs == count:
            return parameters
        self.driver.rewind(rng_state)
        return start if epochs == 0 else self.driver.epochs(start, rate, epochs)[0]

    def hold(self, parameters: tuple) -> None:
        self.outcome.weights, self.outcome.biases, self.outcome.state = parameters
        self.outcome.rng_state = self.driver.rng_state

    def settle(self, epoch: int, value: float, parameters: tuple, total: Any) -> bool:
        """Settle a driven epoch (``total``: its summed loss, on the device): finite, validated, kept, judged,
        checkpointed, reported; whether to go on."""
        validation, history = self.plan.validation, self.outcome.history
        val_loss = score = None
        if math.isfinite(value) and validation is not None:
            val_loss = validation.loss(*parameters[:2])
            if self.plan.monitor.watches_score and math.isfinite(val_loss):
                score = validation.score(*parameters[:2])
        if not math.isfinite(value) or (val_loss is not None and not math.isfinite(val_loss)):
            history.diverged_at = epoch
            if math.isfinite(float(total)):  # only its updates (or validation) went wrong: the loss of the held
                self.before = lambda: None  # parameters, which the epoch started from, was finite: keep them
            return False
        held, held_epoch = self.outcome.parameters, self.outcome.epoch
        self.before = lambda: (held, held_epoch)
        self.hold(parameters)
        go_on = self.keep(epoch, value, val_loss, score, parameters)
        if self.plan.checkpoint is not None and (epoch + 1) % self.plan.checkpoint_every == 0:
            with interrupts_deferred():  # a Ctrl-C inside the write lands once the file is in place
                self.plan.checkpoint(self.outcome)
                self.checkpointed = epoch
        if self.plan.callback is not None:
            self.plan.callback(epoch, history)
        return go_on

    def fall_back(self) -> None:
        """After a divergence: hold the parameters the last finite loss was measured at — those the last finite
        epoch started from — rather than those its updates left, whose own loss the diverged epoch found not
        finite. (Full-batch, that loss is exactly theirs, History.loss[-1]; the epoch before is kept.)"""
        before = self.before()
        if before is not None:
            (self.outcome.weights, self.outcome.biases, self.outcome.state), self.outcome.held = before

    def keep(self, epoch: int, value: float, val_loss: float | None, score: float | None, parameters: tuple) -> bool:
        """Record a verified epoch in the History and ask the monitor; remember it if it is the best so far.
        Return whether training goes on."""
        outcome, history = self.outcome, self.outcome.history
        outcome.epoch = epoch
        outcome.samples_seen += self.driver.rows
        history.loss.append(value)
        if self.plan.records:  # read with the loss (bpxp.backend.epochs.EagerEpochs.read)
            history.gradient_norms.append(self.driver.gradient_norms)
        if val_loss is not None:
            history.val_loss.append(val_loss)
        report = EpochReport(epoch, value, val_loss, score, outcome.samples_seen)
        best, stop = self.plan.monitor.settle(report, outcome)
        if best:
            outcome.best, history.best_epoch = self.plan.remember(*parameters), epoch
        if stop:
            history.stopped_early = True
        return not stop


def finish(outcome: Outcome, *, restore_best: bool) -> Outcome:
    """Where a rule keeps the best epoch, swap in its parameters; record which epoch the outcome holds."""
    if restore_best and outcome.best is not None:
        outcome.weights, outcome.biases, outcome.state = outcome.best
        outcome.history.kept_epoch = outcome.history.best_epoch
    else:
        held = outcome.epoch if outcome.held is None else outcome.held
        outcome.history.kept_epoch = held if held >= 0 else None
    return outcome


def snapshot(weights, biases, state, *, xp):
    """Copies of the parameters and of the optimizer state's arrays (for steps that update them in place)."""
    def copy(tree):
        if tree is None or isinstance(tree, tuple | list):
            return None if tree is None else type(tree)(copy(part) for part in tree)
        return xp.asarray(tree, copy=True)

    return copy(weights), copy(biases), copy(state)
