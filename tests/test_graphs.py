"""The CUDA-graph path of the training step: static buffers, one graph per shape, a checked first replay and
an eager fallback that says why.

The graphs themselves need a GPU (.ci/gpu runs this suite there with the real capturers). Here the driving logic
runs on every backend with stand-in capturers: one that "records" by running the step (a faithful graph), one
that fails to capture and one whose replay returns wrong numbers.
"""

import numpy as np
import pytest
from conftest import assert_close

from bpxp.backend import graphs as _graphs


class Faithful(_graphs.Capturer):
    name = "stand-in"

    def __init__(self):
        self.captures = 0

    def capture(self, work):
        self.captures += 1
        return work


class Failing(_graphs.Capturer):
    name = "stand-in"

    def capture(self, work):
        raise RuntimeError("operation not permitted when stream is capturing")


class Wrong(_graphs.Capturer):
    name = "stand-in"

    def capture(self, work):
        def replay():
            weights, biases, state, total, *rest = work()
            return (tuple(2 * W for W in weights), biases, state, total, *rest)

        return replay


def _data(n=50):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)), np.eye(3)[rng.integers(0, 3, size=n)]


def _fit(backend, monkeypatch, capturer, **options):
    with monkeypatch.context() as patch:
        patch.setattr(_graphs, "capturer_for", lambda xp, device: capturer)
        net = backend.mlp([4, 6, 3], hidden="tanh", output="softmax", loss="cross_entropy", dtype="float64",
                          random_state=0)
        X, Y = _data()
        history = net.fit(X, Y, epochs=4, learning_rate=0.1, **{"optimizer": "sgd", "batch_size": None, **options})
    return net, history


OPTIONS = [
    pytest.param({"batch_size": 16, "random_state": 0}, id="ragged-batches"),
    pytest.param({}, id="full-batch"),
    pytest.param({"batch_size": 10, "optimizer": "adam", "random_state": 0, "snapshot": False}, id="adam-in-place"),
]


@pytest.mark.parametrize("options", OPTIONS)
def test_replayed_steps_train_as_eager_steps(backend, monkeypatch, options):
    if backend.name == "jax":
        pytest.skip("JAX compiles whole epochs instead")
    capturer = Faithful()
    graphed, history = _fit(backend, monkeypatch, capturer, **options)
    eager, eager_history = _fit(backend, monkeypatch, None, **options)
    np.testing.assert_allclose(history.loss, eager_history.loss, rtol=1e-12)
    assert_close([*graphed.weights, *graphed.biases], [*eager.weights, *eager.biases], dtype="float64")
    batches = options.get("batch_size")
    # one graph per step variant (the epoch's first, middle and last steps) and batch shape, captured once each
    assert capturer.captures == (1 if batches is None else 3)


@pytest.mark.parametrize("capturer", [Failing(), Wrong()], ids=["capture-fails", "replay-differs"])
def test_a_graph_that_fails_falls_back_to_eager_steps_with_one_warning(backend, monkeypatch, capturer):
    if backend.name == "jax":
        pytest.skip("JAX compiles whole epochs instead")
    monkeypatch.setattr(_graphs, "_said", set())  # as in a fresh process
    with pytest.warns(_graphs.GraphCaptureWarning) as warned:
        graphed, history = _fit(backend, monkeypatch, capturer, batch_size=16, random_state=0)
        _fit(backend, monkeypatch, capturer, batch_size=16, random_state=0)  # a second fit: silent
    assert len(warned) == 1  # three step variants, two fits, one reason: said once
    reason = "capture failed: RuntimeError" if isinstance(capturer, Failing) else "differs from the eager step"
    assert reason in str(warned[0].message)
    eager, eager_history = _fit(backend, monkeypatch, None, batch_size=16, random_state=0)
    np.testing.assert_array_equal(history.loss, eager_history.loss)
    assert_close([*graphed.weights, *graphed.biases], [*eager.weights, *eager.biases], dtype="float64",
                 float64_atol=0)


def test_the_real_capturers_are_chosen_for_cuda_devices_only():
    import array_api_compat.numpy as xp_numpy

    assert _graphs.capturer_for(xp_numpy, "cpu") is None
    torch = pytest.importorskip("torch")
    import array_api_compat.torch as xp_torch

    assert _graphs.capturer_for(xp_torch, torch.device("cpu")) is None
    assert isinstance(_graphs.capturer_for(xp_torch, torch.device("cuda", 0)), _graphs.TorchCudaCapturer)
