"""The public path of :mod:`bpxp.math.optimizers`: ``from bpxp.optimizers import ...`` keeps working."""

from .math.optimizers import (
    OPTIMIZERS,
    SCHEDULES,
    SGD,
    Adam,
    Adaptive,
    Constant,
    InverseScaling,
    Momentum,
    Nesterov,
    Optimizer,
    ScheduledRate,
    UpdateOptions,
    apply_update,
    clip_by_global_norm,
    get_optimizer,
    get_schedule,
)

__all__ = [
    "OPTIMIZERS", "SCHEDULES", "SGD", "Adam", "Adaptive", "Constant", "InverseScaling", "Momentum", "Nesterov",
    "Optimizer", "ScheduledRate", "UpdateOptions", "apply_update", "clip_by_global_norm", "get_optimizer",
    "get_schedule"
]
