"""What a checkpoint's metadata must hold, declared once, and the members it says the file has.

Each key of the metadata has a :class:`Field`: whether a file must have it and the check (of ``bpxp.checks``)
its value obeys. :func:`checked` applies them all before anything reads a value, so a tampered file is one
:class:`~bpxp.training.archive.CheckpointError` — never a KeyError, TypeError or IndexError from deep inside —
and nothing prints a tampered value as fact. :func:`expected_members` then says which ``.npy`` members the file
must hold, and their shapes: the parameters from ``layer_sizes``, the optimizer state from the optimizer's own
``init`` on parameters of those shapes, the best epoch's arrays (a training checkpoint) from the same.

``bpxp train --save`` adds entries of its own (features, classes, scaling, split); :data:`SAVED_BY_TRAIN`
declares them, and the command checks them before it uses them (other callers' ``extra`` entries are theirs).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np

from .. import checks
from ..checks import shown
from ..math import optimizers
from ..spec import Spec
from .archive import CheckpointError
from .history import History

FORMAT = "bpxp-checkpoint"
FORMAT_VERSION = 1
FLOATS = (np.dtype("float32"), np.dtype("float64"))  # what parameters and optimizer states are stored as


@dataclass(frozen=True)
class Field:
    """A metadata key: the check its value obeys (TypeError/ValueError naming the key), and whether it is needed."""

    check: Callable[[Any, str], Any]
    required: bool = False


def _of_type(kind: type | tuple, expected: str) -> Callable[[Any, str], Any]:
    """A check that a value is of ``kind`` (a bool only where ``kind`` names bool: True is no number here)."""
    kinds = kind if isinstance(kind, tuple) else (kind,)

    def check(value: Any, name: str) -> Any:
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise TypeError(f"`{name}` must be {expected}, got {shown(value)} ({type(value).__name__})")
        return value
    return check


def _list_of(kind: type | tuple, expected: str) -> Callable[[Any, str], Any]:
    item = _of_type(kind, expected)

    def check(value: Any, name: str) -> Any:
        _of_type(list, f"a list of {expected}")(value, name)
        for i, element in enumerate(value):
            item(element, f"{name}[{i}]")
        return value
    return check


def _structure(value: Any, name: str) -> int:
    """The number of arrays a flattened state's structure (nested lists of indices 0 … k−1, or None) points to."""
    indices: list = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for child in node:
                walk(child)
        elif isinstance(node, Integral) and not isinstance(node, bool):
            indices.append(int(node))
        else:
            raise TypeError(f"`{name}` must be nested lists of array indices, got {shown(value)}")

    if value is not None:
        walk(value)
    if sorted(indices) != list(range(len(indices))):
        raise ValueError(f"`{name}` must index its arrays 0 … k−1 once each, got {shown(value)}")
    return len(indices)


def _optimizer(value: Any, name: str) -> optimizers.Optimizer | None:
    """The optimizer rule a checkpoint records ({"name": …, its settings}), or None."""
    if value is None:
        return None
    _of_type(dict, "null or an object with the optimizer's name and settings")(value, name)
    settings = dict(value)
    kind = settings.pop("name", None)
    checks.check_choice(kind, f"{name}.name", optimizers.OPTIMIZERS)
    try:
        return optimizers.OPTIMIZERS[kind](**settings)
    except (TypeError, ValueError) as error:
        raise ValueError(f"`{name}` holds settings {kind!r} does not take: {shown(settings)} ({error})") from None


def _training(value: Any, name: str) -> dict:
    """A training checkpoint's progress: its epoch, History, settings and the best epoch's structure."""
    _of_type(dict, "an object")(value, name)
    for key, check in (("epoch", _of_type(int, "an integer")), ("settings", _of_type(dict, "an object")),
                       ("history", _of_type(dict, "an object"))):
        if key not in value:
            raise ValueError(f"`{name}` lacks {key!r}")
        check(value[key], f"{name}.{key}")
    if value.get("samples_seen") is not None:  # the rows trained on so far (absent in files of bpxp 0.1)
        _of_type(int, "an integer")(value["samples_seen"], f"{name}.samples_seen")
    unknown = set(value["history"]) - {field.name for field in dataclasses.fields(History)}
    if unknown:
        raise ValueError(f"`{name}.history` holds entries a History has not: {shown(sorted(unknown))}")
    _structure(value.get("best"), f"{name}.best")
    return value


_TEXT = _of_type(str, "a string")


def _scaling(value: Any, name: str) -> dict:
    """``bpxp train``'s standardisation: {"mean": [numbers], "scale": [numbers]}."""
    _of_type(dict, "an object")(value, name)
    for key in ("mean", "scale"):
        _list_of(Real, "numbers")(value.get(key), f"{name}.{key}")
    return value


