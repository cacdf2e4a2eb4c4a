"""Writes ``tests/data/estimator_reference.npz``: what bpxp's scikit-learn estimators learn today, case by case.

    OMP_NUM_THREADS=1 python tests/data/make_estimator_reference.py

run from the repository root with this checkout's bpxp importable (``pip install -e .``); it prints the bpxp it
imported, the archive's size and how the cases ended.

Every case fits ``bpxp.sklearn.MLPClassifier`` or ``MLPRegressor`` in float64 on NumPy (``dtype="float64"``,
``backend="numpy"``) on small fixed data and records the fitted attributes and the predictions on the training
inputs. ``tests/test_estimator_reference.py`` imports :data:`CASES`, :func:`record` and :func:`reference` from this
file, refits every case with the current code and compares; the grid is defined here only.

The grid (:func:`_grid`): solver ∈ {sgd, adam} × early_stopping ∈ {False, True} × batch_size ∈ {'auto' (the whole
training set), 16} × learning_rate ∈ {constant, invscaling, adaptive} (sgd; adam takes 'constant') × one ``fit``
or two in a row with ``warm_start=True`` (recorded after the second), for a three-class classifier; the same with
one ``fit`` for a regressor, and two regressor warm starts. Then: a binary classifier with string labels;
``sample_weight``; a validation set given to ``fit``; two adaptive cases with a patience of 1, where η reaches its
floor and ends training; sequences of three ``partial_fit`` calls (on thirds of the rows; the classifier's first
call with ``classes``) without validation data, with a validation set given to the first call, and with it and
early stopping (two of those with a fourth call after the stop, which must change nothing). ``max_iter``, ``tol``,
``n_iter_no_change`` and the learning rates make many cases stop before ``max_iter`` and most adaptive ones
divide η at a plateau: the script prints how many.

Archive layout: one member per case, named by the case id, holding a single structured record with one field
per recorded value, named after the attribute — ``loss_curve_``, ``n_iter_``, ``t_``, ``loss_``,
``best_loss_``, ``best_validation_score_``, ``validation_scores_``, ``val_loss_curve_``, ``stopped_early_``,
``coefs_/0`` … and ``intercepts_/0`` … per layer, ``predict`` and (classifiers) ``predict_proba`` on the training
X. An attribute that is None has no field. ``"cases"`` lists the case ids in order. (One member per value
would cost ~170 bytes of zip and .npy headers each: over 100 KB for the grid, where the whole archive is 150 KB.)
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

import bpxp
from bpxp.sklearn import MLPClassifier, MLPRegressor

REFERENCE = Path(__file__).with_name("estimator_reference.npz")
MAX_ITER = 40
SETTINGS = {  # every case's, unless the case says otherwise
    "dtype": "float64", "backend": "numpy", "max_iter": MAX_ITER, "tol": 1e-3, "n_iter_no_change": 3,
    "validation_fraction": 0.2, "random_state": 0,
}
PROBLEMS = {  # per problem: the estimator, its architecture and the two solvers' initial learning rates
    "clf3": (MLPClassifier, {"hidden_layer_sizes": (6,), "activation": "relu"}, {"sgd": 0.1, "adam": 0.02}),
    "clf2": (MLPClassifier, {"hidden_layer_sizes": (5,), "activation": "relu"}, {"sgd": 0.1, "adam": 0.02}),
    "reg": (MLPRegressor, {"hidden_layer_sizes": (6,), "activation": "tanh"}, {"sgd": 0.05, "adam": 0.02}),
}
SCALARS = ("n_iter_", "t_", "stopped_early_", "loss_", "best_loss_", "best_validation_score_")
CURVES = ("loss_curve_", "val_loss_curve_", "validation_scores_")
LAYERED = ("coefs_", "intercepts_")
LABELS = np.array(["versicolor", "virginica"])


# -- data: fixed, drawn from no random generator ---------------------------------------------------------------
def _iris_rows(rows):
    X, y = load_iris(return_X_y=True)
    X = X[rows]
    return (X - X.mean(axis=0)) / X.std(axis=0), y[rows]


def _smooth(start: int, stop: int):
    """X in [−1, 1]³ from sines of incommensurate frequencies; y a smooth function of it."""
    i = np.arange(start, stop, dtype=np.float64)[:, None]
    X = np.sin(i * np.array([0.61, 1.37, 2.13]) + np.array([0.0, 0.5, 1.0]))
    return X, np.sin(1.5 * X[:, 0]) + X[:, 1] * X[:, 2] + 0.3 * X[:, 2]


def data(problem: str):
    """(X, y, X_val, y_val): three iris classes (60 rows, 20 of each, standardized), two of them with string
    labels (40 rows), or a smooth function of three features (60 rows); the validation sets are other rows."""
    if problem == "clf3":
        return (*_iris_rows(np.r_[0:20, 50:70, 100:120]), *_iris_rows(np.r_[20:30, 70:80, 120:130]))
    if problem == "clf2":
        (X, y), (X_val, y_val) = _iris_rows(np.r_[50:70, 100:120]), _iris_rows(np.r_[70:80, 120:130])
        return X, LABELS[y - 1], X_val, LABELS[y_val - 1]
    return (*_smooth(0, 60), *_smooth(60, 80))


def sample_weights(n: int):
    """Fixed, unequal sample weights in [0.25, 1.75]."""
    return 1.0 + 0.75 * np.sin(0.9 * np.arange(n))


# -- the grid --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One reference case. ``mode``: 'fit' (one call), 'warm' (two ``fit`` calls with ``warm_start=True``),
    'partial' (three ``partial_fit`` calls, on rows 0, 3, 6 …, then 1, 4, 7 …, then 2, 5, 8 …) or 'partial4'
    (the same and a fourth call on rows 0, 3, 6 … again)."""

    problem: str
    solver: str
    learning_rate: str = "constant"
    early_stopping: bool = False
    batch_size: int | str = "auto"
    mode: str = "fit"
    sample_weight: bool = False
    validation_data: bool = False  # the problem's validation set, given to fit or to the first partial_fit
    extra: tuple = ()  # other estimator parameters, as (name, value) pairs

    @property
    def id(self) -> str:
        parts = [self.problem, self.solver, self.learning_rate, "es" if self.early_stopping else "noes",
                 f"b{self.batch_size}", self.mode]
        parts += ["sw"] * self.sample_weight + ["valdata"] * self.validation_data
        parts += [f"{name}={value}" for name, value in self.extra]
        return "-".join(parts)

    def estimator(self):
        kind, architecture, rates = PROBLEMS[self.problem]
        return kind(**architecture, solver=self.solver, learning_rate=self.learning_rate,
                    learning_rate_init=rates[self.solver], early_stopping=self.early_stopping,
                    batch_size=self.batch_size, warm_start=self.mode == "warm", **{**SETTINGS, **dict(self.extra)})


