"""The stochastic solvers (sgd, adam) of bpxp's scikit-learn estimators: the epoch loop, scikit-learn's stopping
rules (``tol``, ``n_iter_no_change``, early stopping on a validation split or set) and its curves. The network is
driven through ``MLP``'s public methods only (``prepare_*``, ``train_prepared``, ``score_prepared``,
``copy_parameters``/``set_parameters``); how training ended is said by ``bpxp.training.recovery``.
"""

from __future__ import annotations

import warnings

import numpy as np
from array_api_compat import device as _device_of
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from ..backend import namespaces as _backend
from ..math import optimizers
from ..training import recovery
from ..training.config import TrainingConfig


class StochasticTraining:
    """The sgd/adam training methods of ``bpxp.sklearn.base.BaseMLP`` (a base class of it)."""

    def _fit_stochastic(self, X, Y, weights, validation_data, incremental):
        validation, validation_weights, X, Y, weights = self._validation(X, Y, weights, validation_data, incremental)
        self._weights = weights
        if not incremental or self._optimizer is None:
            self._optimizer = optimizers.ScheduledRate.start(self._schedule())
            self._optimizer_state = None  # each fit starts a fresh optimizer, as scikit-learn's
        net = self.network_  # inputs checked and moved to the network's device once per call, not per epoch
        batch_size = self._batch_size(X.shape[0])
        if not is_sparse(X):
            X = net.prepare_features(X)
            Y = self._weighted_targets(net.prepare_targets(self._on_device(Y, X), X.shape[0]), weights)
        self._validation_weights = None
        if validation is not None:
            validation = net.prepare_validation(validation)
            if validation_weights is not None:  # scored with their weights, as scikit-learn's
                self._validation_weights = net.xp.asarray(validation_weights.astype(net.dtype_name),
                                                          device=_device_of(validation[0]))
        self._interrupted = False
        if incremental:
            if not (self.early_stopping and self.stopped_early_) and self._guarded_epoch(X, Y, validation, batch_size) \
                    and (self.early_stopping or self._interrupted):
                self._stop()
            return self
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            if self._guarded_epoch(X, Y, validation, batch_size):
                self._stop()
                break
        else:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                          "optimization hasn't converged yet.", ConvergenceWarning, stacklevel=3)
            self._restore_best()
        return self

    def _weighted_targets(self, Y, weights):
        """Y on the device, with the sample weights as one more column when there are any (``bpxp.training.loop``)."""
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

        if not is_sparse(X):
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

    def _guarded_epoch(self, X, Y, validation, batch_size) -> bool:
        """:meth:`_one_epoch`, with a Ctrl-C that lands outside the network's training loop (between two epochs:
        the per-epoch bookkeeping, the next epoch's set-up) taken as one inside it: training stops, keeping the
        epochs completed."""
        counted, n_iter = len(self.loss_curve_), self.n_iter_
        try:
            return self._one_epoch(X, Y, validation, batch_size)
        except KeyboardInterrupt:
            if len(self.loss_curve_) > counted and self.n_iter_ == n_iter:  # between the curve and the counters
                self.n_iter_, self.t_, self.loss_ = n_iter + 1, self.t_ + X.shape[0], self.loss_curve_[-1]
            self._interrupted = True
            return True

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
        self.loss_curve_.append(history.loss[-1])  # the epoch counts from here (a Ctrl-C from now on keeps it)
        self.n_iter_ += 1
        self.t_ += X.shape[0]
        self.loss_ = history.loss[-1]
        if validation is not None:
            self.val_loss_curve_.append(history.val_loss[-1])
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
        if self.early_stopping and validation is not None:
            score = net.score_prepared(*validation, sample_weight=self._validation_weights)
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
        """((X_val, Y_val) or None, the split's sample weights or None, X_train, Y_train, weights_train): the
        user's set, else a split of ``validation_fraction`` when stopping early, else None. With partial_fit the
        user's set is remembered for the calls after."""
        if validation_data is not None:
            X_val, y_val = validation_data
            X_val, _, _ = self._validate_X(X_val, reset=False)
            Y_val = self._encode_targets(y_val, first=False, incremental=True, classes=None, X=X_val)
            self._user_validation = (X_val, self._on_device(Y_val, X_val))
            return self._user_validation, None, X, Y, weights
        if incremental:
            return getattr(self, "_user_validation", None), None, X, Y, weights
        if not self.early_stopping:
            return None, None, X, Y, weights
        # scikit-learn stratifies on the encoded targets when there is one output column (binary problems)
        stratify = bpxp_to_numpy(Y).astype(bool) if self._is_classifier and Y.shape[1] == 1 else None
        train_rows, val_rows = train_test_split(np.arange(X.shape[0]), test_size=self.validation_fraction,
                                                random_state=self._split_state, stratify=stratify)
        if len(val_rows) < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size of your "
                             f"dataset (early_stopping holds out {len(val_rows)} of {X.shape[0]} samples).")
        take = lambda A, r: A[r] if _backend.array_backend(A) is None else take_rows(A, r)  # noqa: E731
        X_val = take(X, val_rows)
        X_val = X_val.toarray() if is_sparse(X_val) else X_val
        split = (lambda rows: None) if weights is None else (lambda rows: np.asarray(weights)[rows])
        return ((X_val, self._on_device(take(Y, val_rows), X)), split(val_rows), take(X, train_rows),
                take(Y, train_rows), split(train_rows))


def is_sparse(X) -> bool:
    return hasattr(X, "tocsr") and hasattr(X, "toarray")


def bpxp_to_numpy(x):
    return _backend.to_numpy(x) if _backend.array_backend(x) is not None else np.asarray(x)


def take_rows(A, rows):
    xp = _backend.namespace(_backend.array_backend(A))
    return xp.take(A, xp.asarray(rows, device=_device_of(A)), axis=0)
