"""bpxp.sklearn's parameters: those of the installed scikit-learn's MLPs, in its positional order (the regressor's
``MLPRegressor(loss, hidden_layer_sizes, activation, *, …)`` of scikit-learn ≥ 1.7), with its defaults and its
losses; both estimators take the same ones (the regressor also its ``loss``), bpxp's ``backend``, ``device``,
``dtype`` and ``precision`` among them, through scikit-learn's ``get_params`` and ``set_params``."""

import inspect
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
import sklearn.neural_network
from sklearn.base import clone
from sklearn.metrics import mean_poisson_deviance

import bpxp
import bpxp.sklearn
from bpxp.sklearn import MLPClassifier, MLPRegressor

BPXP_PARAMETERS = {"backend": "numpy", "device": None, "dtype": None, "precision": "float32"}


pytestmark = pytest.mark.numpy_session("the estimators' parameters are checked in the numpy session",
                                       without_backend=True)


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


def _positional(estimator) -> list[str]:
    """The parameters that may be passed by position (before the ``*``), in order."""
    return [name for name, p in inspect.signature(estimator).parameters.items() if p.kind == p.POSITIONAL_OR_KEYWORD]


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_the_parameters_are_the_installed_scikit_learns(name):
    """Positional ones by name and order, and every keyword one with its default (bpxp adds its own four)."""
    reference, ours = getattr(sklearn.neural_network, name), getattr(bpxp.sklearn, name)
    if name == "MLPRegressor" and "loss" not in inspect.signature(reference).parameters:
        pytest.skip(f"bpxp follows scikit-learn ≥ 1.7's MLPRegressor(loss, ...); {sklearn.__version__} is installed")
    assert _positional(ours) == _positional(reference)
    theirs = reference().get_params()
    assert {key: ours().get_params()[key] for key in theirs} == theirs
    assert set(ours().get_params()) - set(theirs) == set(BPXP_PARAMETERS)


def test_the_regressor_takes_scikit_learns_losses():
    from sklearn.utils._param_validation import StrOptions

    from bpxp.sklearn.estimators import LOSSES

    constraints = getattr(sklearn.neural_network.MLPRegressor, "_parameter_constraints", {}).get("loss")
    if not constraints:
        pytest.skip(f"scikit-learn {sklearn.__version__}'s MLPRegressor has no `loss`")
    (options,) = [c.options for c in constraints if isinstance(c, StrOptions)]
    assert set(LOSSES) == set(options)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_poisson_by_position_fits_counts(backend):
    """scikit-learn's ``MLPRegressor("poisson", (8,))``: an exponential output (ŷ > 0) and the Poisson deviance,
    closer to the counts than their mean."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = rng.poisson(np.exp(0.8 * X[:, 0])).astype(float)
    reg = MLPRegressor("poisson", (8,), "tanh", solver="lbfgs", max_iter=50, random_state=0)
    reg.fit(backend.asarray(X), backend.asarray(y))
    assert (reg.loss, reg.hidden_layer_sizes, reg.activation) == ("poisson", (8,), "tanh")
    assert reg.out_activation_ == "exp" and reg.network_.loss == "poisson"
    predicted = bpxp.to_numpy(reg.predict(backend.asarray(X)))
    assert (predicted > 0).all()
    assert mean_poisson_deviance(y, predicted) < 0.8 * mean_poisson_deviance(y, np.full_like(y, y.mean()))


def test_hidden_layer_sizes_in_the_place_of_loss_is_refused_saying_so():
    X, y = np.zeros((4, 2)), np.arange(4.0)
    with pytest.raises(ValueError, match=r"`loss` must be one of .*got \(8,\).*hidden_layer_sizes=\(8,\) by name"):
        MLPRegressor((8,)).fit(X, y)
    with pytest.raises(ValueError, match=r"`loss` must be one of \['squared_error', 'poisson'\], got 'huber'"):
        MLPRegressor("huber").fit(X, y)
