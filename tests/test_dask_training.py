"""On Dask, validation, early stopping, learning-rate schedules and checkpoints behave as in memory: same curves,
same stop, same files.

The cluster is a LocalCluster of 2 worker processes on the loopback interface; "default" is Dask's default
(threaded) scheduler. Validation losses are compared with in-memory training to 1e-10 (float64): the chunks add
their sums in another order than one matrix product does.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import array_api_compat
import numpy as np
import pytest

import bpxp
from bpxp.optimizers import Adaptive

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


pytestmark = pytest.mark.usefixtures("dask_session")


def _data(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.8).astype(int)


def _network():
    return bpxp.MLP([5, 7, 3], hidden="tanh", output="softmax", loss="cross_entropy", dtype="float64",
                    random_state=0)


def _parameters(net):
    return [bpxp.to_numpy(a) for a in (*net.weights, *net.biases)]


VALIDATED = {
    "full batch, validation on Dask": dict(epochs=8, learning_rate=0.5, optimizer="sgd", batch_size=None,
                                           dask_validation=True),
    "mini-batch, validation on Dask": dict(epochs=3, learning_rate=0.1, batch_size=64, random_state=1, optimizer="sgd",
                                           dask_validation=True),
    "mini-batch, validation in memory": dict(epochs=3, learning_rate=0.1, batch_size=64, random_state=1,
                                             optimizer="adam"),
}


@pytest.mark.parametrize("training", VALIDATED, ids=list(VALIDATED))
def test_validation_curves_on_dask_equal_the_in_memory_ones(scheduler, training):
    (X, y), (X_val, y_val) = _data(600, 0), _data(250, 1)
    options = dict(VALIDATED[training])
    on_dask = options.pop("dask_validation", False)
    validation = (da.from_array(X_val, chunks=(90, 5)), da.from_array(y_val, chunks=90)) if on_dask else (X_val, y_val)
    in_memory, chunked = _network(), _network()
    expected = in_memory.fit(X, y, validation_data=(X_val, y_val), **options)
    history = chunked.fit(da.from_array(X, chunks=(70, 5)), da.from_array(y, chunks=70), validation_data=validation,
                          **options)
    np.testing.assert_allclose(history.val_loss, expected.val_loss, rtol=0, atol=1e-10)
    np.testing.assert_allclose(history.loss, expected.loss, rtol=0, atol=1e-10)
    assert history.best_epoch == expected.best_epoch and len(history.val_loss) == options["epochs"]
    for a, e in zip(_parameters(chunked), _parameters(in_memory), strict=True):
        np.testing.assert_allclose(a, e, rtol=0, atol=1e-10)


def test_early_stopping_on_dask_stops_at_the_same_epoch_with_the_same_weights(scheduler):
    (X, y), (X_val, y_val) = _data(600, 0), _data(80, 2)
    options = dict(epochs=60, learning_rate=0.3, batch_size=100, random_state=0, early_stopping=3,
                   optimizer="momentum")
    in_memory, chunked = _network(), _network()
    expected = in_memory.fit(X, y, validation_data=(X_val, y_val), **options)
    history = chunked.fit(da.from_array(X, chunks=(70, 5)), da.from_array(y, chunks=70),
                          validation_data=(da.from_array(X_val, chunks=(30, 5)), da.from_array(y_val, chunks=30)),
                          **options)
    assert expected.stopped_early, "the in-memory run must stop early for this test to mean anything"
    assert history.stopped_early and history.epochs == expected.epochs
    assert history.best_epoch == expected.best_epoch == history.kept_epoch
    for a, e in zip(_parameters(chunked), _parameters(in_memory), strict=True):
        np.testing.assert_allclose(a, e, rtol=0, atol=1e-10)


def test_a_dask_fit_resumed_from_its_checkpoint_ends_as_an_uninterrupted_one(scheduler, tmp_path):
    (X, y), (X_val, y_val) = _data(600, 0), _data(90, 1)
    X_dask, y_dask = da.from_array(X, chunks=(70, 5)), da.from_array(y, chunks=70)
    options = dict(learning_rate=0.1, batch_size=64, random_state=3, optimizer="adam", early_stopping=50,
                   validation_data=(da.from_array(X_val, chunks=(30, 5)), da.from_array(y_val, chunks=30)))
    uninterrupted = _network()
    expected = uninterrupted.fit(X_dask, y_dask, epochs=6, **options)
    path = tmp_path / "dask.npz"
    _network().fit(X_dask, y_dask, epochs=3, checkpoint=path, **options)
    resumed = _network()
    history = resumed.fit(X_dask, y_dask, epochs=6, checkpoint=path, resume=path, **options)
    assert history.loss == expected.loss and history.val_loss == expected.val_loss
    for a, e in zip(_parameters(resumed), _parameters(uninterrupted), strict=True):
        np.testing.assert_array_equal(a, e)
    loaded = bpxp.load(path)  # the in-memory checkpoint format: any bpxp (or numpy.load) reads it
    assert loaded.checkpoint_metadata_["training"]["epoch"] == 5
    for a, e in zip(_parameters(loaded), _parameters(uninterrupted), strict=True):
        np.testing.assert_array_equal(a, e)


def test_mini_batch_training_checks_each_chunk_once_per_fit(monkeypatch):
    """The targets of a chunk are checked and encoded when it is prepared, not at every step that reads it."""
    from bpxp.backend import inputs as _inputs

    checked = []
    check = _inputs.targets
    monkeypatch.setattr(_inputs, "targets", lambda y, **options: checked.append(y.shape[0]) or check(y, **options))
    (X, y), (X_val, y_val) = _data(600, 0), _data(90, 1)
    validation = (da.from_array(X_val, chunks=(30, 5)), da.from_array(y_val, chunks=30))
    _network().fit(da.from_array(X, chunks=(70, 5)), da.from_array(y, chunks=70), epochs=3, learning_rate=0.1,
                   batch_size=64, validation_data=validation, optimizer="sgd")
    assert sorted(checked) == sorted([70] * 8 + [40] + [30] * 3)  # 9 training chunks and 3 validation chunks, once


OTHER_BACKENDS = {
    "array_api_strict": lambda xp: None,
    "array_api_strict device1": lambda xp: xp.Device("device1"),  # the CPU stand-in for a GPU
    "torch": lambda xp: None,
}


@pytest.mark.parametrize("where", OTHER_BACKENDS, ids=list(OTHER_BACKENDS))
@pytest.mark.parametrize("batch_size", [None, 64], ids=["full batch", "mini-batch"])
def test_a_network_on_another_backend_trains_on_chunks_of_its_backend(scheduler, where, batch_size):
    """The CuPy path on the CPU: chunks of the network's backend (map_blocks(xp.asarray)), parameters on its device."""
    name = where.split()[0]
    xp = pytest.importorskip(name)
    device = OTHER_BACKENDS[where](xp)
    (X, y), (X_val, y_val) = _data(600, 0), _data(90, 1)
    to_chunks = lambda host, rows: da.from_array(host, chunks=(rows, *host.shape[1:])).map_blocks(  # noqa: E731
        lambda block: xp.asarray(block, device=device), dtype=host.dtype, meta=np.empty((0,) * host.ndim))
    options = dict(epochs=3, learning_rate=0.2, batch_size=batch_size, random_state=0, optimizer="adam")
    net = bpxp.MLP([5, 7, 3], hidden="tanh", output="softmax", loss="cross_entropy", dtype="float64",
                   random_state=0, backend=name, device=device)
    history = net.fit(to_chunks(X, 70), to_chunks(y, 70), validation_data=(to_chunks(X_val, 30), to_chunks(y_val, 30)),
                      **options)
    in_memory = _network()
    expected = in_memory.fit(X, y, validation_data=(X_val, y_val), **options)
    for parameter in (*net.weights, *net.biases, *net.optimizer_state_[1]):  # on the network's backend and device
        assert type(parameter).__module__.split(".")[0] == name and array_api_compat.device(parameter) == net.device
    np.testing.assert_allclose(history.val_loss, expected.val_loss, rtol=0, atol=1e-10)
    for a, e in zip(_parameters(net), _parameters(in_memory), strict=True):
        np.testing.assert_allclose(a, e, rtol=0, atol=1e-10)


