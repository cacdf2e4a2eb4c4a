"""bpxp.sklearn's estimators persisted with pickle, joblib and skops.io on every backend: the loaded estimator
predicts what the saved one did, and ``partial_fit`` continues from it exactly as it continues from the original
(the optimizer state, the best epoch under early stopping and the validation set come back to the device)."""

import io
import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.datasets import load_iris

import bpxp
from bpxp.sklearn import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _pickle(estimator):
    return pickle.loads(pickle.dumps(estimator))


def _joblib(estimator):
    joblib = pytest.importorskip("joblib")
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    buffer.seek(0)
    return joblib.load(buffer)


def _skops(estimator):
    """skops.io's round trip, trusting the types it reports as untrusted (bpxp's own)."""
    skops_io = pytest.importorskip("skops.io")
    data = skops_io.dumps(estimator)
    return skops_io.loads(data, trusted=skops_io.get_untrusted_types(data=data))


PERSISTERS = [pytest.param(_pickle, id="pickle"), pytest.param(_joblib, id="joblib"),
              pytest.param(_skops, id="skops")]


def _problem(backend, kind: str):
    """(estimator, X, y, (X_val, y_val), classes): iris, standardised, as the backend's arrays."""
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    if kind == "regressor":
        X, y = X[:, 1:], X[:, 0]
    y = y if kind == "regressor" else y.astype(np.int64)
    X_b, y_b = backend.asarray(X, "float32"), backend.asarray(y)
    validation = (backend.asarray(X[::3], "float32"), backend.asarray(y[::3]))
    estimator = MLPClassifier if kind == "classifier" else MLPRegressor
    return estimator, X_b, y_b, validation, ([0, 1, 2] if kind == "classifier" else None)


def _outputs(estimator, X):
    method = estimator.predict_proba if hasattr(estimator, "predict_proba") else estimator.predict
    return bpxp.to_numpy(method(X))


def _partial_fit(estimator, X, y, classes, **kwargs):
    if classes is None:
        return estimator.partial_fit(X, y, **kwargs)
    return estimator.partial_fit(X, y, classes=classes, **kwargs)


@pytest.mark.parametrize("persist", PERSISTERS)
@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_a_loaded_estimator_predicts_and_continues_as_the_saved_one(backend, kind, solver, persist):
    estimator, X, y, validation, classes = _problem(backend, kind)
    saved = estimator(hidden_layer_sizes=(6,), solver=solver, batch_size=50, learning_rate_init=0.05,
                      early_stopping=True, n_iter_no_change=50, random_state=0)
    _partial_fit(saved, X, y, classes, validation_data=validation)  # keeps the validation set and the best epoch
    _partial_fit(saved, X, y, classes)
    assert saved._optimizer_state is not None and saved._best_parameters is not None
    loaded = persist(saved)
    np.testing.assert_array_equal(_outputs(loaded, X), _outputs(saved, X))
    for _ in range(2):
        _partial_fit(saved, X, y, classes)
        _partial_fit(loaded, X, y, classes)
    assert loaded.network_.backend == saved.network_.backend == backend.name
    assert loaded.val_loss_curve_ == saved.val_loss_curve_ and loaded.n_iter_ == saved.n_iter_ == 4
    for a, b in zip(loaded.coefs_ + loaded.intercepts_, saved.coefs_ + saved.intercepts_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(_outputs(loaded, X), _outputs(saved, X))


@pytest.mark.parametrize("persist", PERSISTERS)
def test_an_estimator_fitted_with_early_stopping_persists_its_best_epoch(backend, persist):
    estimator, X, y, _, _ = _problem(backend, "classifier")
    saved = estimator(hidden_layer_sizes=(6,), max_iter=8, learning_rate_init=0.05, early_stopping=True,
                      random_state=0).fit(X, y)
    loaded = persist(saved)
    np.testing.assert_array_equal(_outputs(loaded, X), _outputs(saved, X))
    weights, _, _ = loaded._best_parameters
    assert all(bpxp.to_numpy(w).shape == c.shape for w, c in zip(weights, saved.coefs_))
    assert all(type(w) is type(v) for w, v in zip(weights, loaded.network_.weights))  # back on the backend


def _leaves(value):
    if isinstance(value, dict):
        return [leaf for child in value.values() for leaf in _leaves(child)]
    if isinstance(value, list | tuple):
        return [leaf for child in value for leaf in _leaves(child)]
    return [value]


def test_the_persisted_state_holds_no_backend_arrays(backend):
    """What pickle, joblib and skops.io write of a fitted estimator: NumPy arrays, never a backend's."""
    estimator, X, y, validation, classes = _problem(backend, "classifier")
    fitted = estimator(hidden_layer_sizes=(6,), early_stopping=True, random_state=0)
    _partial_fit(fitted, X, y, classes, validation_data=validation)
    backend_arrays = [type(leaf).__name__ for leaf in _leaves(fitted.__getstate__())
                      if bpxp.backend.namespaces.array_backend(leaf) is not None]
    assert backend_arrays == []
