"""The step functions are pure, device-faithful and free of host syncs.

Tagged with ``lazy_xp_function``, they run under ``jax.jit`` on the JAX backend, where any host read
(``float()``, ``bool()``, NumPy conversion) inside them is an error. On array-api-strict's ``device1`` any
array created on the wrong device is an error. Neither backend lets a hidden sync or device leak pass.
"""

import numpy as np
import pytest
from array_api_extra.testing import lazy_xp_function
from conftest import assert_close

from bpxp.activations import ACTIVATIONS
from bpxp.backend.namespaces import device_of as device
from bpxp.backprop import Terms, backward_pass, batch_gradients, dataset_loss, forward_pass, gradients
from bpxp.losses import LOSSES
from bpxp.optimizers import SGD, Adam, Momentum
from bpxp.training.step import make_step

lazy_xp_function(forward_pass)
lazy_xp_function(backward_pass)
lazy_xp_function(gradients)
lazy_xp_function(batch_gradients)
lazy_xp_function(dataset_loss)
for loss_class in {type(loss) for loss in LOSSES.values()}:
    lazy_xp_function((loss_class, "output"))
    lazy_xp_function((loss_class, "value"))
for optimizer_class in (SGD, Momentum, Adam):
    lazy_xp_function((optimizer_class, "update"))
    lazy_xp_function((optimizer_class, "direction"))
    lazy_xp_function((optimizer_class, "init"))


def _arrays(backend, dtype="float64"):
    rng = np.random.default_rng(0)
    X = backend.asarray(rng.normal(size=(6, 3)), dtype)
    Y = backend.asarray(np.eye(2)[rng.integers(0, 2, size=6)], dtype)
    weights = (backend.asarray(rng.normal(size=(3, 4)), dtype), backend.asarray(rng.normal(size=(4, 2)), dtype))
    biases = (backend.asarray(rng.normal(size=4), dtype), backend.asarray(rng.normal(size=2), dtype))
    return X, Y, weights, biases


@pytest.mark.parametrize(("output", "loss"), [("sigmoid", "mse"), ("softmax", "cross_entropy"),
                                              ("sigmoid", "binary_cross_entropy")])
def test_forward_and_backward_run_without_host_reads(backend, output, loss):
    X, Y, weights, biases = _arrays(backend)
    activations = (ACTIVATIONS["tanh"], ACTIVATIONS[output])
    A, Z = forward_pass(X, weights, biases, activations, xp=backend.xp, output=False)
    Y_hat, total, G = LOSSES[loss].output(Y, Z, activations[-1], scale=1 / 6, xp=backend.xp)
    dW, db, kept = backward_pass(A, G, weights, activations, with_biases=True, keep=True, xp=backend.xp)
    grads = gradients(X, Y, weights, biases, activations, LOSSES[loss], xp=backend.xp)
    assert_close(dW, list(grads.weights), dtype="float64", float64_atol=1e-14)
    assert_close(db, list(grads.biases), dtype="float64", float64_atol=1e-14)
    for array in (*dW, *db, *kept, *grads.deltas, grads.loss, total, Y_hat):
        assert device(array) == device(X)


@pytest.mark.parametrize(("output", "loss"), [("sigmoid", "mse"), ("softmax", "cross_entropy")])
def test_batch_gradients_with_scale_and_sample_weights_are_the_weighted_sums(backend, output, loss):
    """s·Σᵢ wᵢ·∂ℓᵢ/∂θ with integer wᵢ is s times the sums over the rows repeated wᵢ times; L is their mean."""
    X, Y, weights, biases = _arrays(backend)
    activations, rule = (ACTIVATIONS["tanh"], ACTIVATIONS[output]), LOSSES[loss]
    counts = np.array([1.0, 3.0, 0.0, 2.0, 1.0, 1.0])
    w = backend.asarray(counts[:, None])
    weighted = batch_gradients(X, Y, weights, biases, activations, rule, xp=backend.xp,
                               terms=Terms(scale=0.25, sample_weight=w))
    rows = backend.asarray(np.repeat(np.arange(6), counts.astype(int)), "int64")
    X_rows, Y_rows = backend.xp.take(X, rows, axis=0), backend.xp.take(Y, rows, axis=0)
    repeated = batch_gradients(X_rows, Y_rows, weights, biases, activations, rule, xp=backend.xp,
                               terms=Terms(scale=0.25))
    assert weighted.deltas is None and weighted.activations is None
    assert_close([weighted.loss, *weighted.weights, *weighted.biases],
                 [repeated.loss, *repeated.weights, *repeated.biases], dtype="float64", float64_atol=1e-13)
    mean = gradients(X, Y, weights, biases, activations, rule, xp=backend.xp)
    assert_close(dataset_loss(X, Y, weights, biases, activations, rule, xp=backend.xp), mean.loss, dtype="float64",
                 float64_atol=1e-14)


@pytest.mark.parametrize("optimizer", [SGD(), Momentum(0.8), Adam()])
def test_optimizer_updates_run_without_host_reads_and_leave_inputs_alone(backend, optimizer):
    _, _, weights, biases = _arrays(backend)
    params = (*weights, *biases)
    before = [np.array(backend_to_numpy(p)) for p in params]
    state = optimizer.init(params, xp=backend.xp)
    new, state = optimizer.update(params, params, state, 0.1, xp=backend.xp)
    new, state = optimizer.update(new, params, state, 0.1, xp=backend.xp)
    for original, p in zip(before, params):
        np.testing.assert_array_equal(backend_to_numpy(p), original)  # pure: inputs untouched
    assert all(n.shape == p.shape and n.dtype == p.dtype for n, p in zip(new, params))


def test_training_step_is_one_compiled_function_with_no_hidden_state(backend):
    """The step that ``fit`` runs: compiled once with jax.jit on JAX, the plain function elsewhere.

    It updates the parameters and the optimizer state it is given in place where the library allows, so each
    call gets fresh ones.
    """
    X, Y, weights, biases = _arrays(backend, "float32")
    activations = (ACTIVATIONS["sigmoid"], ACTIVATIONS["softmax"])
    step = make_step(activations, LOSSES["cross_entropy"], Adam(), xp=backend.xp)
    assert step is make_step(activations, LOSSES["cross_entropy"], Adam(), xp=backend.xp)  # cached
    copies = lambda arrays: tuple(backend.xp.asarray(a, copy=True) for a in arrays)  # noqa: E731
    zero = backend.xp.zeros((), dtype=backend.xp.float32, device=device(X))
    fresh_state = lambda: Adam().init((*weights, *biases), xp=backend.xp)  # noqa: E731
    w1, _, _, total1 = step(copies(weights), copies(biases), fresh_state(), zero, X, Y, learning_rate=0.01)
    w2, _, _, total2 = step(copies(weights), copies(biases), fresh_state(), zero, X, Y, learning_rate=0.01)
    assert_close(list(w1), list(w2), dtype="float32", float32_rtol=0)
    assert float(total1) == float(total2) > 0
    assert w1[0].dtype == backend.xp.float32 and total1.dtype == backend.xp.float32
    assert float(zero) == 0.0  # the running total is never updated in place


def backend_to_numpy(x):
    import bpxp

    return bpxp.to_numpy(x)
