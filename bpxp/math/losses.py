"""Losses L = (1/m)·Σᵢ ℓᵢ over a batch of m samples, and the output layer's error term δᴸ = ∂ℓᵢ/∂Zᴸ.

Y and the output Ŷ = Aᴸ = f(Zᴸ) have shape (m, k). The per-sample δ is what the tutorials print; the batch
gradient is ∂L/∂Wᴸ = Aᴸ⁻¹ᵀ·δᴸ / m.

=======================  ======================================  ==========================  =============
name                     ℓᵢ                                      δᴸ                          output
=======================  ======================================  ==========================  =============
mse                      (1/2k)·Σₖ (ŷₖ − yₖ)²                   f′ ⊙ (Ŷ − Y)/k              any
binary_cross_entropy     −Σₖ [yₖ log ŷₖ + (1−yₖ) log(1−ŷₖ)]      Ŷ − Y (fused with σ)        sigmoid
cross_entropy            −Σₖ yₖ log ŷₖ                           Ŷ − Y (fused with softmax)  softmax
poisson                  Σₖ [yₖ log(yₖ/ŷₖ) − yₖ + ŷₖ]            Ŷ − Y (fused with eᶻ)       exp
=======================  ======================================  ==========================  =============

Sample weights wᵢ (``weights``, shape (m, 1)) turn the sum into Σᵢ wᵢ·ℓᵢ and δᴸ into wᵢ·δᴸ; the caller divides by
Σᵢ wᵢ instead of m, so the loss is the weighted mean of the per-sample losses (scikit-learn's ``sample_weight``).

``mse`` is half the mean over all m·k elements, the convention of both seed tutorials and of scikit-learn.
The two cross-entropies are computed from the logits Zᴸ, so log(0) never happens and |z| = 1000 stays finite.

Each loss has two methods: :meth:`Loss.output` — Ŷ, Σᵢ ℓᵢ and ``scale``·δᴸ in one pass, sharing the work (the
training step calls it with scale = 1/m) — and :meth:`Loss.value`, the mean L of given outputs.
"""

from __future__ import annotations

from typing import Any

from ..backend.fast import inner, row_sums, softplus
from .activations import Activation, log_softmax, shifted_exp


def _times(scale: Any, D: Any) -> Any:
    """s·D, the product skipped where s is the number 1 (a traced or array s — JAX's η — is always applied)."""
    return D if isinstance(scale, int | float) and scale == 1.0 else D * scale


def l2_penalty(weights, *, xp: Any) -> Any:
    """½·Σₗ‖Wˡ‖² (a 0-d array): the L2 penalty before its factor α/m; biases are not penalised."""
    return 0.5 * sum(inner(W, W, xp=xp) for W in weights)


