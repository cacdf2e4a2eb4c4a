"""Defaults that train well out of the box: the output layer and loss chosen from the targets, a learning rate
per optimizer, mini-batches.

``bpxp.MLP(sizes)`` without ``output``/``loss`` picks them when ``fit`` first sees the targets:

=====================================================  ============================================
targets y                                              output, loss
=====================================================  ============================================
class labels (n_samples,), or one-hot rows             'softmax', 'cross_entropy' (several outputs)
0/1 values, one output                                 'sigmoid', 'binary_cross_entropy'
0/1 rows that are not one-hot (multi-label)            'sigmoid', 'binary_cross_entropy'
anything else (real values)                            'identity', 'mse' (regression)
=====================================================  ============================================

Before any ``fit`` the network holds the provisional choice for its output size (softmax and cross-entropy for
several outputs, identity and mse for one). The seeds' settings stay one argument away:
``MLP(sizes, hidden='sigmoid', output='sigmoid', loss='mse')`` and ``fit(..., optimizer='sgd', batch_size=None)``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from . import checks
from .backend.namespaces import array_backend, check_precision, to_numpy
from .spec import Spec

HIDDEN = "relu"
EPOCHS = 200
#: ``batch_size='auto'``: mini-batches of this many rows (all rows when fewer), as Keras. (scikit-learn's 200
#: reaches 95–96% on digits with [64, 32, 10] in 200 epochs, 32 reaches 96–98%.)
AUTO_BATCH_SIZE = 32
#: η when ``learning_rate`` is not given: each rule's customary step (Adam's is its paper's 0.001).
LEARNING_RATES = {"sgd": 0.1, "momentum": 0.01, "nesterov": 0.01, "adam": 0.001}
_OUTPUT_OF_LOSS = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid", "mse": "identity", "poisson": "exp"}
_LOSS_OF_OUTPUT = {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy", "exp": "poisson"}


def output_and_loss(output: str | None, loss: str | None, n_outputs: int) -> tuple[str, str]:
    """The output activation and loss, each the given one or the one that suits the other (or the output size)."""
    if output is None and loss is None:
        return ("softmax", "cross_entropy") if n_outputs >= 2 else ("identity", "mse")
    if output is None:
        return _OUTPUT_OF_LOSS.get(loss, "identity") if isinstance(loss, str) else "identity", loss
    if loss is None:
        return output, _LOSS_OF_OUTPUT.get(output, "mse") if isinstance(output, str) else "mse"
    return output, loss


def initial_spec(layer_sizes: Any, hidden: Any, output: Any, loss: Any, *, bias: Any, precision: Any) -> Spec:
    """The description ``bpxp.MLP(layer_sizes, ...)`` asks for, every option checked, the output activation and loss
    that were not named filled in (:func:`output_and_loss`; with neither named, the first fit chooses them again)."""
    sizes = checks.check_layer_sizes(layer_sizes)
    checks.check_bool(bias, "bias")
    output, loss = output_and_loss(output, loss, sizes[-1])
    return Spec.checked(sizes, hidden, output, loss, bias=bias, precision=check_precision(precision))


def output_and_loss_for_targets(y: Any, n_outputs: int) -> tuple[str, str] | None:
    """(output, loss) that suit the targets ``y`` (host data), per the table above; None if y is unreadable."""
    try:
        y = np.asarray(y)
    except (TypeError, ValueError):
        return None
    if y.size == 0 or not (np.issubdtype(y.dtype, np.number) or y.dtype == np.bool_):
        return None
    if not np.isfinite(y).all():
        return None
    zero_one = bool(np.isin(y, (0, 1)).all())
    if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
        if n_outputs == 1:
            return ("sigmoid", "binary_cross_entropy") if zero_one else ("identity", "mse")
        return "softmax", "cross_entropy"  # class labels, one per row
    if zero_one and y.ndim == 2:
        one_hot = bool(np.all(y.sum(axis=1) == 1))
        return ("softmax", "cross_entropy") if one_hot else ("sigmoid", "binary_cross_entropy")
    return "identity", "mse"


def spec_for_targets(spec: Spec, y: Any) -> Spec:
    """The description with the output activation and loss that suit the targets ``y`` (any backend's array or
    host data), chosen once, at the first ``fit``: ``spec`` itself when they are the same or y is unreadable. The
    output layer's initial weights are Glorot's for softmax, sigmoid and identity alike: they stand."""
    chosen = output_and_loss_for_targets(y if array_backend(y) is None else to_numpy(y), spec.layer_sizes[-1])
    if chosen is None or chosen == (spec.output, spec.loss):
        return spec
    return dataclasses.replace(Spec.checked(spec.layer_sizes, spec.hidden, *chosen, bias=spec.bias,
                                            precision=spec.precision), dtype=spec.dtype)


def learning_rate(optimizer_name: str) -> float:
    """The default η of an optimizer (0.01 for one not listed in ``LEARNING_RATES``)."""
    return LEARNING_RATES.get(optimizer_name, 0.01)
