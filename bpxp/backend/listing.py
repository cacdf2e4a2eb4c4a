"""``bpxp.backends()``: every backend bpxp knows, whether it is installed and usable here, and its devices."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from dataclasses import dataclass, field

from .namespaces import BACKEND_NAMES, backend_install, device_label, devices, namespace
from .usable import unusable_reason


@dataclass(frozen=True)
class BackendInfo:
    """One row of :func:`backends`: whether a backend is installed, its version and its devices."""

    name: str
    installed: bool
    version: str | None = None
    devices: list[str] = field(default_factory=list)
    note: str = ""


def backends() -> list[BackendInfo]:
    """List every backend bpxp knows: installed or not, its version, and its usable devices.

    Importing a backend to list its devices happens here only, never at ``import bpxp``.

    Returns
    -------
    list of BackendInfo
        One per backend, in the order numpy, cupy, torch, jax, array_api_strict, mlx: ``name``, ``installed``,
        ``version``, ``devices`` (labels such as 'cpu' or 'cuda:0') and ``note`` (how to install, or why
        an installed backend is unusable here).

    Examples
    --------
    >>> import bpxp
    >>> [b.name for b in bpxp.backends()]
    ['numpy', 'cupy', 'torch', 'jax', 'array_api_strict', 'mlx']
    """
    return [backend_info(name) for name in BACKEND_NAMES]


def backend_info(name: str) -> BackendInfo:
    """One row of :func:`backends`: imports ``name``'s library only (and none of the others) — what ``bpxp.load``
    asks of the backend a model was trained on."""
    if importlib.util.find_spec(name) is None:
        return BackendInfo(name, installed=False, note=backend_install(name))
    version = getattr(importlib.import_module(name), "__version__", None) or _distribution_version(name)
    try:
        problem = unusable_reason(name)  # the usability probe (bpxp.backend.usable)
        if problem is not None:
            return BackendInfo(name, installed=True, version=version, note=f"unusable here: {problem}")
        found = [device_label(d) for d in devices(namespace(name))]
        note = "" if found else "no device found"
    except Exception as error:  # e.g. CuPy installed on a machine without a CUDA driver
        found, note = [], f"unusable here: {type(error).__name__}: {error}".splitlines()[0]
    return BackendInfo(name, installed=True, version=version, devices=found, note=note)


def _distribution_version(name: str) -> str | None:
    """The installed distribution's version, for a package without ``__version__`` (mlx: it is ``mlx.core``'s)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None
