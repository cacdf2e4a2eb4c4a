"""A fit reads the device on the host once per epoch — or once per compiled chunk of epochs — and never per step.

A host read (``float(x)``, ``bool(x)``, ``.item()``, ``.tolist()``, ``.numpy()``, ``np.asarray(x)``,
``bpxp.to_numpy``) waits for the device to finish its queue: on a GPU, one per step would leave it idle between
steps and break the capture of a step as a CUDA graph. Here every such conversion of the backend's arrays is
counted while the training loop runs (``bpxp.training.loop.run``, the epochs after the inputs' checks):

- torch: the methods of ``torch.Tensor`` that hand a value to the host (``.cpu()`` counted only off the CPU);
- JAX: ``jax.Array``'s host value (``_value``, which ``float``, ``bool``, ``np.asarray`` and ``.tolist()`` go
  through) and its ``__array__``/``__dlpack__``;
- array-api-strict: its ``Array``'s conversions, on the default device and on ``device1``, which refuses implicit
  ones as a GPU array would;

and ``bpxp.to_numpy`` on all three (on a CPU, NumPy reads a JAX array through the buffer protocol, past
``__array__``). A read made inside another counts once. NumPy's arrays live on the host: nothing to count.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest

import bpxp
from bpxp.backend import compiled, epochs, namespaces
from bpxp.training import lbfgs, session

OPTIMIZERS = ["sgd", "momentum", "nesterov", "adam"]
TORCH_READS = ("item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__", "__complex__",
               "__array__", "__dlpack__")
STRICT_READS = ("__bool__", "__float__", "__int__", "__index__", "__complex__", "__array__", "__dlpack__", "tolist",
                "item")


class HostReads:
    """Counts host reads while ``counting`` is on; a read inside a read counts once."""

    def __init__(self):
        self.count, self.counting, self._depth = 0, False, 0

    def counted(self, method, *, when=lambda *args: True):
        def read(*args, **kwargs):
            if self.counting and self._depth == 0 and when(*args):
                self.count += 1
            self._depth += 1
            try:
                return method(*args, **kwargs)
            finally:
                self._depth -= 1
        return read

    def during(self, function):
        def counting(*args, **kwargs):
            self.counting = True
            try:
                return function(*args, **kwargs)
            finally:
                self.counting = False
        return counting


def _guard(monkeypatch, cls, names, reads: HostReads):
    for name in names:
        if hasattr(cls, name):
            monkeypatch.setattr(cls, name, reads.counted(getattr(cls, name)))


@pytest.fixture
def host_reads(backend, monkeypatch):
    """A :class:`HostReads` counting the backend's host reads during ``bpxp.training.loop.run``."""
    reads = HostReads()
    if backend.name == "torch":
        import torch

        _guard(monkeypatch, torch.Tensor, TORCH_READS, reads)
        monkeypatch.setattr(torch.Tensor, "cpu", reads.counted(torch.Tensor.cpu, when=lambda t: t.device.type != "cpu"))
    elif backend.name == "jax":
        from jax._src.array import ArrayImpl

        monkeypatch.setattr(ArrayImpl, "_value", property(reads.counted(ArrayImpl._value.fget)))
        _guard(monkeypatch, ArrayImpl, ("__array__", "__dlpack__"), reads)
    elif backend.name == "array_api_strict":
        from array_api_strict._array_object import Array

        _guard(monkeypatch, Array, STRICT_READS, reads)
    else:
        pytest.skip(f"{backend.name}: its arrays' conversions cannot be counted from Python (NumPy's are on the host)")
    to_numpy = reads.counted(namespaces.to_numpy)
    for module in (namespaces, epochs, lbfgs, bpxp):
        monkeypatch.setattr(module, "to_numpy", to_numpy)
    monkeypatch.setattr(session, "run", reads.during(session.run))
    return reads


def _data(n: int = 32):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    return X, (X @ np.array([1.0, 2.0, 3.0]))[:, None]


def _loop_reads(backend, host_reads, *, epochs_run: int, batch_size, **options) -> int:
    X, y = _data()
    X_device, Y_device = backend.asarray(X), backend.asarray(y)
    if options.pop("validation", False):
        options["validation_data"] = (X_device[:8, ...], Y_device[:8, ...])
    net = backend.mlp([3, 4, 1], hidden="tanh", output="identity", dtype="float64", random_state=0)
    before = host_reads.count
    history = net.fit(X_device, Y_device, epochs=epochs_run, batch_size=batch_size, learning_rate=1e-3, **options)
    assert history.epochs == epochs_run and not history.stopped_early
    return host_reads.count - before


