"""scikit-learn's own MLP test file, run against ``bpxp.sklearn``: the drop-in promise as a test.

The installed scikit-learn's ``sklearn/neural_network/tests/test_mlp.py`` is read at test time (never copied into
this repository), its one import of ``MLPClassifier``/``MLPRegressor`` is switched to ``bpxp.sklearn``, and the
module is executed under its own name. Its test functions are then collected here, with their own parametrization
(so their ids are scikit-learn's, prefixed by this file). Every one must pass except the few in
``EXPECTED_FAILURES``, each with its reason; those run as strict xfails, so one that starts passing is reported.
Runs in the numpy session (host data: the estimators train on NumPy).
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("scipy")

SKLEARN_IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
BPXP_IMPORT = "from bpxp.sklearn import MLPClassifier, MLPRegressor"

# Tests of scikit-learn's file that bpxp does not pass, by test name (with its parameters where only some fail).
EXPECTED_FAILURES: dict[str, str] = {
    "test_gradient": "calls the private scikit-learn method _loss_grad_lbfgs with its buffer arguments (bpxp's "
                     "gradients are checked against finite differences in tests/test_gradients.py and "
                     "tests/test_sklearn_core.py)",
}


def _scikit_learn_test_module() -> types.ModuleType:
    """scikit-learn's installed test_mlp.py, executed with only its estimator import switched to bpxp."""
    spec = importlib.util.find_spec("sklearn.neural_network")
    path = Path(spec.origin).parent / "tests" / "test_mlp.py"
    source = path.read_text(encoding="utf-8")
    if source.count(SKLEARN_IMPORT) != 1:
        raise RuntimeError(f"{path} no longer holds the line {SKLEARN_IMPORT!r} once; update this module")
    module = types.ModuleType("bpxp_sklearn_test_mlp")
    module.__file__ = str(path)
    sys.modules[module.__name__] = module
    exec(compile(source.replace(SKLEARN_IMPORT, BPXP_IMPORT), str(path), "exec"), module.__dict__)
    return module


_SUITE = _scikit_learn_test_module()
SCIKIT_LEARN_TESTS = sorted(name for name in vars(_SUITE) if name.startswith("test_"))
globals().update({name: getattr(_SUITE, name) for name in SCIKIT_LEARN_TESTS})  # pytest collects them here


@pytest.fixture
def global_random_seed():
    """scikit-learn's fixture with its default seed (its conftest is not loaded here)."""
    return 42


@pytest.fixture(autouse=True)
def _numpy_session_with_known_failures(request):
    if "numpy" not in request.config.bpxp_backends:
        pytest.skip("scikit-learn's test file runs in the numpy session")
    reason = EXPECTED_FAILURES.get(request.node.name) or EXPECTED_FAILURES.get(request.node.originalname)
    if reason is not None:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))


def test_the_scikit_learn_suite_is_bpxps():
    """The collected functions run against bpxp's estimators, not scikit-learn's."""
    import bpxp.sklearn

    assert _SUITE.MLPClassifier is bpxp.sklearn.MLPClassifier and _SUITE.MLPRegressor is bpxp.sklearn.MLPRegressor
    assert len(SCIKIT_LEARN_TESTS) > 40
