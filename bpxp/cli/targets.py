"""The target column of ``bpxp train`` as the network learns it: class indices beside the classes' names, or numbers
for regression. A column that can be neither (missing values, text for regression, infinities, a single class) is
refused here, in one line naming the column and the data."""

from __future__ import annotations

import numpy as np


def encoded(y: np.ndarray, *, target: str, data: str, task: str,
            class_names: list[str] | None = None) -> tuple[list | None, np.ndarray]:
    """(classes, class indices) for classification, (None, ``y`` as float64) for regression.

    ``task`` is 'classification', 'regression' or 'auto' (classes for text or whole numbers with few values);
    ``class_names``, a bundled dataset's, make it classification. ``target`` and ``data`` name the column and
    its data in the errors.
    """
    check_no_missing(y, target=target, data=data, hint=" (or train with --missing drop, which drops them)")
    if class_names is None and not _is_classification(y, task):
        return None, _numeric(y, target, data)
    classes, indices = np.unique(y, return_inverse=True)
    classes = class_names or classes.tolist()
    if len(classes) < 2:
        raise ValueError(f"the target {target!r} has a single class ({classes[0]!r}): nothing to learn")
    return classes, indices


def _is_classification(y: np.ndarray, task: str) -> bool:
    if task != "auto":
        return task == "classification"
    if not np.issubdtype(y.dtype, np.number):
        return True
    whole = np.all(np.isfinite(y)) and np.all(np.mod(y, 1) == 0)
    return bool(whole and len(np.unique(y)) <= 50)


def check_no_missing(y: np.ndarray, *, target: str, data: str, hint: str = "") -> None:
    """A target column with missing values is named here, before it could reach the network as NaN labels."""
    if np.issubdtype(y.dtype, np.number):  # numbers (a bundled dataset's, say): NaN is their one missing value
        missing = np.flatnonzero(np.isnan(y)) if np.issubdtype(y.dtype, np.floating) else np.zeros(0, dtype=int)
    else:
        import pandas

        missing = np.flatnonzero(pandas.isna(y))
    if missing.size:
        raise ValueError(f"the target column {target!r} of {data!r} has {missing.size} missing value(s) (first at "
                         f"row {missing[0] + 1}); drop or fill those rows first{hint}")


def _numeric(y: np.ndarray, target: str, data: str) -> np.ndarray:
    """``y`` as float64 numbers, refusing text and infinities."""
    try:
        y = y.astype(np.float64)
    except (ValueError, TypeError):
        raise ValueError(f"the target column {target!r} of {data!r} is not numeric (e.g. {y[0]!r}); regression "
                         f"needs numbers — or use --task classification") from None
    if not np.isfinite(y).all():
        raise ValueError(f"the target column {target!r} of {data!r} holds infinite values")
    return y
