"""Compiled epochs (``bpxp.backend.compiled``) train exactly as the eager loop does, only in fewer library calls.

On JAX an epoch — batch gathers, every step, the loss sum and the finite check — is one compiled call, and
several epochs are one call when nothing happens between them. Here each such fit is checked against the same
fit driven one step per call (``compiles_epochs`` switched off), divergence and all. On the other backends the
eager loop is the only one, and the same checks hold trivially.
"""

import logging
import warnings

import numpy as np
import pytest
from conftest import assert_close

import bpxp
from bpxp.backend import compiled as _compiled


def _data(n=50):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4))
    return X, np.eye(3)[rng.integers(0, 3, size=n)]


# Epochs per compiled call in these tests (bpxp's is larger): a few chunks, a shorter last one, in little time.
CHUNK = 8


def _fit(backend, eager, monkeypatch, *, epochs, net=None, **options):
    with monkeypatch.context() as patch:
        patch.setattr(_compiled, "EPOCHS_PER_CALL", CHUNK)
        if eager:
            patch.setattr(_compiled, "compiles_epochs", lambda xp: False)
        net = net or backend.mlp([4, 6, 3], hidden="tanh", output="softmax", loss="cross_entropy",
                                 dtype="float64", random_state=0)
        X, Y = _data()
        history = net.fit(X, Y, epochs=epochs, learning_rate=0.1, **{"optimizer": "sgd", "batch_size": None, **options})
    return net, history


@pytest.mark.parametrize("options", [
    pytest.param({}, id="full-batch"),
    pytest.param({"batch_size": 16, "random_state": 3}, id="shuffled-ragged"),
    pytest.param({"batch_size": 10, "shuffle": False}, id="in-order-even"),
    pytest.param({"batch_size": 16, "optimizer": "adam", "random_state": 1}, id="adam"),
    pytest.param({"batch_size": 25, "optimizer": "momentum", "l2": 0.01, "clip_norm": 1.0, "random_state": 2},
                 id="momentum-l2-clip"),
])
@pytest.mark.parametrize("epochs", [3, 2 * CHUNK + 2], ids=["one-call", "several-calls"])
def test_compiled_epochs_train_as_the_eager_loop(backend, monkeypatch, options, epochs):
    compiled, history = _fit(backend, False, monkeypatch, epochs=epochs, **{"optimizer": "sgd", "batch_size": None,
                                                                            **options})
    eager, eager_history = _fit(backend, True, monkeypatch, epochs=epochs, **{"optimizer": "sgd", "batch_size": None,
                                                                              **options})
    assert history.epochs == eager_history.epochs == epochs and history.kept_epoch == epochs - 1
    np.testing.assert_allclose(history.loss, eager_history.loss, rtol=1e-10)
    assert_close([*compiled.weights, *compiled.biases], [*eager.weights, *eager.biases], dtype="float64")
    assert_close(list(compiled.optimizer_state_[0] if options.get("optimizer") == "adam"
                      else compiled.optimizer_state_),
                 list(eager.optimizer_state_[0] if options.get("optimizer") == "adam" else eager.optimizer_state_),
                 dtype="float64")


def test_a_divergence_inside_a_chunk_of_epochs_is_found_and_kept_as_the_eager_loop_does(backend, monkeypatch):
    epochs = 2 * CHUNK
    options = {"learning_rate": 1e12, "on_divergence": "warn"}
    results = []
    for eager in (False, True):
        with monkeypatch.context() as patch:
            patch.setattr(_compiled, "EPOCHS_PER_CALL", CHUNK)
            if eager:
                patch.setattr(_compiled, "compiles_epochs", lambda xp: False)
            net = backend.mlp([4, 6, 3], hidden="relu", output="identity", dtype="float64", random_state=0, loss="mse")
            X, Y = _data()
            with pytest.warns(bpxp.DivergenceWarning):
                history = net.fit(X, 1e3 * Y, epochs=epochs, **{"optimizer": "sgd", "batch_size": None, **options})
            results.append((net, history))
    (compiled, history), (eager, eager_history) = results
    assert history.diverged_at == eager_history.diverged_at is not None
    assert history.kept_epoch == eager_history.kept_epoch
    np.testing.assert_allclose(history.loss, eager_history.loss, rtol=1e-10)
    assert_close(list(compiled.weights), list(eager.weights), dtype="float64")


