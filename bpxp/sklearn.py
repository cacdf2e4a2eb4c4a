"""scikit-learn estimators on any bpxp backend: ``MLPClassifier`` and ``MLPRegressor``, drop-in replacements.

They take every parameter of scikit-learn's MLPs, with its meaning, plus ``backend``, ``device`` and ``dtype``, and
go further where its users asked: a user-given validation set (``fit(X, y, validation_data=(X_val, y_val))``)
with a validation-loss curve, and early stopping that also works with ``partial_fit`` given such a set.
scikit-learn's own test file for its MLPs runs against these estimators (tests/test_sklearn_mlp_suite.py).

"Everything follows X": a NumPy (or list, or scipy.sparse) X gives NumPy outputs, computed on ``backend``; an
array of another backend (a CuPy or torch array, say) trains and predicts on that backend and device, and outputs
come back there. A sparse X is densified one batch of rows at a time, on the network's device.

Solvers: ``'adam'``; ``'sgd'`` with ``momentum`` (Nesterov's form with ``nesterovs_momentum``) and the learning-rate
schedules ``'constant'``, ``'invscaling'`` (η₀ / (t + 1)^power_t, t the samples seen) and ``'adaptive'`` (η/5 at each
plateau) of ``bpxp.optimizers``; ``'lbfgs'`` through ``bpxp.lbfgs`` (SciPy's L-BFGS-B on bpxp's own gradients).
A momentum velocity here accumulates gradients (as PyTorch's), so when η changes between epochs its past steps
are rescaled to the new η, where scikit-learn's keep the old one.
"""

from __future__ import annotations

import itertools
import warnings
from numbers import Integral
from typing import Any

import numpy as np
from array_api_compat import device as _device_of
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    check_random_state,
    column_or_1d,
    validate_data,
)

from . import _backend, _checks, optimizers, recovery
from .activations import get_activation, log_softmax
from .backprop import forward_pass
from .config import TrainingConfig
from .mlp import MLP

_ACTIVATIONS = {"logistic": "sigmoid", "sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu",
                "identity": "identity", "leaky_relu": "leaky_relu"}
_SOLVERS = ("adam", "sgd", "lbfgs")
_PARAMETER_RULES = (  # the numeric parameters and the rule (bpxp._checks) each obeys
    (_checks.POSITIVE_FLOAT, ("learning_rate_init", "epsilon")),
    (_checks.NON_NEGATIVE_FLOAT, ("alpha", "tol", "power_t")),
    (_checks.POSITIVE_INT, ("max_iter", "max_fun")),
    (_checks.UNIT_INTERVAL, ("momentum", "beta_1", "beta_2", "validation_fraction")),
)
_OUT_ACTIVATIONS = {"sigmoid": "logistic", "softmax": "softmax", "identity": "identity", "exp": "exp"}
_SPARSE = "csr"  # other sparse formats are converted to CSR, whose rows slice cheaply
_BLOCK_ROWS = 4096  # rows of a sparse X densified at once for predictions and L-BFGS


def _stochastic(estimator) -> bool:
    if estimator.solver not in ("sgd", "adam"):
        raise AttributeError(f"partial_fit is only available for stochastic optimizers; {estimator.solver!r} is not "
                             "stochastic")
    return True


