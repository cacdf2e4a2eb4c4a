"""Bundled datasets, available offline: the classic tabular sets that scikit-learn ships inside its package.

``load(name)`` gives features and integer labels as NumPy arrays; ``split(...)`` makes a seeded, stratified
train/test split and standardises features with the training rows' mean and standard deviation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
        raise ImportError("the bundled datasets come with scikit-learn: pip install 'bpxp[cli]'") from None
    bunch = getattr(sklearn.datasets, _LOADERS[name])()
    return Dataset(name, bunch.data.astype(np.float64), bunch.target.astype(np.int64),
                   [str(f) for f in bunch.feature_names], [str(c) for c in bunch.target_names])


def split(X: np.ndarray, y: np.ndarray, *, test_fraction: float, random_state=None):
    """Stratified train/test split from a seeded Generator, then standardisation fitted on the train rows.

    Returns X_train, X_test, y_train, y_test. Columns with zero spread in the training rows are centred only.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"`test_fraction` must lie strictly between 0 and 1, got {test_fraction}")
    rng = np.random.default_rng(random_state)
    test = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        test[rng.permutation(rows)[: max(1, round(test_fraction * len(rows)))]] = True
    train_rows, test_rows = rng.permutation(np.flatnonzero(~test)), np.flatnonzero(test)
    mean = X[train_rows].mean(axis=0)
    spread = X[train_rows].std(axis=0)
    spread[spread == 0] = 1.0
    scaled = (X - mean) / spread
    return scaled[train_rows], scaled[test_rows], y[train_rows], y[test_rows]
