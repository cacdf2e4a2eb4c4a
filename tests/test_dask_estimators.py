"""bpxp's scikit-learn estimators on Dask arrays: fit per chunk in the same training loop, with the same stopping
rule, as in memory; early stopping on the very rows held out in memory; lazy predictions; clear errors for
layouts and options they do not take.

The reference is the same estimator fitted in memory on the same data (float64): the same epochs (``n_iter_``),
curves within rtol 1e-10 and weights within rtol 1e-9; where no estimator runs the same way (a fixed number of
epochs), ``bpxp.MLP.fit`` in memory from the estimator's own initial weights and shuffling Generator.
"""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_random_state

import bpxp
from bpxp.sklearn import MLPClassifier, MLPRegressor
from bpxp.sklearn.base import initial_parameters

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.usefixtures("dask_session")

SETTINGS = {"hidden_layer_sizes": (7,), "activation": "tanh", "early_stopping": True, "n_iter_no_change": 2,
            "validation_fraction": 0.2, "learning_rate_init": 0.05, "batch_size": 32, "max_iter": 100,
            "random_state": 3, "dtype": "float64"}


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    labels = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.8).astype(int)
    return X, labels, X[:, 0] - 2 * X[:, 1] + 0.3 * np.sin(3 * X[:, 2])


def _on_dask(*arrays):
    return [da.from_array(a, chunks=(70, *a.shape[1:])) for a in arrays]


def _fitted_both_ways(estimator, X, y):
    """(the estimator fitted on Dask arrays of X, y; a clone of it fitted on X, y in memory)."""
    from sklearn.base import clone

    in_memory = clone(estimator).fit(X, y)
    return estimator.fit(*_on_dask(X, y)), in_memory


def _assert_same_training(on_dask, in_memory):
    """The same epochs, stop, curves, scores and counters (rtol 1e-10) and weights (rtol 1e-9)."""
    assert on_dask.n_iter_ == in_memory.n_iter_ < on_dask.max_iter
    assert on_dask.stopped_early_ and in_memory.stopped_early_
    assert on_dask.t_ == in_memory.t_
    np.testing.assert_allclose(on_dask.loss_curve_, in_memory.loss_curve_, rtol=1e-10, atol=0)
    np.testing.assert_allclose(on_dask.val_loss_curve_, in_memory.val_loss_curve_, rtol=1e-10, atol=0)
    if in_memory.early_stopping:
        assert len(on_dask.validation_scores_) == on_dask.n_iter_ and on_dask.best_loss_ is None
        np.testing.assert_allclose(on_dask.validation_scores_, in_memory.validation_scores_, rtol=1e-10, atol=0)
        assert on_dask.best_validation_score_ == pytest.approx(in_memory.best_validation_score_, rel=1e-10)
    else:
        assert on_dask.validation_scores_ is None and on_dask.best_validation_score_ is None
        assert on_dask.best_loss_ == pytest.approx(in_memory.best_loss_, rel=1e-10)
    for mine, theirs in zip((*on_dask.coefs_, *on_dask.intercepts_), (*in_memory.coefs_, *in_memory.intercepts_),
                            strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=0)


def test_classifier_early_stopping_on_dask_stops_as_in_memory(scheduler):
    X, labels, _ = _data()
    clf, reference = _fitted_both_ways(MLPClassifier(**SETTINGS), X, labels)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    _assert_same_training(clf, reference)


def test_binary_classifier_on_dask_encodes_string_labels_chunk_by_chunk(scheduler):
    X, labels, _ = _data()
    names = np.array(["no", "yes"])[(labels > 0).astype(int)]
    clf, reference = _fitted_both_ways(MLPClassifier(**SETTINGS), X, names)  # a split stratified by the labels
    np.testing.assert_array_equal(clf.classes_, ["no", "yes"])
    _assert_same_training(clf, reference)
    Xd, = _on_dask(X)
    predicted = clf.predict(Xd)
    assert isinstance(predicted, da.Array)
    np.testing.assert_array_equal(predicted.compute(), clf.predict(X))
    np.testing.assert_allclose(clf.predict_proba(Xd).compute(), clf.predict_proba(X), rtol=0, atol=1e-12)
    assert clf.score(Xd, da.from_array(names, chunks=50)) == pytest.approx(clf.score(X, names), abs=1e-12)


def test_regressor_early_stopping_on_dask_stops_as_in_memory(scheduler):
    X, _, target = _data()
    reg, reference = _fitted_both_ways(MLPRegressor(**SETTINGS), X, target)
    _assert_same_training(reg, reference)
    Xd, yd = _on_dask(X, target)
    predicted = reg.predict(Xd)
    assert isinstance(predicted, da.Array) and predicted.shape == (300,)
    np.testing.assert_allclose(predicted.compute(), reg.predict(X), rtol=0, atol=1e-12)
    assert reg.score(Xd, yd) == pytest.approx(reg.score(X, target), abs=1e-10)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_the_tol_rule_on_the_training_loss_stops_a_dask_fit_as_in_memory(kind):
    X, labels, target = _data()
    estimator = (MLPClassifier if kind == "classifier" else MLPRegressor)(**{**SETTINGS, "early_stopping": False,
                                                                               "tol": 1e-2})
    on_dask, reference = _fitted_both_ways(estimator, X, labels if kind == "classifier" else target)
    _assert_same_training(on_dask, reference)


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_sgd_with_the_adaptive_rate_on_dask_divides_eta_at_the_plateaus_as_in_memory(kind, early_stopping):
    X, labels, target = _data()
    estimator = (MLPClassifier if kind == "classifier" else MLPRegressor)(**{
        **SETTINGS, "early_stopping": early_stopping, "solver": "sgd", "learning_rate": "adaptive",
        "learning_rate_init": 0.1, "tol": 1e-2})
    on_dask, reference = _fitted_both_ways(estimator, X, labels if kind == "classifier" else target)
    _assert_same_training(on_dask, reference)
    # training ended with η at its floor: divided by 5 at each plateau of the tol rule, as in memory
    assert on_dask._optimizer.learning_rate < 1e-6
    assert on_dask._optimizer.learning_rate == pytest.approx(reference._optimizer.learning_rate, rel=1e-12)


