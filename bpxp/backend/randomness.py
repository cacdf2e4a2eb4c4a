"""Randomness on the host: seeded NumPy draws, cast there and moved once to the network's device.

The Array API has no random numbers, and drawing on the host means one seed gives the same numbers on every
backend. Initial weights follow the activation that reads a layer's output:

- Glorot/Xavier uniform for sigmoid, tanh, identity and softmax layers:  W ~ U(−r, r), r = √(6 / (n_in + n_out))
- He normal for relu and leaky_relu layers:                           W ~ N(0, 2 / n_in)

Biases start at zero. The epochs' row orders are drawn here too (``EpochOrders``), and an epoch's batches are
gathered from its order on the device (``shuffled_batches``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

_HE_ACTIVATIONS = frozenset({"relu", "leaky_relu"})


def initial_parameters(layer_sizes: Sequence[int], activation_names: Sequence[str], *, bias: bool,
                       dtype: str, random_state) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """Draw W¹ … Wᴸ (and zero biases) from ``numpy.random.default_rng(random_state)`` in ``dtype``."""
    rng = np.random.default_rng(random_state)
    weights = []
    for n_in, n_out, activation in zip(layer_sizes[:-1], layer_sizes[1:], activation_names):
        if activation in _HE_ACTIVATIONS:
            W = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
        else:
            limit = np.sqrt(6.0 / (n_in + n_out))
            W = rng.uniform(-limit, limit, size=(n_in, n_out))
        weights.append(W.astype(dtype))
    biases = [np.zeros(n_out, dtype=dtype) for n_out in layer_sizes[1:]] if bias else None
    return weights, biases


class EpochOrders:
    """An endless stream of permutations of range(n_samples), one per epoch, from a seeded Generator.

    ``state`` is the Generator's state (a JSON-serialisable dict) between epochs: a checkpoint stores it and
    :meth:`from_state` continues the very same stream after a resume.
    """

    def __init__(self, n_samples: int, random_state):
        self.n_samples = n_samples
        self._rng = np.random.default_rng(random_state)

    @classmethod
    def from_state(cls, n_samples: int, state: dict) -> EpochOrders:
        orders = cls(n_samples, None)
        orders._rng = np.random.Generator(getattr(np.random, state["bit_generator"])())
        orders._rng.bit_generator.state = state
        return orders

    def rewind(self, state: dict) -> None:
        """Continue from ``state`` (an earlier :attr:`state`): the same Generator draws those orders again."""
        self._rng.bit_generator.state = state

    def __next__(self) -> np.ndarray:
        return self._rng.permutation(self.n_samples)

    def take(self, count: int) -> np.ndarray:
        """The next ``count`` permutations, stacked (count, n_samples): several epochs' orders moved at once."""
        return np.stack([next(self) for _ in range(count)])

    def __iter__(self) -> EpochOrders:
        return self

    @property
    def state(self) -> dict:
        return self._rng.bit_generator.state


# Data up to this size is gathered in the epoch's order at once and then sliced into batches (two gathers per
# epoch instead of two per batch: digits' 8 batches an epoch, 2 × 6 µs saved per batch); larger data batch by
# batch, so that no second copy of it ever exists.
GATHER_WHOLE_EPOCH_UP_TO = 16 * 2**20  # bytes of X and Y together


def shuffled_batches(X, Y, permutation, bounds, device, *, xp):
    """Batches gathered on the device from one host permutation, moved once per epoch."""
    order = xp.asarray(permutation, device=device)
    if _bytes_of(X) + _bytes_of(Y) <= GATHER_WHOLE_EPOCH_UP_TO:
        X, Y = xp.take(X, order, axis=0), xp.take(Y, order, axis=0)
        for a, b in bounds:
            yield X[a:b, ...], Y[a:b, ...]
        return
    for a, b in bounds:
        rows = order[a:b]
        yield xp.take(X, rows, axis=0), xp.take(Y, rows, axis=0)


def _bytes_of(M) -> int:
    return math.prod(M.shape) * (getattr(M.dtype, "itemsize", None) or 8)
