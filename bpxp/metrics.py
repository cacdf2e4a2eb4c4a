"""Scores, written once for every Array API namespace: accuracy for classifiers, R² for regressors."""

from __future__ import annotations

from typing import Any


def accuracy(Y: Any, P: Any, *, task: str, xp: Any) -> Any:
    """Fraction of samples classified right, from targets Y and outputs P, both (m, k).

    - binary (k = 1):   ŷ = [p > ½]
    - multiclass:       ŷ = argmax p, compared with argmax y (y one-hot)
    - multilabel:       every column [p > ½] must equal y (subset accuracy, as scikit-learn)
    """
    if task == "multiclass":
        right = xp.argmax(P, axis=1) == xp.argmax(Y, axis=1)
    else:
        right = xp.all((P > 0.5) == (Y > 0.5), axis=1)
    return xp.mean(xp.astype(right, P.dtype))


def r2(Y: Any, P: Any, *, xp: Any) -> Any:
    """Coefficient of determination R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)², averaged over the k outputs.

    As scikit-learn's ``r2_score``: a constant target scores 1 when predicted exactly, 0 otherwise. A column is
    constant when its largest and smallest values are equal: its Σ(y − ȳ)² can come out as 1e-33 rather than 0
    (ȳ is rounded), which would turn R² into −10³⁰.
    """
    residual = xp.sum((Y - P) ** 2, axis=0)
    total = xp.sum((Y - xp.mean(Y, axis=0)) ** 2, axis=0)
    varies = (xp.max(Y, axis=0) > xp.min(Y, axis=0)) & (total > 0)
    safe_total = xp.where(varies, total, 1.0)
    per_output = xp.where(varies, 1.0 - residual / safe_total, xp.astype(residual == 0, P.dtype))
    return xp.mean(per_output)
