"""A run that had finished — stopped early, ended by its schedule, or through all its epochs — resumed from its
checkpoint trains nothing, says so, and keeps exactly the weights it ended with."""

import warnings

import numpy as np
import pytest

import bpxp
from bpxp.optimizers import Adaptive
from bpxp.training import checkpoint
from bpxp.training.recovery import FinishedRunWarning


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5).astype(int)


def _classifier(backend, seed=0):
    return backend.mlp([4, 6, 3], hidden="tanh", output="softmax", loss="cross_entropy", dtype="float64",
                       random_state=seed)


def _weights(net):
    return [bpxp.to_numpy(a) for a in [*net.weights, *(net.biases or [])]]


def _assert_same_weights(net, reference):
    for actual, expected in zip(_weights(net), _weights(reference), strict=True):
        np.testing.assert_array_equal(actual, expected)


X, Y = _data()
EARLY = dict(epochs=200, learning_rate=0.3, batch_size=16, optimizer="adam", random_state=3,
             validation_data=(X[:20], Y[:20]), early_stopping=3)
SCHEDULED = dict(epochs=200, learning_rate_schedule=Adaptive(0.05, smallest=0.01, tol=10.0, patience=2),
                 batch_size=16, optimizer="sgd", random_state=3)


def _resumed_twice(backend, path, options):
    """Resume the run in ``path`` twice, each time into a fresh network: [(its History, the network)] × 2."""
    runs = []
    for seed in (98, 99):  # other initial weights: what the network holds comes from the checkpoint
        net = _classifier(backend, seed)
        with pytest.warns(FinishedRunWarning, match=r"`resume`: the run in .* had finished after \d+ epochs"
                                                    r".*nothing to resume"):
            history = net.fit(X, Y, checkpoint=path, resume=path, **options)
        runs.append((history, net))
    return runs


@pytest.mark.parametrize("options", [EARLY, SCHEDULED], ids=["stopped-early", "schedule-ended"])
def test_a_finished_run_resumed_trains_nothing_and_keeps_its_weights(backend, tmp_path, options):
    path = tmp_path / "run.npz"
    finished = _classifier(backend)
    expected = finished.fit(X, Y, checkpoint=path, **options)
    assert expected.stopped_early and expected.epochs < options["epochs"]
    assert expected.schedule_ended == ("learning_rate_schedule" in options)
    written = path.read_bytes()
    for history, net in _resumed_twice(backend, path, options):
        assert history.epochs == expected.epochs and history.loss == expected.loss
        assert history.val_loss == expected.val_loss and history.kept_epoch == expected.kept_epoch
        assert history.stopped_early and history.schedule_ended == expected.schedule_ended
        _assert_same_weights(net, finished)
    assert path.read_bytes() == written  # nothing trained, nothing rewritten


def test_a_run_killed_after_its_final_checkpoint_resumes_to_the_uninterrupted_result(backend, tmp_path):
    """Ctrl-C (or a kill) after the stopping epoch's checkpoint: the file says the run had ended."""
    path = tmp_path / "run.npz"
    uninterrupted = _classifier(backend)
    expected = uninterrupted.fit(X, Y, **EARLY)

    def killed_after_the_last_write(epoch, history):
        if epoch == expected.epochs - 1:
            raise KeyboardInterrupt

    with pytest.warns(bpxp.InterruptedWarning):
        _classifier(backend).fit(X, Y, checkpoint=path, callback=killed_after_the_last_write, **EARLY)
    assert checkpoint.read(path)[0]["training"]["epoch"] == expected.epochs - 1
    for history, net in _resumed_twice(backend, path, EARLY):
        assert history.loss == expected.loss and history.kept_epoch == expected.kept_epoch
        assert history.stopped_early and not history.interrupted
        _assert_same_weights(net, uninterrupted)


def test_a_run_through_all_its_epochs_resumed_says_so_and_more_epochs_go_on(backend, tmp_path):
    path = tmp_path / "run.npz"
    options = dict(epochs=5, learning_rate=0.1, batch_size=16, optimizer="adam", random_state=3)
    done = _classifier(backend)
    done.fit(X, Y, checkpoint=path, **options)
    (history, net), _ = _resumed_twice(backend, path, options)
    assert history.epochs == 5
    _assert_same_weights(net, done)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FinishedRunWarning)
        longer = _classifier(backend).fit(X, Y, resume=path, **dict(options, epochs=7))
    assert longer.epochs == 7


def test_a_checkpoint_whose_patience_had_run_out_counts_as_stopped_early(backend, tmp_path):
    """A file that records the patience spent but not the stop (as older writers left it) is a finished run."""
    path = tmp_path / "run.npz"
    finished = _classifier(backend)
    finished.fit(X, Y, checkpoint=path, **EARLY)
    metadata, arrays = checkpoint.read(path)
    metadata["training"]["history"]["stopped_early"] = False
    checkpoint._write(path, arrays, metadata, "checkpoint")
    (history, net), _ = _resumed_twice(backend, path, EARLY)
    assert history.stopped_early
    _assert_same_weights(net, finished)


def test_the_command_line_says_a_finished_run_has_nothing_to_resume(request, tmp_path, capsys):
    if "numpy" not in request.config.bpxp_backends:
        pytest.skip("the CLI runs in the numpy session")
    from bpxp import cli

    run, first, again = tmp_path / "run.npz", tmp_path / "first.npz", tmp_path / "again.npz"
    argv = ["train", "--epochs", "500", "--early-stopping", "3", "--learning-rate", "0.5", "--quiet",
            "--checkpoint", str(run)]
    assert cli.main([*argv, "--save", str(first)]) == 0
    capsys.readouterr()
    for _ in range(2):
        assert cli.main([*argv, "--resume", "--save", str(again)]) == 0
        out, err = capsys.readouterr()
        assert f"the run in {run} had finished at epoch" in err and "nothing to resume" in err, err
        assert "Warning" not in err and "(no epochs left to train)" in out
        for a, b in zip(bpxp.load(again).weights, bpxp.load(first).weights, strict=True):
            np.testing.assert_array_equal(a, b)
