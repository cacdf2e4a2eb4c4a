"""How many CPU threads a fit's matrix products use: one, on torch's CPU, while every product is small.

torch runs a CPU matrix product on its intra-op threads (``torch.get_num_threads()``, one per core by default)
once it passes a size that tiny networks already reach: on Iris (4-16-3) a batch of 24 rows or more, or the
30 rows of a validation set. Each such product then waits for a second thread, which costs more than the product
itself, and on a machine whose cores are busy with other work a wait lasts a scheduler time slice (milliseconds):
on 2 shared cores, 100 epochs of Iris took 4.4 s with 30 validation rows and 0.8 s without (0.85 s with
``torch.set_num_threads(1)``); batches of 32 rows, 8.6 s. ``benchmarks/torch_threads.py`` measures it.

So while a fit's largest product (rows × n_in × n_out, over its batches and its validation rows) stays under
``SMALL_PRODUCT`` multiply-adds, its steps and validation run on one thread, and the user's setting is restored
when the fit ends, however it ends. Larger products keep every thread. torch's OpenMP and MKL thread counts are
those of the calling thread: another thread of the user's program keeps its own.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import array_api_compat

# Below this many multiply-adds (64 × 32 × 32, say) a product takes microseconds on one core: less than waking a
# second thread, and far less than waiting for a busy core.
SMALL_PRODUCT = 1 << 16


def largest_product(layer_sizes: Sequence[int], rows: int) -> int:
    """The multiply-adds of a network's largest matrix product on ``rows`` rows: rows · max(n_in · n_out)."""
    return rows * max(n_in * n_out for n_in, n_out in itertools.pairwise(layer_sizes))


@contextlib.contextmanager
def small_products_on_one_thread(xp: Any, device: Any, multiply_adds: int) -> Iterator[None]:
    """On torch's CPU, with products of at most ``multiply_adds`` ≤ ``SMALL_PRODUCT``: one intra-op thread for
    the context, the caller's count restored after. Elsewhere (other backends, a GPU, larger products): nothing."""
    if not (array_api_compat.is_torch_namespace(xp) and str(device) == "cpu") or multiply_adds > SMALL_PRODUCT:
        yield
        return
    import torch

    saved = torch.get_num_threads()
    if saved == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(saved)
