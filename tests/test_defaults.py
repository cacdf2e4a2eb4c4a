"""``MLP()`` and ``fit`` defaults that train well out of the box; the seeds' settings stay
one argument away."""

from __future__ import annotations

import numpy as np
import pytest

import bpxp
from bpxp import defaults


def test_an_mlp_with_no_options_reaches_95_percent_on_digits(backend):
    if backend.name != "numpy":
        pytest.skip("the numpy session shows it; the math is the same on every backend")
    datasets = pytest.importorskip("sklearn.datasets")
    model_selection = pytest.importorskip("sklearn.model_selection")
    X, y = datasets.load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = model_selection.train_test_split(X, y, random_state=0, stratify=y)
    net = bpxp.MLP([64, 32, 10], random_state=0)  # seeded, as a test must be: seeds 0–5 give 0.964–0.971
    net.fit(X_train, y_train)
    assert net.score(X_test, y_test) >= 0.95
    assert (net.hidden, net.output, net.loss) == ("relu", "softmax", "cross_entropy")


@pytest.mark.parametrize(("n_outputs", "targets", "chosen"), [
    (3, np.array([0, 2, 1, 2]), ("softmax", "cross_entropy")),
    (3, np.eye(3)[[0, 2, 1, 2]], ("softmax", "cross_entropy")),
    (1, np.array([0, 1, 1, 0]), ("sigmoid", "binary_cross_entropy")),
    (1, np.array([True, False, True, True]), ("sigmoid", "binary_cross_entropy")),
    (2, np.array([[1, 1], [0, 1], [0, 0], [1, 0]]), ("sigmoid", "binary_cross_entropy")),
    (1, np.array([0.5, -1.25, 3.0, 2.0]), ("identity", "mse")),
    (2, np.array([[0.5, 1.0], [2.0, -1.0], [0.0, 0.25], [1.0, 1.5]]), ("identity", "mse")),
], ids=["labels", "one-hot", "binary", "bool", "multi-label", "values", "several-values"])
def test_fit_chooses_the_output_and_loss_from_the_targets(backend, n_outputs, targets, chosen):
    net = backend.mlp([2, 4, n_outputs], dtype="float64", random_state=0)
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.5, 0.2]])
    net.fit(X, targets, epochs=2)
    assert (net.output, net.loss) == chosen
    again = backend.mlp([2, 4, n_outputs], dtype="float64", random_state=0, output=chosen[0], loss=chosen[1])
    again.fit(X, targets, epochs=2)  # the same as naming them: same initial weights, same training
    for a, b in zip(net.weights, again.weights, strict=True):
        np.testing.assert_array_equal(bpxp.to_numpy(a), bpxp.to_numpy(b))


def test_named_outputs_and_losses_are_kept_and_one_follows_the_other():
    assert bpxp.MLP([2, 3, 1], output="sigmoid", loss="mse").loss == "mse"
    assert bpxp.MLP([2, 3, 3], loss="mse").output == "identity"
    assert bpxp.MLP([2, 3, 3], output="softmax").loss == "cross_entropy"
    assert bpxp.MLP([2, 3, 2], loss="poisson").output == "exp" and bpxp.MLP([2, 3, 2], output="exp").loss == "poisson"
    for loss in ("mse", "binary_cross_entropy", "cross_entropy", "poisson"):  # every loss names an output it fits
        assert bpxp.MLP([2, 3, 2], loss=loss).loss == loss
    net = bpxp.MLP([2, 3, 1], output="identity", random_state=0)
    net.fit(np.eye(2), np.array([0, 1]), epochs=1)
    assert (net.output, net.loss) == ("identity", "mse")  # named: not re-chosen from 0/1 targets


def test_the_default_learning_rate_follows_the_optimizer(backend):
    X, y = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([0.5, -0.5, 0.25])
    for optimizer, rate in defaults.LEARNING_RATES.items():
        nets = [backend.mlp([2, 3, 1], dtype="float64", random_state=0) for _ in range(2)]
        nets[0].fit(X, y, epochs=3, optimizer=optimizer)
        nets[1].fit(X, y, epochs=3, optimizer=optimizer, learning_rate=rate)
        for a, b in zip(nets[0].weights, nets[1].weights, strict=True):
            np.testing.assert_array_equal(bpxp.to_numpy(a), bpxp.to_numpy(b))
    assert defaults.LEARNING_RATES == {"sgd": 0.1, "momentum": 0.01, "nesterov": 0.01, "adam": 0.001}


def test_the_seeds_settings_stay_reachable_explicitly(backend):
    """Full-batch SGD on sigmoid/sigmoid/mse: one step is exactly W ← W − η·∂L/∂W, as in the tutorials."""
    X, y = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([1.0, 0.0, 1.0])
    net = backend.mlp([2, 3, 1], hidden="sigmoid", output="sigmoid", loss="mse", dtype="float64", random_state=0)
    before = [bpxp.to_numpy(w).copy() for w in net.weights]
    grads = [bpxp.to_numpy(g) for g in net.backward(X, y).weights]
    net.fit(X, y, epochs=1, learning_rate=0.5, optimizer="sgd", batch_size=None)
    assert (net.hidden, net.output, net.loss) == ("sigmoid", "sigmoid", "mse")
    for w0, g, w1 in zip(before, grads, net.weights, strict=True):
        np.testing.assert_allclose(bpxp.to_numpy(w1), w0 - 0.5 * g, rtol=0, atol=1e-12)


def test_the_defaults_are_what_the_signatures_say():
    import inspect

    init, fit = inspect.signature(bpxp.MLP), inspect.signature(bpxp.MLP.fit)
    assert init.parameters["hidden"].default == "relu"
    assert init.parameters["output"].default is None and init.parameters["loss"].default is None
    assert fit.parameters["optimizer"].default == "adam" and fit.parameters["learning_rate"].default is None
    assert fit.parameters["batch_size"].default == "auto" and fit.parameters["epochs"].default == 200
