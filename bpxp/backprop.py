"""The public path of :mod:`bpxp.math.backprop`: ``from bpxp.backprop import ...`` keeps working."""

from .math.backprop import (
    BatchGradients,
    Gradients,
    Terms,
    backward_pass,
    batch_gradients,
    dataset_loss,
    forward_pass,
    gradient_sums,
    gradients,
)

__all__ = [
    "BatchGradients", "Gradients", "Terms", "backward_pass", "batch_gradients", "dataset_loss", "forward_pass",
    "gradient_sums", "gradients"
]
