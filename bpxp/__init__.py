"""bpxp — backpropagation for multi-layer perceptrons, written once against the Python Array API standard.

The same forward pass, error terms δ and updates run on NumPy, CuPy, PyTorch, JAX and array-api-strict.
"""

from . import activations, backprop, losses, metrics, optimizers
from ._version import __version__
from .backend.listing import BackendInfo, backends
from .backend.namespaces import BackendUnusable, to_numpy
from .gradient_check import GradcheckReport, gradcheck
from .loading import load
from .math.backprop import Gradients
from .mlp import MLP
from .training.archive import CheckpointError
from .training.history import History
from .training.recovery import DivergenceWarning, InterruptedWarning, TrainingDiverged

__all__ = [
    "MLP",
    "BackendInfo",
    "BackendUnusable",
    "CheckpointError",
    "DivergenceWarning",
    "GradcheckReport",
    "Gradients",
    "History",
    "InterruptedWarning",
    "TrainingDiverged",
    "__version__",
    "activations",
    "backends",
    "backprop",
    "gradcheck",
    "load",
    "losses",
    "metrics",
    "optimizers",
    "to_numpy",
]
