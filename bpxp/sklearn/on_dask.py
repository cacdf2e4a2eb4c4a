"""bpxp's scikit-learn estimators on Dask arrays: ``fit`` in the same training loop as in memory, lazy predictions.

X (and y) are Dask arrays chunked along rows, every column in one chunk, with known chunk sizes. Training runs
per chunk on the workers (``bpxp.dask.training.train``, the Dask twin of the in-memory run); X is never computed
whole. The classifier's ``classes_`` come from one small compute (``da.unique(y)``) and its labels are encoded
chunk by chunk. The run is the in-memory one (``bpxp.sklearn.training``): the same ``TrainingConfig``, the same
η (``learning_rate`` 'constant', 'invscaling' or 'adaptive', whose plateaus follow the ``tol`` rule), and the same
monitor — scikit-learn's ``tol``/``n_iter_no_change`` rule on the training loss or, with ``early_stopping=True``,
on the validation score (accuracy, or R²), keeping the best epoch — and so the same ``loss_curve_``,
``validation_scores_``, ``n_iter_``, ``t_``, ``stopped_early_`` and ConvergenceWarning.

With ``early_stopping=True`` the held-out rows are the very rows held out in memory (``train_test_split`` of
``range(n)`` with the estimator's split state, stratified by the labels of a binary classifier: for that, the
encoded labels are computed once, one boolean per row). Each part is then taken lazily in row order (cheap slices
of the chunks), and the batches take the training rows in the order the in-memory split holds them: on float64
data a Dask fit and an in-memory fit agree to rounding (each batch's sums are added chunk by chunk). The
validation loss and score add up chunk by chunk (``bpxp.dask.store``). Not on Dask: ``solver='lbfgs'``,
``partial_fit``, ``warm_start``, ``sample_weight``, ``validation_data`` (split it off and call ``MLP.fit``),
multi-label and 2-D targets.
"""

from __future__ import annotations

import math

import numpy as np

from ..dask import chunks as dask_chunks
from ..dask import training as dask_training
from .labels import classes_of, one_hot_of_classes, target_type


def check_unsupported(estimator, *, sample_weight, validation_data, incremental: bool) -> None:
    """A clear error for each option the estimators do not (yet) support on Dask input."""
    name = type(estimator).__name__
    refused = [
        (incremental, "partial_fit"),
        (estimator.warm_start, "warm_start=True"),
        (estimator.solver == "lbfgs", "solver='lbfgs'"),
        (sample_weight is not None, "sample_weight"),
        (validation_data is not None, "validation_data (pass it to bpxp.MLP.fit instead)"),
    ]
    for refused_here, what in refused:
        if refused_here:
            raise ValueError(f"{name} on Dask arrays does not support {what}; use in-memory arrays for it")


def check_layout(X, y) -> None:
    """X: 2-D, rows in chunks of known sizes, all columns in one chunk; y: a 1-D (or one-column) Dask array or
    host array with X's rows."""
    if X.ndim != 2:
        raise ValueError(f"`X` must be 2-D (n_samples, n_features), got a Dask array of shape {X.shape}")
    if len(X.chunks[1]) > 1:
        raise ValueError(f"`X` must hold every column in one chunk (chunked along rows only), got column chunks "
                         f"{X.chunks[1]}; rechunk it first: X.rechunk({{1: -1}})")
    if any(math.isnan(c) for c in X.chunks[0]):
        raise ValueError("`X` has unknown chunk sizes (rows per chunk); call X.compute_chunk_sizes() (or "
                         "dataframe.to_dask_array(lengths=True)) first")
    if y is None:
        raise ValueError("the estimators require y to be passed, but the target y is None")
    if dask_chunks.is_dask(y) and any(math.isnan(c) for c in y.chunks[0]):
        raise ValueError("`y` has unknown chunk sizes; call y.compute_chunk_sizes() first")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"`y` has {y.shape[0]} rows but `X` has {X.shape[0]}")
    if (len(y.shape) == 2 and y.shape[1] != 1) or len(y.shape) not in (1, 2):
        raise ValueError(f"on Dask arrays `y` must be 1-D (one target or class labels), got shape {y.shape}")


def _as_dask_column(y, X):
    import dask.array as da

    y = y if dask_chunks.is_dask(y) else da.from_array(np.asarray(y), chunks=(X.chunks[0], *y.shape[1:]))
    return y if y.ndim == 1 else y[:, 0]


def classifier_targets(estimator, y, dtype: str):
    """``classes_`` from y (one small compute), and y's labels encoded chunk by chunk as the network's targets."""
    import dask.array as da

    classes = np.unique(da.unique(y).compute())
    estimator._target_type = target_type(classes)
    estimator.classes_ = classes_of(classes, estimator._target_type)
    k = 1 if len(classes) <= 2 else len(classes)
    estimator.n_outputs_ = k
    return y.map_blocks(lambda y: one_hot_of_classes(y, classes, k).astype(dtype), dtype=dtype,
                        chunks=(y.chunks[0], (k,)), new_axis=1, meta=np.empty((0, 0), dtype=dtype))


