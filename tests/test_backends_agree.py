"""From the same initial weights, every backend trains to the same weights as NumPy.

1e-10 in float64, 1e-5 relative in float32, for full-batch and mini-batch training and every optimizer.
"""

import numpy as np
import pytest
from conftest import assert_close

import bpxp

ARCHITECTURES = {
    "sigmoid-mse": dict(hidden="sigmoid", output="sigmoid", loss="mse"),
    "tanh-softmax-ce": dict(hidden="tanh", output="softmax", loss="cross_entropy"),
    "relu-sigmoid-bce": dict(hidden="relu", output="sigmoid", loss="binary_cross_entropy"),
    "leaky-identity-mse": dict(hidden="leaky_relu", output="identity", loss="mse"),
}


def _data(architecture):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 5))
    labels = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    if architecture == "leaky-identity-mse":
        return X, np.column_stack([X[:, 0] - X[:, 1], X[:, 2] * 0.5, np.sin(X[:, 3])])
    return X, np.eye(3)[labels]


def _train(backend_name, device, architecture, dtype, **fit):
    net = bpxp.MLP([5, 7, 6, 3], **ARCHITECTURES[architecture], dtype=dtype, backend=backend_name,
                   device=device, random_state=11)
    X, Y = _data(architecture)
    net.fit(X, Y, **fit)
    return net


SCHEDULES = {
    "full-batch-30": dict(epochs=30, learning_rate=0.1, optimizer="sgd", batch_size=None),
    "mini-batch-2": dict(epochs=2, learning_rate=0.1, batch_size=7, shuffle=False, optimizer="sgd"),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_training_gives_numpys_weights(backend, architecture, schedule, optimizer, dtype):
    fit = dict(SCHEDULES[schedule], optimizer=optimizer)
    reference = _train("numpy", None, architecture, dtype, **fit)
    net = _train(backend.name, backend.device, architecture, dtype, **fit)
    assert net.weights[0].dtype == getattr(backend.xp, dtype)
    assert_close(net.weights, reference.weights, dtype=dtype)
    assert_close(net.biases, reference.biases, dtype=dtype)


def test_same_random_state_gives_the_same_initial_weights(backend):
    reference = bpxp.MLP([4, 5, 3], hidden="relu", random_state=5, dtype="float64", output="sigmoid", loss="mse")
    net = backend.mlp([4, 5, 3], hidden="relu", random_state=5, dtype="float64", output="sigmoid", loss="mse")
    assert_close(net.weights, reference.weights, dtype="float64", float64_atol=0)


def test_shuffled_training_is_reproducible_and_backend_independent(backend):
    fit = dict(epochs=3, learning_rate=0.2, batch_size=8, random_state=42, optimizer="sgd")
    X, Y = _data("sigmoid-mse")
    reference = bpxp.MLP([5, 4, 3], random_state=1, dtype="float64", hidden="sigmoid", output="sigmoid", loss="mse")
    reference.fit(X, Y, **fit)
    net = backend.mlp([5, 4, 3], random_state=1, dtype="float64", hidden="sigmoid", output="sigmoid", loss="mse")
    net.fit(X, Y, **fit)
    assert_close(net.weights, reference.weights, dtype="float64")
    unshuffled = bpxp.MLP([5, 4, 3], random_state=1, dtype="float64", hidden="sigmoid", output="sigmoid", loss="mse")
    unshuffled.fit(X, Y, **fit, shuffle=False)
    assert not np.allclose(bpxp.to_numpy(unshuffled.weights[0]), bpxp.to_numpy(reference.weights[0]))


def test_parameters_stay_on_the_backend_and_device(backend):
    net = backend.mlp([5, 4, 3], dtype="float32", random_state=0, hidden="sigmoid", output="sigmoid", loss="mse")
    X, Y = _data("sigmoid-mse")
    net.fit(X, Y, epochs=2, learning_rate=0.1, batch_size=16, optimizer="adam")
    from bpxp.backend.namespaces import array_namespace
    from bpxp.backend.namespaces import device_of as device

    for array in (*net.weights, *net.biases, net.forward(X), net.predict(X)):
        assert array_namespace(array) is array_namespace(net.weights[0])
        assert device(array) == net.device