class _BaseMLP(BaseEstimator):
    _is_classifier = False

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, backend="numpy", device=None, dtype=None,
                 precision="float32"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.backend = backend
        self.device = device
        self.dtype = dtype
        self.precision = precision  # float32 products ('float32', IEEE) or TF32 on CUDA ('tf32'): see bpxp.MLP

    # -- parameters ------------------------------------------------------------------------------------------
    def _check_parameters(self) -> None:
        """Every parameter checked by ``bpxp._checks`` (scikit-learn's convention: ValueError, also for types)."""
        sizes = _checks.check_hidden_sizes(self.hidden_layer_sizes)
        _checks.check_choice(self.activation, "activation", _ACTIVATIONS)
        _checks.check_choice(self.solver, "solver", _SOLVERS)
        _checks.check_choice(self.learning_rate, "learning_rate", optimizers.SCHEDULES)
        for rule, names in _PARAMETER_RULES:
            for name in names:
                _checks.check(getattr(self, name), name, rule, type_error=ValueError)
        patience = self.n_iter_no_change
        if isinstance(patience, bool) or not ((isinstance(patience, Integral) and patience >= 1) or patience == np.inf):
            raise ValueError(f"`n_iter_no_change` must be a positive integer or numpy.inf, got {patience!r}")
        for name in ("shuffle", "early_stopping", "warm_start", "nesterovs_momentum"):
            _checks.check_bool(getattr(self, name), name, numpy_bools=True)
        if not (isinstance(self.verbose, bool | np.bool_)
                or (isinstance(self.verbose, Integral) and self.verbose >= 0)):
            raise TypeError(f"`verbose` must be True, False or a non-negative integer, got {self.verbose!r}")
        if self.batch_size != "auto" and (isinstance(self.batch_size, bool)
                                          or not isinstance(self.batch_size, Integral) or self.batch_size < 1):
            raise ValueError(f"`batch_size` must be 'auto' or a positive integer, got {self.batch_size!r}")
        _checks.check_legacy_seed(self.random_state)
        _backend.check_backend_name(self.backend)
        self._hidden_sizes = sizes

    def _optimizer_rule(self) -> optimizers.Optimizer:
        if self.solver == "adam":
            return optimizers.Adam(self.beta_1, self.beta_2, self.epsilon)
        if self.momentum > 0:
            return (optimizers.Nesterov if self.nesterovs_momentum else optimizers.Momentum)(self.momentum)
        return optimizers.SGD()

    def _schedule(self) -> optimizers.Constant:
        rate = float(self.learning_rate_init)
        if self.solver == "adam" or self.learning_rate == "constant":
            return optimizers.Constant(rate)
        if self.learning_rate == "invscaling":
            return optimizers.InverseScaling(rate, float(self.power_t))
        return optimizers.Adaptive(rate)

    # -- inputs ------------------------------------------------------------------------------------------------
    def _validate_X(self, X, *, reset: bool, y=None):
        """Host data through scikit-learn's checks; another backend's array through bpxp's, staying there."""
        if _backend.array_backend(X) is None:
            kwargs = {"dtype": [np.float64, np.float32], "accept_sparse": _SPARSE}
            if y is None:
                return validate_data(self, X, reset=reset, **kwargs), None, None
            X, y = validate_data(self, X, y, reset=reset, multi_output=True, y_numeric=not self._is_classifier,
                                 **kwargs)
            return X, y, None
        backend = _backend.array_backend(X)
        if not hasattr(X, "shape") or len(X.shape) != 2:
            raise ValueError(f"`X` must be 2-D (n_samples, n_features), got shape {getattr(X, 'shape', None)}")
        if reset:
            self.n_features_in_ = int(X.shape[1])
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input")
        return X, y, backend

    def _batch_size(self, n: int) -> int:
        if self.batch_size == "auto":
            return min(200, n)
        if self.batch_size > n:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
                          UserWarning, stacklevel=4)
        return min(int(self.batch_size), n)

    def _dtype(self, X) -> str:
        if self.dtype is not None:
            return self.dtype
        return "float32" if str(getattr(X, "dtype", "")).endswith("float32") else "float64"

    def _on_device(self, A, X):
        """Host targets or weights ``A`` in X's namespace and device (host data stays NumPy)."""
        backend = _backend.array_backend(X)
        if backend is None or _backend.array_backend(A) is not None:
            return A
        xp = _backend.namespace(backend)
        return xp.asarray(np.asarray(A, dtype=str(X.dtype).split(".")[-1]), device=_device_of(X))

    # -- parameters as scikit-learn shows them -------------------------------------------------------------------
    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices W¹ … Wᴸ as NumPy arrays, shapes (n_in, n_out). Assignable: the next ``partial_fit``
        (or ``fit`` with ``warm_start``) continues from the assigned list."""
        if getattr(self, "_assigned_coefs", None) is not None:
            return self._assigned_coefs
        check_is_fitted(self, "network_")
        return [_backend.to_numpy(w) for w in self.network_.weights]

    @coefs_.setter
    def coefs_(self, value) -> None:
        self._assigned_coefs = value

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors b¹ … bᴸ as NumPy arrays; assignable as ``coefs_``."""
        if getattr(self, "_assigned_intercepts", None) is not None:
            return self._assigned_intercepts
        check_is_fitted(self, "network_")
        return [_backend.to_numpy(b) for b in self.network_.biases]

    @intercepts_.setter
    def intercepts_(self, value) -> None:
        self._assigned_intercepts = value

    def _take_assigned_parameters(self):
        """The assigned (coefs_, intercepts_), or None; consumed, as the network now holds them."""
        coefs, intercepts = getattr(self, "_assigned_coefs", None), getattr(self, "_assigned_intercepts", None)
        self._assigned_coefs = self._assigned_intercepts = None
        if coefs is None and intercepts is None:
            return None
        if coefs is None or intercepts is None:
            raise ValueError("assign both `coefs_` and `intercepts_` before continuing from assigned parameters")
        return [np.asarray(c) for c in coefs], [np.asarray(b) for b in intercepts]

    # -- training ----------------------------------------------------------------------------------------------
    def _new_network(self, n_features: int, n_outputs: int, backend: str, device: Any, dtype: str,
                     assigned=None) -> MLP:
        """The network, with scikit-learn's initial parameters for the same ``random_state`` (or the assigned)."""
        random_state = check_random_state(self.random_state)
        sizes = [n_features, *self._hidden_sizes, n_outputs]
        initial = _initial_parameters(sizes, self.activation, random_state)
        self._rng = np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))  # shuffling
        self._split_state = random_state
        output, loss = self._output_and_loss()
        return MLP.from_weights(*(assigned or initial), hidden=_ACTIVATIONS[self.activation], output=output,
                                loss=loss, backend=backend, dtype=dtype, device=device,
                                precision=self.precision)

    def _reset_progress(self) -> None:
        self.loss_curve_, self.val_loss_curve_ = [], []
        self.loss_ = None
        if self.early_stopping:
            self.validation_scores_, self.best_validation_score_, self.best_loss_ = [], -np.inf, None
        else:
            self.validation_scores_, self.best_validation_score_, self.best_loss_ = None, None, np.inf
        self._no_improvement_count, self._best_parameters, self._optimizer_state = 0, None, None
        self._optimizer = None
        self.n_iter_, self.t_, self.stopped_early_ = 0, 0, False
        self.n_layers_ = len(self._hidden_sizes) + 2
        self.out_activation_ = _OUT_ACTIVATIONS[self.network_.output]

    def _fit(self, X, y, *, sample_weight=None, validation_data=None, incremental: bool, classes=None):
        self._check_parameters()
        if incremental and self.early_stopping and validation_data is None and \
                getattr(self, "_user_validation", None) is None:
            raise ValueError("partial_fit does not support early_stopping=True without a validation set: pass "
                             "validation_data=(X_val, y_val) to partial_fit (it is kept for the calls after)")
        fitted = hasattr(self, "network_")
        first = not fitted or not (incremental or self.warm_start)
        X, y, backend = self._validate_X(X, reset=first, y=y)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        Y = self._encode_targets(y, first=first, incremental=incremental, classes=classes, X=X)
        assigned = self._take_assigned_parameters() if (incremental or self.warm_start) else None
        if first:
            self._fit_backend = backend
            device = _device_of(X) if backend is not None else self.device
            self.network_ = self._new_network(X.shape[1], Y.shape[1], backend or self.backend, device,
                                              self._dtype(X), assigned)
            self._reset_progress()
        elif assigned is not None:
            net = self.network_
            self.network_ = MLP.from_weights(*assigned, hidden=net.hidden, output=net.output, loss=net.loss,
                                             backend=net.backend, dtype=net.dtype_name, device=net.device)
        weights = self._sample_weight(sample_weight, X)
        if self.solver == "lbfgs":
            return self._fit_lbfgs(X, Y, weights)
        return self._fit_stochastic(X, Y, weights, validation_data, incremental)

    def _sample_weight(self, sample_weight, X):
        if sample_weight is None:
            return None
        weights = _check_sample_weight(bpxp_to_numpy(sample_weight), np.empty((X.shape[0], 0)))
        return None if np.all(weights == weights[0]) else weights  # equal weights: the weighted mean is the mean

    def _fit_lbfgs(self, X, Y, weights):
        def report(iteration, loss):
            self.loss_curve_.append(loss)
            if self.verbose:
                print(f"Iteration {iteration}, loss = {loss:.8f}")

        net = self.network_
        if not _is_sparse(X):
            X = net.prepare_features(X)
        result = net.fit_lbfgs(X, self._on_device(Y, X), max_iter=self.max_iter, max_fun=self.max_fun,
                               tol=float(self.tol), l2=float(self.alpha),
                               sample_weight=None if weights is None else self._on_device(weights, X),
                               block_rows=_BLOCK_ROWS, callback=report)
        self.n_iter_, self.loss_ = result.n_iter, result.loss
        if not result.converged:
            warnings.warn(f"lbfgs failed to converge after {result.n_iter} iteration(s) and "
                          f"{result.n_evaluations} evaluations: {result.message}. Increase max_iter or max_fun, "
                          "or scale the data", ConvergenceWarning, stacklevel=3)
        self._check_finite_result()
        return self

    def _check_finite_result(self):
        net = self.network_
        recovery.check_finite_result((*net.weights, *(net.biases or ())), epoch=self.n_iter_, xp=net.xp)

    def _fit_stochastic(self, X, Y, weights, validation_data, incremental):
        validation, X, Y, weights = self._validation(X, Y, weights, validation_data, incremental)
        self._weights = weights
        if not incremental or self._optimizer is None:
            self._optimizer = optimizers.ScheduledRate.start(self._schedule())
            self._optimizer_state = None  # each fit starts a fresh optimizer, as scikit-learn's
        net = self.network_  # inputs checked and moved to the network's device once per call, not per epoch
        batch_size = self._batch_size(X.shape[0])
        if not _is_sparse(X):
            X = net.prepare_features(X)
            Y = self._weighted_targets(net.prepare_targets(self._on_device(Y, X), X.shape[0]), weights)
        if validation is not None:
            validation = net.prepare_validation(validation)
        self._interrupted = False
        if incremental:
            if not (self.early_stopping and self.stopped_early_) and self._one_epoch(X, Y, validation, batch_size) \
                    and (self.early_stopping or self._interrupted):
                self._stop()
            return self
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            if self._one_epoch(X, Y, validation, batch_size):
                self._stop()
                break
        else:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                          "optimization hasn't converged yet.", ConvergenceWarning, stacklevel=3)
            self._restore_best()
        return self

    def _weighted_targets(self, Y, weights):
        """Y on the device, with the sample weights as one more column when there are any (``bpxp.train``)."""
        if weights is None:
            return Y
        xp = self.network_.xp
        column = xp.asarray(weights.astype(self.network_.dtype_name)[:, None], device=_device_of(Y))
        return xp.concat([Y, column], axis=1)

    def _epoch_history(self, X, Y, validation, batch_size):
        """Train one epoch: in the network's loop for dense X; one densified batch at a time for sparse X."""
        net = self.network_

        def train(X_part, Y_part, size, shuffle, validation):
            config = TrainingConfig(epochs=1, learning_rate=self._optimizer.learning_rate, batch_size=size,
                                    optimizer=self._optimizer_rule(), shuffle=shuffle, random_state=self._rng,
                                    l2=float(self.alpha), weighted=self._weights is not None)
            history = net.train_prepared(X_part, Y_part, config, validation=validation,
                                         optimizer_state=self._optimizer_state, report_end=False)
            self._optimizer_state = net.optimizer_state_
            return history

        if not _is_sparse(X):
            return train(X, Y, batch_size, self.shuffle, validation)
        n = X.shape[0]
        order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        total, history = 0.0, None
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            X_batch = net.prepare_features(X[rows].toarray())
            last = start + batch_size >= n
            Y_batch = net.prepare_targets(self._on_device(Y[rows], X_batch), len(rows))
            Y_batch = self._weighted_targets(Y_batch, None if self._weights is None else self._weights[rows])
            history = train(X_batch, Y_batch, len(rows), False, validation if last else None)
            if history.diverged_at is not None or history.interrupted:
                return history
            total += history.loss[-1] * len(rows)
        history.loss[-1] = total / n
        return history

    def _one_epoch(self, X, Y, validation, batch_size) -> bool:
        """One epoch on inputs the network has checked once per fit call; update the curves; return True when
        training should stop."""
        net = self.network_
        history = self._epoch_history(X, Y, validation, batch_size)
        if history.diverged_at is not None:
            return self._diverged(history)
        if history.interrupted:
            self._interrupted = True
            return True
        self.n_iter_ += 1
        self.t_ += X.shape[0]
        self.loss_ = history.loss[-1]
        self.loss_curve_.append(self.loss_)
        if validation is not None:
            self.val_loss_curve_.append(history.val_loss[-1])
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
        if self.early_stopping and validation is not None:
            score = net.score_prepared(*validation)
            self.validation_scores_.append(score)
            improved = not score < self.best_validation_score_ + self.tol
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_parameters = (*net.copy_parameters(), self._optimizer_state)
        else:
            improved = not self.loss_ > self.best_loss_ - self.tol
            self.best_loss_ = min(self.best_loss_, self.loss_)
        self._no_improvement_count = 0 if improved else self._no_improvement_count + 1
        self._optimizer.epoch_ended(self.t_)
        if self._no_improvement_count > self.n_iter_no_change:
            if self._optimizer.plateau():
                return True
            self._no_improvement_count = 0
        return False

    def _diverged(self, history) -> bool:
        """Under early stopping a diverged epoch scores NaN and training stops (the best epoch is restored);
        otherwise divergence is an error (the network keeps the last finite epoch)."""
        stop = self.early_stopping and self.validation_scores_ is not None
        if stop:
            self.validation_scores_.append(float("nan"))
        recovery.report_estimator_divergence(history, epoch=self.n_iter_, stop=stop,
                                             last_loss=self.loss_curve_[-1] if self.loss_curve_ else None)
        return True

    def _stop(self) -> None:
        """Stop: early (keeping the best epoch's weights under early_stopping), or at Ctrl-C (saying so)."""
        if self._interrupted:
            recovery.report_estimator_interruption(
                self.n_iter_, kept="best" if self.early_stopping and self._best_parameters else "last")
        else:
            self.stopped_early_ = True
        self._restore_best()

    def _restore_best(self) -> None:
        if self.early_stopping and self._best_parameters is not None:
            weights, biases, self._optimizer_state = self._best_parameters
            self.network_.set_parameters(weights, biases)

    def _validation(self, X, Y, weights, validation_data, incremental):
        """((X_val, Y_val) or None, X_train, Y_train, weights_train): the user's set, else a split of
        ``validation_fraction`` when stopping early, else None. With partial_fit the user's set is remembered for
        the calls after."""
        if validation_data is not None:
            X_val, y_val = validation_data
            X_val, _, _ = self._validate_X(X_val, reset=False)
            Y_val = self._encode_targets(y_val, first=False, incremental=True, classes=None, X=X_val)
            self._user_validation = (X_val, self._on_device(Y_val, X_val))
            return self._user_validation, X, Y, weights
        if incremental:
            return getattr(self, "_user_validation", None), X, Y, weights
        if not self.early_stopping:
            return None, X, Y, weights
        # scikit-learn stratifies on the encoded targets when there is one output column (binary problems)
        stratify = bpxp_to_numpy(Y).astype(bool) if self._is_classifier and Y.shape[1] == 1 else None
        train_rows, val_rows = train_test_split(np.arange(X.shape[0]), test_size=self.validation_fraction,
                                                random_state=self._split_state, stratify=stratify)
        if len(val_rows) < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size of your "
                             f"dataset (early_stopping holds out {len(val_rows)} of {X.shape[0]} samples).")
        take = lambda A, r: A[r] if _backend.array_backend(A) is None else _take(A, r)  # noqa: E731
        X_val = take(X, val_rows)
        X_val = X_val.toarray() if _is_sparse(X_val) else X_val
        return ((X_val, self._on_device(take(Y, val_rows), X)), take(X, train_rows), take(Y, train_rows),
                None if weights is None else weights[train_rows])

    # -- outputs -----------------------------------------------------------------------------------------------
    def _forward(self, X, method: str):
        """Ŷ of checked X in the network's namespace (a sparse X densified in blocks), and X's backend."""
        check_is_fitted(self, "network_")
        self._check_same_namespace(X, method)
        X, _, backend = self._validate_X(X, reset=False)
        net = self.network_
        if _is_sparse(X):
            X = X.tocsr()
            blocks = [net.forward(X[a:a + _BLOCK_ROWS].toarray()) for a in range(0, X.shape[0], _BLOCK_ROWS)]
            return (blocks[0] if len(blocks) == 1 else net.xp.concat(blocks, axis=0)), backend
        X = X if backend is not None else np.asarray(X, dtype=net.dtype_name)
        return net.forward(X), backend

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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        tags.input_tags.sparse = True
        return tags




