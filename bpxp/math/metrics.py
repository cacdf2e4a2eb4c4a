"""Scores, written once for every Array API namespace: accuracy for classifiers, R² for regressors, and the one
that suits a task (:func:`score`)."""

from __future__ import annotations

from typing import Any


def accuracy(Y: Any, P: Any, *, task: str, xp: Any, weights: Any = None) -> Any:
    """Fraction of samples classified right, from targets Y and outputs P, both (m, k).

    - binary (k = 1):   ŷ = [p > ½]
    - multiclass:       ŷ = argmax p, compared with argmax y (y one-hot)
    - multilabel:       every column [p > ½] must equal y (subset accuracy, as scikit-learn)

    With sample ``weights`` w (m,): Σᵢ wᵢ·[ŷᵢ = yᵢ] / Σᵢ wᵢ, as scikit-learn's ``accuracy_score``.
    """
    right = classified_right(Y, P, task=task, xp=xp)
    return xp.mean(right) if weights is None else xp.sum(weights * right) / xp.sum(weights)


def classified_right(Y: Any, P: Any, *, task: str, xp: Any) -> Any:
    """[ŷᵢ = yᵢ] of each sample, (m,), as 1 or 0 in P's dtype (ŷ as :func:`accuracy` says)."""
    if task == "multiclass":
        return xp.astype(xp.argmax(P, axis=1) == xp.argmax(Y, axis=1), P.dtype)
    return xp.astype(xp.all((P > 0.5) == (Y > 0.5), axis=1), P.dtype)


def r2(Y: Any, P: Any, *, xp: Any, weights: Any = None) -> Any:
    """Coefficient of determination R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)², averaged over the k outputs.

    As scikit-learn's ``r2_score``: a constant target scores 1 when predicted exactly, 0 otherwise. A column is
    constant when its largest and smallest values are equal: its Σ(y − ȳ)² can come out as 1e-33 rather than 0
    (ȳ is rounded), which would turn R² into −10³⁰. With sample ``weights`` w (m,), every sum is weighted
    (Σᵢ wᵢ(yᵢ − ŷᵢ)², and ȳ the weighted mean), as ``r2_score(sample_weight=w)``.
    """
    w = 1.0 if weights is None else weights[:, None]
    mean = xp.mean(Y, axis=0) if weights is None else xp.sum(w * Y, axis=0) / xp.sum(weights)
    residual = xp.sum(w * (Y - P) ** 2, axis=0)
    total = xp.sum(w * (Y - mean) ** 2, axis=0)
    return r2_of_sums(residual, total, xp.max(Y, axis=0) > xp.min(Y, axis=0), xp=xp)


def r2_of_sums(residual: Any, total: Any, varies: Any, *, xp: Any) -> Any:
    """R² averaged over the k outputs from their sums (k,): Σ(y − ŷ)², Σ(y − ȳ)² and whether y varies (its
    largest value above its smallest), wherever those sums were added up (chunk by chunk on Dask, say)."""
    varies = varies & (total > 0)
    safe_total = xp.where(varies, total, 1.0)
    per_output = xp.where(varies, 1.0 - residual / safe_total, xp.astype(residual == 0, residual.dtype))
    return xp.mean(per_output)


def score(Y: Any, P: Any, *, task: str, xp: Any, weights: Any = None) -> Any:
    """A network's score on targets Y from its outputs P: R² (:func:`r2`) for a regressor, else the accuracy of
    its ``task`` (:func:`accuracy`); weighted by ``weights`` (m,) when given. A 0-d array."""
    if task == "regression":
        return r2(Y, P, xp=xp, weights=weights)
    return accuracy(Y, P, task=task, xp=xp, weights=weights)