def _losses(value: Any, name: str) -> dict:
    """``bpxp train``'s record of the losses: {"loss": [numbers], "val_loss": [numbers], "best_epoch": integer,
    "kept_epoch": integer (the epoch the weights are, within the losses), "kept_scores": {"measure": text,
    "training": number, "validation": number}}."""
    _of_type(dict, "an object")(value, name)
    for key in ("loss", "val_loss"):
        if value.get(key) is not None:
            _list_of(Real, "numbers")(value[key], f"{name}.{key}")
    n_epochs = len(value.get("loss") or [])
    for key in ("best_epoch", "kept_epoch"):
        if value.get(key) is not None:
            checks.check(value[key], f"{name}.{key}", checks.NON_NEGATIVE_INT)
            if value[key] >= n_epochs:
                raise ValueError(f"`{name}.{key}` must be an epoch of the {n_epochs} recorded, got {value[key]}")
    if value.get("kept_scores") is not None:
        scores = _of_type(dict, "an object")(value["kept_scores"], f"{name}.kept_scores")
        _TEXT(scores.get("measure"), f"{name}.kept_scores.measure")
        for key in ("training", "validation"):
            _of_type(Real, "a number")(scores.get(key), f"{name}.kept_scores.{key}")
    return value


def _split(value: Any, name: str) -> dict:
    """``bpxp train``'s record of its validation split, which ``bpxp evaluate`` redraws."""
    _of_type(dict, "an object")(value, name)
    for key, check in (("data", _TEXT), ("n_rows", _of_type(int, "an integer")), ("stratified", checks.check_bool),
                       ("seed", _of_type((int, type(None)), "an integer or null")),
                       ("validation_fraction", _of_type(Real, "a number"))):
        check(value.get(key), f"{name}.{key}")
    return value


def _encoding(value: Any, name: str) -> dict:
    """``bpxp train``'s encoding of its feature columns: {"missing": mode or null, "columns": [{"name": text,
    "categories": [texts] or null, "fill": number, text or null}, …]}."""
    _of_type(dict, "an object")(value, name)
    _of_type((str, type(None)), "a string or null")(value.get("missing"), f"{name}.missing")
    _of_type(list, "a list")(value.get("columns"), f"{name}.columns")
    for i, column in enumerate(value["columns"]):
        _of_type(dict, "an object")(column, f"{name}.columns[{i}]")
        _TEXT(column.get("name"), f"{name}.columns[{i}].name")
        if column.get("categories") is not None:
            _list_of(str, "strings")(column["categories"], f"{name}.columns[{i}].categories")
        _of_type((Real, str, type(None)), "a number, a string or null")(column.get("fill"), f"{name}.columns[{i}].fill")
    return value


def _encoded_width(metadata: dict) -> int | None:
    """How many inputs the recorded encoding makes of the feature columns (one per number, one per category)."""
    encoding = metadata.get("encoding")
    if encoding is None:
        return None
    return sum(1 if c.get("categories") is None else len(c["categories"]) for c in encoding["columns"])


FIELDS: dict[str, Field] = {
    "format": Field(lambda v, n: v, required=True),  # compared to FORMAT first, with its own message
    "format_version": Field(lambda v, n: checks.check(v, n, checks.NON_NEGATIVE_INT)),
    "bpxp_version": Field(_TEXT),
    "layer_sizes": Field(lambda v, n: checks.check_layer_sizes(v), required=True),
    "hidden": Field(_TEXT, required=True),
    "output": Field(_TEXT, required=True),
    "loss": Field(_TEXT, required=True),
    "bias": Field(checks.check_bool),
    "dtype": Field(lambda v, n: checks.check_choice(v, n, ("float32", "float64")), required=True),
    "precision": Field(lambda v, n: checks.check_choice(v, n, ("float32", "tf32"))),
    "backend": Field(_TEXT),
    "device": Field(_of_type((str, type(None)), "a string or null")),
    "optimizer": Field(_optimizer),
    "optimizer_state": Field(_structure),
    "training": Field(_training),
}

SAVED_BY_TRAIN: dict[str, Field] = {
    "feature_names": Field(_list_of(str, "strings"), required=True),
    "target": Field(_of_type((str, type(None)), "a string or null")),
    "classes": Field(_of_type((list, type(None)), "a list or null")),
    "preprocessing": Field(_scaling, required=True),
    "history": Field(_losses),
    "split": Field(_split),
    "encoding": Field(_encoding),
}


def apply(fields: dict[str, Field], metadata: dict, path: Any, *, required: bool = True) -> None:
    """Check each of ``fields`` that ``metadata`` holds (and, with ``required``, that those required are there);
    a CheckpointError naming ``path`` for the first that is not as declared."""
    lacking = [key for key, field in fields.items() if required and field.required and key not in metadata]
    if lacking:
        raise CheckpointError(path, f"is incomplete: its metadata lacks {lacking}")
    for key, field in fields.items():
        if key in metadata:
            try:
                field.check(metadata[key], key)
            except (TypeError, ValueError) as error:
                raise CheckpointError(path, f"has invalid metadata: {error}") from None


