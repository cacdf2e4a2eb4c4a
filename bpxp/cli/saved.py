"""A saved model and the data it is applied to: what ``predict``, ``evaluate`` and ``check`` read.

The data comes from a bundled dataset or a file (its feature columns as read, for ``bpxp.cli.encoding``); a
model saved by ``bpxp train`` brings the encoding and the standardisation its inputs get, as in training.
"""

from __future__ import annotations

import sys

import numpy as np

from ..loading import load
from ..training.checkpoint import read
from ..training.metadata import check_saved_by_train
from .datasets import NAMES as BUNDLED
from .datasets import check_source, read_table
from .datasets import load as load_bundled
from .encoding import Encoding, encoded_new_data


def read_data(name: str, target: str | None, feature_names: list[str] | None = None, *, labelled: bool = True,
          text_columns: list[str] = ()):
    """(features, y or None, feature names, target name, class names or None) from a bundled name or a file: a
    bundled dataset's features as X, a file's feature columns as read (a DataFrame, for ``bpxp.cli.encoding``).

    Without ``labelled`` (predict) a file may lack the target column: new data, features only.
    """
    check_source(name)
    if name in BUNDLED:
        data = load_bundled(name)
        return data.X, data.y, data.feature_names, "class", data.class_names
    if target is None and feature_names is None:
        raise ValueError(f"--target COLUMN is required with a data file ({name!r})")
    table = read_table(name, target=target, feature_names=feature_names, target_required=labelled,
                       text_columns=text_columns)
    return table.features, table.y, table.feature_names, table.target, None


def no_target_for_bundled(args) -> None:
    """``--target`` names a column of a data file, and ``--task regression`` treats one as numbers; a bundled
    dataset's target is built in, its classes (neither option is silently ignored there)."""
    if getattr(args, "target", None) is not None and args.data in BUNDLED:
        raise ValueError(f"--target applies to data files only: the bundled dataset {args.data!r} has its target "
                         f"built in (its class labels); drop --target {args.target!r}")
    if getattr(args, "task", "auto") == "regression" and args.data in BUNDLED:
        raise ValueError(f"--task regression applies to data files only: the bundled dataset {args.data!r} is a "
                         "classification (its class labels); drop --task")


def tell_how_read(data: str, note: str | None) -> None:
    """A line on stderr about how ``data`` was read (rows dropped, columns one-hot encoded, gaps filled)."""
    if note:
        print(f"{data}: {note}", file=sys.stderr)


def model_and_data(args):
    """A saved model, its metadata, and its inputs X (encoded and standardised as in training) and y (None when
    ``args.data`` has no target column) from ``args.data``."""
    net = load(args.model, backend=args.backend, device=args.device)
    meta = net.checkpoint_metadata_
    if "preprocessing" not in meta:
        raise ValueError(f"{args.model!r} was not saved by `bpxp train`: it has no preprocessing to apply")
    check_saved_by_train(meta, args.model)
    no_target_for_bundled(args)
    target = getattr(args, "target", None) or meta.get("target")
    bundled = args.data in BUNDLED
    encoding = Encoding.from_metadata(meta.get("encoding"), meta["feature_names"])
    X, y, names, _, _ = read_data(args.data, target if not bundled else None,
                              None if bundled else meta["feature_names"], labelled=args.command != "predict",
                              text_columns=encoding.text_columns)
    if bundled and names != meta["feature_names"]:
        raise ValueError(f"{args.model!r} was trained on other features than those of {args.data!r} "
                         f"({meta['feature_names'][:3]}… vs {names[:3]}…); give it data with its feature columns")
    if not bundled:  # with --missing drop, evaluate drops incomplete rows as training did; predict refuses them
        X, y, note = encoded_new_data(encoding, X, y, data=args.data, drop=args.command == "evaluate")
        tell_how_read(args.data, note)
    mean, scale = (np.asarray(meta["preprocessing"][k]) for k in ("mean", "scale"))
    return net, meta, (X - mean) / scale, y


def class_indices(args, classes: list, meta: dict, y: np.ndarray) -> np.ndarray:
    """The target's classes as the indices of a saved model's ``classes``; an error names any it never saw."""
    index = {c: i for i, c in enumerate(classes)}
    labels = [index.get(v.item() if hasattr(v, "item") else v) for v in
              (np.asarray(classes)[y] if args.data in BUNDLED else y)]
    if None in labels:
        unseen = sorted({str(v) for v, i in zip(y, labels) if i is None})[:5]
        raise ValueError(f"the target column {meta.get('target') if args.target is None else args.target!r} "
                         f"of {args.data!r} holds classes the model never saw: {unseen}")
    return np.asarray(labels)


def trained_on(model: str) -> str:
    """The data a model saved by ``bpxp train`` was trained on: a bundled dataset's name or the file's path."""
    meta = read(model, parts=())[0]  # the metadata only: no array is read
    data = (meta.get("split") or {}).get("data") or meta.get("trained_on_data")
    if data is None:
        raise ValueError(f"{model!r} does not record the data it was trained on: give the data, as in "
                         f"`bpxp check DATA --model {model}`")
    return data
