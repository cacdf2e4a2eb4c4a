"""bpxp.sklearn's parameters: both estimators take the same ones (the regressor also its ``loss``), bpxp's
``backend``, ``device``, ``dtype`` and ``precision`` among them, through scikit-learn's ``get_params`` and
``set_params``."""

import inspect
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.base import clone

from bpxp.sklearn import MLPClassifier, MLPRegressor

BPXP_PARAMETERS = {"backend": "numpy", "device": None, "dtype": None, "precision": "float32"}


@pytest.fixture(autouse=True)
def _numpy_session_only(request):
    if "numpy" not in request.config.bpxp_backends:
        pytest.skip("the estimators' parameters are checked in the numpy session")


def _defaults(estimator) -> dict:
    return {name: p.default for name, p in inspect.signature(estimator).parameters.items()}


def test_the_regressor_takes_the_classifiers_parameters_and_its_loss():
    assert _defaults(MLPRegressor) == {**_defaults(MLPClassifier), "loss": "squared_error"}
    assert MLPRegressor().get_params() == {**MLPClassifier().get_params(), "loss": "squared_error"}


@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
def test_bpxps_own_parameters_in_get_params_and_set_params(estimator):
    assert {name: estimator().get_params()[name] for name in BPXP_PARAMETERS} == BPXP_PARAMETERS
    assert estimator(precision="tf32").get_params()["precision"] == "tf32"
    assert estimator().set_params(precision="tf32", dtype="float32").get_params()["precision"] == "tf32"
    assert clone(estimator(precision="tf32")).precision == "tf32"


@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
def test_the_network_takes_the_estimators_precision(estimator):
    """Also when training continues from assigned ``coefs_`` and ``intercepts_`` (the network is rebuilt)."""
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = (X[:, 0] > 0).astype(int)
    fitted = estimator(hidden_layer_sizes=(4,), precision="tf32", max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few iterations; TF32 changes nothing on a CPU
        fitted.fit(X, y)
        assert fitted.network_.precision == "tf32"
        fitted.coefs_, fitted.intercepts_ = fitted.coefs_, fitted.intercepts_
        fitted.partial_fit(X, y)
    assert fitted.network_.precision == "tf32"


def test_an_unknown_precision_is_refused_naming_it():
    X, y = np.zeros((4, 2)), np.arange(4) % 2
    with pytest.raises(ValueError, match="precision"):
        MLPRegressor(hidden_layer_sizes=(2,), precision="half", max_iter=1).fit(X, y)
