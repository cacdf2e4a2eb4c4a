"""What training does when something goes wrong: non-finite numbers, Ctrl-C, an error mid-epoch.

Once per epoch, inside the epoch's one host read, training checks that the loss and every parameter are finite
with a probe that runs the parameters on a row of ones and sums the result with weight zero:

    c = Σᵢ ℓᵢ + ((1ᵀW¹ + b¹)W² + b² … Wᴸ + bᴸ)·0

NaN and ±inf survive products and sums (0·inf and 0·NaN are NaN, inf − inf is NaN), so c is finite exactly when
the loss and every parameter are — or when huge finite parameters overflow the probe, which ``run`` then rules
out with an exact check (``exactly_finite``, only then). Otherwise c equals the summed loss, so the check costs
2L + 2 small array operations per epoch and no extra read.

The training step updates the parameters in place, except each epoch's first step, which writes new arrays:
the previous epochs' parameters stay intact and are kept by reference rather than copied — no copying time.
After a divergence the network holds the parameters the last finite loss was measured at: those the last
finite epoch started from, since the parameters its updates left may already give a non-finite loss (the
diverged epoch's loss is theirs); when only the updates, not the loss, went non-finite, those the diverged epoch
started from. That is two more sets of parameters in memory; ``fit(..., snapshot=False)`` trades them away.

How training ended, when not normally, is said here and only here (:func:`report` for ``MLP.fit`` and the Dask
driver, ``report_estimator_*`` in scikit-learn's wording for the estimators).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import warnings
from collections.abc import Iterator
from typing import Any

from ..backend.namespaces import device_of, host_float


class TrainingDiverged(ArithmeticError, ValueError):
    """Training produced a non-finite loss or non-finite weights.

    Both an ArithmeticError and a ValueError, so code written for scikit-learn's estimators (which raise
    ValueError) catches it too.

    Attributes
    ----------
    epoch : int
        0-based epoch whose loss, validation loss or weights were not finite.
    last_finite_loss : float or None
        Training loss of the last finite epoch (None when the first epoch already diverged).
    history : bpxp.History
        The epochs before the divergence; ``history.kept_epoch`` is the epoch whose weights the network holds.
    """

    def __init__(self, message: str, *, epoch: int, last_finite_loss: float | None, history: Any):
        super().__init__(message)
        self.epoch, self.last_finite_loss, self.history = epoch, last_finite_loss, history


class DivergenceWarning(RuntimeWarning):
    """``fit(..., on_divergence='warn')``: training stopped early because it diverged."""


class InterruptedWarning(UserWarning):
    """``fit`` was interrupted (Ctrl-C) and returned the weights of the last completed epoch."""


class FinishedRunWarning(UserWarning):
    """``fit(resume=...)`` found a run that had finished: nothing trained, the network keeps what the run kept."""


class _HeldBack:
    """The SIGINT handler while interrupts are deferred: it notes the Ctrl-C instead of raising."""

    def __init__(self):
        self.caught = False

    def __call__(self, signum, frame):
        self.caught = True


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold back Ctrl-C (SIGINT) while the block runs — a checkpoint's write and rename, which a
    KeyboardInterrupt must not cut in half — and deliver it as the block ends: KeyboardInterrupt (or the handler
    that was in place). Nested blocks defer to the outermost; off the main thread (where no handler can be set)
    the block runs as it is."""
    if threading.current_thread() is not threading.main_thread() \
            or isinstance(signal.getsignal(signal.SIGINT), _HeldBack):
        yield
        return
    held = _HeldBack()
    previous = signal.signal(signal.SIGINT, held)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if held.caught:
        if callable(previous) and previous is not signal.default_int_handler:
            previous(signal.SIGINT, None)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt


def finite_probes(weights: tuple, *, xp: Any) -> tuple[Any, Any]:
    """The probe's row of ones (n₀,) and column of zeros (n_L,) for :func:`finite_check`, made once per fit."""
    first, last = weights[0], weights[-1]
    device = device_of(first)
    return (xp.ones((first.shape[0],), dtype=first.dtype, device=device),
            xp.zeros((last.shape[1],), dtype=last.dtype, device=device))


def finite_check(total: Any, weights: tuple, biases: tuple | None, probes: tuple, *, xp: Any) -> Any:
    """c = Σℓ + ((1ᵀW¹ + b¹)W² … + bᴸ)·0: finite iff the loss and the parameters are (see the module notes)."""
    ones, zeros = probes
    v = ones
    for layer, W in enumerate(weights):
        v = v @ W
        if biases is not None:
            v = v + biases[layer]
    return total + v @ zeros


