"""The configuration of one training run: every option of ``MLP.fit`` checked once, held in one object.

``TrainingConfig.checked`` runs the checks of ``bpxp.checks`` on the user's options; the configuration then
gives what the training loop takes (its ``monitor``) and what a training checkpoint records
(``settings``, compared on resume). The estimators build one too (``bpxp.sklearn.training``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import checks, defaults
from ..math.optimizers import Adaptive, Constant, Optimizer, ScheduledRate, get_optimizer, get_schedule
from .history import Outcome
from .monitor import Monitor, Patience, SchedulePlateaus

ON_DIVERGENCE = ("raise", "warn")
RECORDABLE = ("gradient_norms",)  # what fit(record=...) may add to the History, per epoch


@dataclass(frozen=True)
class TrainingConfig:
    """How to train: checked options, no data.

    Attributes
    ----------
    epochs : int
        Passes over the data (in all, counting the epochs of a resumed run).
    learning_rate : float
        η.
    batch_size : int or None
        Rows per step; None is the whole data set.
    optimizer : bpxp.optimizers.Optimizer
        The update rule.
    shuffle : bool
    random_state : seed
        Of the shuffling permutations.
    l2 : float
        L2 penalty α (0: none).
    clip_norm : float or None
    early_stopping : int or None
        Patience in epochs, watching the validation loss.
    on_divergence : {'raise', 'warn'}
    snapshot : bool
        Keep the last finite epoch's parameters.
    checkpoint_every : int
    weighted : bool
        Y carries the sample weights as one more column (``bpxp.training.loop``).
    rate_schedule : bpxp.optimizers.Constant or None
        How η changes from epoch to epoch (from ``learning_rate``); None: it stays ``learning_rate``.
    record : tuple of str
        What the History records per epoch besides the losses: 'gradient_norms' (``History.gradient_norms``).
    """

    epochs: int
    learning_rate: float
    batch_size: int | None
    optimizer: Optimizer
    shuffle: bool = True
    random_state: Any = None
    l2: float = 0.0
    clip_norm: float | None = None
    early_stopping: int | None = None
    on_divergence: str = "raise"
    snapshot: bool = True
    checkpoint_every: int = 1
    weighted: bool = False
    rate_schedule: Constant | None = None
    record: tuple[str, ...] = ()

    @classmethod
    def checked(cls, *, epochs: Any = defaults.EPOCHS, learning_rate: Any = None, batch_size: Any = "auto",
                optimizer: Any = "adam", shuffle: Any = True, random_state: Any = None, l2: Any = 0.0,
                clip_norm: Any = None, early_stopping: Any = None, on_divergence: Any = "raise",
                snapshot: Any = True, checkpoint_every: Any = 1,
                learning_rate_schedule: Any = None, record: Any = ()) -> TrainingConfig:
        """The options of ``MLP.fit`` checked (``bpxp.checks``), defaults filled in; errors name the option."""
        epochs = checks.positive_int(epochs, "epochs")
        batch_size = defaults.AUTO_BATCH_SIZE if isinstance(batch_size, str) and batch_size == "auto" else batch_size
        batch_size = None if batch_size is None else checks.positive_int(batch_size, "batch_size")
        shuffle = checks.check_bool(shuffle, "shuffle")
        random_state = checks.check_seed(random_state)
        early_stopping = None if early_stopping is None else checks.positive_int(early_stopping, "early_stopping")
        rule = get_optimizer(optimizer)
        if isinstance(learning_rate_schedule, Constant):  # a schedule given whole carries its own η₀
            if learning_rate is not None and learning_rate != learning_rate_schedule.initial:
                raise ValueError(f"`learning_rate` {learning_rate!r} differs from the initial η of "
                                 f"`learning_rate_schedule` {learning_rate_schedule!r}: give η once")
            learning_rate = learning_rate_schedule.initial
        learning_rate = defaults.learning_rate(rule.name) if learning_rate is None else learning_rate
        learning_rate = checks.positive_float(learning_rate, "learning_rate")
        rate_schedule = get_schedule(learning_rate_schedule, learning_rate)
        l2 = 0.0 if l2 == 0 else checks.positive_float(l2, "l2")
        clip_norm = None if clip_norm is None else checks.positive_float(clip_norm, "clip_norm")
        checks.check_choice(on_divergence, "on_divergence", ON_DIVERGENCE)
        snapshot = checks.check_bool(snapshot, "snapshot")
        checkpoint_every = checks.positive_int(checkpoint_every, "checkpoint_every")
        return cls(epochs, learning_rate, batch_size, rule, shuffle, random_state, l2, clip_norm, early_stopping,
                   on_divergence, snapshot, checkpoint_every, rate_schedule=rate_schedule, record=check_record(record))

    def monitor(self) -> Monitor:
        """``MLP.fit``'s stopping rules: patience on the validation loss (``early_stopping``), the adaptive
        schedule's plateaus (``bpxp.training.monitor``)."""
        rules = [] if self.early_stopping is None else [Patience(self.early_stopping)]
        if isinstance(self.rate_schedule, Adaptive):
            rules.append(SchedulePlateaus())
        return Monitor(tuple(rules))

    def settings(self, n_samples: int | None) -> dict:
        """What a training checkpoint records of the run (JSON), and a resumed run must share (``n_samples`` None:
        a Dask array of unknown length, trained in full batches)."""
        batch_size = n_samples if self.batch_size is None else self.batch_size
        if n_samples is not None:
            batch_size = min(batch_size, n_samples)
        return {"learning_rate": self.learning_rate, "batch_size": batch_size,
                "optimizer": {"name": self.optimizer.name, **dataclasses.asdict(self.optimizer)},
                "shuffle": self.shuffle, "l2": self.l2, "clip_norm": self.clip_norm,
                "early_stopping": self.early_stopping, "n_samples": n_samples,
                **({} if self.rate_schedule is None else {"learning_rate_schedule": {
                    "name": self.rate_schedule.name, **dataclasses.asdict(self.rate_schedule)}})}

    def start_rate(self, outcome: Outcome) -> None:
        """Give ``outcome`` the schedule's current η (``outcome.rate``): η₀ for a fresh run, or the η and plateau
        count a resumed run's checkpoint recorded. Without a schedule, η stays ``learning_rate``."""
        if self.rate_schedule is not None and not isinstance(outcome.rate, ScheduledRate):
            outcome.rate = ScheduledRate.start(self.rate_schedule) if outcome.rate is None \
                else ScheduledRate(self.rate_schedule, **outcome.rate)


def check_record(record: Any) -> tuple[str, ...]:
    """``record`` as a tuple of names from :data:`RECORDABLE` (a single name is taken as one), else a ValueError."""
    names = (record,) if isinstance(record, str) else record
    if not isinstance(names, tuple | list) or any(name not in RECORDABLE for name in names):
        raise ValueError(f"`record` must be a tuple of names from {list(RECORDABLE)}, got {record!r}")
    return tuple(dict.fromkeys(names))


def check_callback(callback: Any) -> Callable | None:
    """``callback`` if it is None or callable (as callback(epoch, history)), else a TypeError."""
    if callback is not None and not callable(callback):
        raise TypeError(f"`callback` must be callable as callback(epoch, history), got {callback!r}")
    return callback
