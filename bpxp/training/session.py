"""One training run of a network in memory: its inputs checked once, the step and its driver chosen, the loop run.

``MLP.fit`` and the scikit-learn estimators both train through :func:`train`; they hand it a network — anything
with the public description of a ``bpxp.MLP``: ``spec``, ``xp``, ``device``, ``dtype``, ``weights``, ``biases`` —
the batches, the configuration (``bpxp.training.config.TrainingConfig``) and the monitor's rules. The inputs are
checked and moved to the network's device once per call by :func:`features`, :func:`targets` and
:func:`validation_pair`; nothing in the loop checks again. ``MLP.fit`` checks its whole run first
(:func:`prepared`, a :class:`Run`), then trains it (:func:`fit`); ``MLP.score`` scores through :func:`score`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import checks
from ..backend import compiled, epochs, precision
from ..backend import inputs as _inputs
from ..backend.namespaces import array_backend, arrays_are_immutable, host_float, network_precision
from ..math import metrics
from ..math.backprop import dataset_loss, forward_pass
from . import checkpoint as _checkpoint
from .config import TrainingConfig
from .history import Outcome
from .loop import Plan, Validation, run, snapshot
from .monitor import Monitor
from .recovery import exactly_finite, finite_check, finite_probes, report_finished
from .step import StepOptions, make_step


def parameters(net: Any) -> tuple[tuple, tuple | None]:
    """The network's (weights, biases) as tuples (biases None without them), as the loop and the math take them."""
    return tuple(net.weights), None if net.biases is None else tuple(net.biases)


def features(net: Any, X: Any, name: str = "X") -> Any:
    """X checked (2-D, ``layer_sizes[0]`` columns, finite numbers) in the network's namespace, dtype and device."""
    return _inputs.features(X, n_features=net.spec.layer_sizes[0], xp=net.xp, device=net.device, dtype=net.dtype,
                            float_name=net.spec.dtype, name=name)


def targets(net: Any, y: Any, n_rows: int, name: str = "y", rows_of: str = "X") -> Any:
    """y checked against ``n_rows`` rows and the task, as the loss reads it (one-hot labels), on the device."""
    return _inputs.targets(y, n_rows=n_rows, spec=net.spec, xp=net.xp, device=net.device, name=name, rows_of=rows_of)


def data(net: Any, X: Any, y: Any) -> tuple[Any, Any]:
    """``(X, Y)`` checked and moved by :func:`features` and :func:`targets`."""
    X = features(net, X)
    return X, targets(net, y, X.shape[0])


def validation_pair(net: Any, validation_data: Any) -> tuple | None:
    """``(X_val, Y_val)`` checked and moved as :func:`features` and :func:`targets` do, or None."""
    if validation_data is None:
        return None
    if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
        raise TypeError(f"`validation_data` must be a pair (X_val, y_val), got {type(validation_data).__name__}")
    X_val = features(net, validation_data[0], name="validation_data[0]")
    Y_val = targets(net, validation_data[1], X_val.shape[0], name="validation_data[1]", rows_of="validation_data[0]")
    return X_val, Y_val


def validation(net: Any, X_val: Any, Y_val: Any, *, sample_weight: Any = None) -> Validation:
    """The validation figures of parameters on prepared (X_val, Y_val): the loss L, and the score — accuracy, or
    R² for a regressor — weighted by ``sample_weight`` (m,) when given, as ``bpxp.math.metrics`` computes it."""
    spec, xp = net.spec, net.xp

    def outputs(weights, biases):
        return forward_pass(X_val, weights, biases, spec.activations, xp=xp)

    def loss(weights, biases) -> float:
        return host_float(dataset_loss(X_val, Y_val, weights, biases, spec.activations, spec.loss_function, xp=xp))

    def score(weights, biases) -> float:
        P = outputs(weights, biases)[0][-1]
        return host_float(metrics.score(Y_val, P, task=spec.task, xp=xp, weights=sample_weight))

    return Validation(loss, score, rows=X_val.shape[0])


def score(net: Any, X: Any, y: Any) -> float:
    """The network's score on (X, y) (``bpxp.math.metrics.score``), the inputs checked as :func:`features` and
    :func:`targets` do."""
    return validation(net, *data(net, X, y)).score(*parameters(net))


