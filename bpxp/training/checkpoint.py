"""Checkpoint files that travel: one ``.npz`` file of NumPy arrays plus JSON metadata, readable without bpxp.

This module reads and writes files only; it never builds an MLP (``bpxp.load``, in ``bpxp.mlp``, does that from
what :func:`read_network` returns). The network is described by ``bpxp.spec.Spec``.

Layout of the file (``numpy.load(path)`` shows it):

- ``weights_0`` … ``weights_{L-1}``, ``biases_0`` … (absent without biases): the parameters, as NumPy arrays;
- ``optimizer_0`` …: the optimizer state's arrays, flattened (the metadata keeps their nesting);
- ``metadata``: a JSON string — format version, bpxp version, layer sizes, activations, loss, dtype, the
  backend and device trained on, the optimizer and its settings, and whatever the caller adds (history, epoch).

Writing is atomic: the file is written under a temporary name in the same folder, flushed to disk and renamed,
so a crash never leaves a half-written checkpoint under the real name; a Ctrl-C during the write is held back
until the file is in place (``bpxp.training.recovery.interrupts_deferred``).
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import checks
from ..backend import namespaces as _backend
from ..math import optimizers
from ..spec import Spec
from . import archive
from . import metadata as _metadata_checks
from .archive import CheckpointError
from .history import History, Outcome
from .metadata import FORMAT, FORMAT_VERSION
from .recovery import interrupts_deferred


def save(path: str | os.PathLike, spec: Spec, parameters: tuple, *, backend: str, device: Any,
         optimizer: optimizers.Optimizer | None = None, state: Any = None, extra: dict | None = None) -> Path:
    """Write a network described by ``spec`` — its parameters, the optimizer and its state — to ``path`` atomically.

    Parameters
    ----------
    path : str or path
        A file that can be written: not a folder, not empty (checked first; errors name ``path``).
    spec : bpxp.spec.Spec
    parameters : (weights, biases)
        Sequences of arrays (biases None without biases), any backend.
    backend, device
        Where the network lives (recorded so that ``bpxp.load`` can return there).
    optimizer, state : optional
        The optimizer rule and its state of the last fit.
    extra : dict, optional
        JSON-serialisable entries added to the metadata.
    Returns
    -------
    pathlib.Path
    """
    path = checks.check_destination(path, "path")  # errors name MLP.save's argument
    arrays, metadata = _contents(spec, parameters, backend=backend, device=device, rule=optimizer, state=state)
    return _write(path, arrays, {**metadata, **(extra or {})}, "path")


def _contents(spec: Spec, parameters: tuple, *, backend: str, device: Any, rule, state) -> tuple[dict, dict]:
    """(arrays, metadata) of a checkpoint: the parameters and the optimizer state's arrays on the host, under their
    names in the file; the format, versions, description, placement and optimizer as JSON-ready metadata."""
    from .._version import __version__

    weights, biases = parameters
    arrays = {f"weights_{i}": _backend.to_numpy(w) for i, w in enumerate(weights)}
    if biases is not None:
        arrays.update({f"biases_{i}": _backend.to_numpy(b) for i, b in enumerate(biases)})
    flat, structure = flatten(state)
    arrays.update({f"optimizer_{i}": _backend.to_numpy(a) for i, a in enumerate(flat)})
    description = spec.to_metadata()
    precision = description.pop("precision")
    metadata = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "bpxp_version": __version__,
        **description, "backend": backend, "device": _backend.device_label(device), "precision": precision,
        "optimizer": None if rule is None else {"name": rule.name, **dataclasses.asdict(rule)},
        "optimizer_state": structure,
    }
    return arrays, metadata


def _write(path: Path, arrays: dict[str, np.ndarray], metadata: dict, argument: str) -> Path:
    """Write ``arrays`` and ``metadata`` (as the JSON string ``metadata``) to ``path`` atomically; return it.

    A failing disk (read-only, full, gone) is an OSError of the same kind naming ``argument`` and ``path`` — not
    the temporary file the write went to."""
    try:
        _write_atomically(path, {**arrays, "metadata": np.array(json.dumps(metadata))})
    except OSError as error:
        message = f"`{argument}` {str(path)!r}: cannot write the checkpoint there ({error.strerror or error})"
        raise (type(error)(message) if error.errno is None else type(error)(error.errno, message)) from error
    return path


def save_training(path: str | os.PathLike, spec: Spec, outcome, *, backend: str, device: Any, optimizer,
                  settings: dict, argument: str = "checkpoint") -> Path:
    """Write a training checkpoint: the outcome's parameters and optimizer state, its History, epoch and
    shuffling state, the best epoch's parameters under early stopping, and the fit's ``settings``.

    ``bpxp.load`` reads it as any checkpoint; ``fit(..., resume=path)`` continues the fit from it.
    """
    best_arrays, best_structure = {}, None
    if outcome.best is not None:
        best_weights, best_biases, best_state = outcome.best
        flat, best_structure = flatten((tuple(best_weights), best_biases and tuple(best_biases), best_state))
        best_arrays = {f"best_{i}": _backend.to_numpy(a) for i, a in enumerate(flat)}
    training = {"epoch": outcome.epoch, "history": dataclasses.asdict(outcome.history),
                "rng_state": outcome.rng_state, "since_best": outcome.since_best, "best": best_structure,
                "settings": settings, "rate": None if outcome.rate is None else outcome.rate.record(),
                "samples_seen": outcome.samples_seen}
    arrays, metadata = _contents(spec, (outcome.weights, outcome.biases), backend=backend, device=device,
                                 rule=optimizer, state=outcome.state)
    return _write(Path(path), {**best_arrays, **arrays}, {**metadata, "training": training}, argument)


def check_resumable(path: str | os.PathLike, metadata: dict, spec: Spec) -> None:
    """Refuse (a ValueError) a checkpoint whose ``metadata`` holds no training progress, or that a network other than
    the one ``spec`` describes wrote: what its metadata alone shows (the settings are checked by :func:`resume`)."""
    if metadata.get("training") is None:
        raise ValueError(f"`resume`: {str(path)!r} is a checkpoint without training progress (written by "
                         f"MLP.save, not by fit(checkpoint=...)); load it with bpxp.load and call fit instead")
    differ = spec.differences(metadata)
    if differ:
        raise ValueError(f"`resume`: {str(path)!r} was written by a different network: "
                         + ", ".join(f"{key} {old!r} there, {new!r} here" for key, (old, new) in differ.items()))


def read_training(path: str | os.PathLike, spec: Spec, *, xp: Any, device: Any) -> tuple[dict, Any]:
    """A training checkpoint for the network ``spec`` describes: (the fit's settings, a
    ``bpxp.training.history.Outcome`` with arrays in ``xp`` on ``device``).

    Raises a ValueError when the file is no training checkpoint or was written by a different network.
    """

    metadata, arrays = read(path)
    check_resumable(path, metadata, spec)
    training = metadata["training"]
    move = lambda a: xp.asarray(a, device=device)  # noqa: E731
    n_layers = len(spec.layer_sizes) - 1
    weights = tuple(move(arrays[f"weights_{i}"]) for i in range(n_layers))
    biases = tuple(move(arrays[f"biases_{i}"]) for i in range(n_layers)) if metadata["bias"] else None
    state = unflatten([move(arrays[f"optimizer_{i}"]) for i in range(_count(arrays))],
                      metadata["optimizer_state"]) if metadata["optimizer_state"] is not None else None
    best = None
    if training["best"] is not None:
        count = sum(1 for name in arrays if name.startswith("best_"))
        best = unflatten([move(arrays[f"best_{i}"]) for i in range(count)], training["best"])
    outcome = Outcome(weights, biases, state, recorded_history(training), epoch=training["epoch"],
                      rng_state=training["rng_state"], best=best, since_best=training["since_best"],
                      rate=training.get("rate"),  # a schedule's η and plateau count, as a dict (for ``fit``)
                      samples_seen=training.get("samples_seen"))  # None in a file of bpxp 0.1
    return training["settings"], outcome


def recorded_history(training: dict) -> History:
    """The History a training checkpoint's ``training`` record holds, marked stopped early where its patience had
    run out (``since_best`` ≥ ``early_stopping``): that run had ended, whatever the file says."""
    history = History(**training["history"])
    patience = training.get("settings", {}).get("early_stopping")
    if patience is not None and training.get("since_best", 0) >= patience:
        history.stopped_early = True
    return history


OPTIONAL_SETTINGS = ("learning_rate_schedule",)  # settings a fit records only when it uses them


def resume(path: Path, spec: Spec, settings: dict, *, xp: Any, device: Any) -> Any:
    """The ``bpxp.training.history.Outcome`` a training checkpoint left, after checking that the network ``spec``
    describes wrote it with these ``settings``; its History no longer marked interrupted or diverged. A run that had
    ended (stopped early, ended by its schedule) stays marked so: the loop trains it no further."""
    if not path.is_file():
        raise FileNotFoundError(f"`resume`: no checkpoint at {str(path)!r}")
    saved, outcome = read_training(path, spec, xp=xp, device=device)
    # a key only the file has counts too when it changes the run: a schedule's η must not be resumed without it
    keys = [*settings, *(key for key in OPTIONAL_SETTINGS if key in saved and key not in settings)]
    differ = {key: (saved.get(key), settings.get(key)) for key in keys if saved.get(key) != settings.get(key)}
    if differ:
        raise ValueError(f"`resume`: {str(path)!r} was written by a fit with other settings ("
                         + ", ".join(f"{key} {old!r} there, {new!r} here" for key, (old, new) in differ.items())
                         + "); resume with the same settings, or bpxp.load it and start a new fit")
    outcome.history.interrupted, outcome.history.diverged_at = False, None
    return outcome


@dataclasses.dataclass(frozen=True)
class Saved:
    """What a checkpoint holds, on the host: the metadata, the network's description, its parameters (NumPy), and
    the optimizer rule with its state's arrays still flat (``unflatten(moved arrays, state_structure)``)."""

    metadata: dict
    spec: Spec
    weights: list
    biases: list | None
    optimizer: optimizers.Optimizer | None
    state_arrays: list
    state_structure: Any

    def optimizer_state(self, *, xp: Any, device: Any) -> Any:
        """The optimizer's state on ``device`` (:func:`on_device`), or None without an optimizer."""
        return None if self.optimizer is None else on_device(self.state_arrays, self.state_structure, xp=xp,
                                                             device=device)


