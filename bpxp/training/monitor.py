"""When training stops, and which epoch it keeps: one monitor, asked once per settled epoch.

Its rules are small policy objects, each watching one figure of the epoch just settled (an :class:`EpochReport`):

- :class:`Patience` — ``MLP.fit(early_stopping=k)``: the validation loss. The epoch of the lowest one is kept, and
  training stops after k epochs without a lower one.
- :class:`Tolerance` — the scikit-learn estimators' rule (``tol``, ``n_iter_no_change``): the training loss must
  fall below the best so far minus tol — or, under ``early_stopping``, the validation score rise above the best
  plus tol, the epoch of the best score being kept. After more than ``n_iter_no_change`` epochs without, the
  learning-rate schedule is told of a plateau: a constant η ends training, an adaptive one is divided by 5
  (ending training at its floor).
- :class:`SchedulePlateaus` — ``MLP.fit(learning_rate_schedule='adaptive')``: the watched loss (validation, else
  training) must fall below the best minus the schedule's tol; after its patience, η ← η/5, and training ends
  once η is at its floor (``History.schedule_ended``).

Between judging the epoch and deciding whether to stop, the schedule's η for the next epoch is set
(``ScheduledRate.epoch_ended``: η₀/(t + 1)^p for 'invscaling', t the samples seen), as scikit-learn does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .history import Outcome


class EpochReport(NamedTuple):
    """The figures of one settled (finite) epoch: its training loss, validation loss and score (when watched),
    and the samples trained on so far. (A tuple: one is made per epoch, and a tuple is made fastest.)"""

    epoch: int
    loss: float
    val_loss: float | None
    score: float | None
    samples_seen: int

    @property
    def watched_loss(self) -> float:
        """The validation loss when there is one, else the training loss."""
        return self.loss if self.val_loss is None else self.val_loss


class Rule:
    """A stopping rule: ``judge`` says whether the epoch is the best so far (its parameters then kept), ``stops``
    whether training ends after it. Both see the :class:`Outcome`, whose η (``outcome.rate``) ``stops`` may
    change."""

    keeps_best = False  # whether the fit ends holding the best epoch's parameters
    watches_score = False  # whether it needs the validation score (accuracy or R²)
    watches_validation = False  # whether it needs validation data

    def judge(self, report: EpochReport, outcome: Outcome) -> bool:
        return False

    def stops(self, report: EpochReport, outcome: Outcome) -> bool:
        return False


@dataclass
class Patience(Rule):
    """Early stopping on the validation loss: stop after ``patience`` epochs without a lower one; keep the
    lowest. Its count lives in the Outcome (``since_best``), so a checkpoint resumes it."""

    patience: int
    keeps_best = True
    watches_validation = True

    def judge(self, report, outcome):
        history = outcome.history
        first = report.epoch + 1 - len(history.val_loss)  # val_loss[i] belongs to epoch first + i
        if outcome.best is None or report.val_loss < history.val_loss[history.best_epoch - first]:
            outcome.since_best = 0
            return True
        outcome.since_best += 1
        return False

    def stops(self, report, outcome):
        return outcome.since_best >= self.patience


@dataclass
class Tolerance(Rule):
    """scikit-learn's rule: no improvement by ``tol`` for more than ``n_iter_no_change`` epochs is a plateau.

    Watching the training loss, an epoch improves when L < best − tol; watching the validation score s, when
    s > best + tol, and the epoch of the highest s is kept. Its figures (``best_loss``, ``best_score``, ``scores``,
    ``count``) carry over between an estimator's ``partial_fit`` calls and warm-started fits.
    """

    tol: float
    n_iter_no_change: float
    watch_score: bool = False
    best_loss: float = math.inf
    best_score: float = -math.inf
    count: int = 0
    scores: list[float] = field(default_factory=list)

    @property
    def keeps_best(self) -> bool:
        return self.watch_score

    @property
    def watches_score(self) -> bool:
        return self.watch_score

    @property
    def watches_validation(self) -> bool:
        return self.watch_score

    def judge(self, report, outcome):
        best = False
        if self.watch_score:
            self.scores.append(report.score)
            improved = not report.score < self.best_score + self.tol
            if report.score > self.best_score:
                self.best_score, best = report.score, True
        else:
            improved = not report.loss > self.best_loss - self.tol
            if report.loss < self.best_loss:
                self.best_loss = report.loss
        self.count = 0 if improved else self.count + 1
        return best

    def stops(self, report, outcome):
        if self.count <= self.n_iter_no_change:
            return False
        if outcome.rate is None or outcome.rate.plateau():
            return True
        self.count = 0
        return False


class SchedulePlateaus(Rule):
    """The adaptive schedule's plateaus in ``MLP.fit``: its counts live in the schedule's η
    (``ScheduledRate``), which a checkpoint records."""

    def stops(self, report, outcome):
        if outcome.rate is None or not outcome.rate.plateaued(report.watched_loss):
            return False
        outcome.history.schedule_ended = True
        return True


@dataclass
class Monitor:
    """The rules of one fit, asked once per settled epoch."""

    rules: tuple[Rule, ...] = ()

    @property
    def keeps_best(self) -> bool:
        return any(rule.keeps_best for rule in self.rules)

    @property
    def watches_score(self) -> bool:
        return any(rule.watches_score for rule in self.rules)

    @property
    def watches_validation(self) -> bool:
        return any(rule.watches_validation for rule in self.rules)

    def settle(self, report: EpochReport, outcome: Outcome) -> tuple[bool, bool]:
        """(whether the epoch is the best so far, whether training stops after it): every rule judges, η for the
        next epoch is set, then every rule says whether it stops."""
        best = stops = False
        for rule in self.rules:
            best = rule.judge(report, outcome) or best
        if outcome.rate is not None and outcome.rate.schedule.varies_by_epoch:
            outcome.rate.epoch_ended(report.samples_seen)
        for rule in self.rules:
            stops = rule.stops(report, outcome) or stops
        return best, stops

    def steady_rate(self, rate: Any) -> bool:
        """Whether η stays what it is from epoch to epoch, changing — if ever — only at a plateau the monitor finds
        (an adaptive schedule): not a schedule that sets η anew after every epoch (invscaling)."""
        return rate is None or not rate.schedule.varies_by_epoch
