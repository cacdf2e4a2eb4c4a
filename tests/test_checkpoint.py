"""Checkpoints travel between backends, are plain .npz + JSON, are written atomically and fail loudly."""

import json
import os

import numpy as np
import pytest
from conftest import VARIANTS, _gpu_missing, assert_close

import bpxp
from bpxp.training import checkpoint


def _trained(backend, optimizer="adam"):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 4)), rng.integers(0, 3, size=30)
    net = backend.mlp([4, 6, 3], hidden="tanh", output="softmax", loss="cross_entropy", dtype="float64",
                      random_state=0)
    net.fit(X, y, epochs=3, learning_rate=0.05, optimizer=optimizer, batch_size=8, random_state=0)
    return net, X


def _installed_targets(config):
    """Every backend (and device) this run covers, and NumPy: a full run covers every installed pair."""
    names = {b.name for b in bpxp.backends() if b.installed and b.devices}
    names &= {*config.bpxp_backends, "numpy"}
    return [(n, d) for _, n, d in VARIANTS if n in names and _gpu_missing(n, d) is None]  # GPU ones: with a GPU


def test_trained_on_one_backend_loads_on_every_other(backend, tmp_path, request):
    net, X = _trained(backend)
    path = net.save(tmp_path / "model.npz")
    expected = bpxp.to_numpy(net.forward(X))
    for name, device in _installed_targets(request.config):
        loaded = bpxp.load(path, backend=name, device=device)
        assert loaded.backend == name and loaded.dtype_name == "float64"
        assert_close(loaded.forward(X), expected, dtype="float64", float64_atol=1e-12)


def test_loading_without_a_backend_returns_to_the_one_trained_on(backend, tmp_path):
    net, _ = _trained(backend, optimizer="momentum")
    loaded = bpxp.load(net.save(tmp_path / "model.npz"))
    assert loaded.backend == backend.name and loaded.device == net.device
    assert loaded.optimizer_ == bpxp.optimizers.Momentum(0.9)
    assert_close(list(loaded.optimizer_state_), list(net.optimizer_state_), dtype="float64", float64_atol=0)


def test_adam_state_round_trips_with_its_nesting(backend, tmp_path):
    net, _ = _trained(backend, optimizer="adam")
    loaded = bpxp.load(net.save(tmp_path / "model.npz"))
    first, second, beta1_power, _ = loaded.optimizer_state_
    assert len(first) == len(second) == 4
    assert float(beta1_power) == pytest.approx(0.9 ** 12)  # 3 epochs of 4 batches


def test_the_file_is_plain_npz_with_json_metadata(tmp_path):
    net = bpxp.MLP([3, 2, 1], random_state=0, hidden="sigmoid", output="sigmoid", loss="mse")
    path = net.save(tmp_path / "model.npz", extra={"note": "hello"})
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["biases_0", "biases_1", "metadata", "weights_0", "weights_1"]
        metadata = json.loads(str(archive["metadata"]))
    assert metadata["layer_sizes"] == [3, 2, 1] and metadata["backend"] == "numpy"
    assert metadata["note"] == "hello" and metadata["bpxp_version"] == bpxp.__version__


def test_a_crash_while_writing_leaves_the_old_checkpoint_untouched(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    bpxp.MLP([3, 2, 1], random_state=0, hidden="sigmoid", output="sigmoid", loss="mse").save(path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(checkpoint.np, "savez", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        bpxp.MLP([3, 2, 1], random_state=1, hidden="sigmoid", output="sigmoid", loss="mse").save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file left behind


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_a_damaged_file_gives_a_clear_error(tmp_path, damage):
    path = bpxp.MLP([3, 2, 1], random_state=0,
                    hidden="sigmoid", output="sigmoid", loss="mse").save(tmp_path / "model.npz")
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"not a zip" * 10, "empty": b""}[damage])
    with pytest.raises(ValueError, match=r"is not a readable bpxp checkpoint \(truncated or corrupt\?\)"):
        bpxp.load(path)


def test_other_files_are_refused_by_name(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.ones(3))
    with pytest.raises(ValueError, match=r"is a \.npz file but not a bpxp checkpoint"):
        bpxp.load(tmp_path / "other.npz")
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        bpxp.load(tmp_path / "missing.npz")


def test_a_checkpoint_from_a_newer_format_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    monkeypatch.setattr(checkpoint, "FORMAT_VERSION", 99)
    bpxp.MLP([3, 2, 1], random_state=0, hidden="sigmoid", output="sigmoid", loss="mse").save(path)
    monkeypatch.setattr(checkpoint, "FORMAT_VERSION", 1)
    with pytest.raises(ValueError, match=r"written by a newer bpxp .* upgrade bpxp"):
        bpxp.load(path)
