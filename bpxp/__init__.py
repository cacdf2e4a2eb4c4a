"""bpxp — backpropagation for multi-layer perceptrons, written once against the Python Array API standard.

The same forward pass, error terms δ and updates run on NumPy, CuPy, PyTorch, JAX and array-api-strict.
"""

from . import activations, backprop, losses, metrics, optimizers
from ._backend import BackendInfo, BackendUnusable, backends, to_numpy
from ._version import __version__
from .backprop import Gradients
from .loading import load
from .mlp import MLP
from .recovery import DivergenceWarning, InterruptedWarning, TrainingDiverged
from .train import History

__all__ = [
    "MLP",
    "BackendInfo",
    "BackendUnusable",
    "DivergenceWarning",
    "Gradients",
    "History",
    "InterruptedWarning",
    "TrainingDiverged",
    "__version__",
    "activations",
    "backends",
    "backprop",
    "load",
    "losses",
    "metrics",
    "optimizers",
    "to_numpy",
]