CHILD = """
import json, os, sys, threading
import array_api_compat
import numpy as np
import dask.array as da
import distributed
import bpxp

def held_at_5(epoch, history):  # epoch 5's checkpoint is written: tell the parent, and wait to be killed
    if epoch == 5:
        print("checkpointed epoch 5", flush=True)
        threading.Event().wait()


if __name__ == "__main__":  # the workers are spawned processes that import this file
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  host="127.0.0.1") as cluster, distributed.Client(cluster):
        with open(sys.argv[2], "w") as pids:
            json.dump(list(distributed.get_client().run(os.getpid).values()), pids)
        net = bpxp.MLP([5, 6, 2], hidden="tanh", output="softmax", loss="cross_entropy", dtype="float64",
                       random_state=0)
        net.fit(da.from_array(X, chunks=(70, 5)), da.from_array(y, chunks=70), epochs=int(sys.argv[3]),
                learning_rate=0.05, batch_size=64, optimizer="adam", random_state=3, checkpoint=sys.argv[1],
                resume=sys.argv[1] if len(sys.argv) > 4 else None, callback=None if len(sys.argv) > 4 else held_at_5)
"""


def _epoch_in(path):
    return json.loads(str(np.load(path)["metadata"]))["training"]["epoch"]


def test_a_killed_client_process_resumes_its_dask_fit_to_the_weights_of_an_uninterrupted_run(client, tmp_path):
    """Killed after epoch 5's checkpoint, resumed to epoch 8: three epochs on restored Adam state, each a Dask round
    trip per mini-batch, show the resumed run on the uninterrupted one's path."""
    path, pids, script, epochs = tmp_path / "run.npz", tmp_path / "pids.json", tmp_path / "child.py", 8
    script.write_text(CHILD)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    child = subprocess.Popen([sys.executable, str(script), str(path), str(pids), str(epochs)], env=env,
                             stdout=subprocess.PIPE, text=True)
    try:  # the child says when epoch 5's checkpoint is written, and waits there: no clock decides when to kill
        said = child.stdout.readline()
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
        child.stdout.close()
        for pid in json.loads(pids.read_text()) if pids.exists() else ():  # the orphaned workers of the child
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert said == "checkpointed epoch 5\n" and child.returncode == -signal.SIGKILL and _epoch_in(path) == 5
    subprocess.run([sys.executable, str(script), str(path), str(pids), str(epochs), "resume"], env=env, check=True,
                   timeout=180)
    resumed = bpxp.load(path)
    assert resumed.checkpoint_metadata_["training"]["epoch"] == epochs - 1
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    uninterrupted = bpxp.MLP([5, 6, 2], hidden="tanh", output="softmax", loss="cross_entropy", dtype="float64",
                             random_state=0)
    with client.as_current():
        history = uninterrupted.fit(da.from_array(X, chunks=(70, 5)), da.from_array(y, chunks=70), epochs=epochs,
                                    learning_rate=0.05, batch_size=64, optimizer="adam", random_state=3)
    assert resumed.checkpoint_metadata_["training"]["history"]["loss"] == history.loss
    for a, e in zip(_parameters(resumed), _parameters(uninterrupted), strict=True):
        np.testing.assert_array_equal(a, e)


