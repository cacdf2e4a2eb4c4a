"""The common base of bpxp's scikit-learn estimators (``bpxp.sklearn``): parameters and their checks, inputs,
scikit-learn's initialisation, the network they drive, the L-BFGS path and the outputs. The stochastic solvers'
epoch loop is in ``bpxp.sklearn.training``.
"""

from __future__ import annotations

import itertools
import warnings
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    check_random_state,
    validate_data,
)

from .. import checks
from ..backend import namespaces as _backend
from ..backend.namespaces import device_of as _device_of
from ..dask import chunks as dask_chunks
from ..math import optimizers
from ..mlp import MLP
from ..training import recovery
from ..training.monitor import Tolerance
from .on_dask import fit as fit_on_dask
from .training import StochasticTraining, bpxp_to_numpy, is_sparse

ACTIVATIONS = {"logistic": "sigmoid", "sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu",
                "identity": "identity", "leaky_relu": "leaky_relu"}
SOLVERS = ("adam", "sgd", "lbfgs")
PARAMETER_RULES = (  # the numeric parameters and the rule (bpxp.checks) each obeys
    (checks.POSITIVE_FLOAT, ("learning_rate_init", "epsilon")),
    (checks.NON_NEGATIVE_FLOAT, ("alpha", "tol", "power_t")),
    (checks.POSITIVE_INT, ("max_iter", "max_fun")),
    (checks.UNIT_INTERVAL, ("momentum", "beta_1", "beta_2", "validation_fraction")),
)
OUT_ACTIVATIONS = {"sigmoid": "logistic", "softmax": "softmax", "identity": "identity", "exp": "exp"}
SPARSE = "csr"  # other sparse formats are converted to CSR, whose rows slice cheaply
BLOCK_ROWS = 4096  # rows of a sparse X densified at once for predictions and L-BFGS


def stochastic(estimator) -> bool:
    if estimator.solver not in ("sgd", "adam"):
        raise AttributeError(f"partial_fit is only available for stochastic optimizers; {estimator.solver!r} is not "
                             "stochastic")
    return True