def checked(metadata: Any, path: Any) -> dict:
    """``metadata`` if it is a bpxp checkpoint's, of a format this bpxp reads, every field valid and the network
    it describes one that ``bpxp.spec.Spec.checked`` accepts; else a CheckpointError naming ``path``."""
    if not isinstance(metadata, dict):
        raise CheckpointError(path, f"is not a bpxp checkpoint: its metadata is a JSON {type(metadata).__name__}, "
                                    f"not an object")
    if metadata.get("format") != FORMAT:
        raise CheckpointError(path, f"is not a bpxp checkpoint (format {shown(metadata.get('format'))})")
    version = metadata.get("format_version", 0)
    if isinstance(version, Integral) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise CheckpointError(path, f"was written by a newer bpxp ({shown(metadata.get('bpxp_version'))}, format "
                                    f"{version}); this bpxp reads format {FORMAT_VERSION} — upgrade bpxp")
    apply(FIELDS, metadata, path)
    try:
        Spec.checked(tuple(metadata["layer_sizes"]), metadata["hidden"], metadata["output"], metadata["loss"])
    except (TypeError, ValueError) as error:
        raise CheckpointError(path, f"describes no network bpxp can build: {error}") from None
    return metadata


def expected_members(metadata: dict, path: Any) -> dict[str, tuple[int, ...] | None]:
    """The ``.npy`` members checked ``metadata`` says its file holds, with their shapes (None: any), each stored
    as float32 or float64: ``weights_ℓ`` (n_ℓ, n_ℓ₊₁), ``biases_ℓ`` (n_ℓ₊₁,), the optimizer state's
    ``optimizer_i`` (the shapes its rule's ``init`` makes), and a training checkpoint's ``best_i`` (the best epoch's
    parameters and state). A state structure that points to other arrays than these is a CheckpointError."""
    sizes = metadata["layer_sizes"]
    parameters = [(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)]
    parameters += [(n,) for n in sizes[1:]] if metadata.get("bias") else []
    rule = _optimizer(metadata.get("optimizer"), "optimizer")
    count = _structure(metadata.get("optimizer_state"), "optimizer_state")
    state = _state_shapes(rule, parameters) if rule is not None and count else [None] * count
    if count != len(state):  # (a rule without a recorded state is a network that was saved before any fit)
        raise CheckpointError(path, f"has invalid metadata: `optimizer_state` points to {count} arrays but "
                                    f"optimizer {rule.name!r} keeps {len(state)}")
    best = (metadata.get("training") or {}).get("best")
    if best is not None and _structure(best, "training.best") != len(parameters) + len(state):
        raise CheckpointError(path, f"has invalid metadata: `training.best` points to {_structure(best, '')} "
                                    f"arrays, not the {len(parameters) + len(state)} of the parameters and state")
    n_weights = len(sizes) - 1
    shapes = {(f"weights_{i}" if i < n_weights else f"biases_{i - n_weights}"): shape
              for i, shape in enumerate(parameters)}
    shapes.update({f"optimizer_{i}": shape for i, shape in enumerate(state)})
    if best is not None:
        shapes.update({f"best_{i}": shape for i, shape in enumerate([*parameters, *state])})
    return shapes


def _state_shapes(rule: optimizers.Optimizer | None, parameters: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """The shapes of the flattened state ``rule.init`` makes for parameters of these shapes (``np.zeros`` maps
    untouched pages: nothing of the parameters' size is written)."""
    if rule is None:
        return []
    state = rule.init(tuple(np.zeros(shape) for shape in parameters), xp=np)
    flat: list = []

    def walk(node: Any) -> None:
        if isinstance(node, tuple | list):
            for child in node:
                walk(child)
        elif node is not None:
            flat.append(tuple(np.shape(node)))

    walk(state)
    return flat


def check_saved_by_train(metadata: dict, path: Any, *, required: bool = True) -> dict:
    """``metadata`` (checked by :func:`checked`) if the entries of ``bpxp train --save`` (:data:`SAVED_BY_TRAIN`)
    are as declared and fit the network: as many features and scalings as inputs, a class per output."""
    apply(SAVED_BY_TRAIN, metadata, path, required=required)
    n_inputs, n_outputs = metadata["layer_sizes"][0], metadata["layer_sizes"][-1]
    width = _encoded_width(metadata)
    n_columns = n_inputs if width is None else len(metadata["encoding"]["columns"])
    if width is not None and width != n_inputs:
        raise CheckpointError(path, f"has invalid metadata: an encoding into {width} inputs for a network of "
                                    f"{n_inputs} inputs")
    n_names = len(metadata.get("feature_names", [None] * n_columns))
    if n_names != n_columns:
        raise CheckpointError(path, f"has invalid metadata: {n_names} `feature_names` for {n_columns} feature columns")
    counts = {f"preprocessing.{key}": len(metadata.get("preprocessing", {}).get(key, [None] * n_inputs))
              for key in ("mean", "scale")}
    counts = {key: count for key, count in counts.items() if count != n_inputs}
    if counts:
        raise CheckpointError(path, f"has invalid metadata: {counts} entries for a network of {n_inputs} inputs")
    classes = metadata.get("classes")
    if classes is not None and len(classes) != n_outputs:
        raise CheckpointError(path, f"has invalid metadata: {len(classes)} `classes` for {n_outputs} outputs")
    return metadata
