"""Losses L = (1/m)·Σᵢ ℓᵢ over a batch of m samples, and the output layer's error term δᴸ = ∂ℓᵢ/∂Zᴸ.

Y and the output Ŷ = Aᴸ have shape (m, k). The per-sample δ is what the tutorials print; the batch gradient
is ∂L/∂Wᴸ = Aᴸ⁻¹ᵀ·δᴸ / m.

=======================  ======================================  ==========================  =============
name                     ℓᵢ                                      δᴸ                          output
=======================  ======================================  ==========================  =============
mse                      (1/2k)·Σₖ (ŷₖ − yₖ)²                   f′ ⊙ (Ŷ − Y)/k              any
binary_cross_entropy     −Σₖ [yₖ log ŷₖ + (1−yₖ) log(1−ŷₖ)]      Ŷ − Y (fused with σ)        sigmoid
cross_entropy            −Σₖ yₖ log ŷₖ                           Ŷ − Y (fused with softmax)  softmax
=======================  ======================================  ==========================  =============

``mse`` is half the mean over all m·k elements, the convention of both seed tutorials and of scikit-learn.
The two cross-entropies are computed from the logits Zᴸ, so log(0) never happens and |z| = 1000 stays finite.
"""

from __future__ import annotations

from typing import Any

from .activations import Activation


class Loss:
    """A loss: :meth:`value` (the batch mean L) and :meth:`value_and_delta` (L and δᴸ, sharing work)."""

    name = ""
    required_output: str | None = None  # the output activation a fused δ needs
    is_classification = True

    def value(self, Y: Any, A: Any, Z: Any, *, xp: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def value_and_delta(self, Y, A, Z, output: Activation, *, xp):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MeanSquaredError(Loss):
    """L = ½·mean((Ŷ − Y)²) over all elements; δᴸ = f′(Zᴸ) ⊙ (Ŷ − Y)/k."""

    name = "mse"
    is_classification = False

    def value(self, Y, A, Z, *, xp):
        D = A - Y
        return 0.5 * xp.mean(D * D)

    def value_and_delta(self, Y, A, Z, output, *, xp):
        D = A - Y
        k = Y.shape[1]
        return 0.5 * xp.mean(D * D), output.backward(D if k == 1 else D * (1.0 / k), A, xp=xp)


class BinaryCrossEntropy(Loss):
    """L = −(1/m)·Σᵢₖ [y log σ(z) + (1−y) log(1−σ(z))] = (1/m)·Σᵢₖ [max(z,0) − z·y + log(1 + e^{−|z|})]."""

    name = "binary_cross_entropy"
    required_output = "sigmoid"

    def value(self, Y, A, Z, *, xp):
        per_element = xp.maximum(Z, 0.0) - Z * Y + xp.log1p(xp.exp(-xp.abs(Z)))
        return xp.sum(per_element) / Y.shape[0]

    def value_and_delta(self, Y, A, Z, output, *, xp):
        return self.value(Y, A, Z, xp=xp), A - Y


class CrossEntropy(Loss):
    """L = −(1/m)·Σᵢₖ y·log softmax(z), with log softmax(z) = z − max z − log Σ e^{z − max z}."""

    name = "cross_entropy"
    required_output = "softmax"

    def value(self, Y, A, Z, *, xp):
        S = Z - xp.max(Z, axis=1, keepdims=True)
        log_softmax = S - xp.log(xp.sum(xp.exp(S), axis=1, keepdims=True))
        return -xp.sum(Y * log_softmax) / Y.shape[0]

    def value_and_delta(self, Y, A, Z, output, *, xp):
        return self.value(Y, A, Z, xp=xp), A - Y


LOSSES: dict[str, Loss] = {loss.name: loss for loss in (MeanSquaredError(), BinaryCrossEntropy(), CrossEntropy())}


def get_loss(name: Any, *, output: str) -> Loss:
    """Look a loss up by name and check that it fits the output activation."""
    if not isinstance(name, str) or name not in LOSSES:
        raise ValueError(f"`loss` must be one of {list(LOSSES)}, got {name!r}")
    loss = LOSSES[name]
    if loss.required_output is not None and output != loss.required_output:
        raise ValueError(f"`loss` {name!r} needs `output` {loss.required_output!r} (its δ = Ŷ − Y is fused "
                         f"with that activation), got `output` {output!r}")
    return loss
