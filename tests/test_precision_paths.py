"""Every path that multiplies enters the network's precision policy, through one place.

``bpxp.backend.namespaces.follows_precision`` decorates each method of ``MLP`` that multiplies; the estimators reach
the network through those methods. A counting stand-in for ``namespaces.matmul_precision`` (the function that picks
a library's switch) checks that each path enters the policy on every backend, and that every forward pass of the
path (each calls the hidden layers' ReLU) runs inside it; on JAX a second one, for JAX's own switch
``jax.default_matmul_precision``, checks that the products there are pinned to 'highest' — without it a GPU would
multiply float32 in TF32.
"""

import contextlib
import warnings

import numpy as np
import pytest

import bpxp
from bpxp.backend import namespaces as _backend
from bpxp.math.activations import ReLU


def _data(classes=3):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 4)).astype(np.float32)
    return X, np.arange(24) % classes


def _network(backend):
    return backend.mlp([4, 5, 3], output="softmax", loss="cross_entropy", random_state=0)


def _classifier(backend, **options):
    from bpxp.sklearn import MLPClassifier

    return MLPClassifier((5,), max_iter=2, random_state=0, backend=backend.name, device=backend.device,
                         dtype="float32", **options)


def _fitted_classifier(backend):
    return _classifier(backend).fit(*_data(classes=2))  # two classes: one logistic unit, probabilities from Zᴸ


def _regressor(backend, **options):
    from bpxp.sklearn import MLPRegressor

    return MLPRegressor(hidden_layer_sizes=(5,), max_iter=2, random_state=0, backend=backend.name,
                        device=backend.device, dtype="float32", **options)


def _fitted_regressor(backend):
    X, y = _data()
    return _regressor(backend).fit(X, y.astype(np.float32))


def _on_dask(X, y):
    import dask.array as da

    return da.from_array(X, chunks=(8, -1)), da.from_array(y, chunks=8)


# path name → (prepare(backend) → subject, call(subject, X, y)): only ``call`` is counted
PATHS = {
    "fit": (_network, lambda net, X, y: net.fit(X, y, epochs=2, batch_size=8)),
    "fit(validation_data)": (_network, lambda net, X, y: net.fit(X, y, epochs=2, validation_data=(X, y))),
    "fit(Dask, validation_data)": (_network, lambda net, X, y: net.fit(*_on_dask(X, y), epochs=2, batch_size=8,
                                                                       validation_data=(X, y))),
    "fit_lbfgs": (_network, lambda net, X, y: net.fit_lbfgs(X, y, max_iter=2)),
    "predict": (_network, lambda net, X, y: net.predict(X)),
    "predict_proba": (_network, lambda net, X, y: net.predict_proba(X)),
    "score": (_network, lambda net, X, y: net.score(X, y)),
    "forward": (_network, lambda net, X, y: net.forward(X)),
    "logits": (_network, lambda net, X, y: net.logits(X)),
    "backward": (_network, lambda net, X, y: net.backward(X, y)),
    "loss_value": (_network, lambda net, X, y: net.loss_value(X, y)),
    "MLPClassifier.fit": (_classifier, lambda clf, X, y: clf.fit(X, y % 2)),
    "MLPClassifier.fit(lbfgs)": (lambda backend: _classifier(backend, solver="lbfgs"),
                                 lambda clf, X, y: clf.fit(X, y % 2)),
    "MLPClassifier.fit(early_stopping)": (lambda backend: _classifier(backend, early_stopping=True,
                                                                      validation_fraction=0.25),
                                          lambda clf, X, y: clf.fit(X, y % 2)),
    "MLPClassifier.predict": (_fitted_classifier, lambda clf, X, y: clf.predict(X)),
    "MLPClassifier.predict_proba": (_fitted_classifier, lambda clf, X, y: clf.predict_proba(X)),
    "MLPClassifier.predict_log_proba": (_fitted_classifier, lambda clf, X, y: clf.predict_log_proba(X)),
    "MLPClassifier.score": (_fitted_classifier, lambda clf, X, y: clf.score(X, y % 2)),
    "MLPClassifier.fit(sample_weight)": (_classifier, lambda clf, X, y: clf.fit(X, y % 2, sample_weight=1.0 + y)),
    "MLPClassifier.partial_fit": (_classifier, lambda clf, X, y: clf.partial_fit(X, y, classes=[0, 1, 2])),
    "MLPRegressor.fit": (_regressor, lambda reg, X, y: reg.fit(X, y.astype(np.float32))),
    "MLPRegressor.fit(lbfgs)": (lambda backend: _regressor(backend, solver="lbfgs"),
                                lambda reg, X, y: reg.fit(X, y.astype(np.float32))),
    "MLPRegressor.partial_fit": (_regressor, lambda reg, X, y: reg.partial_fit(X, y.astype(np.float32))),
    "MLPRegressor.predict": (_fitted_regressor, lambda reg, X, y: reg.predict(X)),
    "MLPRegressor.score": (_fitted_regressor, lambda reg, X, y: reg.score(X, y.astype(np.float32))),
}


