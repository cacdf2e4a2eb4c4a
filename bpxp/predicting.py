"""What an ``MLP`` predicts: labels or values, class probabilities, and its score — all following the output
layer's task (``bpxp.spec.task_of``).

``Predicting`` is a base class of :class:`bpxp.MLP`, kept apart so that each module stays readable. Every
prediction multiplies in :meth:`forward` or :meth:`score`, which follow the network's precision policy
(``bpxp.backend.namespaces.follows_precision``).
"""

from __future__ import annotations

from typing import Any

import array_api_compat

from .backend import namespaces as _backend
from .dask import chunks as dask_chunks
from .math import metrics
from .training import session


class Predicting:
    """The prediction methods of :class:`bpxp.MLP` (see there)."""

    def predict(self, X: Any) -> Any:
        """Predictions: class labels for classifiers, outputs for regressors (see the class Notes).

        Parameters
        ----------
        X : array or array-like, shape (n_samples, layer_sizes[0])

        Returns
        -------
        array
            Integer labels, shape (n_samples,) (multi-label: (n_samples, k) of 0/1); for a regressor Ŷ, shape
            (n_samples,) with one output, as scikit-learn, else (n_samples, k). In the network's namespace.
        """
        P = self.forward(X)
        integers = self._xp.__array_namespace_info__().default_dtypes(device=self.device)["integral"]
        xp = array_api_compat.array_namespace(P)  # the network's, or Dask's for a Dask X (lazy labels)
        if self.task == "multiclass":
            return xp.argmax(P, axis=1)
        if self.task == "binary":
            return xp.astype(P[:, 0] > 0.5, integers)
        if self.task == "multilabel":
            return xp.astype(P > 0.5, integers)
        return P[:, 0] if P.shape[1] == 1 else P

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities of a classifier, as scikit-learn's ``predict_proba``.

        Parameters
        ----------
        X : array or array-like, shape (n_samples, layer_sizes[0])

        Returns
        -------
        array, shape (n_samples, n_classes)
            Softmax outputs (rows sum to 1); for one sigmoid unit the columns P(0) = 1 − ŷ and P(1) = ŷ; for
            several sigmoid units under binary cross-entropy (multi-label) each label's probability. In the
            network's namespace.

        Raises
        ------
        ValueError
            For a regressor, and for sigmoid outputs trained under mse (the Iris tutorial), whose outputs are
            scores, not probabilities.
        """
        if self.task == "regression" or (self.task == "multiclass" and self.output != "softmax"):
            raise ValueError(f"predict_proba needs a classifier with probability outputs (softmax, or sigmoid "
                             f"under binary_cross_entropy); this network has output {self.output!r} and loss "
                             f"{self.loss!r}: use predict or forward")
        P = self.forward(X)
        if self.task == "binary":
            xp = array_api_compat.array_namespace(P)
            return xp.concat([1 - P, P], axis=1)
        return P

    @_backend.follows_precision
    def score(self, X: Any, y: Any) -> float:
        """Accuracy for classifiers, R² for regressors (see the class Notes).

        Parameters
        ----------
        X : array or array-like, shape (n_samples, layer_sizes[0])
        y : array or array-like, shape (n_samples,) labels or values, or (n_samples, layer_sizes[-1])

        Returns
        -------
        float
        """
        if dask_chunks.is_dask(X):  # a lazy 0-d Dask array, from the same metrics on Dask's namespace
            X, Y = dask_chunks.targets(self, y, X)
            P, xp = self.forward(X), array_api_compat.array_namespace(X)
            if self.task == "regression":
                return metrics.r2(Y, P, xp=xp)
            return metrics.accuracy(Y, P, task=self.task, xp=xp)
        X = session.features(self, X)
        return session.validation(self, X, session.targets(self, y, X.shape[0])).score(*self._parameters)
