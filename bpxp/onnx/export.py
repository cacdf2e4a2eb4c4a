"""``bpxp.onnx.export``: an MLP, or a fitted estimator of ``bpxp.sklearn``, as an ONNX model.

The graph is not written by hand: ``bpxp.backprop.forward_pass`` runs on ndonnx arrays (X a symbolic batch of
"N" rows, the weights constants), and what the network's predictions do with Ŷ = Aᴸ runs after it the same way
(``bpxp.math.predictions``). The model's input is ``X`` (N, n₀) in the network's dtype — standardised inside the
graph, (X − mean)/scale, where ``scaling`` is given (a model saved by ``bpxp train``: ``bpxp export`` passes
its saved mean and scale, so the ONNX model takes the raw features); its outputs:

- a classifier: ``label`` (N,) — the estimator's ``classes_`` values (strings included), the ``classes`` given
  for an MLP, else an MLP's integer labels — and ``probabilities`` (N, k), as ``predict_proba`` (when the
  network has them);
- a multi-label classifier: ``label`` (N, k), the 0/1 indicator matrix, and ``probabilities``;
- a regressor: ``variable``, as ``predict`` (N,) for one output, else (N, k).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..backend import onnx_graph
from ..backend.namespaces import to_numpy
from ..math import predictions
from ..math.backprop import forward_pass
from ..mlp import MLP


def export(model: Any, path: str | os.PathLike[str] | None = None, *, opset: int | None = None,
           scaling: tuple[Any, Any] | None = None, classes: Any = None) -> Any:
    """The network as an ONNX model; written to ``path`` too when given.

    Parameters
    ----------
    model : bpxp.MLP, or a fitted bpxp.sklearn.MLPClassifier / MLPRegressor
    path : str or path-like, optional
        Where to write the model (``.onnx``).
    opset : int, optional
        The ONNX opset to convert the model to (default: the one ndonnx builds with, 21).
    scaling : (mean, scale), optional
        Each input feature's mean and scale, shapes (n₀,): the graph feeds the network (X − mean)/scale, so the
        model takes the features as they were before standardising (``bpxp export`` passes those a model saved by
        ``bpxp train`` holds in its metadata).
    classes : sequence, optional
        An MLP classifier's class values, in the order of its outputs: ``label`` gives them (strings included)
        instead of their indices. An estimator's are its ``classes_``.

    Returns
    -------
    onnx.ModelProto
        Input ``X`` (N, n₀) of the network's dtype (float32 or float64); outputs as the module docstring says.

    Examples
    --------
    >>> import bpxp, bpxp.onnx
    >>> model = bpxp.onnx.export(bpxp.MLP([4, 8, 3], random_state=0))
    >>> [o.name for o in model.graph.output]
    ['label', 'probabilities']
    """
    proto = graph_of(model, opset=opset, scaling=scaling, classes=classes)
    if path is not None:
        with open(path, "wb") as file:
            file.write(proto.SerializeToString())
    return proto


def graph_of(model: Any, *, opset: int | None = None, column: bool = False, scaling: tuple[Any, Any] | None = None,
             classes: Any = None) -> Any:
    """The ``onnx.ModelProto`` of :func:`export`; ``column=True`` keeps a regressor's one output as (N, 1), as
    skl2onnx's regressors give it (``bpxp.onnx.registration``)."""
    net, found, flat = _network_of(model)
    classes = _checked_classes(classes, found, net)
    ndx = onnx_graph.ndonnx()
    X = ndx.argument(shape=("N", net.layer_sizes[0]), dtype=getattr(ndx, net.dtype_name))
    constants = lambda arrays: None if arrays is None else [ndx.asarray(to_numpy(a)) for a in arrays]  # noqa: E731
    inputs = X
    if scaling is not None:
        mean, scale = constants(_checked_scaling(scaling, net))
        inputs = (X - mean) / scale
    A, _ = forward_pass(inputs, constants(net.weights), constants(net.biases), net.spec.activations, xp=ndx)
    outputs = _outputs(A[-1], net, classes, flat and not column, xp=ndx)
    proto = onnx_graph.build({"X": X}, outputs, opset=opset)
    proto.producer_name = "bpxp"
    return proto


def _network_of(model: Any) -> tuple[MLP, Any, bool]:
    """(the MLP, the estimator's ``classes_`` or None, whether a regressor's one output is flattened to (N,))."""
    if isinstance(model, MLP):
        return model, None, True
    if type(model).__module__.startswith("bpxp.sklearn"):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(model, "network_")
        return model.network_, getattr(model, "classes_", None), bool(getattr(model, "_y_1d", True))
    raise TypeError(f"`model` must be a bpxp.MLP or a fitted bpxp.sklearn estimator, got {type(model).__name__}")


def _checked_scaling(scaling: Any, net: MLP) -> list:
    """(mean, scale) as arrays of the network's dtype, one value per input feature; else a ValueError."""
    try:
        mean, scale = (np.asarray(a, dtype=net.dtype_name) for a in scaling)
    except (TypeError, ValueError) as error:
        raise ValueError(f"`scaling` must be a pair (mean, scale) of numbers per input feature: {error}") from None
    n_inputs = net.layer_sizes[0]
    if mean.shape != (n_inputs,) or scale.shape != (n_inputs,):
        raise ValueError(f"`scaling` must hold a mean and a scale per input feature, shapes ({n_inputs},) each, got "
                         f"{mean.shape} and {scale.shape}")
    return [mean, scale]


def _checked_classes(classes: Any, found: Any, net: MLP) -> Any:
    """The class values ``label`` gives: an estimator's ``classes_``, or those given for an MLP classifier."""
    if classes is None:
        return found
    if isinstance(classes, str) or not hasattr(classes, "__len__"):
        raise ValueError(f"`classes` must be a sequence of class values, got {classes!r}")
    if found is not None:
        raise ValueError("`classes` is for a bpxp.MLP: an estimator's labels are its `classes_`")
    outputs = 2 if net.task == "binary" else net.layer_sizes[-1]
    if net.task not in ("binary", "multiclass") or len(classes) != outputs:
        raise ValueError(f"`classes` must name each class of a classifier ({outputs} for this network's "
                         f"{net.task} outputs), got {len(classes)}")
    return np.asarray(classes)


def _outputs(P: Any, net: MLP, classes: Any, flat: bool, *, xp: Any) -> dict[str, Any]:
    """The graph's outputs from Ŷ = P: labels and probabilities for a classifier, the values for a regressor."""
    task = net.task
    if task == "regression":
        return {"variable": P[:, 0] if flat and net.layer_sizes[-1] == 1 else P}
    label = predictions.labels(P, task=task, xp=xp, integers=xp.int64)
    if classes is not None and task != "multilabel":
        host = to_numpy(classes)
        label = xp.take(xp.asarray(host), label * 0 if len(host) == 1 else label, axis=0)
    outputs = {"label": label}
    try:
        predictions.check_probabilities(task=task, output=net.output, loss=net.loss)
    except ValueError:  # sigmoid units under mse (the Iris tutorial): scores, not probabilities
        return outputs
    outputs["probabilities"] = predictions.probabilities(P, task=task, xp=xp)
    return outputs