@pytest.fixture
def entered(monkeypatch, backend):
    """{'policy': precisions entered through ``matmul_precision``, 'inside': for each hidden layer's forward pass,
    whether it ran inside the policy, 'jax': values JAX's switch was given}."""
    counts = {"policy": [], "inside": [], "jax": []}
    depth = [0]
    real = _backend.matmul_precision

    @contextlib.contextmanager
    def counting_policy(xp, device, precision):
        counts["policy"].append(precision)
        depth[0] += 1
        try:
            with real(xp, device, precision):
                yield
        finally:
            depth[0] -= 1

    real_relu = ReLU.forward_reusing

    def watched_relu(self, Z, *, xp):
        counts["inside"].append(depth[0] > 0)
        return real_relu(self, Z, xp=xp)

    monkeypatch.setattr(_backend, "matmul_precision", counting_policy)
    monkeypatch.setattr(ReLU, "forward_reusing", watched_relu)
    if backend.name == "jax":
        import jax

        real_switch = jax.default_matmul_precision

        def counting_switch(name):
            counts["jax"].append(name)
            return real_switch(name)

        monkeypatch.setattr(jax, "default_matmul_precision", counting_switch)
    return counts


@pytest.mark.parametrize("path", list(PATHS))
def test_every_multiplying_path_enters_the_precision_policy(backend, entered, path):
    prepare, call = PATHS[path]
    if "Dask" in path:
        pytest.importorskip("dask")
    if path.startswith("MLP"):
        pytest.importorskip("sklearn")
        from sklearn.exceptions import ConvergenceWarning
    X, y = _data()
    with warnings.catch_warnings():
        if path.startswith("MLP"):
            warnings.simplefilter("ignore", ConvergenceWarning)  # two iterations are meant to be few
        subject = prepare(backend)
        for entries in entered.values():
            entries.clear()
        call(subject, X, y)
    assert entered["policy"], f"{path} never entered the precision policy"
    assert set(entered["policy"]) == {"float32"}
    assert all(entered["inside"]), f"{path} ran {entered['inside'].count(False)} forward passes outside the policy"
    if backend.name == "jax":
        assert entered["jax"], f"{path} never set JAX's matmul precision"
        assert set(entered["jax"]) == {"highest"}  # IEEE float32 products, never XLA's TF32 default on a GPU


def test_entering_the_policy_leaves_fits_warnings_pointing_at_the_caller():
    """The training loops enter the policy in a ``with`` block, not through a decorator's extra frame."""
    from bpxp import DivergenceWarning

    X, y = _data()
    net = bpxp.MLP([4, 5, 3], output="softmax", loss="cross_entropy", dtype="float64", random_state=0)
    with pytest.warns(DivergenceWarning) as caught:
        net.fit(X.astype(np.float64) * 1e150, y, epochs=3, on_divergence="warn", optimizer="sgd", learning_rate=1e300)
    assert caught[0].filename == __file__