def read_network(path: str | os.PathLike) -> Saved:
    """The network a checkpoint holds (see :class:`Saved`); the errors of :func:`read`."""
    metadata, arrays = read(path, parts=("weights_", "biases_", "optimizer_"))
    spec = Spec.from_metadata(metadata)
    n_layers = len(spec.layer_sizes) - 1
    weights = [arrays[f"weights_{i}"] for i in range(n_layers)]
    biases = [arrays[f"biases_{i}"] for i in range(n_layers)] if metadata.get("bias") else None
    rule = None
    if metadata.get("optimizer"):
        settings = dict(metadata["optimizer"])
        rule = optimizers.OPTIMIZERS[settings.pop("name")](**settings)
    state_arrays = [arrays[f"optimizer_{i}"] for i in range(_count(arrays))] if rule is not None else []
    return Saved(metadata, spec, weights, biases, rule, state_arrays, metadata.get("optimizer_state"))


def _write_atomically(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write under a temporary name beside ``path``, flush, rename. The file's mode follows the umask, as any
    file the user writes (``mkstemp`` would make it 0600); temporaries that killed writes left are removed first.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    temporary = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    with interrupts_deferred():  # a Ctrl-C lands once the file is complete and in place
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        try:
            with os.fdopen(handle, "wb") as file:
                np.savez(file, **arrays)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


_STALE_AFTER_S = 600  # an unnamed writer's temporary (older bpxp: no process id in the name) this old is dead


def _remove_stale_temporaries(path: Path) -> None:
    """Remove ``.NAME.<pid>.<hex>.tmp`` files beside ``path`` whose writing process is gone (killed mid-write),
    and older ``.NAME.XXXXXXXX.tmp`` ones not touched for ``_STALE_AFTER_S`` seconds. A live writer's stay."""
    for temporary in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        parts = temporary.name[len(path.name) + 2:-len(".tmp")].split(".")
        try:
            if len(parts) == 2 and parts[0].isdigit():
                stale = not _process_alive(int(parts[0]))
            else:
                stale = time.time() - temporary.stat().st_mtime > _STALE_AFTER_S
            if stale:
                temporary.unlink()
        except OSError:  # gone already, or not ours to remove: leave it
            continue


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process writes one file at a time: an own leftover is from an interrupted write
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # someone else's process, or cannot tell: keep its file
    return True


PARTS = ("weights_", "biases_", "optimizer_", "best_")  # the members :func:`read` reads, by default all
_METADATA_LIMIT = 256 * 2**20  # bytes of JSON metadata (as a .npy of UCS-4 text): a long History is a few MB


def read(path: str | os.PathLike, *, parts: tuple[str, ...] = PARTS) -> tuple[dict, dict[str, np.ndarray]]:
    """The metadata and arrays of a checkpoint, checked; a :class:`~bpxp.training.archive.CheckpointError` (a
    ValueError) naming the file and what is wrong for anything else.

    The metadata is checked field by field (``bpxp.training.metadata``); each member's ``.npy`` header — its
    shape and dtype, read without its data — against what the metadata says the file holds, before any data is
    read. Only the members whose names start with one of ``parts`` are read (``()``: none; ``bpxp info``).
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"`path` must be a str or os.PathLike naming a checkpoint file, got {type(path).__name__}")
    with archive.open_archive(path) as files:
        metadata = _metadata(files)
        expected = _metadata_checks.expected_members(metadata, path)
        _check_members(files, expected)
        arrays = {name: files.read(name) for name in expected if name.startswith(parts)}
    return metadata, arrays


def _metadata(files: archive.Archive) -> dict:
    """The JSON metadata of an open checkpoint, checked (:func:`bpxp.training.metadata.checked`)."""
    member = files.members.get("metadata")
    if member is None:
        raise CheckpointError(files.path, "is a .npz file but not a bpxp checkpoint: it has no 'metadata'")
    if member.dtype.kind != "U" or member.shape != () or member.nbytes > _METADATA_LIMIT:
        raise CheckpointError(files.path, f"is not a bpxp checkpoint: its metadata is a {member.dtype} array of "
                                          f"shape {archive.shown(member.shape)}, not one JSON text up to "
                                          f"{_METADATA_LIMIT // 2**20} MiB")
    try:
        metadata = json.loads(str(files.read("metadata")))
    except json.JSONDecodeError as error:
        raise CheckpointError(files.path, f"has corrupt metadata: {error}") from None
    return _metadata_checks.checked(metadata, files.path)


def _check_members(files: archive.Archive, expected: dict[str, tuple[int, ...] | None]) -> None:
    """Refuse a checkpoint whose members are not those its metadata says: missing, unknown, or of another shape
    or dtype than float32/float64 (headers only: no member's data has been read)."""
    missing = [name for name in expected if name not in files.members]
    if missing:
        raise CheckpointError(files.path, f"is incomplete: missing {archive.shown(missing)}")
    unknown = [name for name in files.members if name not in expected and name != "metadata"]
    if unknown:
        raise CheckpointError(files.path, f"holds members its metadata does not account for: "
                                          f"{archive.shown(unknown)}")
    for name, shape in expected.items():
        member = files.members[name]
        if member.dtype not in _metadata_checks.FLOATS or (shape is not None and member.shape != shape):
            raise CheckpointError(files.path, f"member {name!r} is a {member.dtype} array of shape "
                                              f"{archive.shown(member.shape)}; its metadata says float32 or "
                                              f"float64" + (f" of shape {shape}" if shape is not None else ""))


def _count(arrays: dict) -> int:
    return sum(1 for name in arrays if name.startswith("optimizer_"))


def flatten(state: Any) -> tuple[list, Any]:
    """Nested tuples of arrays → (list of arrays, structure of indices as nested lists)."""
    flat: list = []

    def walk(node):
        if node is None:
            return None
        if isinstance(node, tuple | list):
            return [walk(child) for child in node]
        flat.append(node)
        return len(flat) - 1

    structure = None if state is None else walk(state)
    return flat, structure


def unflatten(flat: list, structure: Any) -> Any:
    if structure is None:
        return None
    if isinstance(structure, list):
        return tuple(unflatten(flat, child) for child in structure)
    return flat[structure]


def on_host(state: Any) -> tuple[list, Any]:
    """An optimizer state as (NumPy copies of its arrays, its structure), as a pickle holds it (:func:`flatten`)."""
    flat, structure = flatten(state)
    return [_backend.to_numpy(a) for a in flat], structure


def on_device(flat: list, structure: Any, *, xp: Any, device: Any) -> Any:
    """The optimizer state that :func:`on_host` or a checkpoint left, its arrays moved to ``device``; None if none."""
    return unflatten([xp.asarray(a, device=device) for a in flat], structure)
