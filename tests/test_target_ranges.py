"""Targets beyond what a network can read are refused the same way on every backend, with advice that applies."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

X = np.random.default_rng(0).normal(size=(8, 3))


def test_mse_targets_too_large_for_float64_get_no_advice_to_use_float64(backend):
    net = backend.mlp([3, 4, 1], output="identity", loss="mse", dtype="float64", random_state=0)
    with pytest.raises(ValueError, match=r"too large for loss 'mse' in float64") as caught:
        net.fit(X, np.full(8, 1e200), epochs=1)
    assert "dtype='float64'" not in str(caught.value)
    assert str(caught.value).endswith("rescale it")


def test_mse_targets_too_large_for_float32_are_told_to_use_float64(backend):
    net = backend.mlp([3, 4, 1], output="identity", loss="mse", dtype="float32", random_state=0)
    with pytest.raises(ValueError, match=r"in float32: .*rescale it or use dtype='float64'"):
        net.fit(X, np.full(8, 1e30), epochs=1)


@contextlib.contextmanager
def _default_precision(backend):
    """JAX as users run it by default: without 64-bit mode, its integers are int32 (the suite enables x64)."""
    if backend.name != "jax":
        yield
        return
    import jax

    with jax.enable_x64(False):
        yield


@pytest.mark.parametrize("label", [2**32 + 1, 2**62], ids=["2**32+1", "2**62"])
def test_int64_labels_beyond_int32_are_refused_on_every_backend(backend, label):
    y = np.where(np.arange(8) % 2 == 0, 0, label).astype(np.int64)
    with _default_precision(backend):
        net = backend.mlp([3, 4, 2], output="softmax", loss="cross_entropy", dtype="float32", random_state=0)
        with pytest.raises(ValueError, match=r"`y` holds class labels from 0 to \S+; expected labels in \[0, 2\)"):
            net.fit(X, y, epochs=1)


def test_int64_regression_targets_beyond_int32_keep_their_values(backend):
    y = np.full(8, 2**40, dtype=np.int64)
    with _default_precision(backend):
        net = backend.mlp([3, 4, 1], output="identity", loss="mse", dtype="float32", random_state=0)
        loss = net.loss_value(X, y)
    assert loss > 1e23  # (2⁴⁰)² ≈ 1.2e24, not the loss of a wrapped 0