class BaseMLP(StochasticTraining, BaseEstimator):
    _is_classifier = False

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, backend="numpy", device=None, dtype=None,
                 precision="float32"):
        keep_parameters(self, locals())

    # -- parameters ------------------------------------------------------------------------------------------
    def _check_parameters(self) -> None:
        """Every parameter checked by ``bpxp.checks`` (scikit-learn's convention: ValueError, also for types)."""
        sizes = checks.check_hidden_sizes(self.hidden_layer_sizes)
        checks.check_choice(self.activation, "activation", ACTIVATIONS)
        checks.check_choice(self.solver, "solver", SOLVERS)
        checks.check_choice(self.learning_rate, "learning_rate", optimizers.SCHEDULES)
        for rule, names in PARAMETER_RULES:
            for name in names:
                checks.check(getattr(self, name), name, rule, type_error=ValueError)
        patience = self.n_iter_no_change
        if isinstance(patience, bool) or not ((isinstance(patience, Integral) and patience >= 1) or patience == np.inf):
            raise ValueError(f"`n_iter_no_change` must be a positive integer or numpy.inf, got {patience!r}")
        for name in ("shuffle", "early_stopping", "warm_start", "nesterovs_momentum"):
            checks.check_bool(getattr(self, name), name, numpy_bools=True)
        if not (isinstance(self.verbose, bool | np.bool_)
                or (isinstance(self.verbose, Integral) and self.verbose >= 0)):
            raise TypeError(f"`verbose` must be True, False or a non-negative integer, got {self.verbose!r}")
        if self.batch_size != "auto" and (isinstance(self.batch_size, bool)
                                          or not isinstance(self.batch_size, Integral) or self.batch_size < 1):
            raise ValueError(f"`batch_size` must be 'auto' or a positive integer, got {self.batch_size!r}")
        checks.check_legacy_seed(self.random_state)
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
            kwargs = {"dtype": [np.float64, np.float32], "accept_sparse": SPARSE}
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

    @property
    def _no_improvement_count(self) -> int:
        """Epochs in a row without improvement by ``tol`` (scikit-learn's name; the stopping rule counts them)."""
        return self._stopping.count

    @_no_improvement_count.setter
    def _no_improvement_count(self, count: int) -> None:
        if hasattr(self, "_stopping"):  # before the first fit there is no rule yet: that fit starts it at 0
            self._stopping.count = count

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
        """The network, with scikit-learn's initial parameters drawn from this fit's RandomState (or the assigned)."""
        sizes = [n_features, *self._hidden_sizes, n_outputs]
        initial = [[a.astype(dtype) for a in arrays] for arrays in initial_parameters(sizes, self.activation,
                                                                                        self._random_state)]
        output, loss = self._output_and_loss()
        return MLP.from_weights(*(assigned or initial), hidden=ACTIVATIONS[self.activation], output=output,
                                loss=loss, backend=backend, dtype=dtype, device=device,
                                precision=self.precision)

    def _start_random_state(self) -> None:
        """This call's RandomState, as scikit-learn's (``check_random_state``: a fresh one per call for an integer
        seed). It draws as scikit-learn's does — the initial parameters (a first fit), then early stopping's split
        — so that both hold out the same rows; then, once, the seed of the epochs' shuffling (``_shuffling``)."""
        self._random_state = check_random_state(self.random_state)

    @property
    def _shuffling(self) -> np.random.Generator:
        """The Generator that orders the epochs' rows, seeded from the first fit's RandomState after its split and
        kept by later calls (``partial_fit``, warm starts), which go on drawing from it."""
        if getattr(self, "_rng", None) is None:
            self._rng = np.random.default_rng(self._random_state.randint(np.iinfo(np.int32).max))
        return self._rng

    def _reset_progress(self) -> None:
        self.loss_curve_, self.val_loss_curve_ = [], []
        self.loss_ = None
        if self.early_stopping:
            self.validation_scores_, self.best_validation_score_, self.best_loss_ = [], -np.inf, None
        else:
            self.validation_scores_, self.best_validation_score_, self.best_loss_ = None, None, np.inf
        self._stopping = Tolerance(float(self.tol), self.n_iter_no_change, watch_score=bool(self.early_stopping))
        self._best_parameters, self._optimizer_state = None, None
        self._optimizer, self._rng = None, None
        self.n_iter_, self.t_, self.stopped_early_ = 0, 0, False
        self.n_layers_ = len(self._hidden_sizes) + 2
        self.out_activation_ = OUT_ACTIVATIONS[self.network_.output]

    def _fit(self, X, y, *, sample_weight=None, validation_data=None, incremental: bool, classes=None):
        self._check_parameters()
        self._start_random_state()
        if dask_chunks.is_dask(X):  # per chunk on the Dask workers, the same run on the Dask driver
            return fit_on_dask(self, X, y, sample_weight=sample_weight, validation_data=validation_data,
                                     incremental=incremental)
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
                                             backend=net.backend, dtype=net.dtype_name, device=net.device,
                                             precision=net.precision)
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

        net = self.network_  # fit_lbfgs checks and moves X, Y and the weights once (a sparse X block by block)
        result = net.fit_lbfgs(X, Y, max_iter=self.max_iter, max_fun=self.max_fun,
                               tol=float(self.tol), l2=float(self.alpha), sample_weight=weights,
                               block_rows=BLOCK_ROWS, callback=report)
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
    # -- outputs -----------------------------------------------------------------------------------------------
    def _checked_input(self, X, method: str):
        """(X checked for ``method`` of the fitted estimator, X's backend or None for host data)."""
        check_is_fitted(self, "network_")
        self._check_same_namespace(X, method)
        X, _, backend = self._validate_X(X, reset=False)
        return X, backend

    def _outputs(self, X, method: str, *, logits: bool = False):
        """Ŷ (with ``logits``, the output layer's Zᴸ) of X in the network's namespace, dtype and device, and X's
        backend: the one way in of every prediction method. X is checked for ``method`` and then cast and moved
        by the network (``MLP.forward``/``MLP.logits``), so an X of another float dtype than the network's gives
        the network's dtype; a sparse X is densified in blocks of rows."""
        X, backend = self._checked_input(X, method)
        net = self.network_
        run = net.logits if logits else net.forward
        if is_sparse(X):
            X = X.tocsr()
            blocks = [run(X[a:a + BLOCK_ROWS].toarray()) for a in range(0, X.shape[0], BLOCK_ROWS)]
            return (blocks[0] if len(blocks) == 1 else net.xp.concat(blocks, axis=0)), backend
        return run(X if backend is not None else np.asarray(X, dtype=net.dtype_name)), backend

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


def keep_parameters(estimator, parameters: dict) -> None:
    """Store each argument of an estimator's ``__init__`` (its ``locals()``) unchanged under its own name, as
    scikit-learn's convention asks (checks come in ``fit``): one way for both estimators, whose signatures differ
    only by the regressor's ``loss``. ``precision``: float32 products ('float32', IEEE) or TF32 on CUDA ('tf32'),
    as ``bpxp.MLP``'s."""
    for name, value in parameters.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


def initial_parameters(sizes, activation: str, random_state) -> tuple[list, list]:
    """scikit-learn's initialisation, drawn in its order: per layer, Wˡ then bˡ ~ U(−r, r) with
    r = √(c / (n_in + n_out)), c = 2 before a logistic hidden activation, else 6 (Glorot's uniform)."""
    factor = 2.0 if activation == "logistic" else 6.0
    weights, biases = [], []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = np.sqrt(factor / (fan_in + fan_out))
        weights.append(random_state.uniform(-bound, bound, (fan_in, fan_out)))
        biases.append(random_state.uniform(-bound, bound, fan_out))
    return weights, biases
