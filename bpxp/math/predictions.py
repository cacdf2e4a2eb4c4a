"""What a network's outputs P (n_samples, k) mean for its task (``bpxp.spec.task_of``): labels and probabilities.

- multiclass (softmax, or sigmoid units under mse as in the Iris tutorial): labels ``argmax ŷ``;
- binary (one sigmoid unit): labels ``ŷ > ½``, probabilities ``[1 − ŷ, ŷ]``;
- multilabel (several sigmoid units under binary cross-entropy): labels ``ŷ > ½`` per column;
- regression (any other output): the outputs themselves, a vector for one output (as scikit-learn).

The score that goes with each task is ``bpxp.math.metrics.score``.
"""

from __future__ import annotations

from typing import Any


def labels(P: Any, *, task: str, xp: Any, integers: Any) -> Any:
    """Class labels (n_samples,), 0/1 labels (n_samples, k) for multi-label, in the integer dtype ``integers``; for
    a regressor P itself, shape (n_samples,) when k = 1."""
    if task == "multiclass":
        return xp.argmax(P, axis=1)
    if task == "binary":
        return xp.astype(P[:, 0] > 0.5, integers)
    if task == "multilabel":
        return xp.astype(P > 0.5, integers)
    return P[:, 0] if P.shape[1] == 1 else P


def check_probabilities(*, task: str, output: str, loss: str) -> None:
    """Refuse probabilities from outputs that are not: a regressor's, and sigmoid units trained under mse."""
    if task == "regression" or (task == "multiclass" and output != "softmax"):
        raise ValueError(f"predict_proba needs a classifier with probability outputs (softmax, or sigmoid "
                         f"under binary_cross_entropy); this network has output {output!r} and loss "
                         f"{loss!r}: use predict or forward")


def probabilities(P: Any, *, task: str, xp: Any) -> Any:
    """Class probabilities (n_samples, n_classes): P(0) = 1 − ŷ and P(1) = ŷ for one sigmoid unit, else P itself
    (softmax rows, or each label's probability)."""
    if task == "binary":
        return xp.concat([1 - P, P], axis=1)
    return P
