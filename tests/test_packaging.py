"""A package ready to publish: license, typing marker, metadata, changelog, predict_proba."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import bpxp

tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python ≥ 3.11's tomllib")

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
USER_SCRIPT = """
import numpy as np

import bpxp

X = np.random.default_rng(0).normal(size=(40, 4))
y = (X[:, 0] > 0).astype(np.int64)
net = bpxp.MLP([4, 8, 2], random_state=0)
history: bpxp.History = net.fit(X, y, epochs=5)
labels = bpxp.to_numpy(net.predict(X))
proba = bpxp.to_numpy(net.predict_proba(X))
accuracy: float = net.score(X, y)
path = net.save("model.npz")
again: bpxp.MLP = bpxp.load(path)
rows: list[bpxp.BackendInfo] = bpxp.backends()
print(history.loss[-1], labels.shape, proba.shape, accuracy, again.layer_sizes, len(rows))
"""


pytestmark = pytest.mark.numpy_session("packaging is checked in the numpy session", without_backend=True)


def test_the_mit_license_is_in_the_repository_and_declared():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "THE SOFTWARE IS PROVIDED \"AS IS\"" in text
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]


def test_metadata_has_authors_classifiers_and_the_typed_marker():
    assert PROJECT["authors"] and PROJECT["keywords"]
    assert "License :: OSI Approved :: MIT License" not in PROJECT["classifiers"]  # PEP 639: the expression says it
    assert "Typing :: Typed" in PROJECT["classifiers"]
    assert any(c.startswith("Programming Language :: Python :: 3.1") for c in PROJECT["classifiers"])
    assert (ROOT / "bpxp" / "py.typed").exists()
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "py.typed" in setuptools["package-data"]["bpxp"]


def test_the_changelog_has_an_entry_for_this_version():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## {bpxp.__version__}" in changelog and PROJECT["version"] == bpxp.__version__


def test_the_wheel_carries_the_license_and_the_typed_marker(tmp_path):
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("building a wheel needs setuptools")
    import zipfile

    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", "build",
                                                                 ".nox", "benchmarks", "tests"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(source)], check=True, capture_output=True, timeout=200)
    names = zipfile.ZipFile(next((tmp_path / "dist").glob("bpxp-*.whl"))).namelist()
    assert "bpxp/py.typed" in names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)


def test_a_user_script_passes_mypy_strict(tmp_path):
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed")
    (tmp_path / "user.py").write_text(USER_SCRIPT)
    # bpxp found on the path as an installed package would be: its own modules are not the user's to check
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-incremental",
                           "--cache-dir", os.devnull, "user.py"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    ran = subprocess.run([sys.executable, "user.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=200)
    assert ran.returncode == 0, ran.stderr


# -- MLP.predict_proba --------------------------------------------------------------------------------------
def test_predict_proba_of_a_softmax_classifier_rows_sum_to_one(backend):
    X = np.random.default_rng(0).normal(size=(10, 3))
    net = backend.mlp([3, 4, 3], output="softmax", loss="cross_entropy", dtype="float64", random_state=0)
    P = bpxp.to_numpy(net.predict_proba(X))
    assert P.shape == (10, 3)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(P.argmax(axis=1), bpxp.to_numpy(net.predict(X)))


def test_predict_proba_of_a_binary_classifier_has_both_columns(backend):
    X = np.random.default_rng(0).normal(size=(10, 3))
    net = backend.mlp([3, 4, 1], output="sigmoid", loss="binary_cross_entropy", dtype="float64", random_state=0)
    P, p = bpxp.to_numpy(net.predict_proba(X)), bpxp.to_numpy(net.forward(X))[:, 0]
    np.testing.assert_allclose(P, np.column_stack([1 - p, p]), rtol=0, atol=1e-15)


@pytest.mark.parametrize(("output", "loss"), [("identity", "mse"), ("sigmoid", "mse")])
def test_predict_proba_of_a_regressor_or_scores_is_refused(output, loss):
    net = bpxp.MLP([3, 4, 2], output=output, loss=loss, random_state=0)
    with pytest.raises(ValueError, match=r"predict_proba needs a classifier with probability outputs"):
        net.predict_proba(np.zeros((2, 3)))
