"""Update rules θ ← θ − η·d, where the direction d comes from the gradients and the optimizer's state.

``init(params, xp=...)`` makes an optimizer's state; ``direction(grads, state, xp=...)`` returns (d, new state);
``update(params, grads, state, learning_rate, xp=...)`` returns the new parameters and state. All three are pure:
they never modify their arguments. (The training step applies θ ← θ − η·d in place where the library allows,
through ``bpxp.backend.namespaces.subtract_in_place``.) Parameters, gradients and state are tuples of arrays — a JAX
pytree
— so an update compiles under ``jax.jit`` as it is.

:func:`apply_update` is bpxp's one update step — L2 penalty, gradient clipping, then the optimizer's θ ← θ − η·d —
run by the in-memory training step and by the Dask driver alike.

- ``SGD``:       θ ← θ − η·g                                       (one step of the seed tutorials)
- ``Momentum``:  v ← μ·v + g;  θ ← θ − η·v                          (``torch.optim.SGD(momentum=μ)``)
- ``Nesterov``:  v ← μ·v + g;  θ ← θ − η·(g + μ·v)                  (``torch.optim.SGD(momentum=μ, nesterov=True)``)
- ``Adam``:      m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;
                 θ ← θ − η·(m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε)      (Kingma & Ba 2015; ``torch.optim.Adam``)
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

from ..backend import fast as _fast
from ..backend.namespaces import subtract_in_place


class Optimizer:
    """Base class: an optimizer with no state."""

    name = ""
    # True when d = g exactly: the training step may then fold η into the gradients themselves.
    direction_is_gradient = False

    def init(self, params: tuple, *, xp: Any) -> tuple:
        return ()

    def direction(self, grads: tuple, state: tuple, *, xp: Any, scale: Any = 1.0,
                  overwrite: bool = False) -> tuple[tuple, tuple]:
        """(``scale``·d for each parameter, the advanced state): the training step passes ``scale`` = η, which
        an optimizer may fold into a factor it applies anyway (Adam) instead of one more operation per array.
        ``overwrite=True``: the state's arrays and the gradients are the caller's own, free to be overwritten."""
        raise NotImplementedError  # pragma: no cover - abstract

    def update(self, params: tuple, grads: tuple, state: tuple, learning_rate: float, *, xp: Any):
        """θ ← θ − η·d, functionally."""
        changes, state = self.direction(grads, state, xp=xp, scale=learning_rate)
        return tuple(p - change for p, change in zip(params, changes)), state


def _scaled(arrays: tuple, scale: Any) -> tuple:
    """scale·a for each array (the arrays themselves when scale is 1)."""
    return arrays if isinstance(scale, float) and scale == 1.0 else tuple(scale * a for a in arrays)


@dataclass(frozen=True)
class SGD(Optimizer):
    """Plain gradient descent: θ ← θ − η·∂L/∂θ."""

    name = "sgd"
    direction_is_gradient = True

    def direction(self, grads, state, *, xp, scale=1.0, overwrite=False):
        return _scaled(grads, scale), state


@dataclass(frozen=True)
class Momentum(Optimizer):
    """Heavy-ball momentum as ``torch.optim.SGD(momentum=μ, dampening=0)``: v ← μ·v + g; θ ← θ − η·v."""

    momentum: float = 0.9
    name = "momentum"

    def init(self, params, *, xp):
        return tuple(xp.zeros_like(p) for p in params)

    def direction(self, grads, state, *, xp, scale=1.0, overwrite=False):
        velocity = tuple(self.momentum * v + g for v, g in zip(state, grads))
        return _scaled(velocity, scale), velocity


@dataclass(frozen=True)
class Nesterov(Optimizer):
    """Nesterov's momentum as ``torch.optim.SGD(momentum=μ, nesterov=True)``: v ← μ·v + g; θ ← θ − η·(g + μ·v).

    The step looks ahead along the new velocity. With a constant η it is the same sequence of parameters as
    scikit-learn's form (u ← μ·u − η·g; θ ← θ + μ·u − η·g, with u = −η·v).
    """

    momentum: float = 0.9
    name = "nesterov"

    def init(self, params, *, xp):
        return tuple(xp.zeros_like(p) for p in params)

    def direction(self, grads, state, *, xp, scale=1.0, overwrite=False):
        velocity = tuple(self.momentum * v + g for v, g in zip(state, grads))
        return _scaled(tuple(g + self.momentum * v for g, v in zip(grads, velocity)), scale), velocity


@dataclass(frozen=True)
class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with the defaults and bias correction of ``torch.optim.Adam``.

    The state keeps β₁ᵗ and β₂ᵗ as 0-d arrays, multiplied once per step, so the step count never has to be
    read on the host.
    """

    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    name = "adam"

    def init(self, params, *, xp):
        one = xp.ones_like(params[0][0, 0])  # a 0-d array of the parameters' dtype and device
        # two sets of zeros: a step may update the moments in place (see ``direction``)
        return tuple(xp.zeros_like(p) for p in params), tuple(xp.zeros_like(p) for p in params), one, one

    def direction(self, grads, state, *, xp, scale=1.0, overwrite=False):
        """m ← β₁·m + (1−β₁)·g, v ← β₂·v + (1−β₂)·g², d = m̂ / (√v̂ + ε) with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ).

        ``overwrite=True`` (the training step after an epoch's first step): the moments are the step's own, and
        may be updated in place (``bpxp.backend.fast``; on NumPy the moments of all parameters are packed into one
        buffer, each operation one call for them all).
        """
        first, second, beta1_power, beta2_power = state
        beta1_power, beta2_power = beta1_power * self.beta1, beta2_power * self.beta2
        first, second = _fast.adam_moments(first, second, grads, self.beta1, self.beta2, xp=xp,
                                           overwrite=overwrite)
        # m̂ / (√v̂ + ε) = c · m / (√v + ε·√(1−β₂ᵗ)) with c = √(1−β₂ᵗ) / (1−β₁ᵗ): the bias corrections become two
        # 0-d factors per step instead of two array operations per parameter (Kingma & Ba, section 2); the
        # ``scale`` (η, from the training step) joins c, saving a multiplication per parameter.
        root = xp.sqrt(1.0 - beta2_power)
        factor, eps = (scale * root) / (1.0 - beta1_power), self.eps * root
        directions = _fast.adam_directions(first, second, factor, eps, xp=xp)
        return directions, (first, second, beta1_power, beta2_power)