def regressor_targets(estimator, y, dtype: str):
    estimator._y_1d = True
    estimator.n_outputs_ = 1
    return y.astype(dtype)[:, None]


def fit(estimator, X, y, *, sample_weight=None, validation_data=None, incremental: bool = False):
    """Fit ``estimator`` (parameters checked) on Dask X, y: see the module docstring."""
    check_unsupported(estimator, sample_weight=sample_weight, validation_data=validation_data,
                      incremental=incremental)
    check_layout(X, y)
    y = _as_dask_column(y, X)
    y = y.rechunk({0: X.chunks[0]}) if y.chunks[0] != X.chunks[0] else y
    dtype = estimator._dtype(X)
    encode = classifier_targets if estimator._is_classifier else regressor_targets
    Y = encode(estimator, y, dtype)
    estimator.n_features_in_ = int(X.shape[1])
    estimator._fit_backend = None  # the network holds host parameters: in-memory inputs are predicted as usual
    net = estimator.network_ = estimator._new_network(X.shape[1], Y.shape[1], estimator.backend, estimator.device,
                                                      dtype)
    estimator._reset_progress()
    validation, row_order = None, None
    if estimator.early_stopping:
        X, Y, validation, row_order = split(estimator, X, Y)
    X, Y = dask_chunks.check_data(X, Y, net)
    config = estimator._config(int(X.shape[0]), incremental=False, weighted=False)
    with dask_training.validated(net, validation) as watch:
        outcome, plan = estimator._plan(config, watch, incremental=False)
        dask_training.train(net, X, Y, outcome, config, plan, row_order=row_order)
    estimator._keep(outcome)
    return estimator._end(outcome.history, incremental=False)


def split(estimator, X, Y):
    """(X_train, Y_train, (X_val, Y_val), row_order): early stopping's split of the rows, the very rows the
    estimator holds out in memory (``_split_rows``), each part taken lazily in row order; ``row_order`` gives the
    training rows in the order the in-memory split holds them (as positions in X_train), which the batches take."""
    train_rows, val_rows = estimator._split_rows(Y, lambda Y: Y.astype(bool).compute())
    kept, held_out = np.sort(train_rows), np.sort(val_rows)
    return X[kept], Y[kept], (X[held_out], Y[held_out]), np.searchsorted(kept, train_rows)


# -- outputs -----------------------------------------------------------------------------------------------------

def _checked(estimator, X):
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator, "network_")
    if X.ndim != 2 or X.shape[1] != estimator.n_features_in_:
        raise ValueError(f"X has shape {X.shape}, but {type(estimator).__name__} is expecting "
                         f"{estimator.n_features_in_} features as input")
    return X


def outputs(estimator, X):
    """Ŷ of Dask X, lazily and chunk by chunk (the network's outputs)."""
    return estimator.network_.forward(_checked(estimator, X))


def predict_proba(estimator, X):
    """Class probabilities of Dask X, lazily: P(0) = 1 − ŷ, P(1) = ŷ for one sigmoid unit, else the softmax."""
    import dask.array as da

    P = outputs(estimator, X)
    return da.concatenate([1 - P, P], axis=1) if estimator.n_outputs_ == 1 else P


def predict(estimator, X):
    """Predictions of Dask X, lazily: labels from ``classes_`` for the classifier, values for the regressor."""
    P = outputs(estimator, X)
    if not estimator._is_classifier:
        return P[:, 0] if estimator._y_1d else P
    index = (P[:, 0] > 0.5).astype(np.int64) if estimator.n_outputs_ == 1 else P.argmax(axis=1)
    classes = estimator.classes_
    if len(classes) == 1:
        index = index * 0
    return index.map_blocks(lambda i: classes[i], dtype=classes.dtype, meta=np.empty((0,), dtype=classes.dtype))


def score(estimator, X, y, sample_weight=None) -> float:
    """Accuracy (classifier) or R² (regressor) of Dask X against y, computed chunk by chunk into one float."""
    import dask.array as da

    if sample_weight is not None:
        raise ValueError(f"{type(estimator).__name__}.score on Dask arrays does not support sample_weight")
    predicted = predict(estimator, X)
    y = _as_dask_column(y, X)
    y = y.rechunk({0: predicted.chunks[0]}) if y.chunks[0] != predicted.chunks[0] else y
    if estimator._is_classifier:
        return float((predicted == y).mean().compute())
    y = y.astype(predicted.dtype)
    residual, total = da.compute(((y - predicted) ** 2).sum(), ((y - y.mean()) ** 2).sum())
    return float(1 - residual / total) if total > 0 else (1.0 if residual == 0 else 0.0)
