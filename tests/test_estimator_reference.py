"""The scikit-learn estimators train exactly as they did when ``tests/data/estimator_reference.npz`` was recorded.

Pinned, per case of the grid in ``tests/data/make_estimator_reference.py`` (float64 on NumPy: sgd and adam, with
and without early stopping, whole-set and 16-row batches, the constant, invscaling and adaptive schedules, one
fit or two with ``warm_start``, ``partial_fit`` sequences with and without validation data, sample weights, a
binary and a three-class classifier and a regressor): ``loss_curve_``, ``val_loss_curve_``,
``validation_scores_``, ``n_iter_``, ``t_``, ``loss_``, ``best_loss_``, ``best_validation_score_``,
``stopped_early_``, ``coefs_``, ``intercepts_``, and ``predict`` / ``predict_proba`` on the training inputs.
Floats agree to rtol = atol = 1e-12, integers, booleans and labels exactly, and an attribute is None exactly where
it was. The grid and the fitting live in the generator script only; this module imports them from there.

Regenerate the reference (``OMP_NUM_THREADS=1 python tests/data/make_estimator_reference.py``) only for a change
of behaviour that is intended, with the reason recorded in the commit that rewrites the archive (and in the
CHANGELOG where users see the change); never to make this test pass after a refactoring that was meant to keep
behaviour.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

GENERATOR = Path(__file__).parent / "data" / "make_estimator_reference.py"
RTOL = ATOL = 1e-12


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_estimator_reference", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass resolves its own module
    spec.loader.exec_module(module)
    return module


reference_grid = _load_generator()


pytestmark = pytest.mark.numpy_session("the estimators' float64 reference on NumPy is checked in the numpy session")


@pytest.fixture(scope="module")
def recorded():
    return reference_grid.reference()


def _differences(actual: dict, expected: dict) -> list[str]:
    """One line per recorded value that differs (presence, None-ness, shape, kind or value)."""
    differences = []
    for name in sorted(actual.keys() | expected.keys()):
        if name not in actual or name not in expected:
            differences.append(f"{name}: recorded {name in expected}, present now {name in actual}")
            continue
        a, e = actual[name], expected[name]
        if a is None or e is None:
            if (a is None) != (e is None):
                differences.append(f"{name}: None now {a is None}, None in the reference {e is None}")
            continue
        if a.shape != e.shape or (a.dtype.kind == "f") != (e.dtype.kind == "f"):
            differences.append(f"{name}: shape/dtype {a.shape}/{a.dtype} now, {e.shape}/{e.dtype} in the reference")
            continue
        try:
            if e.dtype.kind == "f":
                np.testing.assert_allclose(a, e, rtol=RTOL, atol=ATOL)
            else:
                np.testing.assert_array_equal(a, e)
        except AssertionError as error:
            differences.append(f"{name}: {str(error).strip()}")
    return differences


def test_the_reference_holds_every_case_of_the_grid_in_order(recorded):
    ids, _ = recorded
    assert ids == list(reference_grid.CASES)


@pytest.mark.parametrize("case_id", list(reference_grid.CASES))
def test_estimator_fit_matches_the_reference_recorded_before_the_loop_restructure(case_id, recorded):
    _, expected = recorded
    assert case_id in expected, f"{case_id} is not in the reference: regenerate it (see the module docstring)"
    differences = _differences(reference_grid.record(reference_grid.CASES[case_id]), expected[case_id])
    assert not differences, f"{case_id} differs from the reference:\n" + "\n".join(differences)
