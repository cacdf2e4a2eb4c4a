"""How a fit's matrix products run: the precision policies of float32 products, with each library's own switch
for them, and how many CPU threads torch gives them.

``PRECISION_NAMES`` are the policies ('float32': IEEE products everywhere; 'tf32': tensor-core products on CUDA).
The three context managers here set and restore one library's switch; ``bpxp.backend.namespaces.matmul_precision``
chooses which one applies to a namespace and device.

## Threads

How many CPU threads a fit's matrix products use: one, on torch's CPU, while every product is small.

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
import numpy as np

PRECISION_NAMES: tuple[str, ...] = ("float32", "tf32")


def check_precision(precision: Any) -> str:
    """Return ``precision`` if it names a policy ('float32' or 'tf32'), else raise a ValueError naming it."""
    if not isinstance(precision, str) or precision not in PRECISION_NAMES:
        raise ValueError(f"`precision` must be one of {list(PRECISION_NAMES)}, got {precision!r}")
    return precision


@contextlib.contextmanager
def jax_matmul_precision(tf32: bool) -> Iterator[None]:
    """JAX: the default precision of ``dot``/``matmul`` (part of jit's cache key, so compiled steps follow it)."""
    import jax

    with jax.default_matmul_precision("tensorfloat32" if tf32 else "highest"):
        yield


@contextlib.contextmanager
def torch_matmul_precision(tf32: bool) -> Iterator[None]:
    """torch: cuBLAS and cuDNN float32 math, set for the context and restored (torch ≥ 2.9 API, else allow_tf32)."""
    import torch

    backends = (torch.backends.cuda.matmul, torch.backends.cudnn)
    if all(hasattr(b, "fp32_precision") for b in backends):
        attribute, value = "fp32_precision", "tf32" if tf32 else "ieee"
    else:
        attribute, value = "allow_tf32", tf32
    saved = [getattr(b, attribute) for b in backends]
    try:
        for b in backends:
            setattr(b, attribute, value)
        yield
    finally:
        for b, old in zip(backends, saved):
            setattr(b, attribute, old)


@contextlib.contextmanager
def cupy_matmul_precision(tf32: bool) -> Iterator[None]:
    """CuPy: the cuBLAS compute type of float32 products (a process-wide setting, restored after)."""
    from cupy._core import _routines_linalg as linalg  # CuPy's only handle on it (also read from CUPY_TF32)

    saved = linalg.get_compute_type(np.float32)
    try:
        linalg.set_compute_type(np.float32, linalg.COMPUTE_TYPE_TF32 if tf32 else linalg.COMPUTE_TYPE_DEFAULT)
        yield
    finally:
        linalg.set_compute_type(np.float32, saved)


# Below this many multiply-adds (64 × 32 × 32, say) a product takes microseconds on one core: less than waking a
# second thread, and far less than waiting for a busy core.
SMALL_PRODUCT = 1 << 16


def largest_product(layer_sizes: Sequence[int], rows: int) -> int:
    """The multiply-adds of a network's largest matrix product on ``rows`` rows: rows · max(n_in · n_out)."""
    return rows * max(n_in * n_out for n_in, n_out in itertools.pairwise(layer_sizes))


@contextlib.contextmanager
def small_products_on_one_thread(xp: Any, device: Any, multiply_adds: int | None) -> Iterator[None]:
    """On torch's CPU, with products of at most ``multiply_adds`` ≤ ``SMALL_PRODUCT``: one intra-op thread for
    the context, the caller's count restored after. Elsewhere (other backends, a GPU, larger products, products
    of unknown size — None): nothing."""
    small = multiply_adds is not None and multiply_adds <= SMALL_PRODUCT
    if not (small and array_api_compat.is_torch_namespace(xp) and str(device) == "cpu"):
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
