"""What training does when something goes wrong: non-finite numbers, Ctrl-C, an error mid-epoch.

Once per epoch, inside the epoch's one host read, training checks that the loss and every parameter are finite
with a probe that runs the parameters on a row of ones and sums the result with weight zero:

    c = Σᵢ ℓᵢ + ((1ᵀW¹ + b¹)W² + b² … Wᴸ + bᴸ)·0

NaN and ±inf survive products and sums (0·inf and 0·NaN are NaN, inf − inf is NaN), so c is finite exactly when
the loss and every parameter are — or when huge finite parameters overflow the probe, which ``run`` then rules
out with an exact check (``exactly_finite``, only then). Otherwise c equals the summed loss, so the check costs
2L + 2 small array operations per epoch and no extra read.

The training step updates the parameters in place, except each epoch's first step, which writes new arrays:
the previous epoch's parameters stay intact, and the last finite epoch is kept by reference rather than copied
— one more set of parameters in memory, no copying time. ``fit(..., snapshot=False)`` trades it away.
"""

from __future__ import annotations

from typing import Any

import array_api_compat


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


def finite_probes(weights: tuple, *, xp: Any) -> tuple[Any, Any]:
    """The probe's row of ones (n₀,) and column of zeros (n_L,) for :func:`finite_check`, made once per fit."""
    first, last = weights[0], weights[-1]
    device = array_api_compat.device(first)
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
    return all(bool(xp.all(xp.isfinite(p))) for p in parameters)