def check_optimizer_state(net: Any, state: Any, rule: Any) -> None:
    """Refuse an optimizer state that is not ``rule``'s for the network's parameters (nesting, shapes, dtypes,
    backend)."""
    if state is None:
        return
    if not isinstance(state, tuple):
        raise TypeError(f"`optimizer_state` must be a tuple of arrays (net.optimizer_state_ of an earlier fit), "
                        f"got {type(state).__name__}")
    expected_arrays, expected = _checkpoint.flatten(rule.init((*net.weights, *(net.biases or ())), xp=net.xp))
    given_arrays, given = _checkpoint.flatten(state)
    same = expected == given and all(
        array_backend(a) in (net.backend, None)  # None: a NumPy scalar (NumPy's 0-d results)
        and tuple(getattr(a, "shape", ())) == tuple(b.shape) and getattr(a, "dtype", None) == b.dtype
        for a, b in zip(given_arrays, expected_arrays))
    if not same:
        raise ValueError(f"`optimizer_state` does not match optimizer {rule.name!r} on this network: it must be "
                         f"net.optimizer_state_ of an earlier fit with the same optimizer, layer sizes, dtype "
                         f"and backend")


@dataclass
class Run:
    """One in-memory fit with its inputs checked (:func:`prepared`): its configuration, the outcome it starts from,
    its batches, what it validates on and how it writes checkpoints. :func:`fit` trains it."""

    config: TrainingConfig
    outcome: Outcome
    batches: epochs.DenseBatches
    validation: Validation | None = None
    checkpoint: Callable[[Outcome], None] | None = None


def prepared(net: Any, X: Any, y: Any, config: TrainingConfig, start: Start, *, validation_data: Any = None) -> Run:
    """``MLP.fit``'s run on (X, y), every input checked and moved once, before anything trains, from ``start``."""
    X = features(net, X)
    Y, pair = targets(net, y, X.shape[0]), validation_pair(net, validation_data)
    if config.early_stopping is not None and pair is None:
        raise ValueError("`early_stopping` needs `validation_data` to watch: pass validation_data=(X_val, y_val)")
    outcome, write = start.outcome(net, config, X.shape[0])
    batches = epochs.DenseBatches(X, Y, config.batch_size or X.shape[0], xp=net.xp)
    return Run(config, outcome, batches, None if pair is None else validation(net, *pair), write)


def fit(net: Any, run: Run, callback: Callable | None = None) -> Outcome:
    """Train ``run`` (:func:`train`, the rules of its configuration as the monitor, ``callback`` after each epoch);
    however it ends, the network then holds the parameters, optimizer rule and state it ended with."""
    config, outcome = run.config, run.outcome
    try:
        train(net, outcome, run.batches, config, plan(net, config, monitor=config.monitor(), callback=callback,
                                                      checkpoint=run.checkpoint, validation=run.validation))
    finally:
        net.set_parameters(outcome.weights, outcome.biases, optimizer=config.optimizer, optimizer_state=outcome.state)
    return outcome


def plan(net: Any, config: TrainingConfig, *, monitor: Monitor, validation: Validation | None = None,
         callback: Callable | None = None, checkpoint: Callable[[Outcome], None] | None = None,
         restore_best: bool = True) -> Plan:
    """What happens around one run's steps (``bpxp.training.loop.Plan``). ``restore_best``: the outcome ends
    holding the best epoch where a rule keeps one (else the caller decides)."""
    # Each epoch's first step writes new arrays (with snapshot), so an epoch's parameters stay intact: the best is
    # kept without a copy. Without snapshot, steps update in place and the best must be copied.
    intact = config.snapshot or arrays_are_immutable(net.xp)
    return Plan(epochs=config.epochs, learning_rate=config.learning_rate, monitor=monitor, validation=validation,
                remember=(lambda *parameters: parameters) if intact else functools.partial(snapshot, xp=net.xp),
                checkpoint=checkpoint, checkpoint_every=config.checkpoint_every, callback=callback,
                restore_best=restore_best, intact=intact, records=bool(config.record))


def train(net: Any, outcome: Outcome, batches: Any, config: TrainingConfig, plan: Plan) -> Outcome:
    """Run the loop from ``outcome`` on ``batches`` (``bpxp.backend.epochs.DenseBatches``, or any source of
    prepared batches) as ``config`` and ``plan`` say."""
    if outcome.state is None:  # a fresh optimizer state: zeros, kept across fits where arrays never change (JAX)
        parameters = (*outcome.weights, *(outcome.biases or ()))
        outcome.state = compiled.kept(
            ("state", config.optimizer, net.dtype, str(net.device), *(tuple(p.shape) for p in parameters)),
            lambda: config.optimizer.init(parameters, xp=net.xp), xp=net.xp)
    rows = max(batches.size, 0 if plan.validation is None else plan.validation.rows)
    return drive(net, outcome, _driver(net, outcome, batches, config), plan, rows=rows)


