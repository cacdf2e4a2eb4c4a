"""Training and predicting need no data-dependent shape: ready for CUDA graphs and compiled code.

On a GPU, an array whose shape depends on its values — a boolean mask's selection, ``nonzero``, ``unique`` — has
to be read on the host before the next kernel can start: a device→host synchronisation, and a step that can no
longer be captured as a CUDA graph or compiled whole. array-api-strict forbids both kinds of operation when its
flags ``boolean_indexing`` and ``data_dependent_shapes`` are off; here every path of a fit runs so, on both of its
devices (``CPU_DEVICE`` and ``device1``, the CPU stand-in for an accelerator): the training step with every
optimizer, clipping, the L2 penalty, every activation, output and loss, sample weights and schedules, validation,
the finite probe, early stopping's keep of the best epoch, and the predictions.

On the array-api-compat namespaces (NumPy, CuPy, torch) the same promise is held by making the functions whose
compat versions select through masks raise during a fit.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bpxp
from bpxp.math.optimizers import at_most
from bpxp.sklearn import MLPClassifier, MLPRegressor

OPTIMIZERS = ["sgd", "momentum", "nesterov", "adam"]
# (hidden, output, loss, task): every activation, every output with its loss
NETWORKS = [
    ("sigmoid", "sigmoid", "binary_cross_entropy", "binary"),
    ("tanh", "softmax", "cross_entropy", "classes"),
    ("relu", "identity", "mse", "regression"),
    ("leaky_relu", "exp", "poisson", "counts"),
    ("identity", "sigmoid", "mse", "binary"),
]
NETWORK_IDS = [f"{hidden}-{output}-{loss}" for hidden, output, loss, _ in NETWORKS]
OPTIONS = {
    "plain": {},
    "clip_norm": {"clip_norm": 0.5},
    "l2": {"l2": 0.01},
    "invscaling": {"learning_rate_schedule": "invscaling"},
    "adaptive": {"learning_rate_schedule": "adaptive"},
    "validation-early-stopping": {"early_stopping": 2, "validation": True},
}
# The functions whose array-api-compat versions (NumPy, CuPy) assign or select through boolean masks, or return
# data-dependent shapes: none may run during a fit.
MASKING = ("clip", "sign", "nonzero", "unique_all", "unique_counts", "unique_inverse", "unique_values",
           "count_nonzero", "searchsorted", "isin")


def _strict_only(backend):
    if backend.name != "array_api_strict":
        pytest.skip("the strict tier runs on array-api-strict (its flags forbid data-dependent shapes)")


def _data(task: str, n: int = 24, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    signal = X @ np.array([1.0, -1.0, 0.5])
    if task == "classes":
        return X, (signal > 0).astype(int) + (X[:, 0] > 0.5).astype(int)
    if task == "binary":
        return X, (signal > 0).astype(float)[:, None]
    if task == "counts":
        return X, np.floor(np.exp(0.3 * signal))[:, None]
    return X, signal[:, None]


def _classes_one_hot(y):
    return np.eye(3)[y] if y.ndim == 1 else y


def _refuse_boolean_keys(method):
    """``method`` (``__getitem__`` or ``__setitem__``), refusing a boolean array as the key or in it — of any rank:
    array-api-strict's flag lets a 0-d mask through (``x[x > 1] = 1`` on a 0-d x), which on CuPy still selects
    through ``nonzero``, a host read."""
    import array_api_strict

    def checked(self, key, *value):
        for part in key if isinstance(key, tuple) else (key,):
            if isinstance(part, type(self)) and part.dtype == array_api_strict.bool:
                raise AssertionError(f"a boolean mask indexes an array (shape {tuple(self.shape)})")
        return method(self, key, *value)
    return checked


@pytest.fixture
def strict_flags(monkeypatch):
    """array-api-strict with boolean indexing (a 0-d mask included) and data-dependent shapes forbidden; its
    flags restored after."""
    array_api_strict = pytest.importorskip("array_api_strict")
    from array_api_strict._array_object import Array

    for name in ("__getitem__", "__setitem__"):
        monkeypatch.setattr(Array, name, _refuse_boolean_keys(getattr(Array, name)))
    with array_api_strict.ArrayAPIStrictFlags(boolean_indexing=False, data_dependent_shapes=False):
        yield


def _fit_and_predict(backend, network, optimizer: str, options: dict):
    hidden, output, loss, task = network
    X, y = _data(task)
    Y = _classes_one_hot(y)
    X_device, Y_device = backend.asarray(X), backend.asarray(Y)
    options = dict(options)
    if options.pop("validation", False):
        options["validation_data"] = (X_device[:8, ...], Y_device[:8, ...])
    net = backend.mlp([3, 4, Y.shape[1]], hidden=hidden, output=output, loss=loss, dtype="float64", random_state=0)
    history = net.fit(X_device, Y_device, epochs=4, learning_rate=0.05, batch_size=8, optimizer=optimizer,
                      **options)
    assert history.epochs >= 1 and np.isfinite(history.loss).all()
    P = net.predict_proba(X_device) if output in ("sigmoid", "softmax") else net.predict(X_device)
    assert bpxp.to_numpy(P).shape[0] == X.shape[0]
    net.predict(X_device)
    assert np.isfinite(net.score(X_device, Y_device)) and np.isfinite(net.loss_value(X_device, Y_device))
    net.backward(X_device, Y_device)
    return history


def test_at_most_is_clip_with_a_maximum(backend):
    """g · min(1, c/‖g‖) takes its factor from ``at_most``, equal to ``xp.clip(x, max=bound)`` (NaN stays NaN)."""
    for values in ([0.2, 1.0, 3.5, np.inf, -np.inf, np.nan, 0.0], 7.0, [[0.5, 2.0], [1.0, np.nan]]):
        x = backend.asarray(values)
        np.testing.assert_array_equal(bpxp.to_numpy(at_most(x, 1.0, xp=backend.xp)),
                                      bpxp.to_numpy(backend.xp.clip(x, max=1.0)))


@pytest.mark.parametrize("options", list(OPTIONS.values()), ids=list(OPTIONS))
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_and_option_fits_without_data_dependent_shapes(backend, strict_flags, optimizer, options):
    _strict_only(backend)
    _fit_and_predict(backend, NETWORKS[0], optimizer, options)


@pytest.mark.parametrize("network", NETWORKS, ids=NETWORK_IDS)
def test_every_activation_output_and_loss_fits_without_data_dependent_shapes(backend, strict_flags, network):
    _strict_only(backend)
    _fit_and_predict(backend, network, "adam", {"clip_norm": 1.0, "l2": 0.01})


def test_early_stopping_keeps_the_best_epoch_without_data_dependent_shapes(backend, strict_flags):
    _strict_only(backend)
    X, y = _data("regression")
    X_device, Y_device = backend.asarray(X), backend.asarray(y)
    net = backend.mlp([3, 4, 1], hidden="relu", output="identity", dtype="float64", random_state=0)
    history = net.fit(X_device, Y_device, epochs=30, learning_rate=0.5, batch_size=4, optimizer="sgd",
                      validation_data=(X_device, -Y_device), early_stopping=1)  # a validation set it cannot learn
    assert history.stopped_early and history.kept_epoch == history.best_epoch


def test_the_finite_probe_catches_divergence_without_data_dependent_shapes(backend, strict_flags):
    _strict_only(backend)
    X, y = _data("regression", n=40)
    net = backend.mlp([3, 8, 1], hidden="relu", output="identity", dtype="float64", random_state=0)
    with pytest.warns(bpxp.DivergenceWarning):
        history = net.fit(backend.asarray(X), backend.asarray(100 * y), epochs=200, learning_rate=5.0,
                          optimizer="sgd", batch_size=None, on_divergence="warn")
    assert history.diverged_at is not None


@pytest.mark.parametrize("estimator", ["classifier", "regressor"])
def test_the_estimators_with_sample_weights_fit_without_data_dependent_shapes(backend, strict_flags, estimator):
    _strict_only(backend)
    X, y = _data("classes" if estimator == "classifier" else "regression")
    make = MLPClassifier if estimator == "classifier" else MLPRegressor
    model = make(hidden_layer_sizes=(4,), max_iter=4, batch_size=8, early_stopping=True, validation_fraction=0.25,
                 n_iter_no_change=2, random_state=0, backend=backend.name, device=backend.device)
    weights = np.linspace(0.5, 1.5, X.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # too few iterations to converge
        model.fit(backend.asarray(X), backend.asarray(y.ravel()), sample_weight=backend.asarray(weights))
    model.predict(backend.asarray(X))
    if estimator == "classifier":
        model.predict_proba(backend.asarray(X))


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_a_clipped_fit_calls_none_of_the_masking_functions(backend, monkeypatch, optimizer):
    """On NumPy, CuPy and torch the namespace is array-api-compat's: its ``clip`` (and the others listed in
    MASKING) select through boolean masks — on CuPy a host read per step and a failed CUDA-graph capture."""
    if backend.name == "jax":
        pytest.skip("JAX compiles the epochs: a data-dependent shape fails to trace there already")

    def forbidden(name):
        def call(*args, **kwargs):
            raise AssertionError(f"xp.{name} ran during fit: it selects through a boolean mask")
        return call

    for name in MASKING:
        if hasattr(backend.xp, name):
            monkeypatch.setattr(backend.xp, name, forbidden(name))
    X, y = _data("regression")
    net = backend.mlp([3, 4, 1], hidden="tanh", output="identity", dtype="float64", random_state=0)
    history = net.fit(backend.asarray(X), backend.asarray(y), epochs=3, learning_rate=0.05, batch_size=8,
                      optimizer=optimizer, clip_norm=0.1, l2=0.01)
    assert np.isfinite(history.loss).all()