def _grid() -> list[Case]:
    cases = []
    for problem in ("clf3", "reg"):
        for solver in ("sgd", "adam"):
            for learning_rate in ("constant", "invscaling", "adaptive") if solver == "sgd" else ("constant",):
                for early_stopping in (False, True):
                    for batch_size in ("auto", 16):
                        for mode in ("fit", "warm") if problem == "clf3" else ("fit",):
                            cases.append(Case(problem, solver, learning_rate, early_stopping, batch_size, mode))
    patience_1 = (("n_iter_no_change", 1),)
    cases += [
        Case("reg", "sgd", "adaptive", True, 16, "warm"),
        Case("reg", "adam", "constant", False, "auto", "warm"),
        Case("clf2", "sgd", "constant", False, 16),
        Case("clf2", "adam", "constant", True, "auto"),
        Case("clf2", "sgd", "adaptive", True, 16, sample_weight=True),
        Case("clf3", "sgd", "adaptive", False, "auto", sample_weight=True),
        Case("reg", "adam", "constant", True, 16, sample_weight=True),
        Case("clf3", "adam", "constant", True, 16, validation_data=True),
        Case("reg", "sgd", "invscaling", False, 16, validation_data=True),
        Case("clf3", "sgd", "adaptive", False, 16, extra=patience_1),
        Case("reg", "sgd", "adaptive", True, "auto", extra=patience_1),
    ]
    for problem in ("clf3", "reg"):
        cases += [
            Case(problem, "sgd", "constant", False, 16, "partial"),
            Case(problem, "adam", "constant", False, "auto", "partial", sample_weight=True),
            Case(problem, "sgd", "adaptive", False, "auto", "partial", validation_data=True),
            Case(problem, "adam", "constant", True, 16, "partial", validation_data=True, extra=patience_1),
            Case(problem, "sgd", "constant", True, "auto", "partial4", validation_data=True,
                 extra=(*patience_1, ("tol", 0.5))),
        ]
    cases.append(Case("clf2", "adam", "constant", True, 8, "partial", validation_data=True, extra=patience_1))
    return cases


CASES: dict[str, Case] = {case.id: case for case in _grid()}
assert len(CASES) == len(_grid()), "case ids must be unique"


