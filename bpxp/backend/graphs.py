"""CUDA graphs: the training step captured once and replayed, for CuPy and torch on a CUDA device.

A small network's step on a GPU is ~40 kernel launches of a few microseconds each, issued one by one from Python:
launch overhead, not arithmetic, is its time. Captured once as a CUDA graph, the same kernels replay with one
launch. A graph reads and writes fixed memory, so :class:`GraphedStep` keeps *static* input buffers: each call
copies the batch (and any parameter not already in those buffers) into them and replays. One graph is captured
per input shape — one for full batches, one for a ragged last batch.

Capture can fail (an allocation the library cannot make while capturing, an operation that synchronises). And a
graph that replays wrong numbers would be worse than a slow one. So the first replay of each graph is checked
against the eager step on copies of the same inputs; on any failure :class:`GraphedStep` warns (once per process
and reason: :class:`GraphCaptureWarning`, saying why) and runs the eager step from then on — results as without
graphs.

The capture itself is the library's (:func:`capturer_for`); everything else here is plain Array API code,
tested on the CPU with stand-in capturers.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

from .namespaces import backend_name

_said: set[str] = set()  # the fallbacks already reported: each reason is said once per process


class GraphCaptureWarning(RuntimeWarning):
    """A training step could not be run as a CUDA graph; training continues with eager steps."""


class Capturer:
    """How one library records work as a replayable graph.

    ``capture(work)`` records ``work()`` (its arrays allocated during the recording are the graph's outputs) and
    returns ``replay``, which runs the recorded work again and returns those same output arrays.
    """

    name = "eager"

    def capture(self, work: Callable[[], Any]) -> Callable[[], Any]:
        return work


class TorchCudaCapturer(Capturer):
    """``torch.cuda.CUDAGraph``: captured on torch's capture stream, replayed on the current one."""

    name = "torch.cuda.CUDAGraph"

    def capture(self, work):
        import torch

        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            outputs = work()

        def replay():
            graph.replay()
            return outputs

        return replay


class CupyCapturer(Capturer):
    """CuPy's stream capture (``Stream.begin_capture``/``end_capture``) on a blocking stream, so that eager
    work on the default stream stays ordered with the replays."""

    name = "cupy stream capture"

    def capture(self, work):
        import cupy

        cupy.cuda.Device().synchronize()
        stream = cupy.cuda.Stream(non_blocking=False)
        with stream:
            stream.begin_capture()
            try:
                outputs = work()
            finally:
                graph = stream.end_capture()

        def replay():
            graph.launch(stream)
            return outputs

        return replay


def capturer_for(xp: Any, device: Any) -> Capturer | None:
    """The graph capturer for arrays of ``xp`` on ``device``: CuPy, torch on CUDA; None elsewhere (eager steps)."""
    name = backend_name(xp)
    if name == "cupy":
        return CupyCapturer()
    if name == "torch" and getattr(device, "type", None) == "cuda":
        return TorchCudaCapturer()
    return None


def _leaves(tree: Any) -> list:
    """The arrays of nested tuples/lists (None and numbers are not leaves)."""
    if isinstance(tree, tuple | list):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [] if tree is None or type(tree) in (int, float, bool) else [tree]


def _rebuild(tree: Any, leaves: iter) -> Any:
    if isinstance(tree, tuple | list):
        return type(tree)(_rebuild(item, leaves) for item in tree)
    return tree if tree is None or type(tree) in (int, float, bool) else next(leaves)


def _structure(tree: Any) -> Any:
    """What a graph is captured for: the nesting, shapes and dtypes of the inputs."""
    if isinstance(tree, tuple | list):
        return tuple(_structure(item) for item in tree)
    if tree is None or type(tree) in (int, float, bool):
        return tree
    return tuple(tree.shape), str(tree.dtype)


def _copies(tree: Any, xp: Any) -> Any:
    return _rebuild(tree, iter([xp.asarray(a, copy=True) for a in _leaves(tree)]))


class GraphedStep:
    """``step`` run as one captured graph per input structure, checked on its first replay, else eager.

    Called as ``step`` is, it returns what ``step`` returns (never mutating the caller's arrays: it works on its
    static buffers). With ``fresh_outputs`` (the epoch's last step) the outputs are copied out of the graph's
    memory, so that the epoch's parameters and check survive the next replays (the last finite epoch is kept).
    """

    def __init__(self, step: Callable, capturer: Capturer, *, xp: Any, fresh_outputs: bool = False):
        self.step, self.capturer, self.xp, self.fresh_outputs = step, capturer, xp, fresh_outputs
        self.graphs: dict[Any, tuple[list, Callable]] = {}  # structure -> (static input leaves, replay)
        self.eager_reason: str | None = None  # why the step runs eagerly, once decided

    def __call__(self, *args):
        if self.eager_reason is not None:
            return self.step(*args)
        key = _structure(args)
        if key not in self.graphs:
            return self._capture(key, args)
        static, replay = self.graphs[key]
        for buffer, given in zip(static, _leaves(args)):
            if buffer is not given:
                buffer[...] = given
        return self._out(replay())

    def _out(self, outputs):
        return _copies(outputs, self.xp) if self.fresh_outputs else outputs

    def _capture(self, key, args):
        expected = self.step(*_copies(args, self.xp))  # the eager step, on copies: the reference
        static_args = _copies(args, self.xp)
        try:
            replay = self.capturer.capture(lambda: self.step(*static_args))
            outputs = replay()
            differ = _first_difference(outputs, expected, xp=self.xp)
        except Exception as error:  # any failure to capture or replay means: eager steps
            differ = f"capture failed: {type(error).__name__}: {error}".splitlines()[0]
        if differ is not None:
            self.eager_reason = differ
            message = f"the training step runs eagerly ({self.capturer.name}): {differ}"
            reason = message.split(" (output ")[0]  # where and by how much may vary; the reason is said once
            if reason not in _said:
                _said.add(reason)
                warnings.warn(message, GraphCaptureWarning, stacklevel=3)
            return expected
        self.graphs[key] = (_leaves(static_args), replay)
        return self._out(outputs)


def _first_difference(outputs, expected, *, xp) -> str | None:
    """None when the graph's outputs equal the eager step's (float32 rounding allowed), else what differs."""
    got, want = _leaves(outputs), _leaves(expected)
    if _structure(outputs) != _structure(expected):
        return "the first replay returned other arrays than the eager step"
    for i, (a, b) in enumerate(zip(got, want)):
        tolerance = 1e-12 if "64" in str(b.dtype) else 1e-5
        scale = max(1.0, float(xp.max(xp.abs(b)))) if math.prod(b.shape) else 1.0
        same = (a == b) | (xp.isnan(a) & xp.isnan(b))  # a diverging step's NaN and inf agree too
        gap = float(xp.max(xp.where(same, 0.0, xp.abs(a - b)))) if math.prod(b.shape) else 0.0
        if not gap <= tolerance * scale:  # also catches NaN
            return f"the first replay differs from the eager step (output {i}: by {gap:.3g})"
    return None
