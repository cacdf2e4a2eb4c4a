"""scikit-learn estimators on any bpxp backend: ``MLPClassifier`` and ``MLPRegressor``, drop-in replacements.

They take every parameter of scikit-learn's MLPs, with its meaning, plus ``backend``, ``device``, ``dtype`` (None:
X's float type) and ``precision`` (float32 products, or TF32 on CUDA), and
go further where its users asked: a user-given validation set (``fit(X, y, validation_data=(X_val, y_val))``)
with a validation-loss curve, and early stopping that also works with ``partial_fit`` given such a set.
scikit-learn's own test file for its MLPs runs against these estimators (tests/test_sklearn_mlp_suite.py).

"Everything follows X": a NumPy (or list, or scipy.sparse) X gives NumPy outputs, computed on ``backend``; an
array of another backend (a CuPy or torch array, say) trains and predicts on that backend and device, and outputs
come back there. A sparse X is densified one batch of rows at a time, on the network's device.

Solvers: ``'adam'``; ``'sgd'`` with ``momentum`` (Nesterov's form with ``nesterovs_momentum``) and the learning-rate
schedules ``'constant'``, ``'invscaling'`` (η₀ / (t + 1)^power_t, t the samples seen) and ``'adaptive'`` (η/5 at each
plateau) of ``bpxp.optimizers``; ``'lbfgs'`` through ``bpxp.training.lbfgs`` (SciPy's L-BFGS-B on bpxp's own gradients).
A momentum velocity here accumulates gradients (as PyTorch's), so when η changes between epochs its past steps
are rescaled to the new η, where scikit-learn's keep the old one.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    check_is_fitted,
    column_or_1d,
)

from .. import checks
from ..backend import namespaces as _backend
from ..backend.namespaces import device_of as _device_of
from ..dask import chunks as dask_chunks
from ..math.activations import log_softmax
from .base import BaseMLP, bpxp_to_numpy, keep_parameters, stochastic
from .labels import binarizer, classes_of, indicator_targets, one_hot_of_classes, target_type
from .on_dask import predict as predict_on_dask
from .on_dask import predict_proba as predict_proba_on_dask
from .on_dask import score as score_on_dask

LOSSES = {"squared_error": ("identity", "mse"), "poisson": ("exp", "poisson")}  # the regressor's loss → the
# network's output activation and loss: ½·mean squared error, or half the Poisson deviance with a log link


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier trained by bpxp's backpropagation on any backend.

    As scikit-learn's: one logistic output unit for two classes, a softmax over ≥ 3 classes, and one logistic unit
    per label for a multi-label indicator ``y``; cross-entropy loss. ``predict_proba`` gives probabilities in the
    order of ``classes_``. After ``fit``, ``network_`` is the trained :class:`bpxp.MLP`:
    ``clf.network_.backward(X, np.searchsorted(clf.classes_, y))`` gives each layer's δ and ∂L/∂X (``.inputs``),
    and ``bpxp.gradcheck`` checks it.

    Parameters
    ----------
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate, … : as scikit-learn's
        Every parameter of ``sklearn.neural_network.MLPClassifier``, in its order, with its meaning.
    backend : {'numpy', 'cupy', 'torch', 'jax', 'array_api_strict', 'mlx'}, default='numpy'
        Where host data (NumPy arrays, lists, scipy.sparse) trains; an array of another backend trains on its own
        backend and device, and the outputs come back there.
    device : str or device, optional
        The device host data trains on (the backend's default when None).
    dtype : {'float32', 'float64'}, optional
        The network's float type; None follows X: float32 data trains in float32, any other in float64.
    precision : {'float32', 'tf32'}, default='float32'
        Float32 matrix products in IEEE float32, or on TF32 tensor cores on CUDA GPUs (as :class:`bpxp.MLP`'s).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from bpxp.sklearn import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier((16,), solver="lbfgs", max_iter=1000, random_state=0).fit(X, y)
    >>> round(clf.score(X, y), 1) >= 0.9
    True
    """

    _is_classifier = True

    @property
    def _label_binarizer(self) -> LabelBinarizer:
        """scikit-learn's fitted encoder of ``classes_`` (its name there; skl2onnx's converter reads ``y_type_``),
        made when asked: fitting encodes with ``bpxp.sklearn.labels`` (one finding of the target's type)."""
        check_is_fitted(self, "classes_")
        return binarizer(self.classes_, self._target_type)

    def _output_and_loss(self):
        if self._target_type == "multiclass":
            return "softmax", "cross_entropy"
        return "sigmoid", "binary_cross_entropy"

    def _encode_targets(self, y, *, first, incremental, classes, X):
        """Labels → the network's targets (host (n, k) floats, or in X's namespace): scikit-learn's encoding."""
        y = bpxp_to_numpy(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        kind = target_type(y)
        if first:
            self._start_classes(y, kind, classes if incremental else None)
        else:
            self._check_same_classes(y, kind, classes, incremental)
        if self._target_type == "multilabel-indicator":
            Y = indicator_targets(y, len(self.classes_))
        else:
            Y = one_hot_of_classes(y, self.classes_, self.n_outputs_)
        return self._on_device(Y.astype(self._dtype(X)), X)

    def _start_classes(self, y, kind: str, classes) -> None:
        """``classes_`` (and the target's type, the outputs' count) of the first fit: y's labels, or on the first
        ``partial_fit`` the ``classes`` given (a multi-label y's columns)."""
        if classes is not None and kind != "multilabel-indicator":
            y = np.asarray(classes)
            kind = target_type(y)
        self._target_type, self.classes_ = kind, classes_of(y, kind)
        several = len(self.classes_) > 2 or kind == "multilabel-indicator"
        self.n_outputs_ = len(self.classes_) if several else 1

    def _check_same_classes(self, y, kind: str, classes, incremental: bool) -> None:
        """Refuse, on a later ``partial_fit`` or warm-started ``fit``, other classes than the first fit's."""
        if (kind == "multilabel-indicator") != (self._target_type == "multilabel-indicator"):
            raise ValueError(f"`y` is a {kind} target but the classifier was fitted on a {self._target_type} one")
        if incremental and classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"`classes={np.asarray(classes)!r}` is not the same as on the first call to "
                             f"partial_fit, was: {self.classes_!r}")
        if self.warm_start and not incremental and set(found := classes_of(y, kind)) != set(self.classes_):
            raise ValueError("warm_start can only be used where `y` has the same classes as in the previous call "
                             f"to fit. Previously got {self.classes_}, `y` has {found}")

    @available_if(stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None, *, validation_data=None):
        """One epoch over (X, y), continuing the optimizer's state; ``classes`` is needed on the first call.

        With ``early_stopping=True`` and validation data (given here once, or in an earlier call), each call is
        scored; after ``n_iter_no_change`` calls without improvement training stops (``stopped_early_``), the
        best weights are restored and further calls change nothing.
        """
        if not hasattr(self, "network_") and classes is None:
            raise ValueError("`classes` must be passed on the first call to partial_fit")
        return self._fit(X, y, sample_weight=sample_weight, validation_data=validation_data, incremental=True,
                         classes=classes)

    def fit(self, X, y, sample_weight=None, *, validation_data=None):
        """Train for up to ``max_iter`` epochs (from scratch unless ``warm_start``); ``validation_data=(X_val,
        y_val)`` is scored each epoch (``val_loss_curve_``, and ``validation_scores_`` with ``early_stopping``)."""
        return self._fit(X, y, sample_weight=sample_weight, validation_data=validation_data, incremental=False)

    def _probabilities(self, X, method):
        """(P with one column per class of ``classes_``, or per label, in the network's namespace; backend).

        Logistic units are evaluated from the logits as σ(z) = exp(−log(1 + e⁻ᶻ)) and 1 − σ(z) = exp(−log(1 + eᶻ)),
        accurate down to the smallest positive float (the training-time tanh form rounds to 0 from |z| ≈ 38).
        """
        check_is_fitted(self, "network_")
        if self.network_.output == "softmax":
            return self._outputs(X, method)
        Z, backend = self._outputs(X, method, logits=True)
        xp = self.network_.xp
        P = xp.exp(-xp.logaddexp(0.0, -Z))
        if self.n_outputs_ == 1:
            P = xp.concat([xp.exp(-xp.logaddexp(0.0, Z)), P], axis=1)
        return P, backend

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes) (multi-label: per label), in X's namespace."""
        if dask_chunks.is_dask(X):  # lazily, chunk by chunk
            return predict_proba_on_dask(self, X)
        P, backend = self._probabilities(X, "predict_proba")
        return P if backend is not None else _backend.to_numpy(P)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`; over ≥ 3 classes computed from the output logits as log softmax(Z),
        finite where a probability rounds to 0."""
        check_is_fitted(self, "network_")
        if self.network_.output == "softmax":
            Z, backend = self._outputs(X, "predict_log_proba", logits=True)
            log_P = log_softmax(Z, xp=self.network_.xp)
        else:
            P, backend = self._probabilities(X, "predict_log_proba")
            log_P = self.network_.xp.log(P)
        return log_P if backend is not None else _backend.to_numpy(log_P)

    def predict(self, X):
        """The most probable class of each sample, from ``classes_`` (multi-label: the indicator matrix)."""
        if dask_chunks.is_dask(X):  # lazy labels, chunk by chunk
            return predict_on_dask(self, X)
        P, backend = self._outputs(X, "predict")
        xp = self.network_.xp
        if self._target_type == "multilabel-indicator":
            indicator = xp.astype(P > 0.5, xp.int64)
            return indicator if backend is not None else _backend.to_numpy(indicator)
        if self.network_.output == "sigmoid":
            index = xp.astype(P[:, 0] > 0.5, xp.int64)
            if len(self.classes_) == 1:
                index = index * 0
        else:
            index = xp.argmax(P, axis=1)
        if backend is None:
            return self.classes_[_backend.to_numpy(index)]
        if np.issubdtype(self.classes_.dtype, np.number):
            return xp.take(xp.asarray(self.classes_, device=_device_of(P)), index, axis=0)
        return self.classes_[_backend.to_numpy(index)]

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on (X, y) (subset accuracy for multi-label)."""
        if dask_chunks.is_dask(X):
            return score_on_dask(self, X, y, sample_weight)
        if _backend.array_backend(X) is None and _backend.array_backend(y) is None:
            return super().score(X, y, sample_weight=sample_weight)
        predicted = bpxp_to_numpy(self.predict(X))
        return float(np.average(predicted == bpxp_to_numpy(y), weights=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor on any backend: identity output and ½·mean squared error, or with
    ``loss='poisson'`` an exponential output and half the Poisson deviance (for counts). Its positional
    parameters are scikit-learn's (≥ 1.7): ``loss``, ``hidden_layer_sizes``, ``activation``, as in
    ``MLPRegressor("poisson", (8,))``.

    Parameters
    ----------
    loss, hidden_layer_sizes, activation, solver, alpha, batch_size, … : as scikit-learn's
        Every parameter of ``sklearn.neural_network.MLPRegressor``, in its order, with its meaning.
    backend, device, dtype, precision
        Where and in which float type the network trains, as for :class:`MLPClassifier`: ``backend`` (default
        'numpy') and ``device`` for host data, ``dtype`` None following X, ``precision`` 'float32' or 'tf32'.

    Examples
    --------
    >>> import numpy as np
    >>> from bpxp.sklearn import MLPRegressor
    >>> X = np.linspace(-1, 1, 50)[:, None]
    >>> reg = MLPRegressor(hidden_layer_sizes=(16,), activation="tanh", batch_size=5, learning_rate_init=0.01,
    ...                    random_state=0)
    >>> reg.fit(X, 2 * X[:, 0] + 1).predict([[0.5]]).round(1)
    array([2.])
    """

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000, backend="numpy", device=None,
                 dtype=None, precision="float32"):
        keep_parameters(self, locals())  # the classifier's parameters (BaseMLP's), and loss

    def _check_parameters(self) -> None:
        super()._check_parameters()
        if not isinstance(self.loss, str):  # scikit-learn ≥ 1.7's order: loss comes before hidden_layer_sizes
            raise ValueError(f"`loss` must be one of {list(LOSSES)}, got {self.loss!r}; MLPRegressor's first "
                             "positional parameter is `loss`, as scikit-learn's: pass "
                             f"hidden_layer_sizes={self.loss!r} by name")
        checks.check_choice(self.loss, "loss", LOSSES)

    def _output_and_loss(self):
        return LOSSES[self.loss]

    def _encode_targets(self, y, *, first, incremental, classes, X):
        if _backend.array_backend(y) is None:
            try:  # float64 first: the network casts to its dtype, refusing values beyond float32's range
                y = np.asarray(y, dtype=np.float64)
            except (ValueError, TypeError):
                raise ValueError(f"`y` must hold numbers for {type(self).__name__}, got "
                                 f"{np.asarray(y).dtype} values such as {np.asarray(y).ravel()[:1].tolist()}") from None
        if first:
            self._y_1d = y.ndim == 1
            self.n_outputs_ = 1 if y.ndim == 1 else int(y.shape[1])
        if _backend.array_backend(X) is None:
            return y[:, None] if y.ndim == 1 else y
        xp = _backend.namespace(_backend.array_backend(X))
        y = xp.asarray(y, device=_device_of(X)) if _backend.array_backend(y) is not None else \
            xp.asarray(np.asarray(y), device=_device_of(X))
        return xp.reshape(y, (y.shape[0], 1)) if y.ndim == 1 else y  # the network casts, refusing overflow

    @available_if(stochastic)
    def partial_fit(self, X, y, sample_weight=None, *, validation_data=None):
        """One epoch over (X, y), continuing the optimizer's state (see ``MLPClassifier.partial_fit``)."""
        return self._fit(X, y, sample_weight=sample_weight, validation_data=validation_data, incremental=True)

    def fit(self, X, y, sample_weight=None, *, validation_data=None):
        """Train for up to ``max_iter`` epochs (see ``MLPClassifier.fit``)."""
        return self._fit(X, y, sample_weight=sample_weight, validation_data=validation_data, incremental=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X):
        """Predicted targets, shape (n_samples,) for a 1-D target, else (n_samples, n_outputs)."""
        if dask_chunks.is_dask(X):  # lazily, chunk by chunk
            return predict_on_dask(self, X)
        P, backend = self._outputs(X, "predict")
        if self._y_1d:
            P = P[:, 0]
        return P if backend is not None else _backend.to_numpy(P)

    def score(self, X, y, sample_weight=None):
        """R² of the prediction."""
        if dask_chunks.is_dask(X):
            return score_on_dask(self, X, y, sample_weight)
        if _backend.array_backend(X) is None and _backend.array_backend(y) is None:
            return super().score(X, y, sample_weight=sample_weight)
        from sklearn.metrics import r2_score

        return float(r2_score(bpxp_to_numpy(y), bpxp_to_numpy(self.predict(X)), sample_weight=sample_weight))
