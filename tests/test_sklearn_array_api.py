"""bpxp.sklearn's predictions on Array API inputs whose float dtype is not the network's: every prediction method
casts X to the network's dtype at its one way in, as ``predict`` does, and answers in the network's dtype.

scikit-learn's own Array API checks (``sklearn.utils.estimator_checks.check_array_api_input``, from the installed
package, over its namespaces, devices and dtypes) run here on estimators whose ``dtype`` is fixed, so that X's
dtype differs from the network's in half of them; ``tests/test_sklearn.py`` runs them on the default estimators,
whose network follows X's dtype.
"""

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.datasets import load_iris
from sklearn.utils._array_api import yield_namespace_device_dtype_combinations
from sklearn.utils.estimator_checks import check_array_api_input

import bpxp
from bpxp.sklearn import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

METHODS = ("predict", "predict_proba", "predict_log_proba")


def _targets(task: str, y):
    """Binary (one logistic unit), multi-label (one logistic unit per label) or 3 classes (softmax)."""
    if task == "binary":
        return (y > 0).astype(np.int64)
    if task == "multilabel":
        return np.stack([y > 0, y > 1, y == 1], axis=1).astype(np.int64)
    return y


@pytest.mark.parametrize(("fitted_on", "given"), [("float32", "float64"), ("float64", "float32")],
                         ids=["float32 network, float64 X", "float64 network, float32 X"])
@pytest.mark.parametrize("task", ["binary", "multilabel", "multiclass"])
def test_every_prediction_method_casts_x_to_the_networks_dtype(backend, task, fitted_on, given):
    """An X of the other float dtype gives what X cast to the network's dtype gives, in the network's dtype."""
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    clf = MLPClassifier((6,), max_iter=5, random_state=0).fit(backend.asarray(X, fitted_on),
                                                               backend.asarray(_targets(task, y)))
    assert clf.network_.dtype_name == fitted_on
    as_network = backend.asarray(X.astype(given).astype(fitted_on))
    for method in METHODS:
        expected = getattr(clf, method)(as_network)
        got = getattr(clf, method)(backend.asarray(X, given))
        assert got.dtype == expected.dtype, method
        np.testing.assert_array_equal(bpxp.to_numpy(got), bpxp.to_numpy(expected), err_msg=method)


def test_the_regressor_casts_x_to_the_networks_dtype(backend):
    X, _ = load_iris(return_X_y=True)
    reg = MLPRegressor(hidden_layer_sizes=(6,), max_iter=5, random_state=0).fit(backend.asarray(X[:, 1:], "float32"),
                                                              backend.asarray(X[:, 0], "float32"))
    got = reg.predict(backend.asarray(X[:, 1:], "float64"))
    expected = reg.predict(backend.asarray(X[:, 1:], "float32"))
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(bpxp.to_numpy(got), bpxp.to_numpy(expected))


COMBINATIONS = [pytest.param(namespace, device, dtype, id=f"{namespace}-{device}-{dtype}")
                for namespace, device, dtype in yield_namespace_device_dtype_combinations()]
FIXED_DTYPE_ESTIMATORS = [
    pytest.param(MLPClassifier((8,), max_iter=20, dtype="float32"), id="MLPClassifier(dtype='float32')"),
    pytest.param(MLPClassifier((8,), max_iter=20, dtype="float64"), id="MLPClassifier(dtype='float64')"),
    pytest.param(MLPRegressor(hidden_layer_sizes=(8,), max_iter=20, dtype="float32"),
                 id="MLPRegressor(dtype='float32')"),
]


@pytest.mark.parametrize(("namespace", "device", "dtype"), COMBINATIONS)
@pytest.mark.parametrize("estimator", FIXED_DTYPE_ESTIMATORS)
def test_scikit_learns_array_api_checks_with_a_fixed_network_dtype(request, estimator, namespace, device, dtype):
    """scikit-learn's check: the fitted attributes and every method's output in X's namespace and on its device,
    with the shapes and dtypes of a fit on NumPy (a namespace or device missing here is skipped by the check)."""
    if "numpy" not in request.config.bpxp_backends:
        pytest.skip("scikit-learn's checks run in the numpy session")
    check_array_api_input(type(estimator).__name__, estimator, array_namespace=namespace, device_name=device,
                          dtype_name=dtype)
