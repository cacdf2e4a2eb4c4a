"""The stochastic solvers (sgd, adam) of bpxp's scikit-learn estimators: one run of bpxp's training loop per
``fit`` (``bpxp.training.session.train``; ``partial_fit`` runs one epoch), with scikit-learn's stopping rule —
``tol`` and ``n_iter_no_change`` on the training loss, or on the validation score under ``early_stopping`` — as
the loop's monitor (``bpxp.training.monitor.Tolerance``), and its curves and counters. How training ended is said
by ``bpxp.training.recovery``. A fit on Dask arrays (``bpxp.sklearn.on_dask``) runs the loop on the Dask driver
with the same configuration, start, monitor and records (``_config``, ``_plan``, ``_keep``, ``_end``).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from ..backend import namespaces as _backend
from ..backend.epochs import DenseBatches
from ..backend.namespaces import device_of as _device_of
from ..math import optimizers
from ..training import checkpoint, recovery, session
from ..training.config import TrainingConfig
from ..training.history import Outcome
from ..training.loop import Plan
from ..training.monitor import Monitor


class StochasticTraining:
    """The sgd/adam training methods of ``bpxp.sklearn.base.BaseMLP`` (a base class of it)."""

    def __getstate__(self) -> dict:
        """The estimator's state for pickle, joblib and ``skops.io``, with NumPy copies of the arrays a stochastic
        run keeps on the network's device (the optimizer state, the best epoch's parameters, partial_fit's
        validation set of another backend's arrays), as ``MLP`` persists its own (``checkpoint.on_host``)."""
        state = dict(super().__getstate__())
        state["_device_state"] = {name: checkpoint.on_host(state.pop(name)) for name in self._device_state_names()}
        return state

    def __setstate__(self, state: dict) -> None:
        """Unpickle, moving the arrays of ``_device_state`` back to the network's namespace and device."""
        state = dict(state)
        held = state.pop("_device_state", {})
        super().__setstate__(state)
        for name, (flat, structure) in held.items():
            setattr(self, name, checkpoint.on_device(flat, structure, xp=self.network_.xp,
                                                     device=self.network_.device))

    def _device_state_names(self) -> list[str]:
        """The attributes holding arrays on the network's device (a validation set of host data stays as given)."""
        names = [name for name in ("_optimizer_state", "_best_parameters") if getattr(self, name, None) is not None]
        if getattr(self, "_user_validation", None) is not None and self._fit_backend is not None:
            names.append("_user_validation")
        return names

    def _fit_stochastic(self, X, Y, weights, validation_data, incremental):
        validation, validation_weights, X, Y, weights = self._validation(X, Y, weights, validation_data, incremental)
        if incremental and self.early_stopping and self.stopped_early_:
            return self
        net = self.network_  # inputs checked and moved to the network's device once per call, not per epoch
        config = self._config(X.shape[0], incremental=incremental, weighted=weights is not None)
        watch = None
        if validation is not None:
            X_val, Y_val = session.validation_pair(net, validation)
            if validation_weights is not None:  # scored with their weights, as scikit-learn's
                validation_weights = net.xp.asarray(validation_weights.astype(net.dtype_name), device=_device_of(X_val))
            watch = session.validation(net, X_val, Y_val, sample_weight=validation_weights)
        outcome, plan = self._plan(config, watch, incremental)
        session.train(net, outcome, self._batches(X, Y, weights, config.batch_size), config, plan)
        self._keep(outcome)
        return self._end(outcome.history, incremental)

    def _config(self, n_samples: int, *, incremental: bool, weighted: bool) -> TrainingConfig:
        """This call's TrainingConfig (one epoch for ``partial_fit``). Each fit starts a fresh optimizer and η, as
        scikit-learn's; ``partial_fit`` calls continue theirs."""
        if not incremental or self._optimizer is None:
            self._optimizer = optimizers.ScheduledRate.start(self._schedule())
            self._optimizer_state = None
        return TrainingConfig(epochs=1 if incremental else int(self.max_iter),
                              learning_rate=self._optimizer.learning_rate, batch_size=self._batch_size(n_samples),
                              optimizer=self._optimizer_rule(), shuffle=bool(self.shuffle),
                              random_state=self._shuffling, l2=float(self.alpha), weighted=weighted)

    def _plan(self, config: TrainingConfig, watch, incremental: bool) -> tuple[Outcome, Plan]:
        """The run's start — the network's parameters, η (``_optimizer``), the optimizer state, the best epoch and
        the samples seen so far — and its Plan, whose monitor is scikit-learn's rule (``_stopping``)."""
        net = self.network_
        self._n_iter_before = self.n_iter_ if incremental else 0
        outcome = Outcome(tuple(net.weights), tuple(net.biases), self._optimizer_state, rate=self._optimizer,
                          best=self._best_parameters, samples_seen=self.t_)
        plan = session.plan(net, config, monitor=Monitor((self._stopping,)), validation=watch,
                            restore_best=not incremental, callback=self._print_iteration if self.verbose else None)
        return outcome, plan

    def _keep(self, outcome) -> None:
        """Hold what the run left — the parameters, the optimizer state, the best epoch — and record it."""
        self.network_.set_parameters(outcome.weights, outcome.biases)
        self._optimizer_state, self._best_parameters = outcome.state, outcome.best
        self._record(outcome)

    def _batches(self, X, Y, weights, batch_size):
        """The epochs' batches on the network's device: X and Y moved once (Y with the sample weights as one more
        column, ``bpxp.training.step``); a sparse X densified one batch of rows at a time."""
        net = self.network_
        if is_sparse(X):
            return SparseBatches(self, X, Y, weights, batch_size)
        X = session.features(net, X)
        Y = self._weighted_targets(session.targets(net, Y, X.shape[0]), weights)  # Y: host, or where X was given
        return DenseBatches(X, Y, batch_size, xp=net.xp)

    def _weighted_targets(self, Y, weights):
        """Y on the device, with the sample weights as one more column when there are any."""
        if weights is None:
            return Y
        xp = self.network_.xp
        column = xp.asarray(weights.astype(self.network_.dtype_name)[:, None], device=_device_of(Y))
        return xp.concat([Y, column], axis=1)

    def _print_iteration(self, epoch, history):
        print(f"Iteration {self._n_iter_before + len(history.loss)}, loss = {history.loss[-1]:.8f}")

    def _record(self, outcome) -> None:
        """scikit-learn's curves and counters, from the run's History and the stopping rule."""
        history, rule = outcome.history, self._stopping
        self.loss_curve_.extend(history.loss)
        self.val_loss_curve_.extend(history.val_loss)
        self.n_iter_ = self._n_iter_before + len(history.loss)
        self.t_ = outcome.samples_seen
        if self.loss_curve_:
            self.loss_ = self.loss_curve_[-1]
        if self.early_stopping:
            self.validation_scores_ = rule.scores
            self.best_validation_score_ = rule.best_score
        else:
            self.best_loss_ = rule.best_loss

    def _end(self, history, incremental: bool):
        """Say how training ended: a divergence (an error, or under early stopping a warning and a stop), Ctrl-C,
        a stop by the rule, or max_iter epochs without one (a ConvergenceWarning)."""
        stop = history.stopped_early
        if history.diverged_at is not None:
            stop = self.early_stopping and self.validation_scores_ is not None
            if stop:
                self.validation_scores_.append(float("nan"))
            recovery.report_estimator_divergence(history, epoch=self.n_iter_, stop=stop, stacklevel=6,
                                                 last_loss=self.loss_curve_[-1] if self.loss_curve_ else None)
        elif history.interrupted:
            recovery.report_estimator_interruption(
                self.n_iter_, kept="best" if self.early_stopping and self._best_parameters else "last", stacklevel=6)
        if incremental:
            if (self.early_stopping and stop) or history.interrupted:
                self.stopped_early_ = not history.interrupted
                self._restore_best()
            return self
        if stop:
            self.stopped_early_ = True
        elif not history.interrupted:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                          "optimization hasn't converged yet.", ConvergenceWarning, stacklevel=4)
        return self

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
        train_rows, val_rows = self._split_rows(Y, bpxp_to_numpy)
        take = lambda A, r: A[r] if _backend.array_backend(A) is None else take_rows(A, r)  # noqa: E731
        X_val = take(X, val_rows)
        X_val = X_val.toarray() if is_sparse(X_val) else X_val
        split = (lambda rows: None) if weights is None else (lambda rows: np.asarray(weights)[rows])
        return ((X_val, self._on_device(take(Y, val_rows), X)), split(val_rows), take(X, train_rows),
                take(Y, train_rows), split(train_rows))

    def _split_rows(self, Y, on_host) -> tuple[np.ndarray, np.ndarray]:
        """(training rows, validation rows) of early stopping: scikit-learn's ``train_test_split`` of range(n)
        with the split state, stratified by the encoded targets where there is one output column (a binary
        classifier; ``on_host(Y)`` brings them to the host, only then)."""
        n = Y.shape[0]
        stratify = on_host(Y).astype(bool) if self._is_classifier and Y.shape[1] == 1 else None
        train_rows, val_rows = train_test_split(np.arange(n), test_size=self.validation_fraction,
                                                random_state=self._random_state, stratify=stratify)
        if len(val_rows) < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size of your "
                             f"dataset (early_stopping holds out {len(val_rows)} of {n} samples).")
        return train_rows, val_rows