SCHEDULED = {
    "invscaling, mini-batch": dict(epochs=4, learning_rate=0.5, batch_size=64, random_state=1, optimizer="sgd",
                                   learning_rate_schedule="invscaling"),
    # tol = 1: every epoch after the first is a plateau's, so η falls 5× every 2 epochs and ends training
    "adaptive, full batch, to its end": dict(epochs=40, optimizer="momentum", batch_size=None,
                                             learning_rate_schedule=Adaptive(0.3, tol=1.0, patience=2)),
    "adaptive, mini-batch, watching the training loss": dict(epochs=40, optimizer="sgd", batch_size=64,
                                                             random_state=4, validate=False,
                                                             learning_rate_schedule=Adaptive(0.3, tol=1.0,
                                                                                             patience=2)),
}


@pytest.mark.parametrize("training", SCHEDULED, ids=list(SCHEDULED))
def test_a_learning_rate_schedule_on_dask_gives_the_in_memory_epochs(scheduler, training):
    (X, y), (X_val, y_val) = _data(600, 0), _data(90, 1)
    options = dict(SCHEDULED[training])
    validation = (X_val, y_val) if options.pop("validate", True) else None
    in_memory, chunked = _network(), _network()
    expected = in_memory.fit(X, y, validation_data=validation, **options)
    history = chunked.fit(da.from_array(X, chunks=(70, 5)), da.from_array(y, chunks=70),
                          validation_data=validation, **options)
    np.testing.assert_allclose(history.loss, expected.loss, rtol=0, atol=1e-10)
    np.testing.assert_allclose(history.val_loss, expected.val_loss, rtol=0, atol=1e-10)
    assert history.stopped_early == expected.stopped_early == ("adaptive" in training)
    assert history.schedule_ended == expected.schedule_ended == ("adaptive" in training)
    for a, e in zip(_parameters(chunked), _parameters(in_memory), strict=True):
        np.testing.assert_allclose(a, e, rtol=0, atol=1e-10)


