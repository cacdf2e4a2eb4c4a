"""The MLP's public surface behaves as documented on every backend."""

import numpy as np
import pytest
from conftest import assert_close

import bpxp


def _blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    centres = np.array([[2.0, 0.0], [-2.0, 1.0], [0.0, -2.5]])
    return centres[labels] + 0.4 * rng.normal(size=(n, 2)), labels


def test_a_classifier_learns_separable_blobs(backend):
    X, y = _blobs()
    net = backend.mlp([2, 8, 3], hidden="relu", output="softmax", loss="cross_entropy", random_state=0)
    history = net.fit(X, y, epochs=60, learning_rate=0.05, batch_size=16, optimizer="adam", random_state=0)
    assert history.loss[-1] < 0.2 * history.loss[0]
    assert net.score(X, y) == 1.0
    labels = net.predict(X)
    assert labels.shape == (60,)
    np.testing.assert_array_equal(bpxp.to_numpy(labels), y)


def test_labels_and_one_hot_targets_train_identically(backend):
    X, y = _blobs()
    nets = [backend.mlp([2, 4, 3], output="softmax", loss="cross_entropy", dtype="float64", random_state=1,
                        hidden="sigmoid")
            for _ in range(2)]
    nets[0].fit(X, y, epochs=5, learning_rate=0.3, optimizer="sgd", batch_size=None)
    nets[1].fit(X, np.eye(3)[y], epochs=5, learning_rate=0.3, optimizer="sgd", batch_size=None)
    assert_close(nets[0].weights, nets[1].weights, dtype="float64", float64_atol=0)


def test_binary_predict_thresholds_at_one_half(backend):
    net = backend.from_weights([np.array([[1.0], [-1.0]])], [np.array([0.0])], dtype="float64")
    labels = net.predict(np.array([[2.0, 0.0], [0.0, 2.0], [0.1, 0.0]]))
    np.testing.assert_array_equal(bpxp.to_numpy(labels), [1, 0, 1])
    assert net.score(np.array([[2.0, 0.0], [0.0, 2.0]]), np.array([1, 1])) == 0.5


def test_regressor_predicts_values_and_scores_r_squared(backend):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3
    net = backend.mlp([3, 1], hidden="identity", output="identity", dtype="float64", random_state=0, loss="mse")
    net.fit(X, y, epochs=300, learning_rate=0.5, optimizer="sgd", batch_size=None)
    prediction = bpxp.to_numpy(net.predict(X))
    assert prediction.shape == (50,)
    r2 = 1 - np.sum((y - prediction) ** 2) / np.sum((y - y.mean()) ** 2)
    assert net.score(X, y) == pytest.approx(r2, abs=1e-12)
    assert net.score(X, y) > 0.999


def test_history_records_training_and_validation_loss(backend):
    X, y = _blobs()
    net = backend.mlp([2, 4, 3], output="softmax", loss="cross_entropy", random_state=0, hidden="sigmoid")
    seen = []
    history = net.fit(X[:40], y[:40], epochs=4, learning_rate=0.1, validation_data=(X[40:], y[40:]),
                      callback=lambda epoch, h: seen.append((epoch, h.loss[-1])), optimizer="sgd", batch_size=None)
    assert history.epochs == 4 and len(history.val_loss) == 4
    assert [epoch for epoch, _ in seen] == [0, 1, 2, 3]
    assert all(isinstance(v, float) for v in history.loss + history.val_loss)
    assert history.val_loss[-1] == pytest.approx(net.loss_value(X[40:], y[40:]), rel=1e-5)


def test_full_batch_loss_is_the_loss_before_each_step(backend):
    X, y = _blobs()
    net = backend.mlp([2, 4, 3], output="softmax", loss="cross_entropy", dtype="float64", random_state=0,
                      hidden="sigmoid")
    first = net.loss_value(X, y)
    history = net.fit(X, y, epochs=2, learning_rate=0.1, optimizer="sgd", batch_size=None)
    assert history.loss[0] == pytest.approx(first, abs=1e-12)


def test_early_stopping_stops_and_restores_the_best_weights(backend):
    """Validation labels that disagree with training: validation loss is best after the first epoch."""
    X, y = _blobs()
    flipped = (y + 1) % 3
    patience = 3
    net = backend.mlp([2, 6, 3], output="softmax", loss="cross_entropy", dtype="float64", random_state=0,
                      hidden="sigmoid")
    history = net.fit(X, y, epochs=50, learning_rate=0.5, validation_data=(X, flipped),
                      early_stopping=patience, optimizer="sgd", batch_size=None)
    assert history.stopped_early and history.best_epoch == 0
    assert history.epochs == 1 + patience
    after_one_epoch = backend.mlp([2, 6, 3], output="softmax", loss="cross_entropy", dtype="float64",
                                  random_state=0, hidden="sigmoid")
    after_one_epoch.fit(X, y, epochs=1, learning_rate=0.5, optimizer="sgd", batch_size=None)
    assert_close(net.weights, after_one_epoch.weights, dtype="float64", float64_atol=0)


def test_from_weights_infers_backend_dtype_and_device_from_its_arrays(backend):
    weights = [backend.asarray(np.ones((3, 2)), "float32"), backend.asarray(np.ones((2, 1)), "float32")]
    net = bpxp.MLP.from_weights(weights)
    assert net.backend == backend.name and net.dtype_name == "float32"
    from bpxp.backend.namespaces import device_of as device

    assert net.device == device(weights[0])


def test_training_never_changes_the_callers_arrays(backend):
    X, y = _blobs()
    weights = [np.full((2, 3), 0.1), np.full((3, 3), -0.1)]
    X_before, weights_before = X.copy(), [w.copy() for w in weights]
    net = backend.from_weights(weights, output="softmax", loss="cross_entropy", dtype="float64")
    net.fit(X, y, epochs=3, learning_rate=0.5, optimizer="momentum", batch_size=None)
    np.testing.assert_array_equal(X, X_before)
    for w, before in zip(weights, weights_before):
        np.testing.assert_array_equal(w, before)


def test_lists_are_accepted_as_host_data(backend):
    net = backend.mlp([2, 2, 1], random_state=0, hidden="sigmoid", output="sigmoid", loss="mse")
    history = net.fit([[0.0, 1.0], [1.0, 0.0]], [1, 0], epochs=2, learning_rate=0.1, optimizer="sgd", batch_size=None)
    assert history.epochs == 2
    assert net.forward([[0.5, 0.5]]).shape == (1, 1)


def test_network_without_biases(backend):
    net = backend.mlp([3, 4, 2], bias=False, output="softmax", loss="cross_entropy", random_state=0, hidden="sigmoid")
    assert net.biases is None
    grads = net.backward(np.ones((5, 3)), np.array([0, 1, 0, 1, 1]))
    assert grads.biases is None and [g.shape for g in grads.weights] == [(3, 4), (4, 2)]


def test_to_numpy_brings_any_backend_array_home(backend):
    host = np.arange(6.0).reshape(2, 3)
    back = bpxp.to_numpy(backend.asarray(host))
    assert isinstance(back, np.ndarray)
    np.testing.assert_array_equal(back, host)


def test_repr_names_the_configuration(backend):
    text = repr(backend.mlp([2, 3, 1], random_state=0, hidden="sigmoid", output="sigmoid", loss="mse"))
    assert text.startswith("MLP([2, 3, 1], hidden='sigmoid'") and f"backend='{backend.name}'" in text