def test_each_shape_compiles_once(backend, caplog):
    if backend.name != "jax":
        pytest.skip("compiled epochs are JAX's")
    import jax

    X, Y = _data()
    with jax.log_compiles(), caplog.at_level(logging.WARNING):
        net = backend.mlp([4, 6, 3], dtype="float64", random_state=0, hidden="sigmoid", output="sigmoid", loss="mse")
        net.fit(X, Y, epochs=3, learning_rate=0.1, batch_size=16, random_state=0, optimizer="sgd")
        first = [r.getMessage() for r in caplog.records if "XLA compilation of jit(epoch)" in r.getMessage()]
        caplog.clear()
        net = backend.mlp([4, 6, 3], dtype="float64", random_state=1, hidden="sigmoid", output="sigmoid", loss="mse")
        net.fit(X, Y, epochs=2, learning_rate=0.1, batch_size=16, random_state=1, optimizer="sgd")
        net.fit(X, Y, epochs=2, learning_rate=0.1, batch_size=16, random_state=2,
                optimizer="sgd")  # from its own outputs
        again = [r.getMessage() for r in caplog.records if "compilation of jit(epoch)" in r.getMessage()]
    assert len(first) <= 1 and again == []  # (none when an earlier test compiled this shape already)


def test_batches_split_into_scanned_full_batches_and_one_checked_last_batch():
    assert (_compiled.Batches(50, 16).scanned, _compiled.Batches(50, 16).last_start) == (3, 48)
    assert (_compiled.Batches(48, 16).scanned, _compiled.Batches(48, 16).last_start) == (2, 32)
    assert (_compiled.Batches(7, 7).scanned, _compiled.Batches(7, 7).last_start) == (0, 0)


def _estimator_fits(backend, monkeypatch, batch_size, warnings_as, **settings):
    """(compiled, eager): the same MLPClassifier fit, compiled in chunks of CHUNK epochs and one step per call —
    sgd, tol 1e-2 over 2 epochs, at most 5 chunks — ``warnings_as`` ('error' or 'ignore') for ConvergenceWarning."""
    pytest.importorskip("sklearn")
    from sklearn.exceptions import ConvergenceWarning

    from bpxp.sklearn import MLPClassifier

    X, Y = _data(60)
    y = np.argmax(Y, axis=1)

    def fit(eager):
        with monkeypatch.context() as patch:
            patch.setattr(_compiled, "EPOCHS_PER_CALL", CHUNK)
            if eager:
                patch.setattr(_compiled, "compiles_epochs", lambda xp: False)
            clf = MLPClassifier((5,), solver="sgd", momentum=0.0, learning_rate_init=0.05, max_iter=5 * CHUNK,
                                batch_size=batch_size or 60, tol=1e-2, n_iter_no_change=2, random_state=0,
                                backend=backend.name, device=backend.device, dtype="float64", **settings)
            with warnings.catch_warnings():
                warnings.simplefilter(warnings_as, ConvergenceWarning)
                clf.fit(X, y)
            return clf

    return fit(False), fit(True)


def _assert_same_run(compiled, eager):
    assert compiled.n_iter_ == eager.n_iter_
    np.testing.assert_allclose(compiled.loss_curve_, eager.loss_curve_, rtol=1e-10)
    for ours, theirs in zip([*compiled.coefs_, *compiled.intercepts_], [*eager.coefs_, *eager.intercepts_]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("batch_size", [None, 16], ids=["full-batch", "shuffled"])
def test_an_estimator_stopped_by_the_tol_rule_inside_a_compiled_chunk_ends_as_the_eager_loop(
        backend, monkeypatch, batch_size):
    """The estimators run whole chunks of epochs per call on JAX and settle them after it; a chunk that the tol rule
    stops at an earlier epoch is run again up to that epoch, so the fit ends there, with that epoch's weights."""
    compiled, eager = _estimator_fits(backend, monkeypatch, batch_size, "error")  # the rule, not max_iter, stops it
    assert compiled.n_iter_ == eager.n_iter_ < 5 * CHUNK and compiled.n_iter_ % CHUNK != 0
    _assert_same_run(compiled, eager)
    assert compiled.t_ == eager.t_ == compiled.n_iter_ * 60


@pytest.mark.parametrize("batch_size", [None, 16], ids=["full-batch", "shuffled"])
def test_an_adaptive_rate_changed_inside_a_compiled_chunk_trains_on_as_the_eager_loop(
        backend, monkeypatch, batch_size):
    """An adaptive schedule runs in chunks of epochs too; where the tol rule finds a plateau inside a chunk (η ← η/5)
    the chunk is run again up to that epoch, and training goes on from there at the new η."""
    compiled, eager = _estimator_fits(backend, monkeypatch, batch_size, "ignore", learning_rate="adaptive")
    assert compiled._optimizer.learning_rate == eager._optimizer.learning_rate < 0.05 / 5  # two plateaus or more
    _assert_same_run(compiled, eager)
