"""bpxp's estimators in skl2onnx: ``skl2onnx.to_onnx`` converts them, alone or as a step of a Pipeline.

:func:`register_skl2onnx` registers, through skl2onnx's public ``update_registered_converter``, a shape calculator
(the outputs' types and shapes, as skl2onnx's own classifiers and regressors declare them) and a converter that
copies the graph of :func:`bpxp.onnx.export` — the network's own forward pass — into skl2onnx's model, its names
made unique in skl2onnx's scope. So every activation, output and dtype bpxp exports converts, leaky ReLU and
multi-label included. The graph needs ``target_opset`` ≥ 18 (ReduceMax with its axes as an input).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .export import graph_of


def register_skl2onnx() -> None:
    """Teach skl2onnx to convert ``bpxp.sklearn.MLPClassifier`` and ``MLPRegressor`` (idempotent).

    Examples
    --------
    >>> import bpxp.onnx
    >>> bpxp.onnx.register_skl2onnx()  # then skl2onnx.to_onnx(Pipeline([..., ("mlp", MLPClassifier())]), X[:1])
    """
    from skl2onnx import update_registered_converter

    from ..sklearn import MLPClassifier, MLPRegressor

    update_registered_converter(MLPClassifier, "BpxpMLPClassifier", _output_types, _convert,
                                options={"zipmap": [True, False, "columns"], "nocl": [False]})
    update_registered_converter(MLPRegressor, "BpxpMLPRegressor", _output_types, _convert)


def _output_types(operator: Any) -> None:
    """skl2onnx's shape calculator: label (N,) of the classes' type (N, k of 0/1 for multi-label) and probabilities
    (N, classes) for a classifier, in the incoming features' float type, as skl2onnx's own classifiers give them
    (its ZipMap takes float32 probabilities: a network trained on float64 data, given float32 features, hands them
    on cast); values (N, k) for a regressor, floats of the network's dtype."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, Int64TensorType, StringTensorType

    estimator = operator.raw_operator
    net = estimator.network_
    n = operator.inputs[0].get_first_dimension()
    floats = DoubleTensorType if net.dtype_name == "float64" else FloatTensorType
    if not hasattr(estimator, "classes_"):
        operator.outputs[0].type = floats([n, net.layer_sizes[-1]])
        return
    classes = np.asarray(estimator.classes_)
    if net.task == "multilabel":
        operator.outputs[0].type = Int64TensorType([n, net.layer_sizes[-1]])
    else:
        operator.outputs[0].type = StringTensorType([n]) if classes.dtype.kind in "USO" else Int64TensorType([n])
    width = net.layer_sizes[-1] if net.task == "multilabel" else max(len(classes), 2)
    given = operator.inputs[0].type
    operator.outputs[1].type = (given.__class__ if isinstance(given, DoubleTensorType | FloatTensorType)
                                else floats)([n, width])


def _convert(scope: Any, operator: Any, container: Any) -> None:
    """Copy bpxp's exported graph into skl2onnx's container: its input is the operator's, its outputs the
    operator's; a Cast where the incoming features or the labels' type differ from the graph's."""
    import onnx
    from onnx import numpy_helper

    opset = min(container.target_opset, 21)
    graph = graph_of(operator.raw_operator, opset=opset, column=True).graph
    names = {graph.input[0].name: _cast_input(scope, operator, container, graph.input[0])}
    for ours, theirs in zip(graph.output, operator.outputs):
        wanted = theirs.type.to_onnx_type().tensor_type.elem_type
        names[ours.name] = theirs.full_name if ours.type.tensor_type.elem_type == wanted else \
            scope.get_unique_variable_name(ours.name)
        if names[ours.name] != theirs.full_name:  # numeric labels of a float or bool type: int64, as skl2onnx's;
            # probabilities in the features' float type
            container.add_node("Cast", names[ours.name], theirs.full_name, to=wanted,
                               name=scope.get_unique_operator_name("Cast"))

    def renamed(name: str) -> str:
        if name and name not in names:
            names[name] = scope.get_unique_variable_name(name)
        return names.get(name, name)

    for tensor in graph.initializer:
        values = numpy_helper.to_array(tensor)
        container.add_initializer(renamed(tensor.name), tensor.data_type, list(tensor.dims), values.ravel().tolist())
    for node in graph.node:
        attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        container.add_node(node.op_type, [renamed(i) for i in node.input], [renamed(o) for o in node.output],
                           op_domain=node.domain, op_version=opset, name=scope.get_unique_operator_name(node.op_type),
                           **attributes)


def _cast_input(scope: Any, operator: Any, container: Any, graph_input: Any) -> str:
    """The operator's input name, or a Cast of it to the network's dtype when the features come in another."""
    given = operator.inputs[0]
    wanted = graph_input.type.tensor_type.elem_type
    if given.type.to_onnx_type().tensor_type.elem_type == wanted:
        return given.full_name
    cast = scope.get_unique_variable_name("features")
    container.add_node("Cast", given.full_name, cast, to=wanted, name=scope.get_unique_operator_name("Cast"))
    return cast
