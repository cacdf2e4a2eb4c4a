"""A checkpoint's ``.npz`` archive read member by member, each within the size it declares and the reader expects.

``numpy.load`` reads every member it is asked for and trusts each ``.npy`` header: a member declaring a shape of
terabytes is allocated before a byte is read, and an unused member deflated 1000:1 is inflated all the same. Here
an archive is opened once, its members' headers (shape, dtype) are read without their data, and a member's data
is read only when asked for, after its header has been checked against the zip's own record of its size:

    declared bytes = prod(shape) · itemsize = uncompressed size (zip) − header length

Every way a file can be wrong ends in one :class:`CheckpointError` naming the file and what is wrong.
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..checks import shown

MAX_PROBLEM_CHARS = 240  # an error says what is wrong in a line, however long the wrong value
_DEFLATE_MAX_RATIO = 1032  # the most deflate can shrink data (runs of one byte)
_UNREADABLE = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError, RuntimeError)


class CheckpointError(ValueError):
    """A file that is not a checkpoint ``bpxp.load`` can read: truncated, corrupt, foreign, from a newer bpxp, or
    with metadata or members that contradict each other. The message names the file and what is wrong."""

    def __init__(self, path: str | os.PathLike, problem: str):
        if len(problem) > MAX_PROBLEM_CHARS:
            problem = problem[:MAX_PROBLEM_CHARS - 1] + "…"
        super().__init__(f"{str(path)!r} {problem}")
        self.path = str(path)


@dataclass(frozen=True)
class Member:
    """A ``.npy`` member's header: its shape and dtype, and the zip entry that holds it."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    entry: zipfile.ZipInfo

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


class Archive:
    """An open ``.npz`` file: its members' headers (``members``), and :meth:`read` for a member's data.

    Use as a context manager; a file that is no zip archive, or whose headers are damaged or contradict the zip's
    sizes, is a :class:`CheckpointError` on opening.
    """

    def __init__(self, path: Path):
        self.path = path
        self._file = open(path, "rb")  # closed by __exit__, or below on failure
        self._size_on_disk = os.fstat(self._file.fileno()).st_size
        try:
            self._zip = zipfile.ZipFile(self._file)
            self.members = {member.name: member for member in map(self._header, self._zip.infolist())}
        except CheckpointError:
            self._file.close()
            raise
        except _UNREADABLE as error:
            self._file.close()
            raise self.unreadable(error) from None

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc_info) -> None:
        self._zip.close()
        self._file.close()

    def unreadable(self, error: Exception) -> CheckpointError:
        return CheckpointError(self.path, f"is not a readable bpxp checkpoint (truncated or corrupt?): {error}")

    def _header(self, entry: zipfile.ZipInfo) -> Member:
        """The header of ``entry``, checked: a ``.npy`` whose declared data fills exactly the entry's size."""
        if not entry.filename.endswith(".npy"):
            raise CheckpointError(self.path, f"holds a member that is no NumPy array: {shown(entry.filename)}")
        name = entry.filename[:-len(".npy")]
        with self._zip.open(entry) as stream:
            version = np.lib.format.read_magic(stream)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise CheckpointError(self.path, f"member {shown(name)} has an unknown .npy version {version}")
            shape, _, dtype = read_header(stream)
            header_bytes = stream.tell()
        member = Member(name, tuple(shape), np.dtype(dtype), entry)
        self._check_compression(name, entry)
        if dtype.hasobject:  # a pickle: never unpickled (code would run)
            raise CheckpointError(self.path, f"member {shown(name)} holds Python objects (a pickle), not numbers")
        if header_bytes + member.nbytes != entry.file_size:
            raise CheckpointError(self.path, f"member {shown(name)} declares shape {shown(member.shape)} of "
                                  f"{member.dtype} ({_size(member.nbytes)}) but holds "
                                  f"{_size(entry.file_size - header_bytes)}")
        return member

    def _check_compression(self, name: str, entry: zipfile.ZipInfo) -> None:
        """Refuse an entry whose sizes no honest zip has: more inflated than deflate can (≈1032:1), stored with a
        size other than its own, or reaching past the file's end. Only what ``numpy.savez`` writes is read."""
        if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise CheckpointError(self.path, f"member {shown(name)} uses a compression numpy.savez never writes")
        plausible = (entry.file_size == entry.compress_size if entry.compress_type == zipfile.ZIP_STORED
                     else entry.file_size <= _DEFLATE_MAX_RATIO * entry.compress_size + 1024)
        if not plausible or entry.header_offset + entry.compress_size > self._size_on_disk:
            raise CheckpointError(self.path, f"member {shown(name)} claims {_size(entry.file_size)} from "
                                  f"{_size(entry.compress_size)} compressed: the zip is damaged or forged")

    def read(self, name: str) -> np.ndarray:
        """The data of member ``name`` (its header checked on opening, so what is read is what was declared)."""
        try:
            with self._zip.open(self.members[name].entry) as stream:
                return np.lib.format.read_array(stream, allow_pickle=False)
        except _UNREADABLE as error:
            raise self.unreadable(error) from None


def _size(nbytes: int) -> str:
    """A byte count for people: '96 bytes', '3.6 TiB'."""
    if nbytes < 1024:
        return f"{nbytes} bytes"
    exponent = min(int(math.log(nbytes, 1024)), 4)
    return f"{nbytes / 1024 ** exponent:.1f} {('KiB', 'MiB', 'GiB', 'TiB')[exponent - 1]}"


def open_archive(path: str | os.PathLike) -> Archive:
    """:class:`Archive` of ``path``: a FileNotFoundError without a file, a :class:`CheckpointError` for no zip."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {str(path)!r}")
    if not zipfile.is_zipfile(path):  # e.g. a CSV
        raise CheckpointError(path, "is not a readable bpxp checkpoint (truncated or corrupt?): not a .npz (zip) "
                                    "archive, as `bpxp train --save` and MLP.save write")
    return Archive(path)
