"""One session per backend, each installing only its backend and running the whole suite on it.

    nox -s numpy array_api_strict torch jax mlx cupy lint     # what .ci/run and the README run
    nox -l                                                # the list

Each session passes ``--backend NAME`` to pytest, so the backend fixture narrows to that backend.
"""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.error_on_missing_interpreters = False
PYPROJECT = nox.project.load_toml("pyproject.toml")
TEST_DEPENDENCIES = nox.project.dependency_groups(PYPROJECT, "test")
# This machine's pip serves a CPU build of torch 2.13.0 from local disk; an unpinned torch pulls a CUDA build
# of several GB. Set BPXP_TORCH to another requirement to test elsewhere.
TORCH = os.environ.get("BPXP_TORCH", "torch==2.13.0")


def _pytest(session: nox.Session, backend: str) -> None:
    # pytest-xdist, one worker per core (test ids are deterministic); `nox -s numpy -- -n 0` runs in one process.
    session.run("python", "-m", "pytest", "--backend", backend, "-n", "auto", *session.posargs,
                env={"OMP_NUM_THREADS": "1"})


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


@nox.session(venv_backend="none")
def cupy(session: nox.Session) -> None:
    """The suite on CuPy, in the current environment (CuPy preinstalled, no network needed); skips without a GPU."""
    probe = ("import cupy, sys; n = cupy.cuda.runtime.getDeviceCount(); "
             "print(f'{n} CUDA device(s), CuPy {cupy.__version__}'); sys.exit(0 if n else 1)")
    try:
        session.run("python", "-c", probe, silent=True)
    except nox.command.CommandFailed:
        session.skip("no CUDA device (or CuPy not installed): the CuPy suite runs where a GPU is")
    _pytest(session, "cupy")


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