def is_sparse(X) -> bool:
    return hasattr(X, "tocsr") and hasattr(X, "toarray")


def bpxp_to_numpy(x):
    return _backend.to_numpy(x) if _backend.array_backend(x) is not None else np.asarray(x)


def take_rows(A, rows):
    xp = _backend.namespace(_backend.array_backend(A))
    return xp.take(A, xp.asarray(rows, device=_device_of(A)), axis=0)


class SparseBatches:
    """A sparse X's batches, each densified and moved to the network's device when its step comes (the epoch's
    rows in the order the driver draws; X is CSR, whose row slices are cheap). Y, with the sample weights as one
    more column, is checked and moved once per fit; its batches are sliced, or gathered on the device by the
    epoch's permutation, moved there once per epoch."""

    def __init__(self, estimator, X, Y, weights, batch_size):
        self.net, self.X = estimator.network_, X
        self.Y = estimator._weighted_targets(session.targets(self.net, Y, X.shape[0]), weights)
        self.n, self.size = X.shape[0], min(batch_size, X.shape[0])
        self.count = -(-self.n // self.size)

    def __call__(self, order):
        xp = self.net.xp
        on_device = None if order is None else xp.asarray(order, device=_device_of(self.Y))
        for start in range(0, self.n, self.size):
            end = min(start + self.size, self.n)
            if order is None:
                rows, Y_batch = slice(start, end), self.Y[start:end, ...]
            else:
                rows, Y_batch = order[start:end], xp.take(self.Y, on_device[start:end], axis=0)
            yield session.features(self.net, self.X[rows].toarray()), Y_batch