# -- fitting and recording -------------------------------------------------------------------------------------
def fit(case: Case):
    """The case's estimator, fitted as the case says (ConvergenceWarning silenced: reaching max_iter is a case)."""
    X, y, X_val, y_val = data(case.problem)
    estimator = case.estimator()
    weights = sample_weights(len(X)) if case.sample_weight else None
    validation = {"validation_data": (X_val, y_val)} if case.validation_data else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if case.mode.startswith("partial"):
            classes = {} if case.problem == "reg" else {"classes": np.unique(y)}
            for part in range(4 if case.mode == "partial4" else 3):
                rows = slice(part % 3, None, 3)
                first = (classes | validation) if part == 0 else {}
                estimator.partial_fit(X[rows], y[rows], None if weights is None else weights[rows], **first)
        else:
            for _ in range(2 if case.mode == "warm" else 1):
                estimator.fit(X, y, weights, **validation)
    return estimator


def values(case: Case, estimator) -> dict[str, np.ndarray | None]:
    """The recorded values of a fitted case's estimator, by name; None where the attribute is None."""
    recorded = {name: None if getattr(estimator, name) is None else np.asarray(getattr(estimator, name))
                for name in (*SCALARS, *CURVES)}
    for name in LAYERED:
        recorded |= {f"{name}/{layer}": np.asarray(array) for layer, array in enumerate(getattr(estimator, name))}
    X = data(case.problem)[0]
    recorded["predict"] = np.asarray(estimator.predict(X))
    if isinstance(estimator, MLPClassifier):
        recorded["predict_proba"] = np.asarray(estimator.predict_proba(X))
    return recorded


def record(case: Case) -> dict[str, np.ndarray | None]:
    """The case fitted now with the current code: its recorded values (see :func:`values`)."""
    return values(case, fit(case))


def pack(recorded: dict[str, np.ndarray | None]) -> np.ndarray:
    """The values as one structured record, a field per value that is not None."""
    present = {name: value for name, value in recorded.items() if value is not None}
    record_ = np.zeros((), dtype=[(name, value.dtype, value.shape) for name, value in present.items()])
    for name, value in present.items():
        record_[name] = value
    return record_


def unpack(record_: np.ndarray) -> dict[str, np.ndarray | None]:
    """The values of a packed record, with None for the attributes it has no field for."""
    unpacked = {name: None for name in (*SCALARS, *CURVES)}
    return unpacked | {name: np.asarray(record_[name]) for name in record_.dtype.names}


def reference(path: Path = REFERENCE) -> tuple[list[str], dict[str, dict[str, np.ndarray | None]]]:
    """(the recorded case ids in order, each case's recorded values)."""
    with np.load(path, allow_pickle=False) as archive:
        ids = archive["cases"].tolist()
        return ids, {case_id: unpack(archive[case_id]) for case_id in ids}


# -- writing and reporting -------------------------------------------------------------------------------------
def eta_divisions(estimator) -> int:
    """How many times an adaptive η was divided by 5 (in the last ``fit``, or in all ``partial_fit`` calls)."""
    return round(math.log(estimator.learning_rate_init / estimator._optimizer.learning_rate) / math.log(5.0))


def summary(fitted: dict[str, object]) -> str:
    """How the cases ended: before max_iter by the tol rule on the training loss or on the validation score, by an
    adaptive η at its floor; how many adaptive cases divided η at a plateau."""
    by_loss = by_score = at_floor = adaptive = divided = partial_stops = 0
    for case_id, estimator in fitted.items():
        case = CASES[case_id]
        is_adaptive = case.solver == "sgd" and case.learning_rate == "adaptive"
        if is_adaptive:
            adaptive += 1
            divided += eta_divisions(estimator) > 0
        if case.mode.startswith("partial"):
            partial_stops += estimator.stopped_early_
        elif estimator.stopped_early_ and estimator.n_iter_ < MAX_ITER:
            if is_adaptive:
                at_floor += 1
            elif case.early_stopping:
                by_score += 1
            else:
                by_loss += 1
    fits = sum(not case.mode.startswith("partial") for case in CASES.values())
    return (f"{len(CASES)} cases, {fits} with fit: {by_loss} stop before max_iter={MAX_ITER} by tol on the training "
            f"loss, {by_score} by tol on the validation score, {at_floor} when an adaptive η reaches its floor; "
            f"{partial_stops} of {len(CASES) - fits} partial_fit sequences stop early; an adaptive η is divided at "
            f"a plateau in {divided} of {adaptive} adaptive cases")


def main() -> None:
    start = time.perf_counter()
    fitted = {case_id: fit(case) for case_id, case in CASES.items()}
    archive = {case_id: pack(values(CASES[case_id], estimator)) for case_id, estimator in fitted.items()}
    np.savez_compressed(REFERENCE, cases=np.array(list(CASES)), **archive)
    print(f"wrote {REFERENCE} ({REFERENCE.stat().st_size / 1024:.0f} KiB) in {time.perf_counter() - start:.1f} s "
          f"with bpxp {bpxp.__version__} from {Path(bpxp.__file__).parent}")
    print(summary(fitted))


if __name__ == "__main__":
    main()
