"""The scikit-learn estimators on Dask arrays: fit per chunk through MLP.fit's Dask path, early stopping on a
seeded row split, lazy predictions, and clear errors for layouts and options they do not take.

The reference is ``bpxp.MLP.fit`` in memory on the same split, from the estimator's own initial weights and
shuffling Generator (drawn from ``random_state`` as the estimator draws them): float64, 1e-10.
"""

import numpy as np
import pytest
from sklearn.model_selection import train_test_split
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


def _reference(X, Y, *, output, loss, random_state):
    """MLP.fit in memory on the estimator's split, initial weights and shuffling Generator."""
    state = check_random_state(random_state)
    weights, biases = initial_parameters([5, 7, Y.shape[1]], "tanh", state)
    rng = np.random.default_rng(state.randint(np.iinfo(np.int32).max))
    train_rows, val_rows = train_test_split(np.arange(len(X)), test_size=SETTINGS["validation_fraction"],
                                            random_state=state)
    train_rows, val_rows = np.sort(train_rows), np.sort(val_rows)
    net = bpxp.MLP.from_weights(weights, biases, hidden="tanh", output=output, loss=loss, dtype="float64")
    history = net.fit(X[train_rows], Y[train_rows], epochs=SETTINGS["max_iter"],
                      learning_rate=SETTINGS["learning_rate_init"], batch_size=SETTINGS["batch_size"],
                      optimizer=bpxp.optimizers.Adam(0.9, 0.999, 1e-8), random_state=rng, l2=1e-4,
                      validation_data=(X[val_rows], Y[val_rows]), early_stopping=SETTINGS["n_iter_no_change"])
    return net, history


def _assert_same_training(estimator, net, history):
    assert estimator.stopped_early_ and history.stopped_early
    assert estimator.n_iter_ == len(history.loss) < SETTINGS["max_iter"]
    np.testing.assert_allclose(estimator.loss_curve_, history.loss, rtol=0, atol=1e-10)
    np.testing.assert_allclose(estimator.val_loss_curve_, history.val_loss, rtol=0, atol=1e-10)
    for mine, theirs in zip((*estimator.coefs_, *estimator.intercepts_), (*net.weights, *net.biases), strict=True):
        np.testing.assert_allclose(mine, bpxp.to_numpy(theirs), rtol=0, atol=1e-10)


def test_classifier_early_stopping_on_dask_stops_as_mlp_fit_on_the_same_split_in_memory(scheduler):
    X, labels, _ = _data()
    clf = MLPClassifier(**SETTINGS).fit(*_on_dask(X, labels))
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    net, history = _reference(X, np.eye(3)[labels], output="softmax", loss="cross_entropy", random_state=3)
    _assert_same_training(clf, net, history)


def test_binary_classifier_on_dask_encodes_string_labels_chunk_by_chunk(scheduler):
    X, labels, _ = _data()
    names = np.array(["no", "yes"])[(labels > 0).astype(int)]
    clf = MLPClassifier(**SETTINGS).fit(*_on_dask(X, names))
    np.testing.assert_array_equal(clf.classes_, ["no", "yes"])
    net, history = _reference(X, (labels > 0).astype(float)[:, None], output="sigmoid",
                              loss="binary_cross_entropy", random_state=3)
    _assert_same_training(clf, net, history)
    Xd, = _on_dask(X)
    predicted = clf.predict(Xd)
    assert isinstance(predicted, da.Array)
    np.testing.assert_array_equal(predicted.compute(), clf.predict(X))
    np.testing.assert_allclose(clf.predict_proba(Xd).compute(), clf.predict_proba(X), rtol=0, atol=1e-12)
    assert clf.score(Xd, da.from_array(names, chunks=50)) == pytest.approx(clf.score(X, names), abs=1e-12)


def test_regressor_early_stopping_on_dask_stops_as_mlp_fit_on_the_same_split_in_memory(scheduler):
    X, _, target = _data()
    reg = MLPRegressor(**SETTINGS).fit(*_on_dask(X, target))
    net, history = _reference(X, target[:, None], output="identity", loss="mse", random_state=3)
    _assert_same_training(reg, net, history)
    Xd, yd = _on_dask(X, target)
    predicted = reg.predict(Xd)
    assert isinstance(predicted, da.Array) and predicted.shape == (300,)
    np.testing.assert_allclose(predicted.compute(), reg.predict(X), rtol=0, atol=1e-12)
    assert reg.score(Xd, yd) == pytest.approx(reg.score(X, target), abs=1e-10)


def test_the_estimators_train_on_dask_without_early_stopping_as_in_memory_mlp_fit():
    X, _, target = _data()
    settings = {**SETTINGS, "early_stopping": False, "max_iter": 5}
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
    reg = MLPRegressor(**settings).fit(*_on_dask(X, target))
    state = check_random_state(3)
    weights, biases = initial_parameters([5, 7, 1], "tanh", state)
    rng = np.random.default_rng(state.randint(np.iinfo(np.int32).max))
    net = bpxp.MLP.from_weights(weights, biases, hidden="tanh", output="identity", loss="mse", dtype="float64")
    history = net.fit(X, target, epochs=4, batch_size=32, optimizer="sgd", random_state=rng, l2=1e-4,
                      learning_rate_schedule=bpxp.optimizers.InverseScaling(0.2, power_t=0.3))
    fixed = MLPRegressor(**{**settings, "learning_rate": "constant"}).fit(*_on_dask(X, target))
    assert not np.allclose(fixed.coefs_[0], reg.coefs_[0]), "the schedule must change the training"
    np.testing.assert_allclose(reg.loss_curve_, history.loss, rtol=0, atol=1e-10)
    for mine, theirs in zip((*reg.coefs_, *reg.intercepts_), (*net.weights, *net.biases), strict=True):
        np.testing.assert_allclose(mine, bpxp.to_numpy(theirs), rtol=0, atol=1e-10)


@pytest.mark.parametrize("option", ["lbfgs", "warm_start", "sample_weight", "multi_output", "adaptive"])
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
    elif option == "adaptive":
        settings["solver"], settings["learning_rate"], expected = "sgd", "adaptive", "learning_rate='adaptive'"
    else:
        yd, expected = da.stack([yd, yd], axis=1), "must be 1-D"
    with pytest.raises(ValueError, match=expected):
        MLPRegressor(**settings).fit(Xd, yd, **fit_kwargs)
