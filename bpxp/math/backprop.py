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

The code carries Gˡ = δˡ/m rather than δˡ: the recursion is linear, so the 1/m is applied once, to the output
layer, instead of twice per layer. ``gradients`` hands the learner the per-sample δˡ = m·Gˡ.

Every step is a batched matrix product or an elementwise operation: there is no loop over samples. The
functions here are pure: they return new arrays and never modify their arguments.

The Python lists are 0-based: ``weights[0]`` is W¹, ``activations[0]`` is A⁰ = X, ``deltas[0]`` is δ¹.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..backend.fast import column_sums
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


def forward_pass(X: Any, weights, biases, activations: tuple[Activation, ...], *, xp: Any, output: bool = True):
    """Run the network forward.

    Returns
    -------
    A : list of arrays
        A⁰ = X, A¹, …, Aᴸ = Ŷ; without Aᴸ when ``output=False`` (the training step lets the loss compute Ŷ,
        sharing its work with the loss).
    Z : array, shape (m, n_L)
        The output layer's pre-activation Zᴸ (the losses use it for numerically stable logs).
    """
    A = [X]
    last = len(weights) - 1
    for layer, (W, f) in enumerate(zip(weights, activations)):
        Z = A[-1] @ W
        if biases is not None:
            Z += biases[layer]  # Z is a fresh array: adding in place saves an allocation (new array on JAX)
        if layer < last:
            A.append(f.forward_reusing(Z, xp=xp))  # Z is fresh and not kept: Aˡ may take its memory
        elif output:
            A.append(f.forward(Z, xp=xp))  # Zᴸ is returned too
    return A, Z


def backward_pass(A: list[Any], G: Any, weights, activations: tuple[Activation, ...], *, with_biases: bool,
                  keep: bool, xp: Any):
    """Carry the error back from the output layer and form the gradients.

    ``G`` is the output layer's δᴸ/m (the batch-mean error), so that every gradient is a plain product:
    ∂L/∂Wˡ = Aˡ⁻¹ᵀ·Gˡ, ∂L/∂bˡ = Σᵢ Gˡᵢ, and Gˡ⁻¹ = (Gˡ·Wˡᵀ) ⊙ fˡ⁻¹′.

    Returns (dW, db or None, [G¹ … Gᴸ] when ``keep`` else None).
    """
    n_layers = len(weights)
    dW, db = [None] * n_layers, [None] * n_layers
    kept = [None] * n_layers if keep else None
    for layer in range(n_layers - 1, -1, -1):
        if keep:
            kept[layer] = G
        dW[layer] = A[layer].T @ G
        if with_biases:
            db[layer] = column_sums(G, xp=xp)
        if layer > 0:
            G = activations[layer - 1].backward_reusing(G @ weights[layer].T, A[layer], xp=xp)  # a fresh product
    return dW, db if with_biases else None, kept


def gradient_sums(X: Any, Y: Any, weights, biases, activations: tuple[Activation, ...], loss: Loss,
                  *, xp: Any) -> tuple[list, list | None, Any]:
    """Forward then backward on a block of rows, unscaled: (Σᵢ ∂ℓᵢ/∂Wˡ, Σᵢ ∂ℓᵢ/∂bˡ or None, Σᵢ ℓᵢ).

    Sums over disjoint blocks add up to the sums over their union, so a batch's gradient is the sum of its
    blocks' sums divided by its rows — how ``bpxp.dask.chunks`` trains on Dask chunks.
    """
    A, Z = forward_pass(X, weights, biases, activations, xp=xp, output=False)
    _, total, G = loss.output(Y, Z, activations[-1], scale=1.0, xp=xp)
    dW, db, _ = backward_pass(A, G, weights, activations, with_biases=biases is not None, keep=False, xp=xp)
    return dW, db, total


def gradients(X: Any, Y: Any, weights, biases, activations: tuple[Activation, ...], loss: Loss,
              *, xp: Any) -> Gradients:
    """Forward then backward on one batch: ∂L/∂Wˡ, ∂L/∂bˡ, the per-sample δˡ and L."""
    m = X.shape[0]
    A, Z = forward_pass(X, weights, biases, activations, xp=xp, output=False)
    Y_hat, total, G = loss.output(Y, Z, activations[-1], scale=1.0 / m, xp=xp)
    dW, db, kept = backward_pass(A, G, weights, activations, with_biases=biases is not None, keep=True, xp=xp)
    return Gradients(dW, db, [G * m for G in kept], [*A, Y_hat], total / m)
