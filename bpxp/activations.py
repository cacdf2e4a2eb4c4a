"""The public path of :mod:`bpxp.math.activations`: ``from bpxp.activations import ...`` keeps working."""

from .math.activations import (
    ACTIVATIONS,
    HIDDEN_ACTIVATIONS,
    LEAKY_SLOPE,
    Activation,
    Exp,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    get_activation,
    log_softmax,
    shifted_exp,
)

__all__ = [
    "ACTIVATIONS", "HIDDEN_ACTIVATIONS", "LEAKY_SLOPE", "Activation", "Exp", "Identity", "LeakyReLU", "ReLU",
    "Sigmoid", "Softmax", "Tanh", "get_activation", "log_softmax", "shifted_exp"
]
