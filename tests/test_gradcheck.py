"""bpxp.gradcheck: backpropagation agrees with central finite differences for every activation, output and loss
on every backend, and a planted mistake in a derivative is caught and located."""

import numpy as np
import pytest

import bpxp
from bpxp.activations import HIDDEN_ACTIVATIONS
from bpxp.math import activations as math_activations

OUTPUT_LOSS_PAIRS = [(output, "mse") for output in (*HIDDEN_ACTIVATIONS, "softmax")] + [
    ("sigmoid", "binary_cross_entropy"), ("softmax", "cross_entropy"), ("exp", "poisson")]


def _problem(backend, hidden="tanh", output="sigmoid", loss="mse", bias=True):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(4, 2))
    if loss in ("cross_entropy", "binary_cross_entropy"):
        Y = np.eye(2)[rng.integers(0, 2, size=4)]
    elif loss == "poisson":
        Y = rng.poisson(1.5, size=(4, 2)).astype(float)
    else:
        Y = rng.normal(size=(4, 2)) * 0.5
    weights = [rng.normal(size=shape) for shape in ((2, 3), (3, 3), (3, 2))]
    # biases away from 0 keep every pre-activation off relu's kink, where finite differences mean nothing
    biases = [rng.uniform(0.2, 0.6, size=n) * rng.choice([-1, 1], size=n) for n in (3, 3, 2)] if bias else None
    net = backend.from_weights(weights, biases, hidden=hidden, output=output, loss=loss, dtype="float64")
    return net, X, Y


@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize(("output", "loss"), OUTPUT_LOSS_PAIRS)
def test_backpropagation_passes_the_check(backend, hidden, output, loss):
    net, X, Y = _problem(backend, hidden, output, loss)
    report = bpxp.gradcheck(net, X, Y)
    assert report, str(report)
    assert [(c.layer, c.param) for c in report.checks] == [(1, "W"), (1, "b"), (2, "W"), (2, "b"), (3, "W"),
                                                            (3, "b")]


def test_a_float32_network_is_checked_in_float64_and_left_as_it_was(backend):
    net, X, Y = _problem(backend)
    net32 = backend.from_weights([bpxp.to_numpy(w).astype(np.float32) for w in net.weights],
                                 [bpxp.to_numpy(b).astype(np.float32) for b in net.biases], hidden="tanh")
    before = [bpxp.to_numpy(w).copy() for w in net32.weights]
    assert bpxp.gradcheck(net32, X, Y)
    assert net32.dtype_name == "float32"
    assert all(np.array_equal(bpxp.to_numpy(w), b) for w, b in zip(net32.weights, before))


def test_a_network_without_biases_checks_its_weights_only(backend):
    net, X, Y = _problem(backend, bias=False)
    report = bpxp.gradcheck(net, X, Y)
    assert report and [c.param for c in report.checks] == ["W", "W", "W"]


def test_a_wrong_derivative_fails_and_names_the_layers_it_touches(backend, monkeypatch):
    """tanh′ planted as 1 − A (instead of 1 − A²): the hidden layers' gradients are wrong, the output's are not."""
    monkeypatch.setattr(math_activations.Tanh, "backward", lambda self, G, A, *, xp: G * (1.0 - A))
    net, X, Y = _problem(backend, hidden="tanh")
    report = bpxp.gradcheck(net, X, Y)
    assert not report
    assert {(c.layer, c.param) for c in report.failures} == {(1, "W"), (1, "b"), (2, "W"), (2, "b")}
    text = str(report)
    assert "FAILED" in text and "layer 1  W" in text and "max rel error" in text
    assert repr(report) == text


def test_the_report_reads_as_a_table():
    net = bpxp.MLP([2, 2, 1], hidden="sigmoid", random_state=0)
    report = bpxp.gradcheck(net, np.ones((3, 2)), np.zeros(3))
    lines = str(report).splitlines()
    assert lines[0].startswith("gradient check (float64") and lines[0].endswith("passed")
    assert len(lines) == 5 and all(line.strip().endswith("ok") for line in lines[1:])


@pytest.mark.parametrize(("option", "value"), [("eps", 0.0), ("eps", -1e-6), ("rtol", float("nan")),
                                               ("atol", "small")], ids=["eps-zero", "eps-negative", "rtol-nan",
                                                                         "atol-text"])
def test_bad_settings_say_which_and_what_came(option, value):
    net = bpxp.MLP([2, 2, 1], random_state=0)
    with pytest.raises(ValueError, match=f"`{option}` must be"):
        bpxp.gradcheck(net, np.ones((3, 2)), np.zeros(3), **{option: value})
