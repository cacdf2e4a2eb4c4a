"""The precision policies of float32 matrix products, and each library's own switch for them.

``PRECISION_NAMES`` are the policies ('float32': IEEE products everywhere; 'tf32': tensor-core products on CUDA).
The three context managers here set and restore one library's switch; ``bpxp.backend.namespaces.matmul_precision``
chooses which one applies to a namespace and device.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

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
