"""Targets beyond what a network can read are refused the same way on every backend, with advice that applies."""

from __future__ import annotations

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
