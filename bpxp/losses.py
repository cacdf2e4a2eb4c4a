"""The public path of :mod:`bpxp.math.losses`: ``from bpxp.losses import ...`` keeps working."""

from .math.losses import (
    LOSSES,
    BinaryCrossEntropy,
    CrossEntropy,
    Loss,
    MeanSquaredError,
    Poisson,
    get_loss,
    l2_penalty,
)

__all__ = [
    "LOSSES", "BinaryCrossEntropy", "CrossEntropy", "Loss", "MeanSquaredError", "Poisson", "get_loss", "l2_penalty"
]
