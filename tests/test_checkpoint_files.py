"""A checkpoint file that is damaged, tampered with or hostile is refused as one ``bpxp.CheckpointError`` naming the
file and what is wrong, in a short line; the command says so in one line on stderr. Only the members a reader
needs are read, each within the size the metadata implies."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import bpxp
from bpxp import cli
from bpxp.training import archive

SHORT = 300  # characters: an error line says what is wrong, never the whole wrong value


pytestmark = pytest.mark.numpy_session("checkpoint files are read on the host: the numpy session covers them")


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _npy_declaring(shape: tuple[int, ...], dtype: str = "<f4", data: bytes = b"\0" * 16) -> bytes:
    """A .npy whose header declares ``shape`` but which holds only ``data``."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue() + data


def write_npz(path: Path, members: dict[str, np.ndarray | bytes]) -> Path:
    """An .npz as numpy.savez writes it (deflated), from arrays or ready .npy bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive_file:
        for name, member in members.items():
            data = member if isinstance(member, bytes) else _npy(member)
            archive_file.writestr(name if "." in name else f"{name}.npy", data)
    return path


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """A model as `bpxp train --save` writes it (4 inputs, 3 classes, Adam's state)."""
    pytest.importorskip("sklearn")
    folder = tmp_path_factory.mktemp("saved")
    path = folder / "iris.npz"
    assert cli.main(["train", "iris", "--epochs", "2", "--quiet", "--save", str(path)]) == 0
    return path


def _contents(saved: Path) -> tuple[dict, dict]:
    with np.load(saved) as files:
        arrays = {name: files[name] for name in files.files if name != "metadata"}
        return json.loads(str(files["metadata"])), arrays


@dataclass(frozen=True)
class Tampered:
    """A file made from the good one: ``edit(metadata, arrays)`` changes them in place (or returns raw bytes)."""

    name: str
    edit: Callable[[dict, dict], bytes | None]
    says: str  # a regex the error matches


def _set(key, value):
    return lambda meta, arrays: meta.__setitem__(key, value)


def _drop(name):
    return lambda meta, arrays: arrays.pop(name)


def _array(name, value):
    return lambda meta, arrays: arrays.__setitem__(name, value)


def _raw(transform):
    return lambda meta, arrays: transform


TAMPERED = [
    Tampered("unknown optimizer", _set("optimizer", {"name": "adamw", "beta1": 0.9}),
             r"`optimizer.name` must be one of \['sgd', 'momentum', 'nesterov', 'adam'\], got 'adamw'"),
    Tampered("optimizer settings it does not take", _set("optimizer", {"name": "adam", "gamma": 2}),
             r"`optimizer` holds settings 'adam' does not take"),
    Tampered("missing biases_1", _drop("biases_1"), r"is incomplete: missing \['biases_1'\]"),
    Tampered("missing weights_0", _drop("weights_0"), r"is incomplete: missing \['weights_0'\]"),
    Tampered("format_version '1'", _set("format_version", "1"),
             r"`format_version` must be a non-negative integer, got '1' \(str\)"),
    Tampered("format_version 99", _set("format_version", 99), r"was written by a newer bpxp"),
    Tampered("another format", _set("format", "keras"), r"is not a bpxp checkpoint \(format 'keras'\)"),
    Tampered("layer_sizes null", _set("layer_sizes", None), r"`layer_sizes` must be a sequence of positive integers"),
    Tampered("layer_sizes of strings", _set("layer_sizes", ["4", "16", "3"]),
             r"`layer_sizes` must hold positive integers"),
    Tampered("layer_sizes of 100,000 entries", _set("layer_sizes", [4] * 100_000),
             r"`layer_sizes` must be|is incomplete|members its metadata|`optimizer_state` points to"),
    Tampered("layer_sizes unlike the arrays", _set("layer_sizes", [4, 8, 3]),
             r"member 'weights_0' is a float32 array of shape \(4, 16\); its metadata says .* \(4, 8\)"),
    Tampered("hidden activation unknown", _set("hidden", "swish9"), r"describes no network bpxp can build"),
    Tampered("dtype float16", _set("dtype", "float16"), r"`dtype` must be one of \['float32', 'float64'\]"),
    Tampered("bias 'yes'", _set("bias", "yes"), r"`bias` must be True or False"),
    Tampered("metadata without 'loss'", lambda meta, arrays: meta.pop("loss"),
             r"is incomplete: its metadata lacks \['loss'\]"),
    Tampered("optimizer_state pointing nowhere", _set("optimizer_state", [[0, 7]]),
             r"`optimizer_state` must index its arrays"),
    Tampered("optimizer_state of strings", _set("optimizer_state", "abc"), r"`optimizer_state` must be nested lists"),
    Tampered("a member declaring 3.6 TiB", _array("weights_0", _npy_declaring((1_000_000, 1_000_000)))
             , r"member 'weights_0' declares shape \(1000000, 1000000\) of float32 \(3\.6 TiB\) but holds 16 bytes"),
    Tampered("3.6 TiB in metadata and member", lambda meta, arrays: (
        meta.__setitem__("layer_sizes", [1_000_000, 1_000_000, 3]),
        arrays.__setitem__("weights_0", _npy_declaring((1_000_000, 1_000_000))))[-1], r"declares shape"),
    Tampered("wrong member dtype", _array("weights_1", np.ones((16, 3), dtype=np.int64)),
             r"member 'weights_1' is a int64 array"),
    Tampered("an object (pickle) member", _array("weights_1", np.array([[object()] * 3] * 16, dtype=object)),
             r"member 'weights_1' holds Python objects \(a pickle\)"),
    Tampered("a pickled metadata", lambda meta, arrays: arrays.__setitem__("metadata", np.array(
        [meta], dtype=object)), r"member 'metadata' holds Python objects"),
    Tampered("an extra unknown member", _array("notes", np.ones(3)),
             r"holds members its metadata does not account for: \['notes'\]"),
    Tampered("a best_0 without training", _array("best_0", np.ones((4, 16), dtype=np.float32)),
             r"does not account for: \['best_0'\]"),
    Tampered("samples seen as text", _set("training", {"epoch": 0, "settings": {}, "history": {}, "samples_seen": "9"}),
             r"`training.samples_seen` must be an integer, got '9' \(str\)"),
    Tampered("a member that is no .npy", _array("readme.txt", b"hello"), r"holds a member that is no NumPy array"),
    Tampered("metadata not JSON", _array("metadata", np.array("{oops")), r"has corrupt metadata"),
    Tampered("metadata a JSON list", _array("metadata", np.array("[1, 2]")), r"its metadata is a JSON list"),
    Tampered("metadata not text", _array("metadata", np.ones(3)), r"its metadata is a float64 array"),
    Tampered("truncated", _raw(lambda data: data[: len(data) // 2]), r"is not a readable bpxp checkpoint"),
    Tampered("truncated to 300 bytes", _raw(lambda data: data[:300]), r"is not a readable bpxp checkpoint"),
    Tampered("not a zip", _raw(lambda data: b"sepal,petal\n1,2\n"), r"not a \.npz \(zip\) archive"),
    Tampered("empty", _raw(lambda data: b""), r"is not a readable bpxp checkpoint"),
    Tampered("a flipped byte inside a member", _raw(lambda data: data[:200] + bytes([data[200] ^ 0xFF]) + data[201:]),
             r"is not a readable bpxp checkpoint|member|metadata"),
]


def _made(saved: Path, folder: Path, case: Tampered) -> Path:
    path = folder / "tampered.npz"
    meta, arrays = _contents(saved)
    transform = case.edit(meta, arrays)
    if callable(transform):
        path.write_bytes(transform(saved.read_bytes()))
        return path
    arrays.setdefault("metadata", np.array(json.dumps(meta)))
    return write_npz(path, arrays)


@pytest.mark.parametrize("case", TAMPERED, ids=[case.name for case in TAMPERED])
def test_a_tampered_checkpoint_is_one_checkpoint_error_naming_the_file(saved, tmp_path, case):
    path = _made(saved, tmp_path, case)
    with pytest.raises(bpxp.CheckpointError, match=case.says) as caught:
        bpxp.load(path)
    message = str(caught.value)
    assert message.startswith(repr(str(path))) and "\n" not in message and len(message) < SHORT
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("command", ["info", "predict", "evaluate"])
@pytest.mark.parametrize("case", TAMPERED, ids=[case.name for case in TAMPERED])
def test_the_command_says_what_is_wrong_in_one_short_line(saved, tmp_path, capsys, case, command):
    path = _made(saved, tmp_path, case)
    capsys.readouterr()
    argv = [command, str(path)] + ([] if command == "info" else ["iris"])
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("bpxp: error: ") and err.count("\n") == 1 and len(err) < SHORT, err


SAVED_BY_TRAIN_TAMPERED = [
    Tampered("feature_names a number", _set("feature_names", 5), r"`feature_names` must be a list of strings"),
    Tampered("fewer feature names than inputs", _set("feature_names", ["a"]), r"1 `feature_names` for 4 feature"),
    Tampered("encoding not an object", _set("encoding", "one-hot"), r"`encoding` must be an object"),
    Tampered("encoding into more inputs than the network's",
             _set("encoding", {"missing": "mean", "columns": [{"name": "a", "categories": ["x", "y"]}] * 4}),
             r"an encoding into 8 inputs for a network of 4 inputs"),
    Tampered("encoding with categories of numbers",
             _set("encoding", {"missing": "mean", "columns": [{"name": "a", "categories": [1]}] * 4}),
             r"`encoding.columns\[0\].categories` must be a list of strings"),
    Tampered("classes fewer than outputs", _set("classes", ["setosa"]), r"1 `classes` for 3 outputs"),
    Tampered("preprocessing of strings", _set("preprocessing", {"mean": "0", "scale": [1, 1, 1, 1]}),
             r"`preprocessing.mean` must be a list of numbers"),
    Tampered("history of strings", _set("history", {"loss": "low"}), r"`history.loss` must be a list of numbers"),
    Tampered("split without its seed", _set("split", {"data": "iris"}), r"`split.n_rows` must be an integer"),
]


@pytest.mark.parametrize("command", ["info", "predict", "evaluate"])
@pytest.mark.parametrize("case", SAVED_BY_TRAIN_TAMPERED, ids=[case.name for case in SAVED_BY_TRAIN_TAMPERED])
def test_what_bpxp_train_saved_is_checked_before_the_command_uses_or_prints_it(saved, tmp_path, capsys, case,
                                                                              command):
    path = _made(saved, tmp_path, case)
    bpxp.load(path)  # another caller's `extra` entries are theirs: bpxp.load reads the network
    capsys.readouterr()
    assert cli.main([command, str(path)] + ([] if command == "info" else ["iris"])) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and len(err) < SHORT
    assert "bpxp: error: " in err and str(path) in err


def test_the_untampered_file_loads_and_the_command_reads_it(saved, tmp_path, capsys):
    path = _made(saved, tmp_path, Tampered("none", lambda meta, arrays: None, ""))
    assert bpxp.load(path).layer_sizes == (4, 16, 3)
    assert cli.main(["info", str(path)]) == 0
    assert "parameters    131" in capsys.readouterr().out  # 4·16 + 16 + 16·3 + 3


# Hostile files: members that are big when inflated. Which members are read is observed on the reader.

@pytest.fixture
def members_read(monkeypatch) -> list[str]:
    read: list[str] = []
    original = archive.Archive.read

    def recording(self, name):
        read.append(name)
        return original(self, name)

    monkeypatch.setattr(archive.Archive, "read", recording)
    return read


BIG = 64 * 2**20  # bytes of zeros: 64 KiB deflated (the probe's 1 GiB behaves the same, slower to build)


def _with_big_member(saved: Path, path: Path, name: str) -> Path:
    meta, arrays = _contents(saved)
    big = np.zeros(BIG // 4, dtype=np.float32)
    return write_npz(path, {**arrays, name: big, "metadata": np.array(json.dumps(meta))})


@pytest.mark.parametrize("name", ["junk", "best_0", "optimizer_99"])
def test_a_big_member_the_metadata_does_not_account_for_is_refused_unread(saved, tmp_path, members_read, name):
    path = _with_big_member(saved, tmp_path / "hostile.npz", name)
    assert path.stat().st_size < 2**20
    with pytest.raises(bpxp.CheckpointError, match=rf"does not account for: \['{name}'\]"):
        bpxp.load(path)
    assert members_read == ["metadata"]


def test_a_big_member_declaring_the_wrong_shape_is_refused_unread(saved, tmp_path, members_read):
    path = _with_big_member(saved, tmp_path / "hostile.npz", "weights_1")
    with pytest.raises(bpxp.CheckpointError, match=r"member 'weights_1' is a float32 array of shape \(16777216,\)"):
        bpxp.load(path)
    assert members_read == ["metadata"]


def test_a_member_claiming_more_than_deflate_can_inflate_is_refused(saved, tmp_path):
    path = _with_big_member(saved, tmp_path / "hostile.npz", "junk")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zipped:
        entry = zipped.getinfo("junk.npy")
    # junk.npy's record in the central directory: its name at byte 46, its uncompressed size at bytes 24-28
    record = bytes(data).index(b"junk.npy", bytes(data).index(b"PK\x01\x02")) - 46
    data[record + 24: record + 28] = (entry.compress_size * 2000).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(bpxp.CheckpointError, match=r"member 'junk' claims .* compressed: the zip is damaged or forged"):
        bpxp.load(path)


def test_load_reads_the_parameters_and_optimizer_state_but_not_the_best_epoch(tmp_path, members_read):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 4)), rng.integers(0, 3, size=30)
    net = bpxp.MLP([4, 6, 3], output="softmax", loss="cross_entropy", random_state=0)
    run = tmp_path / "run.npz"
    net.fit(X, y, epochs=3, validation_data=(X, y), early_stopping=2, checkpoint=run, random_state=0)
    with np.load(run) as files:
        assert any(name.startswith("best_") for name in files.files)  # a training checkpoint keeps the best epoch
    bpxp.load(run)
    assert not any(name.startswith("best_") for name in members_read)
    assert {"weights_0", "biases_1", "optimizer_0"} <= set(members_read)
    members_read.clear()
    capture = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(capture):
        assert cli.main(["info", str(run)]) == 0
    assert members_read == ["metadata"]  # bpxp info: the headers say the sizes, no array is read


def test_an_error_quoting_a_huge_value_stays_short(saved, tmp_path, capsys):
    path = _made(saved, tmp_path, Tampered("long", _set("layer_sizes", ["x"] * 100_000), ""))
    with pytest.raises(bpxp.CheckpointError) as caught:
        bpxp.load(path)
    assert len(str(caught.value)) < SHORT
    assert cli.main(["info", str(path)]) == 2
    assert len(capsys.readouterr().err) < SHORT
    with pytest.raises(ValueError, match=r"`layer_sizes` must hold positive integers") as user_error:
        bpxp.MLP([4] + [0] * 100_000)
    assert len(str(user_error.value)) < SHORT
