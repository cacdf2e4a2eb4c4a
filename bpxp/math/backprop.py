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

:func:`batch_gradients` is the one forward → loss → backward pass: the training step, the L-BFGS objective, the
Dask chunks and ``MLP.backward`` all take their gradients from it. :func:`dataset_loss` is the one loss L of given
parameters on data (evaluation, validation).

Every step is a batched matrix product or an elementwise operation: there is no loop over samples. The
functions here are pure: they return new arrays and never modify their arguments.

The Python lists are 0-based: ``weights[0]`` is W¹, ``activations[0]`` is A⁰ = X, ``deltas[0]`` is δ¹.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

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
    inputs : array, shape (m, n₀)
        ∂L/∂X = δ¹·W¹ᵀ / m, the gradient of the batch's loss with respect to its inputs (m·``inputs`` is the
        per-sample δ⁰ = ∂ℓᵢ/∂Xᵢ): which features the loss is most sensitive to, sample by sample. One product
        more than the gradients need; the training step never computes it.
    """

    weights: list[Any]
    biases: list[Any] | None
    deltas: list[Any]
    activations: list[Any]
    loss: Any
    inputs: Any = None


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


@dataclass(frozen=True)
class Terms:
    """How a batch's per-sample terms ℓᵢ and δᵢ enter :func:`batch_gradients`, and what it keeps of them.

    Attributes
    ----------
    scale : float or 0-d array
        s, the factor on every δ: 1 for sums over the rows, 1/m for the batch mean, η/m for a step of plain
        gradient descent with η folded into δ (``bpxp.training.step``).
    sample_weight : array, shape (m, 1), or None
        w: the loss becomes Σᵢ wᵢ·ℓᵢ and the output error s·wᵢ·δᴸᵢ (None: every wᵢ = 1).
    keep : bool
        Also return each layer's s·w⊙δˡ and the activations A⁰ … Aᴸ (what a learner prints).
    """

    scale: Any = 1.0
    sample_weight: Any = None
    keep: bool = False


class BatchGradients(NamedTuple):
    """What :func:`batch_gradients` returns (lists indexed like ``weights``).

    Attributes
    ----------
    loss : 0-d array
        Σᵢ wᵢ·ℓᵢ, the batch's loss total (not divided by m nor by Σᵢ wᵢ; unscaled by s).
    weights : list of arrays, shapes (nₗ₋₁, nₗ)
        Aˡ⁻¹ᵀ · Gˡ = s·Σᵢ wᵢ·∂ℓᵢ/∂Wˡ.
    biases : list of arrays, shapes (nₗ,), or None
        Σᵢ Gˡᵢ = s·Σᵢ wᵢ·∂ℓᵢ/∂bˡ; None for a network without biases.
    deltas : list of arrays, shapes (m, nₗ), or None
        Gˡ = s·w⊙δˡ of each layer, when kept (``Terms.keep``).
    activations : list of arrays, shapes (m, nₗ), or None
        A⁰ = X, A¹, …, Aᴸ = Ŷ, when kept.
    """

    loss: Any
    weights: list
    biases: list | None
    deltas: list | None = None
    activations: list | None = None


def batch_gradients(X: Any, Y: Any, weights, biases, activations: tuple[Activation, ...], loss: Loss, *, xp: Any,
                    terms: Terms = Terms()) -> BatchGradients:
    """Forward, the loss and its output error, backward: the one pass from which every gradient in bpxp comes.

    With s = ``terms.scale`` and wᵢ = ``terms.sample_weight`` (1 when None):

        Aˡ = fˡ(Aˡ⁻¹·Wˡ + bˡ)                  the forward pass, A⁰ = X
        Gᴸ = s·wᵢ·δᴸᵢ                          the output error, from the loss (fused with fᴸ)
        Gˡ = (Gˡ⁺¹ · Wˡ⁺¹ᵀ) ⊙ fˡ′(Zˡ)          carried back one layer
        Aˡ⁻¹ᵀ · Gˡ = s·Σᵢ wᵢ·∂ℓᵢ/∂Wˡ           Σᵢ Gˡᵢ = s·Σᵢ wᵢ·∂ℓᵢ/∂bˡ

    s = 1 gives sums, which add up over disjoint blocks of rows (Dask chunks, L-BFGS blocks); s = 1/m gives
    ∂L/∂Wˡ = Aˡ⁻¹ᵀ·δˡ/m; s = η/m gives η·∂L/∂Wˡ, a step of plain gradient descent ready to subtract.

    Examples
    --------
    >>> import numpy as np
    >>> from bpxp.math.activations import get_activation
    >>> from bpxp.math.losses import get_loss
    >>> X, Y = np.array([[1.0, 2.0]]), np.array([[1.0]])
    >>> f, mse = (get_activation("identity"),), get_loss("mse", output="identity")
    >>> sums = batch_gradients(X, Y, [np.array([[0.5], [0.5]])], None, f, mse, xp=np)
    >>> float(sums.loss), sums.weights[0].ravel().tolist()
    (0.125, [0.5, 1.0])
    """
    A, Z = forward_pass(X, weights, biases, activations, xp=xp, output=False)
    Y_hat, total, G = loss.output(Y, Z, activations[-1], scale=terms.scale, xp=xp, weights=terms.sample_weight)
    dW, db, kept = backward_pass(A, G, weights, activations, with_biases=biases is not None, keep=terms.keep,
                                 xp=xp)
    if terms.keep:
        return BatchGradients(total, dW, db, kept, [*A, Y_hat])
    return BatchGradients(total, dW, db)


def dataset_loss(X: Any, Y: Any, weights, biases, activations: tuple[Activation, ...], loss: Loss,
                 *, xp: Any) -> Any:
    """L = (1/m)·Σᵢ ℓᵢ of the given parameters on (X, Y), a 0-d array: a validation or evaluation loss.

    Examples
    --------
    >>> import numpy as np
    >>> from bpxp.math.activations import get_activation
    >>> from bpxp.math.losses import get_loss
    >>> f, mse = (get_activation("identity"),), get_loss("mse", output="identity")
    >>> float(dataset_loss(np.array([[1.0, 2.0]]), np.array([[1.0]]), [np.array([[0.5], [0.5]])], None, f, mse,
    ...                    xp=np))
    0.125
    """
    A, Z = forward_pass(X, weights, biases, activations, xp=xp)
    return loss.value(Y, A[-1], Z, xp=xp)


def gradient_sums(X: Any, Y: Any, weights, biases, activations: tuple[Activation, ...], loss: Loss,
                  *, xp: Any) -> tuple[list, list | None, Any]:
    """Forward then backward on a block of rows, unscaled: (Σᵢ ∂ℓᵢ/∂Wˡ, Σᵢ ∂ℓᵢ/∂bˡ or None, Σᵢ ℓᵢ).

    Sums over disjoint blocks add up to the sums over their union, so a batch's gradient is the sum of its
    blocks' sums divided by its rows — how ``bpxp.dask.chunks`` trains on Dask chunks.
    """
    sums = batch_gradients(X, Y, weights, biases, activations, loss, xp=xp)
    return sums.weights, sums.biases, sums.loss


def gradients(X: Any, Y: Any, weights, biases, activations: tuple[Activation, ...], loss: Loss,
              *, xp: Any) -> Gradients:
    """Forward then backward on one batch: ∂L/∂Wˡ, ∂L/∂bˡ, the per-sample δˡ, L and ∂L/∂X = G¹·W¹ᵀ."""
    m = X.shape[0]
    kept = batch_gradients(X, Y, weights, biases, activations, loss, xp=xp, terms=Terms(scale=1.0 / m, keep=True))
    return Gradients(kept.weights, kept.biases, [G * m for G in kept.deltas], kept.activations, kept.loss / m,
                     inputs=kept.deltas[0] @ weights[0].T)
