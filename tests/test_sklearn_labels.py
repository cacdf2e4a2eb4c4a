"""The classifier's labels: found with one ``type_of_target`` per fit (``bpxp.sklearn.labels``), yet the same classes,
encoder and errors as scikit-learn's ``check_classification_targets``, ``unique_labels`` and ``LabelBinarizer``."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels

from bpxp.sklearn import MLPClassifier, labels

pytestmark = pytest.mark.numpy_session("label encoding runs on the host, the same for every backend")

LABELS = {
    "int, three classes": np.arange(12) % 3,
    "int, two classes": np.arange(12) % 2,
    "int, one class": np.zeros(12, dtype=int),
    "negative ints": np.arange(12) % 3 - 5,
    "uint8": (np.arange(12) % 3).astype(np.uint8),
    "bool": np.arange(12) % 2 == 0,
    "whole floats": (np.arange(12) % 4).astype(np.float32),
    "strings": np.array(["a", "bb", "c"] * 4),
    "strings, wide dtype": np.array(["a", "bb", "c"] * 4, dtype="<U10"),
    "strings as objects": np.array(["a", "bb", "c"] * 4, dtype=object),
    "multi-label indicator": np.array([[1, 0, 1], [0, 1, 1], [0, 0, 0], [1, 1, 0]] * 3),
}
REFUSED = {
    "continuous": np.linspace(0, 1, 12),
    "unknown (objects, number first)": np.array([1, "a", 2] * 4, dtype=object),
    "multi-class multi-output": np.stack([np.arange(12) % 3, np.arange(12) % 4], axis=1),
}


@pytest.mark.parametrize("y", LABELS.values(), ids=LABELS.keys())
def test_classes_and_encoder_are_scikit_learns(y):
    kind = labels.target_type(y)
    classes = labels.classes_of(y, kind)
    expected = unique_labels(y)
    assert classes.dtype == expected.dtype and np.array_equal(classes, expected)
    made, fitted = labels.binarizer(classes, kind), LabelBinarizer().fit(y)
    assert made.y_type_ == fitted.y_type_ == kind
    assert np.array_equal(made.classes_, fitted.classes_) and made.classes_.dtype == fitted.classes_.dtype


ONE_COLUMN = {name: y for name, y in LABELS.items() if y.ndim == 1}


@pytest.mark.parametrize("y", ONE_COLUMN.values(), ids=ONE_COLUMN.keys())
def test_one_hot_is_the_binarizers(y):
    classes = unique_labels(y)
    n_outputs = 1 if len(classes) <= 2 else len(classes)
    assert np.array_equal(labels.one_hot_of_classes(y, classes, n_outputs), LabelBinarizer().fit(y).transform(y))


@pytest.mark.parametrize("y", REFUSED.values(), ids=REFUSED.keys())
def test_refused_targets_get_scikit_learns_error(y):
    try:
        check_classification_targets(y)
        LabelBinarizer().fit(y)
    except ValueError as error:
        expected = str(error)
    with pytest.raises(ValueError) as raised:
        labels.target_type(y)
    assert str(raised.value) == expected


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_fitted_classifier_shows_scikit_learns_binarizer():
    """``_label_binarizer`` (read by skl2onnx) is made when asked, equal to the one scikit-learn's MLP fits."""
    X = np.random.default_rng(0).normal(size=(12, 3))
    for y in (np.arange(12) % 3, np.array(["no", "yes"] * 6), LABELS["multi-label indicator"]):
        shown = MLPClassifier((3,), max_iter=2, random_state=0).fit(X, y)._label_binarizer
        fitted = LabelBinarizer().fit(y)
        assert shown.y_type_ == fitted.y_type_ and np.array_equal(shown.classes_, fitted.classes_)


def test_a_later_call_with_another_kind_of_target_is_refused():
    X = np.random.default_rng(0).normal(size=(12, 3))
    clf = MLPClassifier((3,), random_state=0).partial_fit(X, np.arange(12) % 3, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="is a multilabel-indicator target but the classifier was fitted on a "
                                         "multiclass one"):
        clf.partial_fit(X, LABELS["multi-label indicator"])


def test_a_multi_label_target_keeps_its_columns():
    with pytest.raises(ValueError, match="2 label column"):
        labels.indicator_targets(sp.csr_matrix(np.eye(4, 2, dtype=int)), 3)


@pytest.mark.parametrize("seed", range(40))
def test_the_quick_type_of_plain_labels_is_scikit_learns(seed):
    """``labels_type`` answers for 1-D integer, boolean and string arrays as ``type_of_target`` does; for the rest
    it leaves the answer to it."""
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(1, 30)), int(rng.integers(1, 5))
    y = rng.integers(-2, k, size=n).astype(rng.choice(["int8", "uint8", "int32", "int64", "bool"]))
    for labels_ in (y, y.astype(str)):
        assert labels.labels_type(labels_) == type_of_target(labels_)
    for other in (y.astype(float), y.astype(object), y[:, None], list(y)):
        assert labels.labels_type(other) is None
