"""bpxp's scikit-learn estimators on Dask arrays: ``fit`` through ``MLP.fit``'s Dask path, lazy predictions.

X (and y) are Dask arrays chunked along rows, every column in one chunk, with known chunk sizes. Training runs
per chunk on the workers (``bpxp.dask.training``); X is never computed whole. The classifier's ``classes_`` come
from one small compute (``da.unique(y)``) and its labels are encoded chunk by chunk. With ``early_stopping=True``
a seeded split of the row numbers (``train_test_split`` of ``range(n)`` with ``random_state``, each part in row
order) holds out ``validation_fraction`` of the rows as a Dask validation set; ``MLP.fit`` watches its loss with
patience ``n_iter_no_change`` and restores the best epoch's weights. There, unlike in memory, the stopping rule
is the validation loss's (not the score's, without ``tol``), and without early stopping all ``max_iter`` epochs
run. Not on Dask: ``solver='lbfgs'``, ``partial_fit``, ``warm_start``, ``sample_weight``, ``validation_data``
(split it off and call ``MLP.fit``), the adaptive schedule (its plateaus follow the ``tol`` rule), multi-label and
2-D targets. ``learning_rate='invscaling'`` runs as in memory: η = η₀/(t + 1)^power_t after each epoch.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import check_classification_targets

from ..dask import chunks as dask_chunks


def check_unsupported(estimator, *, sample_weight, validation_data, incremental: bool) -> None:
    """A clear error for each option the estimators do not (yet) support on Dask input."""
    name = type(estimator).__name__
    refused = [
        (incremental, "partial_fit"),
        (estimator.warm_start, "warm_start=True"),
        (estimator.solver == "lbfgs", "solver='lbfgs'"),
        (sample_weight is not None, "sample_weight"),
        (validation_data is not None, "validation_data (pass it to bpxp.MLP.fit instead)"),
        (estimator.solver == "sgd" and estimator.learning_rate == "adaptive",
         "learning_rate='adaptive' (its plateaus follow the tol rule, which a Dask fit does not run)"),
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
    check_classification_targets(classes)
    estimator._label_binarizer = LabelBinarizer().fit(classes)
    estimator.classes_ = estimator._label_binarizer.classes_
    k = 1 if len(classes) <= 2 else len(classes)
    estimator.n_outputs_ = k
    binarizer = estimator._label_binarizer
    return y.map_blocks(lambda labels: binarizer.transform(labels).astype(dtype), dtype=dtype,
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
    estimator.network_ = estimator._new_network(X.shape[1], Y.shape[1], estimator.backend, estimator.device, dtype)
    estimator._reset_progress()
    n = int(X.shape[0])
    validation, patience = None, None
    if estimator.early_stopping:
        X, Y, validation = split(X, Y, estimator.validation_fraction, estimator._split_state)
        patience = estimator.max_iter if estimator.n_iter_no_change == np.inf else int(estimator.n_iter_no_change)
        n = int(X.shape[0])
    history = estimator.network_.fit(
        X, Y, epochs=int(estimator.max_iter), learning_rate=float(estimator.learning_rate_init),
        batch_size=estimator._batch_size(n), optimizer=estimator._optimizer_rule(), shuffle=bool(estimator.shuffle),
        random_state=estimator._rng, l2=float(estimator.alpha), validation_data=validation,
        early_stopping=patience, on_divergence="raise",
        learning_rate_schedule=estimator._schedule() if estimator.solver == "sgd" and
        estimator.learning_rate == "invscaling" else None)  # a constant η needs no schedule ('adaptive' is refused)
    estimator.loss_curve_ = [float(v) for v in history.loss]
    estimator.val_loss_curve_ = [float(v) for v in history.val_loss]
    estimator.n_iter_ = len(estimator.loss_curve_)
    estimator.loss_ = estimator.loss_curve_[-1] if estimator.loss_curve_ else None
    estimator.best_loss_ = min(estimator.loss_curve_, default=None)
    estimator.t_ = estimator.n_iter_ * n
    estimator.stopped_early_ = bool(history.stopped_early)
    return estimator


def split(X, Y, fraction: float, random_state):
    """(X_train, Y_train, (X_val, Y_val)): a seeded split of the rows, each part in row order, lazily."""
    n = int(X.shape[0])
    train_rows, val_rows = train_test_split(np.arange(n), test_size=fraction, random_state=random_state)
    if len(val_rows) < 2:
        raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size of your "
                         f"dataset (early_stopping holds out {len(val_rows)} of {n} samples).")
    train_rows, val_rows = np.sort(train_rows), np.sort(val_rows)
    return X[train_rows], Y[train_rows], (X[val_rows], Y[val_rows])


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
