"""Bad input gets a clear error naming the argument, what was expected and what came."""

import importlib.util
import re

import numpy as np
import pytest

import bpxp
from bpxp.backend import namespaces as _backend


@pytest.fixture
def net(backend):
    return backend.mlp([4, 5, 3], output="softmax", loss="cross_entropy", random_state=0, hidden="sigmoid")


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(10, 4)), rng.integers(0, 3, size=10)


def test_x_with_the_wrong_number_of_columns(net, data):
    _X, y = data
    with pytest.raises(ValueError, match=r"`X` has 5 columns but the network's input layer has 4"):
        net.fit(np.ones((10, 5)), y, epochs=1, learning_rate=0.1, optimizer="sgd", batch_size=None)
    with pytest.raises(ValueError, match=r"`X` has 2 columns"):
        net.predict(np.ones((3, 2)))


def test_x_that_is_not_two_dimensional(net):
    with pytest.raises(ValueError, match=r"`X` must be 2-D \(n_samples, n_features\), got shape \(4,\).*reshape"):
        net.forward(np.ones(4))


def test_y_rows_differ_from_x_rows(net, data):
    X, y = data
    with pytest.raises(ValueError, match=r"`y` has 9 rows but `X` has 10"):
        net.fit(X, y[:9], epochs=1, learning_rate=0.1, optimizer="sgd", batch_size=None)


def test_y_width_differs_from_output_width(net, data):
    X, _ = data
    with pytest.raises(ValueError, match=r"`y` has 2 columns but the network has 3 outputs"):
        net.fit(X, np.zeros((10, 2)), epochs=1, learning_rate=0.1, optimizer="sgd", batch_size=None)


def test_one_dimensional_y_for_a_multi_output_regressor(backend, data):
    X, _ = data
    regressor = backend.mlp([4, 3, 2], output="identity", hidden="sigmoid", loss="mse")
    with pytest.raises(ValueError, match=r"`y` has shape \(10,\) but the network has 2 outputs"):
        regressor.fit(X, np.zeros(10), epochs=1, learning_rate=0.1, optimizer="sgd", batch_size=None)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_x_or_y(net, data, bad):
    X, y = data
    X_bad = X.copy()
    X_bad[3, 1] = bad
    with pytest.raises(ValueError, match=r"`X` contains NaN or infinite values"):
        net.fit(X_bad, y, epochs=1, learning_rate=0.1, optimizer="sgd", batch_size=None)
    y_bad = np.eye(3)[y]
    y_bad[2, 0] = bad
    with pytest.raises(ValueError, match=r"`y` contains NaN or infinite values"):
        net.fit(X, y_bad, epochs=1, learning_rate=0.1, optimizer="sgd", batch_size=None)
    assert np.isfinite(X).all()  # the caller's array is untouched


@pytest.mark.parametrize("labels", [[0, 1, 3], [-1, 0, 1], [0, 1, 2.5]])
def test_class_labels_outside_the_classes(net, labels):
    X = np.ones((3, 4))
    with pytest.raises(ValueError, match=r"`y`.*(labels in \[0, 3\)|whole numbers)"):
        net.fit(X, np.array(labels), epochs=1, learning_rate=0.1, optimizer="sgd", batch_size=None)


def test_empty_x(net):
    with pytest.raises(ValueError, match=r"`X` is empty \(shape \(0, 4\)\); expected at least one sample"):
        net.fit(np.ones((0, 4)), np.ones(0, dtype=int), epochs=1, learning_rate=0.1, optimizer="sgd", batch_size=None)


@pytest.mark.parametrize("X", [np.array([["a", "b", "c", "d"]]), np.array([[1 + 2j] * 4]),
                               np.array([[None] * 4]), [[1, 2], [3]]])
def test_non_numeric_x(net, X):  # booleans are numbers (0/1): see tests/test_bad_inputs.py
    with pytest.raises((TypeError, ValueError), match=r"`X` must (hold real numbers|be a rectangular)"):
        net.predict(X)


@pytest.mark.parametrize(("option", "valid"), [
    ("hidden", "['sigmoid', 'tanh', 'relu', 'leaky_relu', 'identity']"),
    ("output", "['sigmoid', 'tanh', 'relu', 'leaky_relu', 'identity', 'softmax', 'exp']"),
    ("loss", "['mse', 'binary_cross_entropy', 'cross_entropy', 'poisson']"),
    ("backend", "['numpy', 'cupy', 'torch', 'jax', 'array_api_strict', 'mlx']"),
    ("dtype", "['float32', 'float64']"),
])
def test_unknown_names_list_the_valid_ones(option, valid):
    with pytest.raises(ValueError, match=re.escape(f"`{option}` must be one of {valid}, got 'bogus'")):
        bpxp.MLP([2, 2], **{option: "bogus"})


