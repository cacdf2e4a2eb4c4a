"""The public path of :mod:`bpxp.math.backprop`: ``from bpxp.backprop import ...`` keeps working."""

from .math.backprop import (
    Gradients,
    backward_pass,
    forward_pass,
    gradient_sums,
    gradients,
)

__all__ = [
    "Gradients", "backward_pass", "forward_pass", "gradient_sums", "gradients"
]