def clip_by_global_norm(grads: tuple, max_norm: float, *, xp: Any) -> tuple:
    """Rescale the gradients of all parameters together so that their joint norm is at most c = ``max_norm``.

        ‖g‖ = √(Σₚ Σ gₚ²),   g ← g · min(1, c / (‖g‖ + 10⁻⁶))

    as ``torch.nn.utils.clip_grad_norm_``: the direction is kept, only the length is capped. Computed on the
    device; nothing is read on the host.
    """
    norm = xp.sqrt(sum(xp.sum(g * g) for g in grads))
    factor = at_most(max_norm / (norm + 1e-6), 1.0, xp=xp)
    return tuple(g * factor for g in grads)


def at_most(x: Any, bound: float, *, xp: Any) -> Any:
    """min(x, bound) elementwise, as ``xp.clip(x, max=bound)`` computes it (NaN stays NaN), by ``xp.minimum``.

    Not ``xp.clip``: array-api-compat writes ``clip`` for NumPy and CuPy as assignments through boolean masks
    (``out[ib] = b[ib]``), a data-dependent shape — on CuPy a device→host synchronisation per call, which also
    breaks the capture of a training step as a CUDA graph. ``minimum`` is one elementwise kernel everywhere.
    """
    return xp.minimum(x, xp.full_like(x, bound))


