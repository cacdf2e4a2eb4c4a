"""Where a model or checkpoint goes is checked before training, and a failing disk is reported against the
argument and the user's path — never against a temporary file, never after an hour's run."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest

import bpxp
from bpxp import cli
from bpxp.training import checkpoint

rng = np.random.default_rng(0)
X, y = rng.normal(size=(24, 4)), rng.integers(0, 3, size=24)


def _net(backend):
    return backend.mlp([4, 5, 3], output="softmax", loss="cross_entropy", random_state=0)


class Epochs:
    """A callback counting the epochs trained."""

    def __init__(self):
        self.count = 0

    def __call__(self, epoch, history):
        self.count += 1


def _unwritable(monkeypatch, folder):
    """``folder`` refuses writes, as a read-only mount does (root ignores permission bits, so os.access says so)."""
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if os.fspath(path) == os.fspath(folder)
                        and mode & os.W_OK else real(path, mode, **kw))


BAD_DESTINATIONS = {
    "an existing folder": (lambda tmp: tmp, r"is a folder: give a file path inside it, such as '.*model\.npz'"),
    "an empty string": (lambda tmp: "", r"'' is empty: give a file path such as 'model\.npz'"),
    "under a file": (lambda tmp: (tmp / "f.npz").write_bytes(b"x") and tmp / "f.npz" / "run.npz",
                     r"cannot be written: '.*f\.npz' is a file, not a folder"),
}


@pytest.mark.parametrize("where", list(BAD_DESTINATIONS))
def test_fit_checks_its_checkpoint_path_before_the_first_epoch(backend, tmp_path, where):
    make, says = BAD_DESTINATIONS[where]
    epochs = Epochs()
    with pytest.raises(ValueError, match=rf"^`checkpoint` .*{says}"):
        _net(backend).fit(X, y, epochs=3, checkpoint=make(tmp_path), callback=epochs)
    assert epochs.count == 0


def test_fit_finds_an_unwritable_checkpoint_folder_before_training(backend, tmp_path, monkeypatch):
    folder = tmp_path / "readonly"
    folder.mkdir()
    _unwritable(monkeypatch, folder)
    epochs = Epochs()
    with pytest.raises(ValueError, match=r"`checkpoint` '.*run\.npz' cannot be written: the folder .* is not writable"):
        _net(backend).fit(X, y, epochs=6, checkpoint=folder / "run.npz", checkpoint_every=5, callback=epochs)
    assert epochs.count == 0


@pytest.mark.parametrize("where", list(BAD_DESTINATIONS))
def test_save_refuses_a_path_it_cannot_write_naming_the_argument(tmp_path, where):
    make, says = BAD_DESTINATIONS[where]
    with pytest.raises(ValueError, match=rf"^`path` .*{says}"):
        bpxp.MLP([4, 5, 3], random_state=0).save(make(tmp_path))


def test_a_folder_to_be_made_is_fine(tmp_path):
    path = bpxp.MLP([4, 5, 3], random_state=0).save(tmp_path / "new" / "deeper" / "model.npz")
    assert bpxp.load(path).layer_sizes == (4, 5, 3)


def _failing_disk(monkeypatch):
    """Every rename onto the destination fails as on a file system gone read-only (the temporary is named)."""
    def read_only(source, destination):
        raise OSError(errno.EROFS, "Read-only file system", os.fspath(source))
    monkeypatch.setattr(checkpoint.os, "replace", read_only)


def test_a_failing_disk_names_the_checkpoint_argument_and_path(backend, tmp_path, monkeypatch):
    _failing_disk(monkeypatch)
    path = tmp_path / "run.npz"
    with pytest.raises(OSError, match=r"`checkpoint` '.*run\.npz': cannot write the checkpoint there "
                                      r"\(Read-only file system\)") as caught:
        _net(backend).fit(X, y, epochs=2, checkpoint=path)
    assert caught.value.errno == errno.EROFS and ".tmp" not in str(caught.value)
    assert os.listdir(tmp_path) == []  # no temporary left


def test_a_failing_disk_names_the_save_path(tmp_path, monkeypatch):
    _failing_disk(monkeypatch)
    with pytest.raises(OSError, match=r"`path` '.*model\.npz': cannot write the checkpoint there") as caught:
        bpxp.MLP([4, 5, 3], random_state=0).save(tmp_path / "model.npz")
    assert ".tmp" not in str(caught.value)


# The command: the same checks, before reading the data

@pytest.mark.numpy_session("the CLI runs in the numpy session")
@pytest.mark.parametrize("option", ["--save", "--checkpoint", "--plot"])
@pytest.mark.parametrize("where", list(BAD_DESTINATIONS))
def test_the_command_refuses_a_destination_before_training(tmp_path, capsys, option, where):
    make, _ = BAD_DESTINATIONS[where]
    target = str(make(tmp_path))
    assert cli.main(["train", "--epochs", "3", option, target]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"bpxp: error: {option} {target!r} ") and "training samples" not in err


@pytest.mark.numpy_session("the CLI runs in the numpy session")
def test_the_command_names_save_when_the_disk_fails_after_training(tmp_path, capsys, monkeypatch):
    _failing_disk(monkeypatch)
    path = tmp_path / "model.npz"
    assert cli.main(["train", "--epochs", "2", "--quiet", "--save", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert err == f"bpxp: error: --save {str(path)!r}: cannot write the model there (Read-only file system)"