class Loss:
    """A loss: :meth:`output` for training and backprop, :meth:`value` for evaluation."""

    name = ""
    required_output: str | None = None  # the output activation a fused δ needs

    def output(self, Y: Any, Z: Any, f: Activation, *, scale: float, xp: Any,
               weights: Any = None):  # pragma: no cover - abstract
        """Return (Ŷ = f(Z), Σᵢ ℓᵢ as a 0-d array, scale·δᴸ).

        With ``weights`` w (m, 1): (Ŷ, Σᵢ wᵢ·ℓᵢ, scale·w⊙δᴸ).
        """
        raise NotImplementedError

    def value(self, Y: Any, A: Any, Z: Any, *, xp: Any) -> Any:  # pragma: no cover - abstract
        """L = (1/m)·Σᵢ ℓᵢ for outputs A = f(Z)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MeanSquaredError(Loss):
    """Σᵢ ℓᵢ = (1/2k)·Σᵢₖ (ŷ − y)²; δᴸ = f′(Zᴸ) ⊙ (Ŷ − Y)/k."""

    name = "mse"

    def output(self, Y, Z, f, *, scale, xp, weights=None):
        A = f.forward(Z, xp=xp)
        D = A - Y
        k = Y.shape[1]
        factor = scale / k
        if weights is not None:
            return A, (0.5 / k) * xp.sum(weights * (D * D)), f.backward((weights * factor) * D, A, xp=xp)
        return A, (0.5 / k) * inner(D, D, xp=xp), f.backward(_times(factor, D), A, xp=xp)

    def value(self, Y, A, Z, *, xp):
        D = A - Y
        return 0.5 * xp.mean(D * D)


def _binary_cross_entropy_total(Y, Z, *, xp, weights=None):
    """Σᵢₖ [log(1 + eᶻ) − z·y] = −Σᵢₖ [y log σ(z) + (1 − y) log(1 − σ(z))].

    log(1 + eᶻ) is ``logaddexp(0, z)``, which every library computes without overflow (1000 at z = 1000)
    (``bpxp.backend.fast.softplus``).
    """
    losses = softplus(Z, xp=xp) - Z * Y
    return xp.sum(losses if weights is None else weights * losses)


class BinaryCrossEntropy(Loss):
    """Σᵢ ℓᵢ from the logits (see :func:`_binary_cross_entropy_total`); with σ output, δᴸ = Ŷ − Y."""

    name = "binary_cross_entropy"
    required_output = "sigmoid"

    def output(self, Y, Z, f, *, scale, xp, weights=None):
        A = f.forward(Z, xp=xp)
        D = A - Y
        if weights is not None:
            return A, _binary_cross_entropy_total(Y, Z, xp=xp, weights=weights), (weights * scale) * D
        return A, _binary_cross_entropy_total(Y, Z, xp=xp), _times(scale, D)

    def value(self, Y, A, Z, *, xp):
        return _binary_cross_entropy_total(Y, Z, xp=xp) / Y.shape[0]


class CrossEntropy(Loss):
    """Σᵢ ℓᵢ = −Σᵢₖ y·log softmax(z) = Σᵢₖ y·(log Σⱼ e^{Sⱼ} − Sₖ), S = z − max z; with softmax, δᴸ = Ŷ − Y."""

    name = "cross_entropy"
    required_output = "softmax"

    def output(self, Y, Z, f, *, scale, xp, weights=None):
        S, E = shifted_exp(Z, xp=xp)
        sums = row_sums(E, xp=xp)
        A = E / sums  # the softmax, computed as Softmax.forward does
        D = A - Y
        if weights is not None:
            return A, xp.sum(weights * (Y * (xp.log(sums) - S))), (weights * scale) * D
        return A, inner(Y, xp.log(sums) - S, xp=xp), _times(scale, D)

    def value(self, Y, A, Z, *, xp):
        return -xp.sum(Y * log_softmax(Z, xp=xp)) / Y.shape[0]


def _poisson_deviances(Y, A, Z, *, xp):
    """½ Poisson deviance per element, y·log(y/ŷ) − y + ŷ with ŷ = eᶻ: y·log y − y·z − y + ŷ (0·log 0 = 0)."""
    y_log_y = xp.where(Y > 0.0, Y * xp.log(xp.where(Y > 0.0, Y, 1.0)), 0.0)
    return y_log_y - Y * Z - Y + A


class Poisson(Loss):
    """Σᵢ ℓᵢ = Σᵢₖ [y log(y/ŷ) − y + ŷ] with ŷ = eᶻ (half the Poisson deviance); with the exp output, δᴸ = Ŷ − Y.

    For counts y ≥ 0; the log link keeps ŷ positive. scikit-learn's ``MLPRegressor(loss='poisson')``.
    """

    name = "poisson"
    required_output = "exp"

    def output(self, Y, Z, f, *, scale, xp, weights=None):
        A = f.forward(Z, xp=xp)
        D = A - Y
        deviances = _poisson_deviances(Y, A, Z, xp=xp)
        if weights is not None:
            return A, xp.sum(weights * deviances), (weights * scale) * D
        return A, xp.sum(deviances), _times(scale, D)

    def value(self, Y, A, Z, *, xp):
        return xp.sum(_poisson_deviances(Y, A, Z, xp=xp)) / Y.shape[0]


LOSSES: dict[str, Loss] = {loss.name: loss for loss in (MeanSquaredError(), BinaryCrossEntropy(), CrossEntropy(),
                                                        Poisson())}


def get_loss(name: Any, *, output: str) -> Loss:
    """Look a loss up by name and check that it fits the output activation."""
    if not isinstance(name, str) or name not in LOSSES:
        raise ValueError(f"`loss` must be one of {list(LOSSES)}, got {name!r}")
    loss = LOSSES[name]
    if loss.required_output is not None and output != loss.required_output:
        raise ValueError(f"`loss` {name!r} needs `output` {loss.required_output!r} (its δ = Ŷ − Y is fused "
                         f"with that activation), got `output` {output!r}")
    return loss