class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier trained by bpxp's backpropagation on any backend.

    As scikit-learn's: one logistic output unit for two classes, a softmax over ≥ 3 classes, and one logistic unit
    per label for a multi-label indicator ``y``; cross-entropy loss. ``predict_proba`` gives probabilities in the
    order of ``classes_``. See the module docstring for the parameters beyond scikit-learn's.

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

    def _output_and_loss(self):
        if self._label_binarizer.y_type_ == "multiclass":
            return "softmax", "cross_entropy"
        return "sigmoid", "binary_cross_entropy"

    def _encode_targets(self, y, *, first, incremental, classes, X):
        """Labels → the network's targets (host (n, k) floats, or in X's namespace): scikit-learn's encoding."""
        y = bpxp_to_numpy(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if first and incremental:
            self._label_binarizer = LabelBinarizer().fit(y if type_of_target(y).startswith("multilabel")
                                                         else np.asarray(classes))
            self.classes_ = self._label_binarizer.classes_
        elif first:
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        elif incremental and classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"`classes={np.asarray(classes)!r}` is not the same as on the first call to "
                             f"partial_fit, was: {self.classes_!r}")
        elif self.warm_start and not incremental and set(unique_labels(y)) != set(self.classes_):
            raise ValueError("warm_start can only be used where `y` has the same classes as in the previous call "
                             f"to fit. Previously got {self.classes_}, `y` has {unique_labels(y)}")
        if self._label_binarizer.y_type_ != "multilabel-indicator":
            unseen = np.setdiff1d(y, self.classes_)
            if unseen.size:
                raise ValueError(f"`y` has labels not in `classes` of the first fit: {unseen[:5].tolist()}; pass "
                                 "every class to the first partial_fit with classes=...")
        if first:
            self.n_outputs_ = 1 if len(self.classes_) <= 2 and self._label_binarizer.y_type_ != \
                "multilabel-indicator" else len(self.classes_)
        Y = self._label_binarizer.transform(y).astype(self._dtype(X))
        return self._on_device(Y, X)

    @available_if(_stochastic)
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
            return self._forward(X, method)
        Z, backend = self._logits(X, method)
        xp = self.network_.xp
        P = xp.exp(-xp.logaddexp(0.0, -Z))
        if self.n_outputs_ == 1:
            P = xp.concat([xp.exp(-xp.logaddexp(0.0, Z)), P], axis=1)
        return P, backend

    def _logits(self, X, method):
        """The output layer's Zᴸ for checked X, from the network's public parameters; and X's backend."""
        check_is_fitted(self, "network_")
        self._check_same_namespace(X, method)
        X, _, backend = self._validate_X(X, reset=False)
        net = self.network_
        if _is_sparse(X):
            X = X.toarray()
        X = net.xp.asarray(X if backend is not None else np.asarray(X, dtype=net.dtype_name), device=net.device)
        layers = (*[get_activation(net.hidden)] * (net.n_layers - 1), get_activation(net.output))
        _, Z = forward_pass(X, tuple(net.weights), None if net.biases is None else tuple(net.biases), layers,
                            xp=net.xp, output=False)
        return Z, backend

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes) (multi-label: per label), in X's namespace."""
        P, backend = self._probabilities(X, "predict_proba")
        return P if backend is not None else _backend.to_numpy(P)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`; over ≥ 3 classes computed from the output logits as log softmax(Z),
        finite where a probability rounds to 0."""
        check_is_fitted(self, "network_")
        if self.network_.output == "softmax":
            Z, backend = self._logits(X, "predict_log_proba")
            log_P = log_softmax(Z, xp=self.network_.xp)
        else:
            P, backend = self._probabilities(X, "predict_log_proba")
            log_P = self.network_.xp.log(P)
        return log_P if backend is not None else _backend.to_numpy(log_P)

    def predict(self, X):
        """The most probable class of each sample, from ``classes_`` (multi-label: the indicator matrix)."""
        P, backend = self._forward(X, "predict")
        xp = self.network_.xp
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            labels = xp.astype(P > 0.5, xp.int64)
            return labels if backend is not None else _backend.to_numpy(labels)
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
        if _backend.array_backend(X) is None and _backend.array_backend(y) is None:
            return super().score(X, y, sample_weight=sample_weight)
        predicted = bpxp_to_numpy(self.predict(X))
        return float(np.average(predicted == bpxp_to_numpy(y), weights=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor on any backend: identity output and ½·mean squared error, or with
    ``loss='poisson'`` an exponential output and half the Poisson deviance (for counts).

    Examples
    --------
    >>> import numpy as np
    >>> from bpxp.sklearn import MLPRegressor
    >>> X = np.linspace(-1, 1, 50)[:, None]
    >>> reg = MLPRegressor((16,), activation="tanh", batch_size=5, learning_rate_init=0.01, random_state=0)
    >>> reg.fit(X, 2 * X[:, 0] + 1).predict([[0.5]]).round(1)
    array([2.])
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, loss="squared_error", solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000, backend="numpy", device=None,
                 dtype=None):
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose, warm_start=warm_start,
            momentum=momentum, nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
            n_iter_no_change=n_iter_no_change, max_fun=max_fun, backend=backend, device=device, dtype=dtype)
        self.loss = loss

    def _check_parameters(self) -> None:
        super()._check_parameters()
        _checks.check_choice(self.loss, "loss", ["squared_error", "poisson"])

    def _output_and_loss(self):
        return ("exp", "poisson") if self.loss == "poisson" else ("identity", "mse")

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

    @available_if(_stochastic)
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


def _initial_parameters(sizes, activation: str, random_state) -> tuple[list, list]:
    """scikit-learn's initialisation, drawn in its order: per layer, Wˡ then bˡ ~ U(−r, r) with
    r = √(c / (n_in + n_out)), c = 2 before a logistic hidden activation, else 6 (Glorot's uniform)."""
    factor = 2.0 if activation == "logistic" else 6.0
    weights, biases = [], []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = np.sqrt(factor / (fan_in + fan_out))
        weights.append(random_state.uniform(-bound, bound, (fan_in, fan_out)))
        biases.append(random_state.uniform(-bound, bound, fan_out))
    return weights, biases


def _is_sparse(X) -> bool:
    return hasattr(X, "tocsr") and hasattr(X, "toarray")


def bpxp_to_numpy(x):
    return _backend.to_numpy(x) if _backend.array_backend(x) is not None else np.asarray(x)


def _take(A, rows):
    xp = _backend.namespace(_backend.array_backend(A))
    return xp.take(A, xp.asarray(rows, device=_device_of(A)), axis=0)
