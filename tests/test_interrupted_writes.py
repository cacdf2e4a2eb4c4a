"""A Ctrl-C that lands while a checkpoint is written waits for the file to be complete and in place: ``fit`` then
stops as after any Ctrl-C — the checkpoint on disk, the History marked interrupted — and ``bpxp train`` saves
what it should and says how to resume. The Ctrl-C is a real SIGINT, raised from inside the write."""

import signal

import numpy as np
import pytest

import bpxp
from bpxp.training import checkpoint
from bpxp.training.recovery import interrupts_deferred


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5).astype(int)


def _classifier(backend):
    return backend.mlp([4, 6, 3], hidden="tanh", output="softmax", loss="cross_entropy", dtype="float64",
                       random_state=0)


def _weights(net):
    return [bpxp.to_numpy(a) for a in [*net.weights, *(net.biases or [])]]


@pytest.fixture
def ctrl_c_in_write(monkeypatch):
    """``ctrl_c_in_write(n, inside_member)``: the n-th file written (1-based) gets a SIGINT halfway — between two
    arrays, or inside an array's zip member, its write handle open (where zipfile once turned the interrupt into
    "Can't close the ZIP file while there is an open writing handle")."""
    def arm(n, inside_member=False):
        savez, write_array, calls = np.savez, np.lib.format.write_array, []

        def interrupted_savez(file, **arrays):
            calls.append(file)
            if len(calls) == n and not inside_member:
                np.savez(file, **{name: arrays[name] for name in list(arrays)[:1]})  # something written, then:
                file.seek(0)
                file.truncate()
                signal.raise_signal(signal.SIGINT)
            return savez(file, **arrays)

        def interrupted_write_array(member, array, **options):
            if len(calls) == n and inside_member and not members:
                members.append(member)
                signal.raise_signal(signal.SIGINT)  # the member open for writing
            return write_array(member, array, **options)

        members: list = []
        monkeypatch.setattr(checkpoint.np, "savez", interrupted_savez)
        monkeypatch.setattr(np.lib.format, "write_array", interrupted_write_array)
        return calls

    return arm


def _escaping(call, *args, **options):
    """``call(*args, **options)``, a KeyboardInterrupt out of it a test failure (not the end of the test run)."""
    try:
        return call(*args, **options)
    except KeyboardInterrupt:
        pytest.fail(f"KeyboardInterrupt escaped {call.__qualname__}")


FIT = dict(epochs=3, learning_rate=0.1, batch_size=16, optimizer="adam", random_state=3)


@pytest.mark.parametrize("inside_member", [False, True], ids=["between-arrays", "inside-a-zip-member"])
@pytest.mark.parametrize("every", [1, 2], ids=["an-epoch-s-write", "the-end-of-fit-write"])
def test_ctrl_c_during_a_checkpoint_write_stops_fit_with_the_checkpoint_on_disk(backend, tmp_path,
                                                                                ctrl_c_in_write, every,
                                                                                inside_member):
    """Every epoch writes (every=1): the last epoch's write is interrupted. Every second epoch (every=2, 3
    epochs): the end-of-fit write of the third is."""
    path = tmp_path / "run.npz"
    ctrl_c_in_write(3 if every == 1 else 2, inside_member)
    net = _classifier(backend)
    with pytest.warns(bpxp.InterruptedWarning, match="interrupted after 3 completed epochs"):
        history = _escaping(net.fit, X, Y, checkpoint=path, checkpoint_every=every, **FIT)
    assert history.interrupted and history.epochs == 3 and history.kept_epoch == 2
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]  # no temporary left behind
    saved = bpxp.load(path, backend="numpy")
    assert saved.checkpoint_metadata_["training"]["epoch"] == 2
    for a, b in zip(_weights(saved), _weights(net), strict=True):
        np.testing.assert_array_equal(a, b)


X, Y = _data()


def test_a_ctrl_c_held_back_is_delivered_once_the_block_ends():
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            signal.raise_signal(signal.SIGINT)
            reached.append("the rest of the block")
    assert reached == ["the rest of the block"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_during_the_end_of_training_write_saves_the_model_and_says_how_to_resume(request, tmp_path,
                                                                                         capsys, ctrl_c_in_write):
    if "numpy" not in request.config.bpxp_backends:
        pytest.skip("the CLI runs in the numpy session")
    from bpxp import cli

    run, model = tmp_path / "run.npz", tmp_path / "model.npz"
    argv = ["train", "--epochs", "5", "--quiet", "--checkpoint", str(run), "--checkpoint-every", "100",
            "--save", str(model)]
    ctrl_c_in_write(1, inside_member=True)  # the only checkpoint written: the end of training's
    assert _escaping(cli.main, argv) == 130
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert "Traceback" not in err and "bpxp: interrupted" not in err
    assert last.startswith("stopped at epoch 5 of 5 (Ctrl-C)") and f"model saved to {model}" in last
    assert "resume with: bpxp train" in last and "--resume" in last
    assert bpxp.load(run).checkpoint_metadata_["training"]["epoch"] == 4 and model.exists()
