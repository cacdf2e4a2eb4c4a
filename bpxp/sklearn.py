"""scikit-learn estimators on any bpxp backend: ``MLPClassifier`` and ``MLPRegressor``.

They take scikit-learn's parameter names where they exist, plus ``backend``, ``device`` and ``dtype``, and go
further where its users asked: a user-given validation set (``fit(X, y, validation_data=(X_val, y_val))``) with a
validation-loss curve, and early stopping that also works with ``partial_fit``.

"Everything follows X": a NumPy (or list) X gives NumPy outputs, computed on ``backend``; an array of another
backend (a CuPy or torch array, say) trains and predicts on that backend and device, and outputs come back there.

Differences from scikit-learn: ``solver='sgd'`` uses heavy-ball momentum (``momentum``, default 0.9) without
Nesterov's variant; ``solver='lbfgs'`` is not offered; the classifier always has a softmax output (two units for
two classes), which gives the same probabilities as scikit-learn's single logistic unit.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
from array_api_compat import device as _device_of
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from . import _backend, optimizers
from .activations import log_softmax
from .model import MLP
from .network import forward_pass
from .recovery import InterruptedWarning, TrainingDiverged
from .train import Schedule, _snapshot

_ACTIVATIONS = {"logistic": "sigmoid", "sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu",
                "identity": "identity", "leaky_relu": "leaky_relu"}
_SOLVERS = ("adam", "sgd")


class _BaseMLP(BaseEstimator):
    _output = _loss = ""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate_init=0.001, max_iter=200, shuffle=True, random_state=None,
                 tol=1e-4, verbose=False, momentum=0.9, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, backend="numpy", device=None,
                 dtype=None, precision="float32"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.momentum = momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.backend = backend
        self.device = device
        self.dtype = dtype
        self.precision = precision  # float32 products ('float32', IEEE) or TF32 on CUDA ('tf32'): see bpxp.MLP

    # -- parameters ------------------------------------------------------------------------------------------
    def _check_parameters(self) -> None:
        sizes = self.hidden_layer_sizes
        try:
            sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        except TypeError:
            sizes = [None]
        if not all(isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes):
            raise ValueError(f"`hidden_layer_sizes` must hold positive integers, got {self.hidden_layer_sizes!r}")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"`activation` must be one of {list(_ACTIVATIONS)}, got {self.activation!r}")
        if self.solver not in _SOLVERS:
            raise ValueError(f"`solver` must be one of {list(_SOLVERS)} (lbfgs is not offered), got "
                             f"{self.solver!r}")
        for name in ("learning_rate_init", "epsilon"):
            if not (_is_real(getattr(self, name)) and 0 < getattr(self, name) < np.inf):
                raise ValueError(f"`{name}` must be a positive finite number, got {getattr(self, name)!r}")
        for name in ("alpha", "tol"):
            if not (_is_real(getattr(self, name)) and 0 <= getattr(self, name) < np.inf):
                raise ValueError(f"`{name}` must be a non-negative finite number, got {getattr(self, name)!r}")
        for name in ("max_iter", "n_iter_no_change"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
        for name in ("momentum", "beta_1", "beta_2", "validation_fraction"):
            if not (_is_real(getattr(self, name)) and 0 <= getattr(self, name) < 1):
                raise ValueError(f"`{name}` must lie in [0, 1), got {getattr(self, name)!r}")
        for name in ("shuffle", "verbose", "early_stopping"):
            if not isinstance(getattr(self, name), bool | np.bool_):
                raise TypeError(f"`{name}` must be True or False, got {getattr(self, name)!r}")
        if self.batch_size != "auto" and (isinstance(self.batch_size, bool)
                                          or not isinstance(self.batch_size, Integral) or self.batch_size < 1):
            raise ValueError(f"`batch_size` must be 'auto' or a positive integer, got {self.batch_size!r}")
        try:
            check_random_state(self.random_state)
        except ValueError:
            raise ValueError("`random_state` must be None, an integer, or a numpy.random.RandomState, got "
                             f"{self.random_state!r}") from None
        _backend.check_backend_name(self.backend)
        self._hidden_sizes = [int(s) for s in sizes]

    def _optimizer(self) -> optimizers.Optimizer:
        if self.solver == "adam":
            return optimizers.Adam(self.beta_1, self.beta_2, self.epsilon)
        return optimizers.Momentum(self.momentum) if self.momentum > 0 else optimizers.SGD()

    # -- inputs ------------------------------------------------------------------------------------------------
    def _validate_X(self, X, *, reset: bool, y=None):
        """Host data through scikit-learn's checks; another backend's array through bpxp's, staying there."""
        if _backend.array_backend(X) is None:
            kwargs = {"dtype": [np.float64, np.float32]}
            if y is None:
                return validate_data(self, X, reset=reset, **kwargs), None, None
            X, y = validate_data(self, X, y, reset=reset, multi_output=self._multi_output, **kwargs)
            return X, y, None
        backend = _backend.array_backend(X)
        if not hasattr(X, "shape") or len(X.shape) != 2:
            raise ValueError(f"`X` must be 2-D (n_samples, n_features), got shape {getattr(X, 'shape', None)}")
        if reset:
            self.n_features_in_ = int(X.shape[1])
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input")
        return X, (None if y is None else y), backend

    def _batch_size(self, n: int) -> int:
        return min(200, n) if self.batch_size == "auto" else min(int(self.batch_size), n)

    def _dtype(self, X) -> str:
        if self.dtype is not None:
            return self.dtype
        return "float32" if str(getattr(X, "dtype", "")).endswith("float32") else "float64"

    # -- training ----------------------------------------------------------------------------------------------
    def _new_network(self, n_features: int, n_outputs: int, backend: str, device: Any, dtype: str) -> MLP:
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        self._rng = np.random.default_rng(seed)
        return MLP([n_features, *self._hidden_sizes, n_outputs], hidden=_ACTIVATIONS[self.activation],
                   output=self._output, loss=self._loss, dtype=dtype, backend=backend, device=device,
                   random_state=seed, precision=self.precision)

    def _reset_progress(self) -> None:
        self.loss_curve_, self.val_loss_curve_ = [], []
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_loss_, self.best_validation_score_ = np.inf, -np.inf
        self._no_improvement, self._best_parameters, self._optimizer_state = 0, None, None
        self.n_iter_, self.t_, self.stopped_early_ = 0, 0, False

    def _one_epoch(self, X, Y, validation) -> bool:
        """One epoch on inputs the network has checked once per fit call; update the curves; return True when
        training should stop."""
        net = self.network_
        schedule = Schedule(epochs=1, batch_size=self._batch_size(X.shape[0]), shuffle=self.shuffle,
                            random_state=self._rng, early_stopping=None)
        history = net._train(X, Y, schedule=schedule, learning_rate=float(self.learning_rate_init),
                             rule=self._optimizer(), l2=float(self.alpha), validation=validation, callback=None,
                             optimizer_state=self._optimizer_state, report=False)
        self._optimizer_state = net.optimizer_state_
        if history.diverged_at is not None:
            last = f"{self.loss_curve_[-1]:.6g}" if self.loss_curve_ else "none"
            raise TrainingDiverged(
                f"training diverged in epoch {self.n_iter_ + 1}: the loss or the weights became NaN or infinite "
                f"(last finite loss: {last}); the network keeps the weights of the epoch before. Try a smaller "
                f"learning_rate_init, a larger alpha, or standardised inputs", epoch=self.n_iter_,
                last_finite_loss=self.loss_curve_[-1] if self.loss_curve_ else None, history=history)
        if history.interrupted:
            self._interrupted = True
            return True
        self.n_iter_ += 1
        self.t_ += X.shape[0]
        self.loss_curve_.append(history.loss[-1])
        if validation is not None:
            self.val_loss_curve_.append(history.val_loss[-1])
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {history.loss[-1]:.8f}")
        if self.early_stopping and validation is not None:
            score = net._score(*validation)
            self.validation_scores_.append(score)
            improved = score > self.best_validation_score_ + self.tol
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_parameters = _snapshot(net.weights, net.biases, self._optimizer_state, xp=net.xp)
        else:
            improved = self.loss_curve_[-1] < self.best_loss_ - self.tol
            self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])
        self._no_improvement = 0 if improved else self._no_improvement + 1
        return self._no_improvement > self.n_iter_no_change

    def _stop(self) -> None:
        """Stop: early (keeping the best epoch's weights under early_stopping), or at Ctrl-C (saying so)."""
        if self._interrupted:
            warnings.warn(f"fit interrupted after {self.n_iter_} completed epochs; the network keeps the weights of "
                          f"the {'best' if self.early_stopping and self._best_parameters else 'last'} of them",
                          InterruptedWarning, stacklevel=4)
        else:
            self.stopped_early_ = True
        if self.early_stopping and self._best_parameters is not None:
            weights, biases, self._optimizer_state = self._best_parameters
            self.network_.weights, self.network_.biases = list(weights), biases and list(biases)

    def _fit(self, X, y, *, validation_data, incremental: bool, classes=None):
        self._check_parameters()
        first = not (incremental and hasattr(self, "network_"))
        X, y, backend = self._validate_X(X, reset=first, y=y)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        Y = self._encode_targets(y, fitting=first, classes=classes, backend=backend, X=X)
        if first:
            self._fit_backend = backend
            device = _device_of(X) if backend is not None else self.device
            self.network_ = self._new_network(X.shape[1], self._n_network_outputs, backend or self.backend,
                                              device, self._dtype(X))
            self._reset_progress()
        validation, X, Y = self._validation(X, Y, validation_data, incremental)
        net = self.network_  # inputs checked and moved to the network's device once per call, not per epoch
        X = net._features(X)
        Y = net._targets(Y, X.shape[0])
        if validation is not None:
            validation = net._validation(validation)
        if incremental:
            self._interrupted = False
            if not self.stopped_early_ and self._one_epoch(X, Y, validation) and (self.early_stopping
                                                                                   or self._interrupted):
                self._stop()
            return self
        self._interrupted = False
        for _ in range(self.max_iter):
            if self._one_epoch(X, Y, validation):
                self._stop()
                break
        else:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                          "optimization hasn't converged yet.", ConvergenceWarning, stacklevel=3)
        return self

    def _validation(self, X, Y, validation_data, incremental):
        """((X_val, Y_val) or None, X_train, Y_train): the user's set, else a split of ``validation_fraction``
        when stopping early, else None. With partial_fit the user's set is remembered for the calls after."""
        if validation_data is not None:
            X_val, y_val = validation_data
            X_val, _, _ = self._validate_X(X_val, reset=False)
            Y_val = self._encode_targets(y_val, fitting=False, classes=None,
                                         backend=_backend.array_backend(X_val), X=X_val)
            self._user_validation = (X_val, Y_val)
            return self._user_validation, X, Y
        if incremental:
            return getattr(self, "_user_validation", None), X, Y
        if not self.early_stopping:
            return None, X, Y
        stratify = bpxp_to_numpy(Y).argmax(axis=1) if self._is_classifier and self.validation_fraction else None
        rows = np.arange(X.shape[0])
        train_rows, val_rows = train_test_split(rows, test_size=self.validation_fraction,
                                                random_state=check_random_state(self.random_state),
                                                stratify=stratify)
        take = lambda A, r: A[r] if _backend.array_backend(A) is None else _take(A, r)  # noqa: E731
        return (take(X, val_rows), take(Y, val_rows)), take(X, train_rows), take(Y, train_rows)

    def fit(self, X, y, *, validation_data=None):
        """Train from scratch for up to ``max_iter`` epochs; ``validation_data=(X_val, y_val)`` is scored each
        epoch (``val_loss_curve_``, and ``validation_scores_`` with ``early_stopping``)."""
        return self._fit(X, y, validation_data=validation_data, incremental=False)

    # -- outputs -----------------------------------------------------------------------------------------------
    def _forward(self, X, method: str, *, log: bool = False):
        """Ŷ (or log Ŷ from the logits, with ``log``) of checked X, and X's backend (None for host data)."""
        check_is_fitted(self, "network_")
        self._check_same_namespace(X, method)
        X, _, backend = self._validate_X(X, reset=False)
        net = self.network_
        X = X if backend is not None else np.asarray(X, dtype=net.dtype_name)
        if not log:
            return net.forward(X), backend
        # log softmax(Z) from the logits stays finite where a probability rounds to 0 (log P would be -inf)
        weights, biases = net._parameters
        _, Z = forward_pass(net._features(X), weights, biases, net._activations, xp=net.xp, output=False)
        return log_softmax(Z, xp=net.xp), backend

    def _check_same_namespace(self, X, method: str) -> None:
        """Everything follows X, and X must follow fit: a different namespace or device is an error."""
        fitted, given = self._fit_backend, _backend.array_backend(X)
        same_device = given is None or _device_of(X) == self.network_.device
        if fitted != given or not same_device:
            def describe(name):
                return "NumPy (host data)" if name is None else name
            raise ValueError(
                f"Inputs passed to {type(self).__name__}.{method}() must use the same namespace and the same "
                f"device as those passed to fit(): fitted on {describe(fitted)} "
                f"({_backend.device_label(self.network_.device)}), got {describe(given)}"
                + ("" if given is None else f" ({_backend.device_label(_device_of(X))})")
                + "; convert X (bpxp.to_numpy, or the library's asarray/to_device) first")

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices W¹ … Wᴸ as NumPy arrays, shapes (n_in, n_out), as scikit-learn's ``coefs_``."""
        check_is_fitted(self, "network_")
        return [_backend.to_numpy(w) for w in self.network_.weights]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors b¹ … bᴸ as NumPy arrays."""
        check_is_fitted(self, "network_")
        return [_backend.to_numpy(b) for b in self.network_.biases]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        return tags


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier trained by bpxp's backpropagation on any backend.

    Softmax output and cross-entropy loss; ``predict_proba`` gives class probabilities in the order of
    ``classes_``. See the module docstring for the parameters beyond scikit-learn's.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from bpxp.sklearn import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier((16,), max_iter=300, learning_rate_init=0.01, random_state=0).fit(X, y)
    >>> round(clf.score(X, y), 1) >= 0.9
    True
    """

    _output, _loss, _is_classifier, _multi_output = "softmax", "cross_entropy", True, False

    def _encode_targets(self, y, *, fitting, classes, backend, X):
        y = bpxp_to_numpy(y) if _backend.array_backend(y) is not None else np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        check_classification_targets(y)
        if fitting:
            self.classes_ = np.unique(y if classes is None else np.asarray(classes))
            if len(self.classes_) < 2:
                where = "`y`" if classes is None else "`classes`"
                raise ValueError(f"{where} holds only 1 class ({self.classes_[0]!r}): {type(self).__name__} "
                                 "needs samples of at least 2 classes")
        unseen = np.setdiff1d(y, self.classes_)
        if unseen.size:
            raise ValueError(f"`y` has labels not in `classes` of the first fit: {unseen[:5].tolist()}; pass every "
                             f"class to the first partial_fit with classes=...")
        if fitting:
            self.n_outputs_, self.out_activation_ = 1, "softmax"
        Y = (y[:, None] == self.classes_[None, :]).astype(self._dtype(X) if backend is None else "float64")
        if backend is not None:
            xp = _backend.namespace(backend)
            Y = xp.asarray(Y.astype(str(X.dtype).split(".")[-1]), device=_device_of(X))
        return Y

    @property
    def _n_network_outputs(self) -> int:
        return len(self.classes_)

    def partial_fit(self, X, y, classes=None, *, validation_data=None):
        """One epoch over (X, y), continuing the optimizer's state; ``classes`` is needed on the first call.

        With ``early_stopping=True`` and validation data (given here once, or in an earlier call), each call is
        scored; after ``n_iter_no_change`` calls without improvement training stops (``stopped_early_``), the
        best weights are restored and further calls change nothing.
        """
        if not hasattr(self, "network_") and classes is None:
            raise ValueError("`classes` must be passed on the first call to partial_fit")
        return self._fit(X, y, validation_data=validation_data, incremental=True, classes=classes)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), in X's namespace and device."""
        P, backend = self._forward(X, "predict_proba")
        return P if backend is not None else _backend.to_numpy(P)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed from the output logits as log softmax(Z): finite (about
        −|ΔZ|) where a probability rounds to 0, never log(0)."""
        log_P, backend = self._forward(X, "predict_log_proba", log=True)
        return log_P if backend is not None else _backend.to_numpy(log_P)

    def predict(self, X):
        """The most probable class of each sample, from ``classes_``."""
        P, backend = self._forward(X, "predict")
        index = _namespace_of(P).argmax(P, axis=1) if backend is not None else None
        if backend is None:
            return self.classes_[np.argmax(_backend.to_numpy(P), axis=1)]
        if np.issubdtype(self.classes_.dtype, np.number):
            xp = _backend.namespace(backend)
            return xp.take(xp.asarray(self.classes_, device=_device_of(P)), index, axis=0)
        return self.classes_[_backend.to_numpy(index)]

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on (X, y)."""
        if _backend.array_backend(X) is None and _backend.array_backend(y) is None:
            return super().score(X, y, sample_weight=sample_weight)
        predicted = bpxp_to_numpy(self.predict(X))
        return float(np.average(predicted == bpxp_to_numpy(y), weights=sample_weight))


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor (identity output, ½·mean squared error) on any backend.

    Examples
    --------
    >>> import numpy as np
    >>> from bpxp.sklearn import MLPRegressor
    >>> X = np.linspace(-1, 1, 50)[:, None]
    >>> reg = MLPRegressor((16,), activation="tanh", batch_size=5, learning_rate_init=0.01, random_state=0)
    >>> reg.fit(X, 2 * X[:, 0] + 1).predict([[0.5]]).round(1)
    array([2.])
    """

    _output, _loss, _is_classifier, _multi_output = "identity", "mse", False, True

    def _encode_targets(self, y, *, fitting, classes, backend, X):
        if backend is None:
            try:  # float64 first: the network casts to its dtype, refusing values beyond float32's range
                y = np.asarray(y, dtype=np.float64)
            except (ValueError, TypeError):
                raise ValueError(f"`y` must hold numbers for {type(self).__name__}, got "
                                 f"{np.asarray(y).dtype} values such as {np.asarray(y).ravel()[:1].tolist()}") from None
            if fitting:
                self._y_1d = y.ndim == 1
                self.n_outputs_, self.out_activation_ = (1 if y.ndim == 1 else y.shape[1]), "identity"
            return y[:, None] if y.ndim == 1 else y
        xp = _backend.namespace(backend)
        y = xp.asarray(y, device=_device_of(X)) if _backend.array_backend(y) is not None else \
            xp.asarray(np.asarray(y), device=_device_of(X))
        if fitting:
            self._y_1d = y.ndim == 1
            self.n_outputs_, self.out_activation_ = (1 if y.ndim == 1 else y.shape[1]), "identity"
        return xp.reshape(y, (y.shape[0], 1)) if y.ndim == 1 else y  # the network casts, refusing overflow

    @property
    def _n_network_outputs(self) -> int:
        return self.n_outputs_

    def partial_fit(self, X, y, *, validation_data=None):
        """One epoch over (X, y), continuing the optimizer's state (see ``MLPClassifier.partial_fit``)."""
        return self._fit(X, y, validation_data=validation_data, incremental=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X):
        """Predicted targets, shape (n_samples,) for a 1-D target, else (n_samples, n_outputs)."""
        P, backend = self._forward(X, "predict")
        if self._y_1d:
            P = P[:, 0]
        return P if backend is not None else _backend.to_numpy(P)

    def score(self, X, y, sample_weight=None):
        """R² of the prediction."""
        if _backend.array_backend(X) is None and _backend.array_backend(y) is None:
            return super().score(X, y, sample_weight=sample_weight)
        from sklearn.metrics import r2_score

        return float(r2_score(bpxp_to_numpy(y), bpxp_to_numpy(self.predict(X)), sample_weight=sample_weight))


def _is_real(value) -> bool:
    """A real number, not a bool (``True`` as a learning rate is a mistake, not 1.0)."""
    return isinstance(value, Real) and not isinstance(value, bool | np.bool_)


def bpxp_to_numpy(x):
    return _backend.to_numpy(x) if _backend.array_backend(x) is not None else np.asarray(x)


def _namespace_of(x):
    from array_api_compat import array_namespace

    return array_namespace(x)


def _take(A, rows):
    xp = _backend.namespace(_backend.array_backend(A))
    return xp.take(A, xp.asarray(rows, device=_device_of(A)), axis=0)