def test_a_scheduled_dask_fit_resumed_from_its_checkpoint_ends_as_an_uninterrupted_one(scheduler, tmp_path):
    (X, y), (X_val, y_val) = _data(600, 0), _data(90, 1)
    X_dask, y_dask = da.from_array(X, chunks=(70, 5)), da.from_array(y, chunks=70)
    options = dict(batch_size=None, optimizer="sgd", validation_data=(X_val, y_val),
                   learning_rate_schedule=Adaptive(0.5, tol=1.0, patience=2))
    uninterrupted = _network()
    expected = uninterrupted.fit(X_dask, y_dask, epochs=10, **options)
    path = tmp_path / "scheduled.npz"
    _network().fit(X_dask, y_dask, epochs=5, checkpoint=path, **options)
    recorded = bpxp.load(path).checkpoint_metadata_["training"]["rate"]
    assert recorded["learning_rate"] < 0.5, "a plateau must have lowered η before the checkpoint"
    resumed = _network()
    history = resumed.fit(X_dask, y_dask, epochs=10, checkpoint=path, resume=path, **options)
    assert history.loss == expected.loss and history.val_loss == expected.val_loss
    for a, e in zip(_parameters(resumed), _parameters(uninterrupted), strict=True):
        np.testing.assert_array_equal(a, e)


def test_a_dask_fit_of_unknown_length_resumes_its_schedule_where_it_stopped(scheduler, tmp_path):
    """Chunks of unknown size (a filtered Dask array): the samples seen are counted as the epochs run, so the
    checkpoint records them and the invscaling schedule goes on from there, as in one run."""
    X, y = _data(200, 0)
    keep = da.from_array(np.ones(len(y), dtype=bool), chunks=70)
    X_dask, y_dask = da.from_array(X, chunks=(70, 5))[keep], da.from_array(y, chunks=70)[keep]
    assert np.isnan(X_dask.shape[0])
    options = dict(batch_size=None, optimizer="sgd", learning_rate=0.5, learning_rate_schedule="invscaling")
    uninterrupted = _network()
    expected = uninterrupted.fit(X_dask, y_dask, epochs=8, **options)
    path = tmp_path / "unknown-length.npz"
    _network().fit(X_dask, y_dask, epochs=4, checkpoint=path, **options)
    assert bpxp.load(path).checkpoint_metadata_["training"]["samples_seen"] == 4 * 200
    resumed = _network()
    history = resumed.fit(X_dask, y_dask, epochs=8, resume=path, **options)
    np.testing.assert_allclose(history.loss, expected.loss, rtol=1e-12)
    for a, e in zip(_parameters(resumed), _parameters(uninterrupted), strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-14)


def test_a_finished_dask_fit_resumed_trains_nothing_and_keeps_its_weights(scheduler, tmp_path):
    from bpxp.training.recovery import FinishedRunWarning

    (X, y), (X_val, y_val) = _data(600, 0), _data(90, 1)
    X_dask, y_dask = da.from_array(X, chunks=(70, 5)), da.from_array(y, chunks=70)
    options = dict(epochs=40, batch_size=None, optimizer="sgd", validation_data=(X_val, y_val),
                   learning_rate_schedule=Adaptive(0.5, tol=1.0, patience=2))
    path, finished = tmp_path / "finished.npz", _network()
    expected = finished.fit(X_dask, y_dask, checkpoint=path, **options)
    assert expected.schedule_ended and expected.epochs < 40
    for _ in range(2):
        resumed = _network()
        with pytest.warns(FinishedRunWarning, match="nothing to resume"):
            history = resumed.fit(X_dask, y_dask, checkpoint=path, resume=path, **options)
        assert history.loss == expected.loss and history.schedule_ended
        for a, e in zip(_parameters(resumed), _parameters(finished), strict=True):
            np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("where", ["in memory", "on Dask"])
def test_verbose_shows_a_progress_bar_on_a_terminal_in_memory_and_on_dask(scheduler, where, monkeypatch):
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    (X, y), (X_val, y_val) = _data(200, 0), _data(50, 1)
    if where == "on Dask":
        X, y = da.from_array(X, chunks=(70, 5)), da.from_array(y, chunks=70)
    _network().fit(X, y, epochs=3, batch_size=50, validation_data=(X_val, y_val), verbose=True)
    shown = terminal.getvalue()
    assert "3/3" in shown and "loss=" in shown and "val_loss=" in shown


def test_a_refused_dask_fit_draws_no_progress_bar(monkeypatch):
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    X, y = _data(200, 0)
    X_dask, y_dask = da.from_array(X, chunks=(70, 5)), da.from_array(y, chunks=70)
    kept = X_dask[:, 0] > -10  # a Dask array of unknown length
    with pytest.raises(ValueError, match="`batch_size` needs the row count"):
        _network().fit(X_dask[kept], y_dask[kept], epochs=3, batch_size=10, verbose=True)
    assert terminal.getvalue() == ""
