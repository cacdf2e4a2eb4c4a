"""Divergence is caught, Ctrl-C loses nothing, checkpoints resume to the very same weights."""

import _thread
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

import bpxp
from bpxp.training import checkpoint

EXACT = dict(rtol=0, atol=0)


def _regression_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([1.0, 2.0, 3.0])


def _classification_data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5).astype(int)


def _regressor(backend, **options):
    return backend.mlp([3, 8, 1], hidden="relu", output="identity", dtype="float64", random_state=0, **options)


def _classifier(backend):
    return backend.mlp([4, 6, 3], hidden="tanh", output="softmax", loss="cross_entropy", dtype="float64",
                       random_state=0)


def _weights(net):
    return [bpxp.to_numpy(a) for a in [*net.weights, *(net.biases or [])]]


def _assert_same_weights(net, reference):
    for actual, expected in zip(_weights(net), _weights(reference), strict=True):
        np.testing.assert_allclose(actual, expected, **EXACT)


def _all_finite(net):
    return all(np.isfinite(a).all() for a in _weights(net))


# -- divergence -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("batch_size", [None, 8])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_divergence_raises_and_keeps_the_weights_of_the_last_finite_epoch(backend, batch_size, optimizer):
    X, y = _regression_data()
    rate = 5.0 if optimizer == "sgd" else 1e200  # Adam moves each weight by ≈ η per step
    net = _regressor(backend)
    with pytest.raises(bpxp.TrainingDiverged, match=r"diverged at epoch \d+.*last finite loss") as caught:
        net.fit(X, y, epochs=500, learning_rate=rate, batch_size=batch_size, optimizer=optimizer, shuffle=False)
    error = caught.value
    history = error.history
    assert history.diverged_at == error.epoch
    assert error.epoch > 0 or optimizer == "adam"  # Adam's bounded steps need a huge η, and may blow up at once
    # the weights the last finite loss was measured at: those the last finite epoch started from (its own
    # updates may already give a non-finite loss), or its updated ones when only the weights, not the loss, failed
    kept = history.kept_epoch
    assert history.epochs == error.epoch and (kept is None or error.epoch - 2 <= kept <= error.epoch - 1)
    assert error.last_finite_loss == (history.loss[-1] if error.epoch else None)
    assert np.isfinite(history.loss).all() and _all_finite(net) and np.isfinite(net.loss_value(X, y))
    # the weights are exactly those of an undisturbed run stopped after the kept epoch
    reference = _regressor(backend)
    if kept is not None:
        reference.fit(X, y, epochs=kept + 1, learning_rate=rate, batch_size=batch_size, optimizer=optimizer,
                      shuffle=False)
    _assert_same_weights(net, reference)


def test_divergence_can_warn_and_return_instead(backend):
    X, y = _regression_data()
    net = _regressor(backend)
    with pytest.warns(bpxp.DivergenceWarning, match=r"diverged at epoch (\d+).*keeps the weights of epoch"):
        history = net.fit(X, y, epochs=500, learning_rate=5.0, on_divergence="warn", optimizer="sgd", batch_size=None)
    assert history.diverged_at is not None and history.kept_epoch == history.diverged_at - 2  # full batch
    assert _all_finite(net) and np.isfinite(history.loss).all() and np.isfinite(net.loss_value(X, y))


@pytest.mark.parametrize("batch_size", [None, 16])
def test_after_a_divergence_the_kept_weights_give_a_finite_loss_and_finite_probabilities(backend, batch_size):
    """η = 1000 blows a ReLU network up: the last finite epoch's updated weights are finite (|W| ~ 1e20) but
    their loss is not. The network keeps the weights that loss was last finite at, and they can be used."""
    X, y = _classification_data()
    options = dict(learning_rate=1e3, optimizer="sgd", batch_size=batch_size, random_state=0)
    net = backend.mlp([4, 6, 3], hidden="relu", output="softmax", loss="cross_entropy", random_state=0)
    with pytest.warns(bpxp.DivergenceWarning):
        history = net.fit(X, y, epochs=300, on_divergence="warn", **options)
    assert history.diverged_at is not None and _all_finite(net)
    assert np.isfinite(net.loss_value(X, y)) and np.isfinite(bpxp.to_numpy(net.predict_proba(X))).all()
    assert history.kept_epoch == history.diverged_at - 2  # the loss of the last finite epoch's updates: not finite
    reference = backend.mlp([4, 6, 3], hidden="relu", output="softmax", loss="cross_entropy", random_state=0)
    reference.fit(X, y, epochs=history.kept_epoch + 1, **options)
    _assert_same_weights(net, reference)


