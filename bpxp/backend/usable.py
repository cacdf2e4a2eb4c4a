"""Whether an installed backend, and the device asked of it, is usable on this machine.

Installed is not usable: CuPy without a working CUDA driver, a CPU-only torch asked for 'cuda', JAX
without a GPU asked for one. Each probe returns why not (one line), or None; `check_usable` turns that into one
clear error before any array is made (``bpxp.backend.namespaces``, which knows the backends' names), and
`backends()` (``bpxp.backend.listing``) shows the same reason.
"""

from __future__ import annotations

from typing import Any


class BackendUnusable(RuntimeError):
    """An installed backend, or the device asked of it, cannot run on this machine (the message says why)."""


def _cupy_problem(device: Any) -> str | None:
    try:
        import cupy

        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # CUDARuntimeError (no driver, old driver), ImportError of CUDA libraries, ...
        return f"CuPy cannot reach a GPU ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})"
    return None if count else "CuPy finds no CUDA device"


def _torch_problem(device: Any) -> str | None:
    wanted = str(device) if device is not None else ""
    if wanted.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            return (f"torch {torch.__version__} has no usable CUDA device here (torch.cuda.is_available() is False: "
                    f"a CPU-only build, or no NVIDIA driver)")
    if wanted.startswith("mps"):
        import torch

        if not torch.backends.mps.is_available():
            return "torch has no usable 'mps' device here (Apple GPUs only)"
    return None


def _jax_problem(device: Any) -> str | None:
    wanted = str(device) if device is not None else ""
    platform = next((p for p in ("gpu", "cuda", "rocm", "tpu") if wanted.startswith(p)), None)
    if platform is None:
        return None
    import jax

    try:
        found = jax.devices("gpu" if platform in ("cuda", "rocm") else platform)
    except RuntimeError:
        found = []
    if found:
        return None
    return (f"JAX has no {platform} device here (its devices: {[str(d) for d in jax.devices()]}; a GPU needs "
            f"the jax[cuda12] wheels and an NVIDIA driver)")


def _mlx_problem(device: Any) -> str | None:
    wanted = str(device) if device is not None else ""
    if not wanted.startswith("gpu"):
        return None
    import mlx.core as mx

    if mx.is_available(mx.gpu):
        return None
    return ("MLX has no GPU here (Metal on Apple silicon; the mlx[cpu] build computes on the CPU only), use "
            "device 'cpu'")


_USABILITY_PROBES: dict[str, Any] = {"cupy": _cupy_problem, "torch": _torch_problem, "jax": _jax_problem,
                                     "mlx": _mlx_problem}


def unusable_reason(backend: str, device: Any = None) -> str | None:
    """Why an installed ``backend`` (with ``device``, if given as a label) cannot run here, or None if it can."""
    probe = _USABILITY_PROBES.get(backend)
    return None if probe is None else probe(device)
