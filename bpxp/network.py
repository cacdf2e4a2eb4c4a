"""Forward pass and backpropagation for a multi-layer perceptron, written once for every Array API namespace.

Notation (the tutorials'), for a batch of m samples and layers l = 1 … L:

    X = A⁰         (m, n₀)      the inputs
    Wˡ             (nₗ₋₁, nₗ)   weights of layer l, so that Zˡ = Aˡ⁻¹·Wˡ + bˡ
    bˡ             (nₗ,)        biases (absent when the network has none)
    Aˡ = fˡ(Zˡ)    (m, nₗ)      activations; Ŷ = Aᴸ
    δˡ = ∂ℓᵢ/∂Zˡ   (m, nₗ)      the per-sample error term of layer l

Backpropagation:

    δᴸ = ∂ℓᵢ/∂Zᴸ                          from the loss (see ``bpxp.losses``)
    δˡ = (δˡ⁺¹ · Wˡ⁺¹ᵀ) ⊙ fˡ′(Zˡ)          the error carried back one layer
    ∂L/∂Wˡ = Aˡ⁻¹ᵀ · δˡ / m                ∂L/∂bˡ = Σᵢ δˡᵢ / m

Every step is a batched matrix product or an elementwise operation: there is no loop over samples. The
functions here are pure: they return new arrays and never modify their arguments.

The Python lists are 0-based: ``weights[0]`` is W¹, ``activations[0]`` is A⁰ = X, ``deltas[0]`` is δ¹.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .activations import Activation
from .losses import Loss


@dataclass(frozen=True)
class Gradients:
    """What one backward pass computes, layer by layer (lists indexed like ``net.weights``).

    Attributes
    ----------
    weights : list of arrays, shapes (nₗ₋₁, nₗ)
        ∂L/∂Wˡ.
    biases : list of arrays, shapes (nₗ,), or None
        ∂L/∂bˡ; None for a network without biases.
    deltas : list of arrays, shapes (m, nₗ)
        δˡ = ∂ℓᵢ/∂Zˡ per sample. In the admissions tutorial's words (which use the error y − ŷ rather than the
        gradient, hence the sign): its output error term is ``-deltas[-1]`` and its hidden one ``-deltas[0]``.
    activations : list of arrays, shapes (m, nₗ)
        A⁰ = X, A¹, …, Aᴸ = Ŷ from the forward pass.
    loss : 0-d array
        L on this batch, before any update.
    """

    weights: list[Any]
    biases: list[Any] | None
    deltas: list[Any]
    activations: list[Any]
    loss: Any


def forward_pass(X: Any, weights, biases, activations: tuple[Activation, ...], *, xp: Any):
    """Run the network forward.

    Returns
    -------
    A : list of arrays
        A⁰ = X, A¹, …, Aᴸ = Ŷ.
    Z : array, shape (m, n_L)
        The output layer's pre-activation Zᴸ (the losses use it for numerically stable logs).
    """
    A = [X]
    for layer, (W, f) in enumerate(zip(weights, activations)):
        Z = A[-1] @ W
        if biases is not None:
            Z = Z + biases[layer]
        A.append(f.forward(Z, xp=xp))
    return A, Z


def backward_pass(A: list[Any], Z: Any, Y: Any, weights, activations: tuple[Activation, ...], loss: Loss,
                  *, with_biases: bool, xp: Any) -> Gradients:
    """Carry the error terms back from the output layer and form the gradients.

    ``A`` and ``Z`` come from :func:`forward_pass`; ``Y`` has the output's shape (m, n_L).
    """
    m = A[0].shape[0]
    n_layers = len(weights)
    value, delta = loss.value_and_delta(Y, A[-1], Z, activations[-1], xp=xp)
    dW, db, deltas = [None] * n_layers, [None] * n_layers, [None] * n_layers
    for layer in range(n_layers - 1, -1, -1):
        deltas[layer] = delta
        dW[layer] = (A[layer].T @ delta) / m
        if with_biases:
            db[layer] = xp.sum(delta, axis=0) / m
        if layer > 0:
            delta = activations[layer - 1].backward(delta @ weights[layer].T, A[layer], xp=xp)
    return Gradients(dW, db if with_biases else None, deltas, A, value)


def gradients(X: Any, Y: Any, weights, biases, activations: tuple[Activation, ...], loss: Loss,
              *, xp: Any) -> Gradients:
    """Forward then backward on one batch: ∂L/∂Wˡ, ∂L/∂bˡ, δˡ and L."""
    A, Z = forward_pass(X, weights, biases, activations, xp=xp)
    return backward_pass(A, Z, Y, weights, activations, loss, with_biases=biases is not None, xp=xp)
