"""ONNX graphs from the network's own forward pass: ndonnx arrays in, a tidy ``onnx.ModelProto`` out.

ndonnx (an Array API namespace whose arrays record ONNX operators) runs ``bpxp.backprop.forward_pass`` unchanged:
its symbolic input X stands for a batch of any number of rows ("N"), the weights are constant arrays, and
``ndonnx.build`` turns what was computed into a model. What ndonnx adds for generality and a network never needs
is removed here, each workaround named:

- **empty-input guards around products** (:func:`inline_empty_product_guards`): ndonnx hides every ``A @ W`` inside
  an ``If`` on ``Size(A)·Size(W) = 0`` (an onnxruntime bug with zero-sized products); the ``else`` branch is a lone
  MatMul. The guard costs 5 nodes per layer; it is replaced by its MatMul. (A batch of 0 rows still runs: see
  ``tests/test_onnx_export.py``.)
- **NaN handling and empty-input guards of ``max``** (:func:`row_max`, reached through ``bpxp.backend.fast.row_max``):
  ndonnx wraps ReduceMax in an ``If`` for empty inputs and a ``Where(any(IsNaN))`` for NaN propagation (~8 nodes).
  The softmax's shift by the row maximum needs neither: a NaN in a row reaches every output of that row through
  the shifted exponent anyway. One ReduceMax.
- **σ in one node** (:func:`sigmoid`): ONNX has a Sigmoid operator; the portable ½·tanh(z/2) + ½ takes four.
- **constants as initializers** (:func:`constants_to_initializers`): ndonnx writes every constant array, the
  weights included, as a Constant node; ONNX tools expect weights as the graph's initializers.
- **pass-through Identity nodes** (:func:`drop_identities`), and nodes whose outputs nothing reads
  (:func:`drop_unused`).

Each of these is tested by running the model in onnxruntime against ``MLP.predict``/``predict_proba``.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from .namespaces import install_hint

INSTALL = install_hint("onnx")


def ndonnx() -> Any:
    """The ndonnx namespace, or an ImportError saying how to install the ``onnx`` extra."""
    try:
        return importlib.import_module("ndonnx")
    except ImportError as error:
        raise ImportError(f"exporting to ONNX needs ndonnx and onnx; install them with: {INSTALL}") from error


def _op() -> Any:
    # spox (ndonnx's own dependency) writes single ONNX operators; opset 21 is the one ndonnx builds with.
    from spox.opset.ai.onnx import v21

    return v21


def sigmoid(Z: Any) -> Any:
    """σ(Z) as one ONNX Sigmoid node (an ndonnx array in, one out)."""
    return ndonnx().asarray(_op().sigmoid(Z.unwrap_spox()))


def row_max(M: Any) -> Any:
    """maxⱼ Mᵢⱼ, shape (m, 1), as one ReduceMax node, without ndonnx's empty-input and NaN guards."""
    axes = _op().const(np.asarray([1], dtype=np.int64))
    return ndonnx().asarray(_op().reduce_max(M.unwrap_spox(), axes, keepdims=1))


def build(inputs: dict[str, Any], outputs: dict[str, Any], *, opset: int | None = None) -> Any:
    """``ndonnx.build`` followed by the clean-up passes of this module; converted to ``opset`` when given."""
    import onnx

    model = ndonnx().build(inputs, outputs)
    graph = model.graph
    inline_empty_product_guards(graph)
    constants_to_initializers(graph)
    drop_identities(graph)
    drop_unused(graph)
    if opset is not None and opset != _opset_of(model):
        try:
            model = onnx.version_converter.convert_version(model, opset)
        except Exception as error:  # the converter raises several types; one message for all
            raise ValueError(f"`opset` {opset!r} cannot express this network (built with opset "
                             f"{_opset_of(model)}): {error}") from error
    onnx.checker.check_model(model)
    return model


