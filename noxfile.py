#!/usr/bin/env -S python3
# /// script
# dependencies = ["nox>=2024.4.15"]
# ///
"""One session per backend, each installing only its backend and running the whole suite on it.

    nox -s numpy array_api_strict torch jax mlx cupy lint docs    # what .ci/run and the README run
    nox -s cupy torch_cuda jax_cuda                               # on a CUDA machine: the GPU variants of the suite
    nox -l                                                # the list

Each session passes ``--backend NAME`` to pytest, so the backend fixture narrows to that backend. The CUDA
sessions install their library's build for the driver's CUDA major version (``nvidia-smi``'s "CUDA Version", or
BPXP_CUDA_MAJOR) and run only the GPU variants (``--gpu-only``); without an NVIDIA driver each skips in one line,
before any virtualenv is made. ``.ci/gpu`` runs the same variants on a CUDA machine without network.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import nox

nox.needs_version = ">=2024.4.15"
nox.options.default_venv_backend = "venv"
nox.options.error_on_missing_interpreters = False
PYPROJECT = nox.project.load_toml(Path(__file__).resolve().parent / "pyproject.toml")
TEST_DEPENDENCIES = nox.project.dependency_groups(PYPROJECT, "test")
# The torch the suite is tested with, pinned. Where pip's index serves torch with CUDA (PyPI on Linux: several GB),
# set BPXP_TORCH to another requirement: a CPU wheel's path or URL (from https://download.pytorch.org/whl/cpu),
# or another version.
TORCH = os.environ.get("BPXP_TORCH", "torch==2.13.0")


def _pytest(session: nox.Session, backend: str, *options: str) -> None:
    # pytest-xdist, one worker per core (test ids are deterministic); `nox -s numpy -- -n 0` runs in one process.
    session.run("python", "-m", "pytest", "--backend", backend, "-n", "auto", *options, *session.posargs,
                env={"OMP_NUM_THREADS": "1", "XLA_PYTHON_CLIENT_PREALLOCATE": "false"})


# The CUDA sessions: a driver is looked for when this file loads, so that without one no virtualenv is made.
NVIDIA_SMI = shutil.which("nvidia-smi")
ON_CUDA = "venv" if NVIDIA_SMI else "none"
NO_DRIVER = "no NVIDIA driver here (nvidia-smi not found): the GPU variants run on a CUDA machine"
# The PyTorch wheel index per CUDA major version (BPXP_TORCH_INDEX overrides it).
TORCH_CUDA_INDEX = {12: "https://download.pytorch.org/whl/cu126", 13: "https://download.pytorch.org/whl/cu130"}


def cuda_major(nvidia_smi_output: str) -> int | None:
    """The CUDA major version that ``nvidia-smi``'s banner names ("CUDA Version: 13.0" → 13), or None."""
    found = re.search(r"CUDA Version\s*:\s*(\d+)\.\d+", nvidia_smi_output)
    return int(found.group(1)) if found else None


def _cuda_major(session: nox.Session) -> int:
    """The driver's CUDA major version: BPXP_CUDA_MAJOR, else nvidia-smi's; skips the session without a driver."""
    if os.environ.get("BPXP_CUDA_MAJOR"):
        return int(os.environ["BPXP_CUDA_MAJOR"])
    if NVIDIA_SMI is None:
        session.skip(NO_DRIVER)
    banner = subprocess.run([NVIDIA_SMI], capture_output=True, text=True, check=False).stdout
    major = cuda_major(banner)
    if major is None:
        session.skip("nvidia-smi names no CUDA version (is the driver loaded?); set BPXP_CUDA_MAJOR to override")
    return major


@nox.session
def numpy(session: nox.Session) -> None:
    """The suite on NumPy (with the CLI's datasets, the doctests, training on Dask and the ONNX export)."""
    session.install("-e", ".[cli,dask,onnx]", *TEST_DEPENDENCIES)
    _pytest(session, "numpy")


@nox.session
def array_api_strict(session: nox.Session) -> None:
    """The suite on array-api-strict, on its default device and on device1 (the CPU stand-in for a GPU)."""
    session.install("-e", ".[strict]", *TEST_DEPENDENCIES)
    _pytest(session, "array_api_strict")


@nox.session
def torch(session: nox.Session) -> None:
    """The suite on PyTorch (CPU build here)."""
    session.install("-e", ".", TORCH, *TEST_DEPENDENCIES)
    _pytest(session, "torch")


@nox.session
def jax(session: nox.Session) -> None:
    """The suite on JAX, with the training step under jax.jit."""
    session.install("-e", ".[jax]", *TEST_DEPENDENCIES)
    _pytest(session, "jax")


@nox.session
def mlx(session: nox.Session) -> None:
    """The suite on MLX (its CPU build, mlx[cpu], on Linux), with the training step under mx.compile."""
    session.install("-e", ".[mlx]", *TEST_DEPENDENCIES)
    _pytest(session, "mlx")


@nox.session(venv_backend=ON_CUDA)
def cupy(session: nox.Session) -> None:
    """The suite's GPU variants on CuPy (cupy-cuda12x or -13x, for the driver); skips without an NVIDIA driver."""
    major = _cuda_major(session)
    session.install("-e", ".", f"cupy-cuda{major}x", *TEST_DEPENDENCIES)
    _pytest(session, "cupy", "--gpu-only")


@nox.session(venv_backend=ON_CUDA)
def torch_cuda(session: nox.Session) -> None:
    """The suite's GPU variants on torch's CUDA build (from the PyTorch index for the driver); skips without one."""
    major = _cuda_major(session)
    index = os.environ.get("BPXP_TORCH_INDEX") or TORCH_CUDA_INDEX.get(major)
    if index is None:
        session.error(f"no PyTorch wheel index known for CUDA {major}: set BPXP_TORCH_INDEX to one")
    session.install("--index-url", index, os.environ.get("BPXP_TORCH_CUDA", "torch"))
    session.install("-e", ".", *TEST_DEPENDENCIES)
    _pytest(session, "torch", "--gpu-only")


@nox.session(venv_backend=ON_CUDA)
def jax_cuda(session: nox.Session) -> None:
    """The suite's GPU variants on JAX with its CUDA plugin (jax[cuda12] or jax[cuda13]); skips without a driver."""
    major = _cuda_major(session)
    session.install("-e", ".", f"jax[cuda{major}]", *TEST_DEPENDENCIES)
    _pytest(session, "jax", "--gpu-only")


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks (not tests): bpxp on each backend next to hand-written NumPy, scikit-learn and PyTorch."""
    session.install("-e", ".[jax,cli]", TORCH, "threadpoolctl")
    session.run("python", "benchmarks/run.py", *session.posargs, env={"OMP_NUM_THREADS": "2"})


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: style, imports, and no array library imported by the math modules (TID251)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site, its gallery run, warnings as errors; then the checks of the built site."""
    session.install("-e", ".[docs,jax,onnx]", TORCH, *TEST_DEPENDENCIES)
    env = {"OMP_NUM_THREADS": "1", "JAX_ENABLE_X64": "1"}
    session.run("python", "-m", "sphinx", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html", env=env)
    session.run("python", "-m", "pytest", "-n", "0", "tests/test_docs_build.py", "tests/test_docs_pages.py",
                *session.posargs, env={**env, "BPXP_BUILT_DOCS": "docs/_build/html"})


if __name__ == "__main__":
    nox.main()