def test_the_estimators_train_on_dask_without_early_stopping_as_in_memory_mlp_fit():
    X, _, target = _data()
    settings = {**SETTINGS, "early_stopping": False, "max_iter": 5}
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(5\) reached"):  # as in memory
        reg = MLPRegressor(**settings).fit(*_on_dask(X, target))
    state = check_random_state(3)
    weights, biases = initial_parameters([5, 7, 1], "tanh", state)
    rng = np.random.default_rng(state.randint(np.iinfo(np.int32).max))
    net = bpxp.MLP.from_weights(weights, biases, hidden="tanh", output="identity", loss="mse", dtype="float64")
    history = net.fit(X, target, epochs=5, learning_rate=0.05, batch_size=32,
                      optimizer=bpxp.optimizers.Adam(0.9, 0.999, 1e-8), random_state=rng, l2=1e-4)
    assert reg.n_iter_ == 5 and not reg.stopped_early_
    np.testing.assert_allclose(reg.loss_curve_, history.loss, rtol=0, atol=1e-10)
    np.testing.assert_allclose(reg.coefs_[0], bpxp.to_numpy(net.weights[0]), rtol=0, atol=1e-10)


def test_a_dask_x_with_several_column_chunks_is_refused_clearly():
    X, labels, _ = _data()
    with pytest.raises(ValueError, match=r"every column in one chunk.*rechunk"):
        MLPClassifier(**SETTINGS).fit(da.from_array(X, chunks=(70, 2)), da.from_array(labels, chunks=70))


def test_a_dask_x_with_unknown_chunk_sizes_is_refused_clearly():
    X, labels, _ = _data()
    Xd, yd = _on_dask(X, labels)
    kept = Xd[:, 0] > -10
    with pytest.raises(ValueError, match=r"`X` has unknown chunk sizes.*compute_chunk_sizes"):
        MLPClassifier(**SETTINGS).fit(Xd[kept], yd[kept])


def test_sgd_with_an_inverse_scaling_rate_on_dask_trains_as_mlp_fit_with_that_schedule():
    X, _, target = _data()
    settings = {**SETTINGS, "early_stopping": False, "max_iter": 4, "solver": "sgd", "momentum": 0.0,
                "learning_rate": "invscaling", "learning_rate_init": 0.2, "power_t": 0.3}
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(4\) reached"):  # as in memory
        reg = MLPRegressor(**settings).fit(*_on_dask(X, target))
    state = check_random_state(3)
    weights, biases = initial_parameters([5, 7, 1], "tanh", state)
    rng = np.random.default_rng(state.randint(np.iinfo(np.int32).max))
    net = bpxp.MLP.from_weights(weights, biases, hidden="tanh", output="identity", loss="mse", dtype="float64")
    history = net.fit(X, target, epochs=4, batch_size=32, optimizer="sgd", random_state=rng, l2=1e-4,
                      learning_rate_schedule=bpxp.optimizers.InverseScaling(0.2, power_t=0.3))
    with pytest.warns(ConvergenceWarning):
        fixed = MLPRegressor(**{**settings, "learning_rate": "constant"}).fit(*_on_dask(X, target))
    assert not np.allclose(fixed.coefs_[0], reg.coefs_[0]), "the schedule must change the training"
    np.testing.assert_allclose(reg.loss_curve_, history.loss, rtol=0, atol=1e-10)
    for mine, theirs in zip((*reg.coefs_, *reg.intercepts_), (*net.weights, *net.biases), strict=True):
        np.testing.assert_allclose(mine, bpxp.to_numpy(theirs), rtol=0, atol=1e-10)


@pytest.mark.parametrize("option", ["lbfgs", "warm_start", "sample_weight", "multi_output"])
def test_options_the_estimators_do_not_take_on_dask_are_refused_by_name(option):
    X, _, target = _data()
    Xd, yd = _on_dask(X, target)
    settings, fit_kwargs = dict(SETTINGS), {}
    if option == "lbfgs":
        settings["solver"], expected = "lbfgs", "solver='lbfgs'"
    elif option == "warm_start":
        settings["warm_start"], expected = True, "warm_start"
    elif option == "sample_weight":
        fit_kwargs["sample_weight"], expected = np.ones(300), "sample_weight"
    else:
        yd, expected = da.stack([yd, yd], axis=1), "must be 1-D"
    with pytest.raises(ValueError, match=expected):
        MLPRegressor(**settings).fit(Xd, yd, **fit_kwargs)
