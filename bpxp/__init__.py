"""bpxp — backpropagation for multi-layer perceptrons, written once against the Python Array API standard.

The same forward pass, error terms δ and updates run on NumPy, CuPy, PyTorch, JAX and array-api-strict.
"""

from . import activations, losses, metrics, network, optimizers
from ._backend import BackendInfo, BackendUnusable, backends, to_numpy
from .checkpoint import load
from .model import MLP
from .network import Gradients
from .recovery import DivergenceWarning, InterruptedWarning, TrainingDiverged
from .train import History

__version__ = "0.1.0"
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
    "load",
    "losses",
    "metrics",
    "network",
    "optimizers",
    "to_numpy",
]