def _opset_of(model: Any) -> int:
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def _producers(graph: Any) -> dict[str, Any]:
    return {name: node for node in graph.node for name in node.output}


def _is_empty_check(name: str, producers: dict[str, Any]) -> bool:
    """Whether ``name`` is ndonnx's ``Equal(Size(·)[·Size(·)], 0)``."""
    equal = producers.get(name)
    if equal is None or equal.op_type != "Equal":
        return False
    sizes = [producers.get(n) for n in equal.input]
    sizes = [producers.get(n) for s in sizes if s is not None and s.op_type == "Mul" for n in s.input] + sizes
    return any(s is not None and s.op_type == "Size" for s in sizes)


def inline_empty_product_guards(graph: Any) -> None:
    """Replace each ``If(Size(A)·Size(W) = 0, then: zeros, else: A @ W)`` by the MatMul of its else branch."""
    producers = _producers(graph)
    kept = []
    for node in graph.node:
        branches = {a.name: a.g for a in node.attribute} if node.op_type == "If" else {}
        otherwise = branches.get("else_branch")
        body = [n for n in otherwise.node if n.op_type != "Identity"] if otherwise is not None else []
        if len(body) != 1 or body[0].op_type != "MatMul" or not _is_empty_check(node.input[0], producers):
            kept.append(node)
            continue
        matmul = type(body[0])()
        matmul.CopyFrom(body[0])
        matmul.output[0] = node.output[0]
        kept.append(matmul)
    graph.ClearField("node")
    graph.node.extend(kept)


def constants_to_initializers(graph: Any) -> None:
    """Move every top-level Constant node's tensor into the graph's initializers, under the node's output name."""
    import onnx

    kept = []
    for node in graph.node:
        value = next((a for a in node.attribute if a.name == "value"), None)
        if node.op_type != "Constant" or value is None:
            kept.append(node)
            continue
        tensor = onnx.TensorProto()
        tensor.CopyFrom(value.t)
        tensor.name = node.output[0]
        graph.initializer.append(tensor)
    graph.ClearField("node")
    graph.node.extend(kept)


def drop_identities(graph: Any) -> None:
    """Remove Identity nodes: their readers read the Identity's input, and an Identity that writes a graph output
    hands the output's name to the node that made its input."""
    outputs = {o.name for o in graph.output}
    fixed = {i.name for i in graph.input} | {t.name for t in graph.initializer} | outputs
    alias: dict[str, str] = {}  # a name → the name that now stands for it
    kept = []
    for node in graph.node:
        source, target = (node.input[0], node.output[0]) if node.op_type == "Identity" else (None, None)
        if target is not None and target not in outputs:
            alias[target] = source
        elif target is not None and source not in fixed and source not in alias:
            alias[source] = target
        else:
            kept.append(node)
    for node in kept:
        for names in (node.input, node.output):
            for i, name in enumerate(names):
                while name in alias:
                    name = alias[name]
                names[i] = name
    graph.ClearField("node")
    graph.node.extend(kept)


def drop_unused(graph: Any) -> None:
    """Remove nodes and initializers that no graph output depends on."""
    needed = {o.name for o in graph.output}
    kept = []
    for node in reversed(graph.node):
        if any(name in needed for name in node.output):
            kept.append(node)
            needed.update(node.input)
            needed.update(_subgraph_inputs(node))
    graph.ClearField("node")
    graph.node.extend(reversed(kept))
    initializers = [t for t in graph.initializer if t.name in needed]
    graph.ClearField("initializer")
    graph.initializer.extend(initializers)


def _subgraph_inputs(node: Any) -> set[str]:
    """Names a node's subgraphs (If branches) read from the enclosing graph."""
    names: set[str] = set()
    for attribute in node.attribute:
        if attribute.HasField("g"):
            for inner in attribute.g.node:
                names.update(inner.input)
                names.update(_subgraph_inputs(inner))
    return names
