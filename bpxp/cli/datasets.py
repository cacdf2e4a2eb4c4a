"""Bundled datasets, available offline: the classic tabular sets that scikit-learn ships inside its package.

``load(name)`` gives features and integer labels as NumPy arrays; ``read_table`` reads a CSV or Parquet file;
``split`` makes a seeded (stratified) train/validation split and ``standardizer`` the training rows' scaling.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..backend.namespaces import install_hint

_LOADERS = {"iris": "load_iris", "wine": "load_wine", "breast_cancer": "load_breast_cancer",
            "digits": "load_digits"}
NAMES = tuple(_LOADERS)


@dataclass(frozen=True)
class Dataset:
    """Features X (n_samples, n_features), integer labels y (n_samples,), and their names."""

    name: str
    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    class_names: list[str]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


def load(name: str) -> Dataset:
    """Load a bundled dataset by name ('iris', 'wine', 'breast_cancer', 'digits')."""
    if name not in _LOADERS:
        raise ValueError(f"dataset must be one of {list(NAMES)}, got {name!r}")
    try:
        import sklearn.datasets
    except ImportError:
        raise ImportError(f"the bundled datasets come with scikit-learn: {install_hint('cli')}") from None
    bunch = getattr(sklearn.datasets, _LOADERS[name])()
    return Dataset(name, bunch.data.astype(np.float64), bunch.target.astype(np.int64),
                   [str(f) for f in bunch.feature_names], [str(c) for c in bunch.target_names])


def split(y: np.ndarray, *, test_fraction: float, random_state=None, stratify: bool = True):
    """Row indices (train, test) of a seeded split; per class when ``stratify`` (classification)."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"the validation fraction must lie strictly between 0 and 1, got {test_fraction}")
    rng = np.random.default_rng(random_state)
    test = np.zeros(len(y), dtype=bool)
    groups = [np.flatnonzero(y == label) for label in np.unique(y)] if stratify else [np.arange(len(y))]
    for rows in groups:
        test[rng.permutation(rows)[: max(1, round(test_fraction * len(rows)))]] = True
    if test.all():
        raise ValueError(f"too few rows ({len(y)}) to hold out a validation fraction of {test_fraction}")
    return rng.permutation(np.flatnonzero(~test)), np.flatnonzero(test)


def standardizer(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations of X (a constant column gets spread 1: it is only centred).

    A constant column is found exactly (max = min), not by a zero standard deviation, which rounding can leave
    at 1e-16 and so blow the column's rounding noise up to ±1. Columns are scaled by their largest magnitude
    first, so values near the float64 limit do not overflow in the squares.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0 or not np.isfinite(X).all():
        raise ValueError(f"standardizer needs a non-empty 2-D array of finite numbers, got shape {X.shape}")
    constant = X.max(axis=0) == X.min(axis=0)
    scale = np.abs(X).max(axis=0)
    scale[scale == 0] = 1.0
    mean, spread = (X / scale).mean(axis=0) * scale, (X / scale).std(axis=0) * scale
    mean[constant], spread[constant | (spread == 0)] = X[0, constant], 1.0
    return mean, spread


def _abridged(names: list[str], shown: int = 8) -> str:
    return ", ".join(map(str, names[:shown])) + (f", … ({len(names) - shown} more)" if len(names) > shown else "")


def check_source(name: str) -> None:
    """Raise a ValueError unless ``name`` is a bundled dataset or an existing file, naming the bundled ones."""
    if name in NAMES or Path(name).is_file():
        return
    close = [known for known in NAMES if known == name.lower().replace("-", "_")]
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"no such data file: {name!r}, nor a bundled dataset (known: {', '.join(NAMES)}){hint}")


def plain_numeric_csv(path: str, feature_names: list[str]) -> np.ndarray | None:
    """The ``feature_names`` columns of a plain CSV file as float64, read without pandas; None for any other file.

    Predicting on new rows needs their features only, and importing pandas costs more than the whole rest of
    ``bpxp predict`` (~0.6 s of CPU against ~0.3): a file whose feature columns are all finite numbers, under a
    header without repeated names, is read by NumPy's CSV parser. Anything else (a missing value, a text
    feature, ragged rows, a missing column) returns None, and ``read_table`` reads it with pandas, whose errors
    name what is wrong; both read the same numbers from a plain file (``tests/test_light_imports.py``).
    """
    try:
        cells = np.loadtxt(path, dtype=str, delimiter=",", quotechar='"', comments=None, ndmin=2,
                           encoding="utf-8-sig")
    except (ValueError, UnicodeDecodeError):
        return None
    header = [str(name) for name in cells[0]] if len(cells) else []
    if len(cells) < 2 or len(set(header)) != len(header) or not set(feature_names) <= set(header):
        return None
    try:
        X = cells[1:, [header.index(name) for name in feature_names]].astype(np.float64)
    except ValueError:
        return None
    return X if np.isfinite(X).all() else None


@dataclass(frozen=True)
class Table:
    """A data file read for training or prediction: its feature columns (a pandas DataFrame, as read: numbers,
    text, missing values — ``bpxp.cli.encoding`` turns them into X), and the target column if asked for."""

    features: Any
    y: np.ndarray | None
    feature_names: list[str]
    target: str | None


def read_table(path: str, *, target: str | None, feature_names: list[str] | None = None,
               target_required: bool = True, text_columns: list[str] = ()) -> Table:
    """Read a CSV or Parquet file with pandas: the ``target`` column and the feature columns.

    ``feature_names`` (from a trained model) selects and orders the features; otherwise every column but the
    target is a feature. ``text_columns`` of a CSV are read as text, as they were in training (a column of
    categories that happen to look like numbers stays text). Without ``target_required`` a file lacking the target
    column (new, unlabelled data to predict on) reads with ``y`` None. Errors name the file and the columns.
    """
    suffix = Path(path).suffix.lower()
    if not Path(path).is_file():
        check_source(path)
    parquet = suffix in (".parquet", ".pq")
    if not target_required and feature_names is not None and not parquet and not text_columns:
        X = plain_numeric_csv(path, feature_names)
        if X is not None:  # every feature a finite number: nothing for an encoding to fill or expand
            return Table(X, None, list(feature_names), None)
    import pandas

    try:
        frame = (pandas.read_parquet(path) if parquet
                 else pandas.read_csv(path, dtype=dict.fromkeys(text_columns, str) or None))
    except Exception as error:
        raise ValueError(f"cannot read {path!r} as {'Parquet' if parquet else 'CSV'}: "
                         f"{str(error).splitlines()[0]}") from None
    if target is not None and target not in frame.columns and not target_required:
        target = None
    if target is not None and target not in frame.columns:
        raise ValueError(f"--target {target!r} is not a column of {path!r}; its columns are {list(frame.columns)}")
    if feature_names is None:
        feature_names = [str(c) for c in frame.columns if c != target]
    missing = [c for c in feature_names if c not in frame.columns]
    if missing:
        unexpected = [str(c) for c in frame.columns if c not in feature_names and c != target]
        raise ValueError(f"{path!r} lacks the model's feature columns {missing}"
                         + (f"; unexpected columns {unexpected}" if unexpected else "")
                         + f" (the model expects {len(feature_names)} columns: {_abridged(feature_names)})")
    if len(frame) == 0:
        raise ValueError(f"{path!r} has no rows")
    y = None if target is None else frame[target].to_numpy()
    return Table(frame[feature_names], y, list(feature_names), target)
