"""What training does when something goes wrong: non-finite numbers, Ctrl-C, an error mid-epoch.

Once per epoch, with the epoch's one host read, training checks that the loss and every parameter are finite:

    c = Σᵢ ℓᵢ + 0 · Σₚ Σ θₚ

is finite exactly when the epoch's summed loss and every parameter are (0 · ±inf and 0 · NaN are NaN) — or when
finite parameters are so large that their sum overflows, a divergence in all but name — and equals the summed loss
otherwise: the check costs one sum per parameter per epoch and no extra read.

The step updates the parameters in place (``bpxp._backend.subtract_in_place``), so the weights of the last
epoch that passed the check survive only as a copy: :class:`LastFinite` keeps one, written into preallocated
arrays after each verified epoch (on JAX, whose arrays never change, a reference).
It costs one copy of the parameters in memory; ``fit(..., snapshot=False)`` trades it away.
"""

from __future__ import annotations

from typing import Any

from ._backend import arrays_are_immutable


class TrainingDiverged(ArithmeticError):
    """Training produced a non-finite loss or non-finite weights.

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


def finite_check(total: Any, parameters: tuple, *, xp: Any) -> Any:
    """c = Σℓ + 0·Σₚ Σθₚ: finite iff the summed loss and every parameter are finite, and then equal to Σℓ."""
    sums = xp.sum(parameters[0])
    for p in parameters[1:]:
        sums = sums + xp.sum(p)
    return total + 0.0 * sums


class LastFinite:
    """The parameters of the last verified epoch, kept where in-place updates cannot reach them.

    Mutable arrays (NumPy, CuPy, PyTorch, array-api-strict) are copied into slots allocated once per fit
    (``slot[...] = θ``: no allocation, one memory copy per epoch); JAX arrays never change, so a reference is
    already a snapshot. With ``copies=False`` nothing is copied: the "kept" parameters are the live ones
    (``fit(snapshot=False)``).
    """

    def __init__(self, parameters: tuple, *, xp: Any, copies: bool):
        self.copies = copies and not arrays_are_immutable(xp)
        self.slots = tuple(xp.asarray(p, copy=True) for p in parameters) if self.copies else parameters
        self._copying: tuple | None = None

    def keep(self, parameters: tuple) -> None:
        """Remember ``parameters`` (copied into the slots where arrays are mutable)."""
        if not self.copies:
            self.slots = parameters
            return
        self._copying = parameters  # should Ctrl-C land mid-copy, the source is the same epoch, intact
        for slot, p in zip(self.slots, parameters):
            slot[...] = p
        self._copying = None

    @property
    def parameters(self) -> tuple:
        """The kept parameters (the source of an interrupted copy, which is the same epoch intact)."""
        return self._copying if self._copying is not None else self.slots
