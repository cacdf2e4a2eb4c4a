"""A fit whose matrix products are all small runs them on one CPU thread on torch (``bpxp.backend.precision``):
waking a second thread costs more than such a product, and waiting for a busy core costs milliseconds. The
user's thread count is restored however the fit ends; larger products and other backends keep theirs.

The suite runs with OMP_NUM_THREADS=1: each test here sets two threads itself, as torch's default on two cores."""

from __future__ import annotations

import numpy as np
import pytest

import bpxp
from bpxp.backend import precision as threads

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _two_threads(request):
    if "torch" not in request.config.bpxp_backends:
        pytest.skip("torch's threads are checked in the torch session")
    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(saved)


def threads_seen_by_a_fit(sizes, rows, *, validation_rows=0, batch_size=16, fail=False) -> list[int]:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(rows, sizes[0])), rng.integers(0, sizes[-1], size=rows)
    validation = None if not validation_rows else (X[:validation_rows], y[:validation_rows])
    seen = []

    def callback(epoch, history):
        seen.append(torch.get_num_threads())
        if fail:
            raise KeyboardInterrupt

    net = bpxp.MLP(sizes, backend="torch", dtype="float32", random_state=0)
    net.fit(X, y, epochs=2, batch_size=batch_size, validation_data=validation, callback=callback, random_state=0)
    return seen


def test_a_small_fit_with_validation_runs_on_one_thread_and_restores_the_users_count():
    assert threads_seen_by_a_fit([4, 16, 3], 120, validation_rows=30) == [1, 1]
    assert torch.get_num_threads() == 2


def test_a_fit_whose_batches_are_large_keeps_every_thread():
    assert threads.largest_product([32, 64, 2], 64) > threads.SMALL_PRODUCT
    assert threads_seen_by_a_fit([32, 64, 2], 128, batch_size=64) == [2, 2]


def test_validation_rows_count_as_much_as_a_batch():
    sizes = [32, 64, 2]
    assert threads.largest_product(sizes, 16) <= threads.SMALL_PRODUCT < threads.largest_product(sizes, 40)
    assert threads_seen_by_a_fit(sizes, 60, batch_size=16, validation_rows=40) == [2, 2]


def test_the_users_count_is_restored_when_a_fit_is_interrupted():
    with pytest.warns(bpxp.InterruptedWarning):
        threads_seen_by_a_fit([4, 16, 3], 60, fail=True)
    assert torch.get_num_threads() == 2


def test_the_largest_product_is_rows_times_the_widest_layer_pair():
    assert threads.largest_product([4, 16, 3], 30) == 30 * 4 * 16
    assert threads.largest_product([784, 256, 10], 1) == 784 * 256
