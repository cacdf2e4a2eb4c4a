"""The training step: forward, backward and the update for one batch, built once per architecture.

``step(weights, biases, state, total, X_batch, Y_batch, learning_rate=η) → (weights, biases, state, total)`` is
forward, backward (``bpxp.math.backprop``) and the update (``bpxp.math.optimizers.apply_update``), compiled once
where that pays (JAX). How an epoch drives it is the backend layer's (``bpxp.backend``); what an epoch's result
does to the fit is the loop's (``bpxp.training.loop``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..backend.namespaces import compile_step
from ..math.activations import Activation
from ..math.backprop import Terms, batch_gradients
from ..math.losses import Loss, l2_penalty
from ..math.optimizers import Optimizer, UpdateOptions, apply_update
from .recovery import finite_check


@dataclass(frozen=True)
class StepOptions:
    """What a training step adds to forward, backward and θ ← θ − η·d, and which variant of it is built.

    Hashable, as :func:`make_step` is cached on it.

    Attributes
    ----------
    l2 : float
        α: each batch's loss gains (α/2m)·Σₗ‖Wˡ‖², the weights' gradients (α/m)·Wˡ; biases are not penalised
        (scikit-learn's ``alpha``).
    clip_norm : float or None
        c: each batch's gradients (penalty included) are rescaled to a joint norm of at most c before the optimizer
        sees them (``bpxp.math.optimizers.clip_by_global_norm``).
    weighted : bool
        Y's last column holds sample weights wᵢ.
    in_place : bool
        Update the parameters and the optimizer state in place where the library allows; False returns new arrays
        and leaves the given ones untouched.
    checked : bool
        The epoch's last step: it also checks the new parameters (``bpxp.training.recovery.finite_check``).
    norms : bool
        The running total is a vector [Σℓ, ‖∂L/∂W¹‖, …, ‖∂L/∂Wᴸ‖]: each step adds its loss and each layer's
        gradient norm (``History.gradient_norms``), on the device.
    """

    l2: float = 0.0
    clip_norm: float | None = None
    weighted: bool = False
    in_place: bool = True
    checked: bool = False
    norms: bool = False


@functools.lru_cache(maxsize=64)
def make_step(activations: tuple[Activation, ...], loss: Loss, optimizer: Optimizer, *, xp: Any,
              options: StepOptions = StepOptions()) -> Callable:
    """Build the training step for one architecture, compiled for the namespace where that pays.

    ``step(weights, biases, state, total, X, Y, learning_rate=η) → (weights, biases, state, total + Σᵢ ℓᵢ)``:
    forward, backward (``bpxp.math.backprop.batch_gradients``) and θ ← θ − η·d
    (``bpxp.math.optimizers.apply_update``). η is an argument, not a constant of the step: a schedule's new η
    each epoch reuses the step — compiled on JAX, where a constant η would compile it, and its epochs, again. The
    parameters are updated in place where the library allows (``subtract_in_place``), so the step returns the
    arrays it was given on NumPy, CuPy, PyTorch and array-api-strict, and new ones on JAX; on NumPy the optimizer's
    state is updated in place too (``bpxp.backend.fast``). The running loss ``total`` stays on the device.
    Cached: ``fit`` with the same settings reuses the step.

    For plain SGD (d = g) η is folded into the output layer's error, G = η·δᴸ/m: backpropagation is linear in
    G, so every layer's product is already η·∂L/∂W and the update is a bare subtraction — two array operations
    (and one temporary array) fewer per parameter. With ``options.clip_norm`` η is not folded.

    ``options`` (:class:`StepOptions`): the L2 penalty α and clipping norm c; ``in_place=False`` returns new
    parameter and state arrays and leaves the given ones untouched (``run`` takes each epoch's first step so, which
    keeps the previous epoch's parameters intact without copying them).

    ``weighted=True``: Y's last column holds sample weights wᵢ. The batch's loss is then the weighted mean
    Σᵢ wᵢℓᵢ / Σᵢ wᵢ (penalty (α/2Σᵢ wᵢ)·Σ‖Wˡ‖²), and the running total gains m times it, so an epoch's loss is the
    mean over batches weighted by their sizes, as scikit-learn's ``sample_weight``.

    ``checked=True`` makes the epoch's last step: it takes the ``probes`` of
    ``bpxp.training.recovery.finite_check`` as an eighth argument and also returns the check of the new parameters,
    computed inside the same (compiled) call.
    """
    l2, weighted, checked = options.l2, options.weighted, options.checked
    fold = optimizer.direction_is_gradient and options.clip_norm is None
    how = UpdateOptions(clip_norm=options.clip_norm, folded=fold, in_place=options.in_place)

    def step(weights, biases, state, total, X, Y, probes=None, *, learning_rate):
        sample_weight = None
        if weighted:
            Y, sample_weight = Y[:, :-1], Y[:, -1:]
            rows_per_weight = X.shape[0] / xp.sum(sample_weight)
            scale = (learning_rate if fold else 1.0) / xp.sum(sample_weight)
        else:
            scale = (learning_rate if fold else 1.0) / X.shape[0]
        batch_total, dW, db, _, _ = batch_gradients(X, Y, weights, biases, activations, loss, xp=xp,
                                                    terms=Terms(scale, sample_weight))
        if l2:
            batch_total = batch_total + l2 * l2_penalty(weights, xp=xp)
        if weighted:
            batch_total = batch_total * rows_per_weight
        if options.norms:  # ‖∂L/∂Wˡ‖ of each layer beside the loss, summed on the device (no read here); before
            # the update, which may reuse the gradients' memory (bpxp.backend.fast)
            batch_total = gradient_norms_beside(batch_total, dW, 1.0 / learning_rate if fold else 1.0, xp=xp)
        new_weights, new_biases, state = apply_update((weights, biases), (dW, db), state, optimizer, learning_rate,
                                                      xp=xp, penalty=l2 * scale if l2 else None, options=how)
        total = total + batch_total
        if checked:
            return new_weights, new_biases, state, total, finite_check(total, new_weights, new_biases, probes, xp=xp)
        return new_weights, new_biases, state, total

    return compile_step(step, xp)


def gradient_norms_beside(loss_total: Any, dW: list, unscale: float, *, xp: Any) -> Any:
    """[Σℓ, ‖∂L/∂W¹‖, …, ‖∂L/∂Wᴸ‖], the step's loss total and each layer's gradient norm in one vector; ``dW``
    holds s·∂L/∂Wˡ with s = η folded in (plain SGD) or 1, which ``unscale`` undoes (the norms are of ∂L/∂Wˡ)."""
    norms = [xp.reshape(xp.sqrt(xp.sum(G * G)), (1,)) * unscale for G in dW]
    return xp.concat([xp.reshape(loss_total, (1,)), *norms])
