"""The two seed tutorials reproduce their published numbers on every backend (SEEDS.md)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA, assert_close

import bpxp

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _example(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


admissions, iris = _example("admissions"), _example("iris")


@pytest.fixture(scope="module")
def admissions_reference(request):
    """The float64 NumPy run, the reference for the other backends and for float32."""
    csv = SHARED_DATA / "binary.csv"
    if not csv.exists():
        pytest.skip(f"seed data not found at {csv}")
    net, accuracy, losses = admissions.run(csv, report=lambda line: None)
    return net, accuracy, losses


def test_admissions_float64_matches_the_tutorial(backend, admissions_csv, admissions_reference):
    net, accuracy, losses = admissions.run(admissions_csv, backend=backend.name, dtype="float64",
                                           report=lambda line: None)
    assert accuracy == pytest.approx(0.725, abs=1e-6)  # 29 of 40
    assert losses[0] == pytest.approx(admissions.PUBLISHED["first_train_loss"], abs=1e-12)
    assert losses[-1] == pytest.approx(admissions.PUBLISHED["last_train_loss"], abs=1e-12)
    published = [np.array(admissions.PUBLISHED["W_ih"]), np.array(admissions.PUBLISHED["w_ho"])[:, None]]
    assert_close(net.weights, published, dtype="float64", float64_atol=5e-9)  # printed to 8 decimals
    assert_close(net.weights, admissions_reference[0].weights, dtype="float64", float64_atol=1e-10)


def test_admissions_float32_stays_within_1e5_of_float64(backend, admissions_csv, admissions_reference):
    net, accuracy, _ = admissions.run(admissions_csv, backend=backend.name, dtype="float32",
                                      report=lambda line: None)
    assert net.weights[0].dtype == backend.xp.float32
    assert accuracy == pytest.approx(0.725, abs=1e-6)  # 29 of 40
    assert_close(net.weights, admissions_reference[0].weights, dtype="float32")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_iris_step_matches_the_tutorial(backend, dtype):
    _, _, before, after = iris.run(backend=backend.name, dtype=dtype)
    tolerance = {"abs": 1e-12} if dtype == "float64" else {"rel": 1e-5}
    assert before == pytest.approx(iris.PUBLISHED["mse_before"], **tolerance)
    assert after == pytest.approx(iris.PUBLISHED["mse_after"], **tolerance)


def test_iris_flowers_read_from_the_csv_are_the_built_in_ones():
    csv = SHARED_DATA / "Iris.csv"
    if not csv.exists():
        pytest.skip(f"seed data not found at {csv}")
    np.testing.assert_array_equal(iris.flowers_from_csv(csv), iris.FLOWERS)


def test_admissions_example_without_data_says_where_it_comes_from(capsys):
    assert admissions.main([]) == 2
    assert "stats.idre.ucla.edu" in capsys.readouterr().err


def test_tutorial_error_terms_are_minus_bpxp_deltas(backend):
    """The admissions tutorial's output error term (y − ŷ)·ŷ(1 − ŷ) is −δᴸ for one output unit."""
    weights = admissions.tutorial_weights()
    X = np.random.default_rng(0).normal(size=(5, 6))
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    net = bpxp.MLP.from_weights(weights, backend=backend.name, device=backend.device, dtype="float64")
    grads = net.backward(X, y)
    hidden = 1 / (1 + np.exp(-X @ weights[0]))
    output = 1 / (1 + np.exp(-hidden @ weights[1]))[:, 0]
    error_term = (y - output) * output * (1 - output)
    hidden_error_term = error_term[:, None] * weights[1][:, 0] * hidden * (1 - hidden)
    assert_close(-grads.deltas[-1][:, 0], error_term, dtype="float64", float64_atol=1e-14)
    assert_close(-grads.deltas[0], hidden_error_term, dtype="float64", float64_atol=1e-14)