def exactly_finite(parameters: tuple, *, xp: Any) -> bool:
    """Whether every element of every parameter is finite (one host read per array: for the rare doubtful case)."""
    return all(host_float(xp.all(xp.isfinite(p))) != 0 for p in parameters)


# -- saying how training ended: the one place, for MLP.fit, the Dask driver and the estimators --------------------
def report(history: Any, *, on_divergence: str, snapshot: bool, stacklevel: int = 4) -> None:
    """Say how ``MLP.fit`` ended when it did not end normally: raise or warn on divergence, warn on Ctrl-C."""
    kept = "the weights it started with" if history.kept_epoch is None else f"the weights of epoch {history.kept_epoch}"
    if history.diverged_at is not None:
        last = history.loss[-1] if history.loss else None
        if snapshot:
            holds = f"the network keeps {kept}"
        else:
            holds = "the network holds the non-finite weights (snapshot=False keeps no copy)"
        message = (f"training diverged at epoch {history.diverged_at}: the loss or the weights became NaN or "
                   f"infinite (last finite loss: {'none' if last is None else f'{last:.6g}'}); {holds}. Try a "
                   f"smaller learning_rate, clip_norm=..., or standardised inputs")
        if on_divergence == "raise":
            raise TrainingDiverged(message, epoch=history.diverged_at, last_finite_loss=last, history=history)
        warnings.warn(message, DivergenceWarning, stacklevel=stacklevel)
    elif history.interrupted:
        holds = kept if snapshot else "the weights of the interrupted step (snapshot=False keeps no copy)"
        warnings.warn(f"training interrupted after {history.epochs} completed epochs; the network keeps {holds}",
                      InterruptedWarning, stacklevel=stacklevel)


def report_finished(path: Any, history: Any, epochs: int, *, stacklevel: int = 5) -> None:
    """Warn (:class:`FinishedRunWarning`) when the run resumed from ``path`` had finished (``History.finished``)."""
    reason = history.finished(epochs)
    if reason is not None:
        warnings.warn(f"`resume`: the run in {str(path)!r} had finished after {history.epochs} epochs ({reason}); "
                      f"nothing to resume: the network keeps the weights that run kept", FinishedRunWarning,
                      stacklevel=stacklevel)


# scikit-learn's wording, which its test suite and its users match
SOLVER_DIVERGED = ("Solver produced non-finite parameter weights. The input data may contain large values and need "
                   "to be preprocessed.")


def report_estimator_divergence(history: Any, *, epoch: int, last_loss: float | None, stop: bool,
                                stacklevel: int = 5) -> None:
    """An estimator's epoch ``epoch`` (0-based) diverged: warn that training stops (``stop``: under early
    stopping, keeping the best epoch), else raise TrainingDiverged (the network keeps the weights whose loss was
    last finite)."""
    if stop:
        warnings.warn(f"training diverged in epoch {epoch + 1} (non-finite loss or weights); stopping and keeping "
                      "the best epoch's weights", DivergenceWarning, stacklevel=stacklevel)
        return
    raise TrainingDiverged(
        f"{SOLVER_DIVERGED} Training diverged in epoch {epoch + 1}: the loss or the weights became NaN or "
        f"infinite (last finite loss: {'none' if last_loss is None else f'{last_loss:.6g}'}); the network keeps "
        "the weights whose loss was last finite. Try a smaller learning_rate_init, a larger alpha, or standardised "
        "inputs", epoch=epoch, last_finite_loss=last_loss, history=history)


def report_estimator_interruption(epochs: int, *, kept: str, stacklevel: int = 5) -> None:
    """An estimator's fit was interrupted (Ctrl-C) after ``epochs`` epochs; the network keeps the ``kept`` one."""
    warnings.warn(f"fit interrupted after {epochs} completed epochs; the network keeps the weights of the {kept} of "
                  "them", InterruptedWarning, stacklevel=stacklevel)


def check_finite_result(parameters: tuple, *, epoch: int, xp: Any) -> None:
    """After a full-batch solver: TrainingDiverged (scikit-learn's wording) unless every parameter is finite."""
    if not exactly_finite(parameters, xp=xp):
        raise TrainingDiverged(SOLVER_DIVERGED, epoch=epoch, last_finite_loss=None, history=None)