def test_softmax_is_refused_as_a_hidden_activation():
    with pytest.raises(ValueError, match=r"`hidden` must be one of .* \(softmax is for the output layer only\)"):
        bpxp.MLP([2, 3, 2], hidden="softmax", output="sigmoid", loss="mse")


def test_a_fused_loss_needs_its_output():
    with pytest.raises(ValueError, match=r"`loss` 'cross_entropy' needs `output` 'softmax'"):
        bpxp.MLP([2, 3, 2], output="sigmoid", loss="cross_entropy", hidden="sigmoid")


def test_unknown_optimizer(net, data):
    with pytest.raises(ValueError, match=r"`optimizer` must be one of \['sgd', 'momentum', 'nesterov', 'adam'\]"):
        net.fit(*data, epochs=1, learning_rate=0.1, optimizer="lbfgs", batch_size=None)


def test_a_backend_that_is_not_installed_says_how_to_install_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(_backend.importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(ImportError, match=r"backend 'torch' is not installed; install it with: "
                                          r"pip install '\.\[torch\]' \(in your clone of bpxp\)"):
        bpxp.MLP([2, 2], backend="torch", hidden="sigmoid", output="sigmoid", loss="mse")


@pytest.mark.parametrize(("option", "value", "error"), [
    ("epochs", 0, ValueError), ("epochs", -3, ValueError), ("epochs", 2.5, TypeError),
    ("learning_rate", 0.0, ValueError), ("learning_rate", -0.1, ValueError),
    ("learning_rate", float("nan"), ValueError), ("learning_rate", "fast", TypeError),
    ("batch_size", 0, ValueError), ("batch_size", -8, ValueError), ("batch_size", 1.5, TypeError),
    ("early_stopping", 0, ValueError),
])
def test_options_that_are_not_positive(net, data, option, value, error):
    options = {"epochs": 1, "learning_rate": 0.1, "optimizer": "sgd", "batch_size": None, option: value}
    with pytest.raises(error, match=rf"`{option}` must be a positive"):
        net.fit(*data, **options)


def test_early_stopping_without_validation_data(net, data):
    with pytest.raises(ValueError, match=r"`early_stopping` needs `validation_data`"):
        net.fit(*data, epochs=3, learning_rate=0.1, early_stopping=2, optimizer="sgd", batch_size=None)


def test_layer_sizes_must_be_positive_integers():
    with pytest.raises(ValueError, match=r"`layer_sizes` must hold positive integers"):
        bpxp.MLP([4, 0, 3], hidden="sigmoid", output="sigmoid", loss="mse")
    with pytest.raises(ValueError, match=r"`layer_sizes` needs at least an input and an output"):
        bpxp.MLP([4], hidden="sigmoid", output="sigmoid", loss="mse")


def test_from_weights_checks_that_layers_chain():
    with pytest.raises(ValueError, match=r"`weights\[1\]` has 3 rows but `weights\[0\]` has 2 columns"):
        bpxp.MLP.from_weights([np.ones((4, 2)), np.ones((3, 1))])
    with pytest.raises(ValueError, match=r"`weights\[1\]` must be 2-D \(n_in, n_out\), got shape \(2,\)"):
        bpxp.MLP.from_weights([np.ones((4, 2)), np.ones(2)])
    with pytest.raises(ValueError, match=r"`biases\[0\]` has shape \(3,\), expected \(2,\)"):
        bpxp.MLP.from_weights([np.ones((4, 2))], [np.ones(3)])


def test_an_array_of_another_backend_is_refused_with_a_fix(backend, data):
    if backend.name == "numpy":
        pytest.skip("needs a second backend")
    X, _y = data
    numpy_net = bpxp.MLP([4, 3], random_state=0, hidden="sigmoid", output="sigmoid", loss="mse")
    foreign = backend.asarray(X)
    with pytest.raises(TypeError, match=rf"`X` is a {backend.name} array but this network runs on numpy; "
                                        r"convert it with bpxp.to_numpy\(X\)"):
        numpy_net.predict(foreign)


def test_an_array_on_another_device_is_refused_with_a_fix(backend, data):
    if backend.name != "array_api_strict":
        pytest.skip("array-api-strict has a second device everywhere")
    other = "CPU_DEVICE" if backend.device is not None else "device1"
    net = bpxp.MLP([4, 3], backend="array_api_strict", device=other, random_state=0,
                   hidden="sigmoid", output="sigmoid", loss="mse")
    with pytest.raises(ValueError, match=r"`X` is on device .* but the network is on .*; move it there first"):
        net.predict(backend.asarray(data[0]))


def test_unknown_device_lists_the_devices():
    with pytest.raises(ValueError, match=r"`device` must be one of \['cpu'\] for backend 'numpy', got 'cuda:3'"):
        bpxp.MLP([2, 2], device="cuda:3", hidden="sigmoid", output="sigmoid", loss="mse")