@pytest.mark.parametrize("epochs", [1, 3])
@pytest.mark.parametrize("bias", [False, True], ids=["no-bias", "bias"])
def test_weights_that_overflow_while_the_loss_stays_finite_are_a_divergence(backend, epochs, bias):
    """A 1→1 identity network in float32 on x = 10¹⁸, y = 0: the loss (w·x)² ≈ 2.5·10³⁵ is finite, its gradient
    2w·x² ≈ 10³⁶ times η = 1000 is not, so the first update leaves w = −inf while the epoch's loss stays finite.
    Only the per-epoch check of the weights sees it: the network keeps the weights it started with."""
    X, y = np.full((4, 1), 1e18, dtype=np.float32), np.zeros(4, dtype=np.float32)
    start = [np.full((1, 1), 0.5, dtype=np.float32)]
    net = backend.from_weights(start, [np.zeros(1, dtype=np.float32)] if bias else None, output="identity",
                               loss="mse", dtype="float32")
    with pytest.raises(bpxp.TrainingDiverged, match=r"diverged at epoch 0.*weights it started with") as caught:
        net.fit(X, y, epochs=epochs, learning_rate=1e3, optimizer="sgd", batch_size=None, shuffle=False)
    history = caught.value.history
    assert history.diverged_at == 0 and history.kept_epoch is None and history.loss == []
    assert _all_finite(net) and np.isfinite(net.loss_value(X, y))
    np.testing.assert_array_equal(_weights(net)[0], start[0])


def test_a_first_epoch_that_diverges_keeps_the_starting_weights(backend):
    X, y = _regression_data()
    weights = [np.full((3, 2), 1e200), np.ones((2, 1))]  # the loss overflows at once
    net = backend.from_weights(weights, hidden="identity", output="identity")
    with pytest.raises(bpxp.TrainingDiverged, match=r"epoch 0.*last finite loss: none.*weights it started with"):
        net.fit(X, y, epochs=3, learning_rate=0.1, optimizer="sgd", batch_size=None)
    np.testing.assert_allclose(_weights(net)[0], weights[0], **EXACT)


def test_without_a_snapshot_the_diverged_weights_are_reported_not_hidden(backend):
    X, y = _regression_data()
    net = _regressor(backend)
    with pytest.raises(bpxp.TrainingDiverged, match=r"holds the non-finite weights \(snapshot=False"):
        net.fit(X, y, epochs=500, learning_rate=5.0, snapshot=False, optimizer="sgd", batch_size=None)


def test_a_non_finite_validation_loss_is_a_divergence(backend):
    X, y = _regression_data()
    net = _regressor(backend)
    X_val = np.full((4, 3), 1e300)  # finite inputs whose outputs overflow: the validation loss is inf
    with pytest.raises(bpxp.TrainingDiverged, match="epoch 0"):
        net.fit(X, y, epochs=3, learning_rate=0.01, validation_data=(X_val, np.zeros(4)),
                optimizer="sgd", batch_size=None)


def test_under_early_stopping_a_divergence_keeps_the_best_epoch(backend):
    X, y = _regression_data()
    net = _regressor(backend)
    with pytest.raises(bpxp.TrainingDiverged) as caught:
        net.fit(X, y, epochs=500, learning_rate=1.0, validation_data=(X, y), early_stopping=1000, shuffle=False,
                optimizer="sgd", batch_size=None)
    history = caught.value.history
    assert history.kept_epoch == history.best_epoch == int(np.argmin(history.val_loss))
    assert net.loss_value(X, y) == pytest.approx(history.val_loss[history.best_epoch], rel=1e-12)


