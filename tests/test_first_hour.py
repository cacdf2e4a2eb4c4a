"""A user's first hour with the ``bpxp`` command (issue 13): run as a user would, in a subprocess.

Every mistake ends in one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn")
pandas = pytest.importorskip("pandas")

QUICK = ["--epochs", "15", "--quiet"]


@pytest.fixture(autouse=True)
def _numpy_session_only(request):
    if "numpy" not in request.config.bpxp_backends:
        pytest.skip("the CLI runs in the numpy session")


def bpxp(*argv, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real ``bpxp`` entry point (this tree's, through PYTHONPATH) and return the finished process."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", "import sys; from bpxp.cli import main; sys.exit(main())",
                           *map(str, argv)], capture_output=True, text=True, cwd=cwd, env=env, timeout=200)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def one_line_error(done: subprocess.CompletedProcess, *fragments: str) -> str:
    """The single stderr line of a refused command, checked to contain every fragment."""
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("bpxp: ")
    for fragment in fragments:
        assert fragment in done.stderr, done.stderr
    return done.stderr


@pytest.fixture(scope="module")
def cancer(tmp_path_factory):
    """A breast-cancer CSV with its 'diagnosis' column, a model trained on it, and the features-only CSV."""
    from sklearn.datasets import load_breast_cancer

    folder = tmp_path_factory.mktemp("cancer")
    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.rename(columns={"target": "diagnosis"})
    frame.to_csv(folder / "cancer.csv", index=False)
    frame.drop(columns="diagnosis").head(25).to_csv(folder / "cancer_new.csv", index=False)
    bpxp("train", folder / "cancer.csv", "--target", "diagnosis", "--save", folder / "cancer.npz", *QUICK)
    return folder


# -- 1. predict on new, unlabelled data -----------------------------------------------------------------
def test_predict_writes_predictions_for_a_features_only_csv(cancer):
    done = bpxp("predict", cancer / "cancer.npz", cancer / "cancer_new.csv")
    lines = done.stdout.splitlines()
    assert lines[0] == "prediction,p(0),p(1)" and len(lines) == 26


def test_predict_writes_predictions_for_a_csv_that_still_has_the_target(cancer):
    out = cancer / "labelled.csv"
    bpxp("predict", cancer / "cancer.npz", cancer / "cancer.csv", "--out", out)
    assert len(out.read_text().splitlines()) == 570


def test_a_csv_with_the_wrong_columns_names_the_missing_and_the_unexpected_ones(cancer, tmp_path):
    frame = pandas.read_csv(cancer / "cancer_new.csv").rename(columns={"mean radius": "radius", "worst area": "area"})
    frame.to_csv(tmp_path / "other.csv", index=False)
    done = bpxp("predict", cancer / "cancer.npz", tmp_path / "other.csv", check=False)
    one_line_error(done, "lacks the model's feature columns ['mean radius', 'worst area']",
                   "unexpected columns ['radius', 'area']")


# -- 4. missing files, unknown dataset names, a model that is not one -------------------------------------
@pytest.mark.parametrize("data", ["nosuch.csv", "Iris"])
def test_a_missing_file_or_unknown_dataset_says_so_and_lists_the_bundled_ones(data):
    done = bpxp("train", data, check=False)
    one_line_error(done, f"no such data file: {data!r}", "known: iris, wine, breast_cancer, digits")
    assert "--target" not in done.stderr


def test_info_of_a_file_that_is_no_model_says_so_without_numpy_advice(cancer):
    done = bpxp("info", cancer / "cancer.csv", check=False)
    one_line_error(done, "is not a readable bpxp checkpoint", "not a .npz")
    assert "pickle" not in done.stderr