def drive(net: Any, outcome: Outcome, driver: Any, plan: Plan, *, rows: int | None = None) -> Outcome:
    """``bpxp.training.loop.run`` with ``driver``, within the network's precision policy; with the most ``rows``
    of a product in memory (a batch's or the validation set's), on one CPU thread where they are few
    (``bpxp.backend.precision``)."""
    work = None if rows is None else precision.largest_product(net.spec.layer_sizes, rows)
    with network_precision(net), precision.small_products_on_one_thread(net.xp, net.device, work):
        return run(outcome, driver, plan)


def _driver(net: Any, outcome: Outcome, batches: Any, config: TrainingConfig) -> epochs.EagerEpochs:
    """How this fit's epochs run (``bpxp.backend.epochs``): its steps (η their argument), row orders, constants."""
    xp, spec = net.xp, net.spec
    keeps = config.snapshot and not arrays_are_immutable(xp)

    def make(first: bool, last: bool) -> Callable:
        return make_step(spec.activations, spec.loss_function, config.optimizer, xp=xp,
                         options=StepOptions(l2=config.l2, clip_norm=config.clip_norm, weighted=config.weighted,
                                             in_place=not (first and keeps), checked=last, norms=norms))

    # the zero the loss sums start from — a vector [Σℓ, ‖∂L/∂W¹‖, …] when gradient norms are recorded (the
    # driver reads them with the loss) — and the finite check's probes
    norms = "gradient_norms" in config.record
    shape = (1 + len(outcome.weights),) if norms else ()

    def constants():
        return xp.zeros(shape, dtype=net.dtype, device=net.device), finite_probes(outcome.weights, xp=xp)

    zero, probes = compiled.kept((net.dtype, str(net.device), spec.layer_sizes[0], spec.layer_sizes[-1], shape),
                                 constants, xp=xp)  # kept across fits where arrays never change (JAX)
    n = batches.n
    orders = epochs.epoch_orders(n, batches.size, shuffle=config.shuffle, random_state=config.random_state,
                                 rng_state=outcome.rng_state)
    return epochs.eager_or_compiled(make, batches, orders, constants=(zero, probes), check=finite_check,
                                    exactly_finite=lambda p: exactly_finite((*p[0], *(p[1] or ())), xp=xp),
                                    weights=outcome.weights, xp=xp)


@dataclass(frozen=True)
class Start:
    """Where a run of ``MLP.fit`` starts — the network's parameters with ``optimizer_state``, or the checkpoint
    file ``resume`` — and where it writes its checkpoints (``checkpoint``, None: nowhere)."""

    optimizer_state: Any = None
    checkpoint: str | os.PathLike | None = None
    resume: str | os.PathLike | None = None

    def outcome(self, net: Any, config: TrainingConfig, n_samples: int | None) -> tuple[Outcome, Callable | None]:
        """(the Outcome the run starts from, η its schedule's (``TrainingConfig.start_rate``); ``write(outcome)``
        of its checkpoints, or None). ``n_samples``: the training rows (None: a Dask array of unknown length)."""
        settings = config.settings(n_samples)
        write = None if self.checkpoint is None else checkpointer(net, self.checkpoint, config.optimizer, settings)
        outcome = Outcome(tuple(net.weights), None if net.biases is None else tuple(net.biases), self.optimizer_state)
        if self.resume is not None:
            outcome = resumed(net, self.resume, settings)
            if outcome.samples_seen is None:  # a checkpoint of bpxp 0.1: every epoch saw the n_samples rows
                outcome.samples_seen = 0 if n_samples is None else (outcome.epoch + 1) * n_samples
            report_finished(self.resume, outcome.history, config.epochs)
        config.start_rate(outcome)
        return outcome, write


def checkpointer(net: Any, path: str | os.PathLike, rule: Any, settings: dict) -> Callable[[Outcome], None]:
    """``write(outcome)``: a training checkpoint of the network at ``path`` (checked writable now, before training)."""
    path = checks.check_destination(path, "checkpoint")

    def write(outcome: Outcome) -> None:
        _checkpoint.save_training(path, net.spec, outcome, backend=net.backend, device=net.device, optimizer=rule,
                                  settings=settings, argument="checkpoint")

    return write


def resumed(net: Any, path: str | os.PathLike, settings: dict) -> Outcome:
    """The Outcome a checkpoint left, after checking it was written by this network with these settings."""
    return _checkpoint.resume(checks.check_path(path, "resume"), net.spec, settings, xp=net.xp, device=net.device)