@dataclass(frozen=True)
class UpdateOptions:
    """How :func:`apply_update` treats the gradients and applies the change (by default: new arrays, no clipping).

    Attributes
    ----------
    clip_norm : float or None
        c: the gradients are rescaled to a joint norm of at most c (:func:`clip_by_global_norm`).
    folded : bool
        The gradients already carry η (plain SGD with η folded into δ): θ ← θ − g.
    in_place : bool
        The parameters are updated in place where the library allows (``bpxp.backend.namespaces.subtract_in_place``)
        and the optimizer may update its state in place too: the arrays are the training step's own.
    """

    clip_norm: float | None = None
    folded: bool = False
    in_place: bool = False


def apply_update(parameters: tuple, gradients: tuple, state: Any, optimizer: Optimizer, learning_rate: float, *,
                 xp: Any, penalty: Any = None, options: UpdateOptions = UpdateOptions()):
    """One update of the parameters from their batch gradients: L2 penalty, clipping, the optimizer's step.

        gᵂ ← gᵂ + λ·W                      (``penalty`` = λ; biases are not penalised)
        g ← g · min(1, c / ‖g‖)             (``options.clip_norm`` = c; see :func:`clip_by_global_norm`)
        θ ← θ − η·d(g)                      (d the optimizer's direction, its state advanced)

    ``parameters`` is (weights, biases) and ``gradients`` (∂L/∂W list, ∂L/∂b list), biases and their gradients None
    for a network without them. The one update of bpxp, run by the in-memory training step
    (``bpxp.training.step.make_step``) and by the Dask driver (``bpxp.dask.training``) alike; ``options``
    (:class:`UpdateOptions`) says whether η is already folded into the gradients and whether the arrays may be
    updated in place. Returns ``(weights, biases, state)``.
    """
    (weights, biases), (weight_grads, bias_grads) = parameters, gradients
    subtract = subtract_in_place if options.in_place else operator.sub
    if penalty is not None:
        weight_grads = [d + penalty * W for d, W in zip(weight_grads, weights)]
    grads = [*weight_grads, *bias_grads] if biases is not None else list(weight_grads)
    params = [*weights, *biases] if biases is not None else list(weights)
    if options.clip_norm is not None:
        grads = clip_by_global_norm(tuple(grads), options.clip_norm, xp=xp)
    if options.folded:
        params = [subtract(p, d) for p, d in zip(params, grads)]
    else:
        changes, state = optimizer.direction(tuple(grads), state, xp=xp, scale=learning_rate,
                                             overwrite=options.in_place)
        params = [subtract(p, change) for p, change in zip(params, changes)]
    n_layers = len(weights)
    return tuple(params[:n_layers]), None if biases is None else tuple(params[n_layers:]), state


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "adam": Adam}


# -- learning-rate schedules: η per epoch, on the host ---------------------------------------------------------

@dataclass(frozen=True)
class Constant:
    """η stays η₀; training stops at the first plateau (no improvement for the patience)."""

    initial: float
    name = "constant"

    def after_epoch(self, rate: float, samples_seen: int) -> float:
        """η for the next epoch, after ``samples_seen`` samples in all."""
        return rate

    def on_plateau(self, rate: float) -> tuple[float, bool]:
        """(η to continue with, whether to stop) when the loss or score stopped improving."""
        return rate, True

    varies_by_epoch = False  # whether after_epoch may change η (the monitor asks it only then): set per class

    def __init_subclass__(cls, **kwargs) -> None:
        """A schedule that overrides :meth:`after_epoch` varies by epoch (decided once per class, not per epoch)."""
        super().__init_subclass__(**kwargs)
        cls.varies_by_epoch = cls.after_epoch is not Constant.after_epoch


@dataclass(frozen=True)
class InverseScaling(Constant):
    """η = η₀ / (t + 1)^p after each epoch, t the number of samples seen (scikit-learn's ``'invscaling'``)."""

    power_t: float = 0.5
    name = "invscaling"

    def after_epoch(self, rate, samples_seen):
        return self.initial / (samples_seen + 1) ** self.power_t