def test_clip_norm_rescales_the_joint_gradient_as_torch_does(backend):
    X, y = _regression_data()
    net, plain = _regressor(backend), _regressor(backend)
    gradients = plain.backward(X, y)
    grads = [bpxp.to_numpy(g) for g in [*gradients.weights, *gradients.biases]]
    norm = np.sqrt(sum(np.sum(g * g) for g in grads))
    assert norm > 1.0
    before = _weights(plain)
    net.fit(X, y, epochs=1, learning_rate=0.1, clip_norm=1.0, optimizer="sgd", batch_size=None)
    factor = min(1.0, 1.0 / (norm + 1e-6))  # torch.nn.utils.clip_grad_norm_
    for after, start, g in zip(_weights(net), before, grads, strict=True):
        np.testing.assert_allclose(after, start - 0.1 * factor * g, rtol=0, atol=1e-12)
    # a bound the gradients never reach changes nothing
    unclipped = _regressor(backend)
    unclipped.fit(X, y, epochs=1, learning_rate=0.1, clip_norm=1e9, optimizer="sgd", batch_size=None)
    plain.fit(X, y, epochs=1, learning_rate=0.1, optimizer="sgd", batch_size=None)
    for a, b in zip(_weights(unclipped), _weights(plain), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_clip_norm_keeps_a_too_large_learning_rate_from_diverging(backend):
    X, y = _regression_data()
    net = _regressor(backend)
    history = net.fit(X, y, epochs=100, learning_rate=0.5, clip_norm=1.0, shuffle=False, batch_size=8, optimizer="sgd")
    assert history.diverged_at is None and _all_finite(net)


# -- interruption ---------------------------------------------------------------------------------------------

def _interrupt_at(epoch_to_stop):
    def callback(epoch, history):
        if epoch == epoch_to_stop:
            raise KeyboardInterrupt

    return callback


@contextlib.contextmanager
def _ctrl_c_from_another_thread_after_epochs(monkeypatch, count):
    """A real asynchronous KeyboardInterrupt (``_thread.interrupt_main``, as Ctrl-C delivers it), sent by another
    thread once ``count`` epochs have been recorded (the monitor's per-epoch η update says when): it lands
    wherever the loop then happens to be. An event, not a clock, so a loaded machine cannot move it."""
    from bpxp.training import monitor

    recorded, done = threading.Event(), threading.Event()
    settle, settled = monitor.Monitor.settle, []

    def counting(self, report, outcome):
        settled.append(report.epoch)
        if len(settled) == count:
            recorded.set()
        return settle(self, report, outcome)

    def interrupter():
        while not done.is_set():
            if recorded.wait(0.05):
                _thread.interrupt_main()
                return

    monkeypatch.setattr(monitor.Monitor, "settle", counting)
    thread = threading.Thread(target=interrupter, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def test_ctrl_c_returns_the_history_and_the_last_completed_epoch(backend):
    X, y = _classification_data()
    net = _classifier(backend)
    with pytest.warns(bpxp.InterruptedWarning, match=r"interrupted after 4 completed epochs.*epoch 3"):
        history = net.fit(X, y, epochs=50, learning_rate=0.1, batch_size=16, optimizer="adam", random_state=1,
                          callback=_interrupt_at(3))
    assert history.interrupted and history.epochs == 4 and history.kept_epoch == 3
    reference = _classifier(backend)
    reference.fit(X, y, epochs=4, learning_rate=0.1, batch_size=16, optimizer="adam", random_state=1)
    _assert_same_weights(net, reference)


def test_ctrl_c_at_any_moment_keeps_a_completed_epoch(backend, monkeypatch):
    """A real asynchronous KeyboardInterrupt (as Ctrl-C delivers it) lands wherever the loop happens to be."""
    X, y = _classification_data(n=400)
    options = dict(learning_rate=0.05, batch_size=8, optimizer="momentum", random_state=2)
    net = _classifier(backend)
    with _ctrl_c_from_another_thread_after_epochs(monkeypatch, 2), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = net.fit(X, y, epochs=10**6, **options)
    monkeypatch.undo()
    assert history.interrupted and any(w.category is bpxp.InterruptedWarning for w in caught)
    reference = _classifier(backend)
    if history.kept_epoch is None:
        _assert_same_weights(net, reference)
    else:
        reference.fit(X, y, epochs=history.kept_epoch + 1, **options)
        _assert_same_weights(net, reference)
    assert len(history.loss) == history.epochs == (0 if history.kept_epoch is None else history.kept_epoch + 1)


def test_ctrl_c_under_early_stopping_keeps_the_best_epoch(backend):
    X, y = _classification_data()
    net = _classifier(backend)
    with pytest.warns(bpxp.InterruptedWarning):
        history = net.fit(X, y, epochs=50, learning_rate=0.5, validation_data=(X[:20], y[:20]), early_stopping=50,
                          callback=_interrupt_at(6), optimizer="sgd", batch_size=None)
    assert history.kept_epoch == history.best_epoch
    assert net.loss_value(X[:20], y[:20]) == pytest.approx(min(history.val_loss), rel=1e-12)


def test_an_error_mid_fit_leaves_the_last_completed_epoch(backend):
    X, y = _classification_data()
    net = _classifier(backend)

    def failing(epoch, history):
        if epoch == 2:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        net.fit(X, y, epochs=10, learning_rate=0.1, batch_size=16, random_state=0, callback=failing, optimizer="sgd")
    reference = _classifier(backend)
    reference.fit(X, y, epochs=3, learning_rate=0.1, batch_size=16, random_state=0, optimizer="sgd")
    _assert_same_weights(net, reference)


# -- checkpoints and resume -----------------------------------------------------------------------------------

FIT = dict(epochs=12, learning_rate=0.05, batch_size=16, optimizer="adam", random_state=3)


def test_an_interrupted_and_resumed_fit_ends_with_the_weights_of_an_uninterrupted_one(backend, tmp_path):
    X, y = _classification_data()
    path = tmp_path / "run.npz"
    first = _classifier(backend)
    with pytest.warns(bpxp.InterruptedWarning):
        first.fit(X, y, checkpoint=path, checkpoint_every=2, callback=_interrupt_at(6), **FIT)
    saved = checkpoint.read(path)[0]["training"]
    assert saved["epoch"] == 6 and len(saved["history"]["loss"]) == 7
    resumed = backend.mlp([4, 6, 3], hidden="tanh", output="softmax", loss="cross_entropy", dtype="float64",
                          random_state=99)  # different initial weights: the checkpoint replaces them
    history = resumed.fit(X, y, resume=path, checkpoint=path, **FIT)
    uninterrupted = _classifier(backend)
    expected = uninterrupted.fit(X, y, **FIT)
    _assert_same_weights(resumed, uninterrupted)
    assert history.loss == expected.loss and history.epochs == 12


def test_resume_under_early_stopping_restores_the_best_epoch_and_patience(backend, tmp_path):
    X, y = _classification_data()
    options = dict(FIT, epochs=40, learning_rate=0.3, validation_data=(X[:20], y[:20]), early_stopping=3)
    path = tmp_path / "run.npz"
    uninterrupted = _classifier(backend)
    expected = uninterrupted.fit(X, y, **options)
    assert expected.stopped_early
    first = _classifier(backend)
    with pytest.warns(bpxp.InterruptedWarning):
        first.fit(X, y, checkpoint=path, callback=_interrupt_at(expected.epochs - 2), **options)
    resumed = _classifier(backend)
    history = resumed.fit(X, y, resume=path, **options)
    assert history.val_loss == expected.val_loss and history.best_epoch == expected.best_epoch
    _assert_same_weights(resumed, uninterrupted)


def test_a_training_checkpoint_loads_as_a_network(backend, tmp_path):
    X, y = _classification_data()
    net = _classifier(backend)
    net.fit(X, y, checkpoint=tmp_path / "run.npz", **FIT)
    loaded = bpxp.load(tmp_path / "run.npz", backend="numpy")
    np.testing.assert_allclose(bpxp.to_numpy(loaded.forward(X)), bpxp.to_numpy(net.forward(X)), rtol=0, atol=1e-12)


def test_resume_refuses_other_settings_other_networks_and_plain_checkpoints(backend, tmp_path):
    X, y = _classification_data()
    path = tmp_path / "run.npz"
    _classifier(backend).fit(X, y, checkpoint=path, **dict(FIT, epochs=2))
    with pytest.raises(ValueError, match=r"`resume`.*other settings \(learning_rate 0.05 there, 0.1 here"):
        _classifier(backend).fit(X, y, resume=path, **dict(FIT, learning_rate=0.1))
    with pytest.raises(ValueError, match=r"`resume`.*different network: layer_sizes \[4, 6, 3\] there, \[4, 5, 3\]"):
        backend.mlp([4, 5, 3], hidden="tanh", output="softmax", loss="cross_entropy", dtype="float64").fit(
            X, y, resume=path, **FIT)
    plain = _classifier(backend).save(tmp_path / "plain.npz")
    with pytest.raises(ValueError, match=r"`resume`.*without training progress"):
        _classifier(backend).fit(X, y, resume=plain, **FIT)
    with pytest.raises(FileNotFoundError, match=r"`resume`: no checkpoint at"):
        _classifier(backend).fit(X, y, resume=tmp_path / "missing.npz", **FIT)
    with pytest.raises(TypeError, match=r"`checkpoint` must be a file path"):
        _classifier(backend).fit(X, y, checkpoint=3, **FIT)


CHILD = """
import sys, threading
import numpy as np
import bpxp


def held_at_5(epoch, history):  # epoch 5's checkpoint is written: tell the parent, and wait to be killed
    if epoch == 5:
        print("checkpointed epoch 5", flush=True)
        threading.Event().wait()


X = np.random.default_rng(0).normal(size=(60, 4))
y = (X[:, 0] + X[:, 1] > 0).astype(int)
net = bpxp.MLP([4, 6, 2], hidden="tanh", output="softmax", loss="cross_entropy", dtype="float64",
               backend=sys.argv[2], random_state=0)
net.fit(X, y, epochs=int(sys.argv[3]), learning_rate=0.05, batch_size=16, optimizer="adam", random_state=3,
        checkpoint=sys.argv[1], resume=sys.argv[1] if len(sys.argv) > 4 else None,
        callback=None if len(sys.argv) > 4 else held_at_5)
"""


@pytest.mark.parametrize("name", ["numpy", "array_api_strict"])
def test_a_killed_training_process_resumes_to_the_weights_of_an_uninterrupted_run(request, tmp_path, name):
    """Two processes and a third run per backend: each variant runs in its own backend's session, not in all."""
    if name not in request.config.bpxp_backends:
        pytest.skip(f"runs in the {name} session")
    pytest.importorskip(name)
    path, script, epochs = tmp_path / "run.npz", tmp_path / "child.py", 60
    script.write_text(CHILD)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    child = subprocess.Popen([sys.executable, str(script), str(path), name, str(epochs)], env=env,
                             stdout=subprocess.PIPE, text=True)
    try:  # the child says when epoch 5's checkpoint is written, and waits there: then kill it without warning
        said = child.stdout.readline()
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
        child.stdout.close()
    killed_at = json.loads(str(np.load(path)["metadata"]))["training"]["epoch"]
    assert said == "checkpointed epoch 5\n" and child.returncode == -signal.SIGKILL and killed_at == 5
    subprocess.run([sys.executable, str(script), str(path), name, str(epochs), "resume"], env=env, check=True)
    resumed = bpxp.load(path)
    assert resumed.checkpoint_metadata_["training"]["epoch"] == epochs - 1
    X = np.random.default_rng(0).normal(size=(60, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    uninterrupted = bpxp.MLP([4, 6, 2], hidden="tanh", output="softmax", loss="cross_entropy", dtype="float64",
                             backend=name, random_state=0)
    uninterrupted.fit(X, y, epochs=epochs, learning_rate=0.05, batch_size=16, optimizer="adam", random_state=3)
    for actual, expected in zip(_weights(resumed), _weights(uninterrupted), strict=True):
        np.testing.assert_array_equal(actual, expected)


# -- the estimators -------------------------------------------------------------------------------------------

def test_the_estimator_raises_on_divergence_and_keeps_finite_weights(backend):
    from bpxp.sklearn import MLPRegressor

    X, y = _regression_data()
    regressor = MLPRegressor(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=5.0, momentum=0.0, max_iter=500,
                             n_iter_no_change=500, backend=backend.name, device=backend.device)
    with pytest.raises(bpxp.TrainingDiverged, match=r"diverged in epoch \d+.*last finite loss"):
        regressor.fit(backend.asarray(X), backend.asarray(y))
    assert all(np.isfinite(c).all() for c in regressor.coefs_)


def test_ctrl_c_during_the_estimators_fit_keeps_its_completed_epochs(backend, monkeypatch):
    from sklearn.exceptions import ConvergenceWarning

    from bpxp.sklearn import MLPClassifier

    X, y = _classification_data(n=400)
    options = dict(hidden_layer_sizes=(6,), batch_size=8, max_iter=10**6, n_iter_no_change=10**6, random_state=0,
                   backend=backend.name, device=backend.device, dtype="float64")
    classifier = MLPClassifier(**options)
    with _ctrl_c_from_another_thread_after_epochs(monkeypatch, 2):
        with pytest.warns(bpxp.InterruptedWarning, match=r"interrupted after \d+ completed epochs"):
            classifier.fit(backend.asarray(X), backend.asarray(y))
    monkeypatch.undo()
    assert 0 < classifier.n_iter_ == len(classifier.loss_curve_) and not classifier.stopped_early_
    reference = MLPClassifier(**dict(options, max_iter=classifier.n_iter_))
    with pytest.warns(ConvergenceWarning):
        reference.fit(backend.asarray(X), backend.asarray(y))
    for a, b in zip(classifier.coefs_, reference.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_ctrl_c_between_the_estimators_epochs_keeps_its_completed_epochs(backend, monkeypatch):
    """A Ctrl-C outside the network's loop (the estimator's own per-epoch bookkeeping) stops training the same way."""
    from sklearn.exceptions import ConvergenceWarning

    from bpxp.sklearn import MLPClassifier
    from bpxp.training import monitor

    X, y = _classification_data(n=80)
    options = dict(hidden_layer_sizes=(6,), batch_size=16, max_iter=50, n_iter_no_change=10**6, random_state=0,
                   backend=backend.name, device=backend.device, dtype="float64")
    stops = monitor.Tolerance.stops
    calls = []

    def interrupted_on_the_third(self, report, outcome):
        calls.append(report.epoch)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return stops(self, report, outcome)

    monkeypatch.setattr(monitor.Tolerance, "stops", interrupted_on_the_third)
    classifier = MLPClassifier(**options)
    with pytest.warns(bpxp.InterruptedWarning, match="interrupted after 3 completed epochs"):
        classifier.fit(backend.asarray(X), backend.asarray(y))
    monkeypatch.undo()
    assert classifier.n_iter_ == len(classifier.loss_curve_) == 3 and classifier.t_ == 3 * len(X)
    reference = MLPClassifier(**dict(options, max_iter=3))
    with pytest.warns(ConvergenceWarning):
        reference.fit(backend.asarray(X), backend.asarray(y))
    for a, b in zip(classifier.coefs_, reference.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
