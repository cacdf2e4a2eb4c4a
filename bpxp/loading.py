"""``bpxp.load``: a checkpoint file back as an :class:`~bpxp.MLP` (``bpxp.training.checkpoint`` reads the file,
``MLP`` is built from what it returns: the network's description, parameters and optimizer state)."""

from __future__ import annotations

import os
from typing import Any

from .backend import namespaces as _backend
from .backend.listing import backend_info
from .mlp import MLP
from .training import checkpoint


def load(path: str | os.PathLike[str], *, backend: str | None = None, device: Any = None,
         dtype: str | None = None) -> MLP:
    """Load a checkpoint as an :class:`~bpxp.MLP`, with its optimizer state.

    Parameters
    ----------
    path : str or path
        A file written by ``MLP.save``.
    backend, device : optional
        Where to put the network; default: the backend and device it was trained on if this machine has them,
        else NumPy.
    dtype : {'float32', 'float64'}, optional
        Default: the dtype it was trained in.

    Returns
    -------
    MLP
        With ``optimizer_``, ``optimizer_state_`` and ``checkpoint_metadata_`` (the JSON metadata).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    bpxp.CheckpointError
        (a ValueError) A truncated, corrupt, tampered or foreign file, or one from a newer format: the message
        names the file and what is wrong. Each member's declared size is checked before it is read.

    Examples
    --------
    >>> import bpxp, tempfile, os
    >>> net = bpxp.MLP([3, 4, 2], output="softmax", loss="cross_entropy", random_state=0)
    >>> path = net.save(os.path.join(tempfile.mkdtemp(), "model.npz"))
    >>> bpxp.load(path).layer_sizes
    (3, 4, 2)
    """
    saved = checkpoint.read_network(path)
    metadata, spec = saved.metadata, saved.spec
    if backend is None:
        trained_on = metadata.get("backend", "numpy")
        # Only the backend trained on is probed (imported): loading a NumPy model imports no torch or JAX.
        usable_here = trained_on in _backend.BACKEND_NAMES and bool(backend_info(trained_on).devices)
        backend = trained_on if usable_here else "numpy"
        device = device if device is not None or backend != trained_on else _known_device(backend, metadata)
    return MLP.from_checkpoint(saved, backend=backend, device=device, dtype=dtype or spec.dtype)


def _known_device(backend: str, metadata: dict) -> Any:
    """The device a checkpoint was trained on, if this machine has it; else the backend's default."""
    label = metadata.get("device")
    try:
        return _backend.resolve_device(_backend.namespace(backend), label)
    except (ValueError, TypeError):
        return None