@dataclass(frozen=True)
class Adaptive(Constant):
    """η = η₀ while training improves; at each plateau η ← η/5, stopping once η ≤ 10⁻⁶ (scikit-learn's
    ``'adaptive'``).

    A plateau (for ``MLP.fit``; the estimators use their own ``tol`` and ``n_iter_no_change``): ``patience``
    epochs in a row whose watched loss — the validation loss with validation data, else the training loss —
    fails to fall below the best so far minus ``tol``.
    """

    name = "adaptive"
    factor: float = 5.0
    smallest: float = 1e-6
    tol: float = 1e-4
    patience: int = 10

    def on_plateau(self, rate):
        return (rate, True) if rate <= self.smallest else (rate / self.factor, False)


SCHEDULES: dict[str, type[Constant]] = {"constant": Constant, "invscaling": InverseScaling, "adaptive": Adaptive}


@dataclass
class ScheduledRate:
    """The current η of a schedule: ``learning_rate``, updated once per epoch (``epoch_ended``, then
    ``plateau`` or, in ``MLP.fit``, :meth:`plateaued`: ``bpxp.training.monitor``), with the plateau count of an
    :class:`Adaptive` schedule."""

    schedule: Constant
    learning_rate: float
    best: float = float("inf")  # the lowest watched loss so far (Adaptive, in MLP.fit)
    since_best: int = 0

    @classmethod
    def start(cls, schedule: Constant) -> ScheduledRate:
        return cls(schedule, float(schedule.initial))

    def plateaued(self, watched: float) -> bool:
        """After an epoch of ``MLP.fit`` whose watched loss was ``watched``: count it against an :class:`Adaptive`
        schedule's plateau (η ← η/factor after ``patience`` epochs without improving by ``tol``); return whether
        the schedule ends training (η at its floor). Other schedules never plateau here."""
        if not isinstance(self.schedule, Adaptive):
            return False
        if watched < self.best - self.schedule.tol:
            self.best, self.since_best = watched, 0
            return False
        self.since_best += 1
        if self.since_best < self.schedule.patience:
            return False
        self.since_best = 0
        return self.plateau()

    def record(self) -> dict:
        """What a training checkpoint keeps of it (JSON): η and the plateau count."""
        return {"learning_rate": self.learning_rate, "best": self.best, "since_best": self.since_best}

    def epoch_ended(self, samples_seen: int) -> None:
        self.learning_rate = self.schedule.after_epoch(self.learning_rate, samples_seen)

    def plateau(self) -> bool:
        """Apply the schedule's response to a plateau; return whether training should stop."""
        self.learning_rate, stop = self.schedule.on_plateau(self.learning_rate)
        return stop


def get_schedule(schedule: Any, learning_rate: float) -> Constant | None:
    """A learning-rate schedule for ``MLP.fit``: None (η fixed), a name of :data:`SCHEDULES` starting from
    ``learning_rate``, or a schedule instance as it is."""
    if schedule is None or isinstance(schedule, Constant):
        return schedule
    if not isinstance(schedule, str) or schedule not in SCHEDULES:
        raise ValueError(f"`learning_rate_schedule` must be None, one of {list(SCHEDULES)} or a schedule of "
                         f"bpxp.optimizers (Constant, InverseScaling, Adaptive), got {schedule!r}")
    return SCHEDULES[schedule](learning_rate)


def get_optimizer(optimizer: Any) -> Optimizer:
    """An optimizer from its name (with default settings) or an :class:`Optimizer` instance."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if not isinstance(optimizer, str) or optimizer not in OPTIMIZERS:
        raise ValueError(f"`optimizer` must be one of {list(OPTIMIZERS)} or a bpxp.optimizers.Optimizer, "
                         f"got {optimizer!r}")
    return OPTIMIZERS[optimizer]()
