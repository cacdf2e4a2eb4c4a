"""Class labels as the classifier's targets: scikit-learn's encoding, with the target's type found once per fit.

scikit-learn's ``MLPClassifier`` checks its labels (``check_classification_targets``), fits a ``LabelBinarizer``
(which finds the type and the classes again) and encodes with it. Each finding of the type (``type_of_target``)
costs ~0.1 ms whatever the size of y — a fortieth of a 200-epoch iris fit on JAX — so here it runs once, or not
at all for the commonest labels:

- :func:`target_type` — ``type_of_target(y)``, or :func:`labels_type` for a 1-D array of integers, booleans or
  strings; a target the classifier cannot learn (continuous, multi-output, unknown) gets scikit-learn's own error,
  from the very function that raises it there;
- :func:`classes_of` — the sorted distinct labels, as ``unique_labels`` gives them (tested equal);
- :func:`one_hot_of_classes` — labels → one column per class of the sorted classes (one column for two);
- :func:`binarizer` — the fitted ``LabelBinarizer`` of those classes and that type, which the estimator shows as
  ``_label_binarizer`` (as scikit-learn's, and read by skl2onnx's converter); made only when asked for.
"""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels

ENCODED = ("binary", "multiclass", "multilabel-indicator")  # the targets a LabelBinarizer encodes


def target_type(y) -> str:
    """``type_of_target(y)`` when it is one of :data:`ENCODED`; otherwise scikit-learn's error for y."""
    kind = labels_type(y)
    if kind is None:
        kind = type_of_target(y, input_name="y")
    if kind in ENCODED:
        return kind
    check_classification_targets(y)  # continuous and unknown targets: scikit-learn's "Unknown label type"
    LabelBinarizer().fit(y)  # multi-output targets: the binarizer's own error
    raise ValueError(f"`y` must hold class labels (binary, multi-class or a multi-label indicator), got {kind!r}")


def labels_type(y) -> str | None:
    """The type of a 1-D NumPy array of integers, booleans or strings — 'binary' with at most two distinct labels,
    else 'multiclass' — or None for any other y. ``type_of_target``'s answer for such arrays (tested equal), in
    ~10 µs where it takes ~100 µs, whatever their size, most of it looking for a DataFrame."""
    if not isinstance(y, np.ndarray) or y.ndim != 1 or y.dtype.kind not in "iubU" or y.size == 0:
        return None
    return "binary" if np.unique(y).size <= 2 else "multiclass"


def classes_of(y, kind: str) -> np.ndarray:
    """The sorted distinct labels of y of type ``kind``: ``unique_labels(y)``, without finding the type again —
    for an object array (which may mix strings and numbers, an error there) it is ``unique_labels`` itself."""
    if kind == "multilabel-indicator":
        return np.arange(y.shape[1])
    if np.asarray(y).dtype == object:
        return unique_labels(y)
    return np.asarray(sorted(set(np.unique(y))))


def binarizer(classes: np.ndarray, kind: str) -> LabelBinarizer:
    """The ``LabelBinarizer`` that fitting on y of type ``kind`` with these classes gives (its ``classes_`` and
    ``y_type_``): fitted on the classes themselves (at most two for a binary y, more for a multi-class one), or on
    an identity matrix, one column per label."""
    return LabelBinarizer().fit(np.eye(len(classes), dtype=int) if kind == "multilabel-indicator" else classes)


def one_hot_of_classes(y, classes, n_outputs: int) -> np.ndarray:
    """Labels y (n,) as the fitted LabelBinarizer encodes them, without its per-call checks: one column per class
    of the sorted ``classes``, or for two classes (``n_outputs`` 1) the column of the second. A label outside
    ``classes`` is an error naming it."""
    index = np.minimum(np.searchsorted(classes, y), len(classes) - 1)
    known = classes[index] == y
    if not np.all(known):
        unseen = np.unique(y[~known])
        raise ValueError(f"`y` has labels not in `classes` of the first fit: {unseen[:5].tolist()}; pass "
                         "every class to the first partial_fit with classes=...")
    if n_outputs == 1 and len(classes) == 2:
        return (index == 1)[:, None]
    if n_outputs == 1:  # a single class: every row is it, as the binarizer's one column of zeros
        return np.zeros((len(y), 1), dtype=bool)
    return index[:, None] == np.arange(len(classes))


def indicator_targets(y, n_labels: int) -> np.ndarray:
    """A multi-label indicator y (dense or sparse) as a dense array, with the ``n_labels`` columns of the fit."""
    Y = np.asarray(y.toarray() if hasattr(y, "toarray") else y)
    if Y.ndim != 2 or Y.shape[1] != n_labels:
        raise ValueError(f"`y` has {Y.shape[1] if Y.ndim == 2 else 1} label column(s) but the classifier was "
                         f"fitted on {n_labels}")
    return Y
