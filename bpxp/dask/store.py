"""Prepared chunks kept for a whole fit, and each step's per-chunk sums computed beside them.

Mini-batch training reads a few rows of one or two chunks per step. Building a Dask graph for that each step
costs a round trip through the scheduler (tens of milliseconds); instead the chunks are prepared once per fit
(checked, cast, targets encoded: ``bpxp.dask.chunks.prepared_chunk``) and kept:

- :class:`LocalChunks` — under Dask's default scheduler, in this process;
- :class:`WorkerChunks` — on a ``dask.distributed`` cluster, as futures on the workers, with one small actor per
  worker (:class:`Holder`) that reads its chunks from the worker's memory. A step sends the parameters and the
  batch's row ranges straight to the holders of the chunks involved (no scheduler, no graph) and gets one
  vector per chunk back.

Either way the client adds the per-chunk vectors in chunk order, so the result does not depend on which
worker holds which chunk. A worker lost during a step loses nothing that cannot be rebuilt: the scheduler
recomputes its chunks from their graph, fresh holders are started, and the step — a pure function of the
parameters — runs again from the same parameters.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..spec import Spec
from .chunks import piece_loss, piece_score, piece_sums, prepared_chunk, row_chunks

# Up to this many rows a step runs on the worker's event loop itself: one thread hop less each way (a few
# milliseconds on a loaded machine) for at most a few milliseconds of blocking; larger steps and validation run
# in the worker's actor thread, leaving its event loop free.
_ROWS_ON_THE_EVENT_LOOP = 8192


class ChunkMissing(LookupError):
    """A holder was asked for a chunk its worker no longer holds (moved, or lost with a worker)."""


def _pairs(X, y, spec: Spec) -> list:
    """One delayed ``(X, Y)`` of prepared rows per row chunk of X."""
    import dask

    prepare = dask.delayed(prepared_chunk, pure=True)
    return [prepare(x, t, spec) for x, t in row_chunks(X, y)]


class LocalChunks:
    """The prepared chunks in this process (Dask's default scheduler computes them once per fit)."""

    def __init__(self, X, y, spec: Spec):
        import dask

        self.spec = spec
        self.chunks = list(dask.compute(*_pairs(X, y, spec)))

    def sums(self, weights, biases, pieces) -> list[np.ndarray]:
        return [piece_sums(*self.chunks[index], rows, weights, biases, self.spec) for index, rows in pieces]

    def losses(self, weights, biases) -> list[np.ndarray]:
        return [piece_loss(X, Y, weights, biases, self.spec) for X, Y in self.chunks]

    def scores(self, weights, biases) -> list[np.ndarray]:
        return [piece_score(X, Y, weights, biases, self.spec) for X, Y in self.chunks]

    def close(self) -> None:
        self.chunks = []


class Holder:
    """Lives on one worker (a Dask actor): computes sums over the prepared chunks held in that worker's memory."""

    def _chunk(self, key):
        from distributed import get_worker

        try:
            return get_worker().data[key]
        except KeyError:
            raise ChunkMissing(key) from None

    def sums(self, weights, biases, tasks, spec: Spec) -> list[np.ndarray]:
        return [piece_sums(*self._chunk(key), rows, weights, biases, spec) for key, rows in tasks]

    def losses(self, weights, biases, tasks, spec: Spec) -> list[np.ndarray]:
        return [piece_loss(*self._chunk(key), weights, biases, spec) for key, _ in tasks]

    def scores(self, weights, biases, tasks, spec: Spec) -> list[np.ndarray]:
        return [piece_score(*self._chunk(key), weights, biases, spec) for key, _ in tasks]


class WorkerChunks:
    """The prepared chunks as futures on a cluster's workers, read by one :class:`Holder` per worker.

    ``patience`` seconds bound the recovery from lost workers before the last error is raised.
    """

    def __init__(self, X, y, spec: Spec, client, *, patience: float = 120.0):
        self.spec, self.client, self.patience = spec, client, patience
        self.futures = client.compute(_pairs(X, y, spec))
        self.holders: dict[str, tuple[Any, Any]] = {}  # worker address -> (actor future, actor)
        self._refresh()

    def sums(self, weights, biases, pieces) -> list[np.ndarray]:
        return self._on_holders("sums", weights, biases, pieces)

    def losses(self, weights, biases) -> list[np.ndarray]:
        return self._on_holders("losses", weights, biases, [(index, None) for index in range(len(self.futures))])

    def scores(self, weights, biases) -> list[np.ndarray]:
        return self._on_holders("scores", weights, biases, [(index, None) for index in range(len(self.futures))])

    def close(self) -> None:
        for future, _ in self.holders.values():
            future.release()
        for future in self.futures:
            future.release()
        self.holders, self.futures = {}, []

    def _on_holders(self, method: str, weights, biases, pieces) -> list[np.ndarray]:
        """Each piece's vector, in the order of ``pieces``, from the holders of their chunks; retried on loss."""
        from distributed.comm import CommClosedError

        weights, biases = list(weights), list(biases)
        deadline, attempt, stale = time.monotonic() + self.patience, 0, False
        while True:
            try:
                if stale:  # inside the try: the cluster may still be changing while the client looks
                    self._refresh()
                    stale = False
                groups: dict[str, list[int]] = {}
                for position, (index, _) in enumerate(pieces):
                    groups.setdefault(self.where[index], []).append(position)
                calls = [(positions, self._method(address, method)(
                    weights, biases, [(self.futures[pieces[p][0]].key, pieces[p][1]) for p in positions], self.spec,
                    separate_thread=method != "sums" or _rows(pieces, positions) > _ROWS_ON_THE_EVENT_LOOP))
                    for address, positions in groups.items()]
                out: list[Any] = [None] * len(pieces)
                for positions, call in calls:
                    for position, vector in zip(positions, call.result(), strict=True):
                        out[position] = vector
                return out
            except (OSError, CommClosedError, TimeoutError, ChunkMissing, _Relocated) as error:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the Dask cluster kept losing the workers that hold the training data "
                                       f"for {self.patience:.0f} s: {error!r}") from error
                time.sleep(min(2.0, 0.05 * 2 ** attempt))
                attempt, stale = attempt + 1, True

    def _refresh(self) -> None:
        """Wait until every chunk is in memory somewhere; note where; drop the holders of departed workers."""
        from distributed import wait

        deadline = time.monotonic() + self.patience
        while True:
            wait(self.futures, timeout=self.patience)
            for future in self.futures:
                if future.status == "error":  # the chunk's own error (NaN in X, a label out of range): raise it
                    future.result()
            placed = self.client.who_has(self.futures)
            if all(placed.get(future.key) for future in self.futures):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Dask cluster could not keep the training data in memory for "
                                   f"{self.patience:.0f} s")
            time.sleep(0.05)  # a chunk lost between the wait and the question: the scheduler recomputes it
        alive = set(self.client.scheduler_info(n_workers=-1)["workers"])
        for address in [a for a in self.holders if a not in alive]:
            self.holders.pop(address)[0].release()
        self.where = []
        for future in self.futures:
            addresses = sorted(placed[future.key])
            self.where.append(next((a for a in addresses if a in self.holders), addresses[0]))

    def _method(self, address: str, name: str):
        """The holder's method on the worker at ``address``, starting a holder there first if need be."""
        if address in self.holders and self.holders[address][0].status != "finished":
            self.holders.pop(address)[0].release()  # its worker was lost: a fresh holder for the fresh chunks
        if address not in self.holders:
            future = self.client.submit(Holder, actor=True, workers=[address], allow_other_workers=True,
                                        pure=False)
            actor = future.result(timeout=30)
            if actor._address != address:  # that worker left before the holder started
                future.release()
                raise _Relocated(address)
            self.holders[address] = (future, actor)
        try:
            return getattr(self.holders[address][1], name)
        except RuntimeError as error:  # "Worker holding Actor was lost", between the check above and here
            raise _Relocated(address) from error


def _rows(pieces, positions) -> int:
    """Rows of the given pieces (a (start, stop) pair or an array of row numbers each)."""
    return sum(rows[1] - rows[0] if isinstance(rows, tuple) else len(rows)
               for rows in (pieces[p][1] for p in positions))


class _Relocated(Exception):
    """A chunk or a holder is not where the client thought: look again."""


def open_chunks(X, y, spec: Spec, client):
    """The store for this scheduler: on the workers with a distributed Client, else in this process."""
    return LocalChunks(X, y, spec) if client is None else WorkerChunks(X, y, spec, client)