def _in_chunks(backend) -> bool:
    """Whether a quiet fit's epochs run several per call (JAX), each call read once."""
    return compiled.compiles_epochs(backend.xp)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("clip_norm", [None, 1.0], ids=["unclipped", "clipped"])
def test_a_fit_reads_the_host_once_per_epoch_and_never_per_step(backend, host_reads, optimizer, clip_norm):
    for batch_size in (None, 4):  # one step per epoch, then eight
        reads = _loop_reads(backend, host_reads, epochs_run=5, batch_size=batch_size, optimizer=optimizer,
                            clip_norm=clip_norm, l2=0.01)
        assert reads == (1 if _in_chunks(backend) else 5), f"batch_size={batch_size}"


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_validation_and_early_stopping_add_one_read_per_epoch(backend, host_reads, optimizer):
    """The validation loss is the epoch's second read; early stopping's keep of the best epoch copies on the
    device. The epochs then run one per call on JAX too (the host judges each)."""
    for batch_size in (None, 4):
        reads = _loop_reads(backend, host_reads, epochs_run=5, batch_size=batch_size, optimizer=optimizer,
                            validation=True, early_stopping=50)
        assert reads == 5 * 2, f"batch_size={batch_size}"


def test_a_schedule_reads_nothing_more(backend, host_reads):
    """One read per epoch — and where epochs run in chunks (JAX), an adaptive schedule, whose η changes only at a
    plateau, one per chunk (these 4 epochs: one chunk, no plateau)."""
    for schedule in ("invscaling", "adaptive"):
        reads = _loop_reads(backend, host_reads, epochs_run=4, batch_size=4, optimizer="sgd",
                            learning_rate_schedule=schedule)
        assert reads == (1 if schedule == "adaptive" and _in_chunks(backend) else 4), schedule


def test_compiled_chunks_read_once_each(backend, host_reads, monkeypatch):
    if not _in_chunks(backend):
        pytest.skip("epochs run one per call here")
    monkeypatch.setattr(compiled, "EPOCHS_PER_CALL", 3)  # 7 epochs: chunks of 3, 3, 1
    reads = _loop_reads(backend, host_reads, epochs_run=7, batch_size=4, optimizer="adam")
    assert reads == math.ceil(7 / 3)


def test_the_counter_sees_a_read_per_step(backend, host_reads, monkeypatch):
    """The counter itself: a step that read its loss on the host would be seen once per step."""
    if _in_chunks(backend):
        pytest.skip("JAX traces the step: a host read inside it fails to compile instead")
    make = epochs.EagerEpochs.epoch

    def reading_every_step(driver, parameters, learning_rate):
        run = make(driver, parameters, learning_rate)
        with contextlib.suppress(TypeError):
            for _ in range(driver.batches.count):
                float(run[1])
        return run

    monkeypatch.setattr(epochs.EagerEpochs, "epoch", reading_every_step)
    assert _loop_reads(backend, host_reads, epochs_run=2, batch_size=4, optimizer="sgd") == 2 + 2 * 8


@pytest.mark.parametrize("options", [{}, {"validation": True, "early_stopping": 50}], ids=["quiet", "validated"])
def test_on_jax_the_loop_reads_only_on_purpose_under_a_transfer_guard(backend, monkeypatch, options):
    """JAX's own guard: implicit device→host transfers raise inside the loop; its reads go through
    ``bpxp.backend.namespaces.host_float``/``to_numpy``, which allow theirs. JAX guards transfers between distinct
    memories, so on the CPU this passes whatever the loop does: it is the GPU variant (jax-gpu) that proves it, and
    the counting tests above that prove it here."""
    if backend.name != "jax":
        pytest.skip("jax.transfer_guard is JAX's")
    import jax

    def guarded(function):
        def run(*args, **kwargs):
            with jax.transfer_guard_device_to_host("disallow"):
                return function(*args, **kwargs)
        return run

    monkeypatch.setattr(session, "run", guarded(session.run))
    X, y = _data()
    X_device, Y_device = backend.asarray(X), backend.asarray(y)
    options = dict(options)
    if options.pop("validation", False):
        options["validation_data"] = (X_device[:8, ...], Y_device[:8, ...])
    net = backend.mlp([3, 4, 1], hidden="tanh", output="identity", dtype="float64", random_state=0)
    history = net.fit(X_device, Y_device, epochs=5, batch_size=4, learning_rate=1e-3, optimizer="adam",
                      clip_norm=1.0, **options)
    assert history.epochs == 5
