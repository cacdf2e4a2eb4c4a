"""Activation functions f and their backward passes, written once for every Array API namespace.

Each activation is a pair: ``forward(Z) → A = f(Z)`` and ``backward(G, A) → G ⊙ f′(Z)``, the vector-Jacobian
product that turns ∂ℓ/∂A into ∂ℓ/∂Z. Every f′ here is computed from the output A (as in the tutorials'
``sigmoid′ = A·(1 − A)``), so the forward pass never has to keep Z.

``forward_reusing`` and ``backward_reusing`` compute the same for an input the caller made and needs no more
(``bpxp.backprop`` passes its fresh Zˡ and Gˡ·Wˡᵀ): the result may take that input's memory, which only the
per-backend fast paths of ``bpxp.backend.fast`` use; by default they are ``forward`` and ``backward``.

Softmax is not elementwise: its backward is ``A ⊙ (G − Σₖ G ⊙ A)`` along each row, and it is allowed as the
output activation only.
"""

from __future__ import annotations

from typing import Any

from ..backend import fast as _fast

LEAKY_SLOPE = 0.01


class Activation:
    """An activation f with its backward pass; subclasses implement :meth:`forward` and :meth:`backward`."""

    name = ""
    hidden_allowed = True

    def forward(self, Z: Any, *, xp: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, G: Any, A: Any, *, xp: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward_reusing(self, Z: Any, *, xp: Any) -> Any:
        """:meth:`forward` for a Z the caller made and needs no more: the result may live in Z's memory."""
        return self.forward(Z, xp=xp)

    def backward_reusing(self, G: Any, A: Any, *, xp: Any) -> Any:
        """:meth:`backward` for a G the caller made and needs no more: the result may live in G's memory."""
        return self.backward(G, A, xp=xp)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Sigmoid(Activation):
    """σ(z) = 1 / (1 + e⁻ᶻ), computed as ½·tanh(z/2) + ½; σ′ = A·(1 − A).

    The tanh form is the same function, never overflows (``|z| = 1000`` gives 0 or 1 with no warning) and costs
    as few operations as the textbook form. Both directions go through ``bpxp.backend.fast``, which uses a backend's
    fused kernel (or NumPy's in-place forms, for arrays the training step owns) where that was measured faster,
    and exactly these formulas elsewhere.
    """

    name = "sigmoid"

    def forward(self, Z, *, xp):
        return _fast.sigmoid(Z, xp=xp)

    def backward(self, G, A, *, xp):
        return _fast.sigmoid_backward(G, A, xp=xp)

    def forward_reusing(self, Z, *, xp):
        return _fast.sigmoid(Z, xp=xp, overwrite=True)

    def backward_reusing(self, G, A, *, xp):
        return _fast.sigmoid_backward(G, A, xp=xp, overwrite=True)


class Tanh(Activation):
    """tanh(z); tanh′ = 1 − A²."""

    name = "tanh"

    def forward(self, Z, *, xp):
        return xp.tanh(Z)

    def backward(self, G, A, *, xp):
        return G * (1.0 - A * A)


class ReLU(Activation):
    """max(z, 0); relu′ = [A > 0] (1 where A > 0, else 0): G ⊙ [A > 0] (through ``bpxp.backend.fast``)."""

    name = "relu"

    def forward(self, Z, *, xp):
        return _fast.relu(Z, xp=xp)

    def backward(self, G, A, *, xp):
        return _fast.relu_backward(G, A, xp=xp)

    def forward_reusing(self, Z, *, xp):
        return _fast.relu(Z, xp=xp, overwrite=True)

    def backward_reusing(self, G, A, *, xp):
        return _fast.relu_backward(G, A, xp=xp, overwrite=True)


class LeakyReLU(Activation):
    """max(z, 0.01·z); its derivative is 1 where A > 0 (exactly where Z > 0), else 0.01."""

    name = "leaky_relu"

    def forward(self, Z, *, xp):
        return xp.maximum(Z, LEAKY_SLOPE * Z)

    def backward(self, G, A, *, xp):
        return G * (LEAKY_SLOPE + (1.0 - LEAKY_SLOPE) * xp.astype(A > 0, G.dtype))


class Identity(Activation):
    """f(z) = z; f′ = 1, so the backward pass hands G through unchanged."""

    name = "identity"

    def forward(self, Z, *, xp):
        return Z

    def backward(self, G, A, *, xp):
        return G


class Exp(Activation):
    """f(z) = eᶻ, the log link of a Poisson output; f′ = A. Output layer only (it is what ``poisson`` needs)."""

    name = "exp"
    hidden_allowed = False

    def forward(self, Z, *, xp):
        return xp.exp(Z)

    def backward(self, G, A, *, xp):
        return G * A


def log_softmax(Z, *, xp):
    """log softmax(z) = z − max z − log Σⱼ e^{zⱼ − max z}, per row: finite for any finite z."""
    S = Z - _fast.row_max(Z, xp=xp)
    return S - xp.log(_fast.row_sums(xp.exp(S), xp=xp))


def shifted_exp(Z, *, xp):
    """S = z − max z and E = e^S per row (every E ≤ 1, the row's largest = 1): the stable core of softmax."""
    S = Z - _fast.row_max(Z, xp=xp)
    return S, xp.exp(S)


class Softmax(Activation):
    """softmaxₖ(z) = e^{Sₖ} / Σⱼ e^{Sⱼ} with S = z − max z, per row; backward A ⊙ (G − Σₖ Gₖ·Aₖ)."""

    name = "softmax"
    hidden_allowed = False

    def forward(self, Z, *, xp):
        _, E = shifted_exp(Z, xp=xp)
        return E / _fast.row_sums(E, xp=xp)

    def backward(self, G, A, *, xp):
        return A * (G - _fast.row_sums(G * A, xp=xp))


ACTIVATIONS: dict[str, Activation] = {
    a.name: a for a in (Sigmoid(), Tanh(), ReLU(), LeakyReLU(), Identity(), Softmax(), Exp())
}
HIDDEN_ACTIVATIONS = tuple(name for name, a in ACTIVATIONS.items() if a.hidden_allowed)


def get_activation(name: Any, *, argument: str = "activation", hidden: bool = False) -> Activation:
    """Look an activation up by name; the error lists the valid names for that place."""
    valid = HIDDEN_ACTIVATIONS if hidden else tuple(ACTIVATIONS)
    if not isinstance(name, str) or name not in valid:
        extra = " (softmax is for the output layer only)" if name == "softmax" else ""
        raise ValueError(f"`{argument}` must be one of {list(valid)}, got {name!r}{extra}")
    return ACTIVATIONS[name]
