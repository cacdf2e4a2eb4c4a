"""Loading and predicting with a NumPy model imports no other backend: ``bpxp.load`` probes only the backend the
checkpoint was trained on (or the one asked for), and ``bpxp predict`` reads a plain CSV and writes its
predictions without pandas. ``import bpxp`` and ``bpxp --help`` stay as light."""

from __future__ import annotations

import importlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpxp import cli
from bpxp.cli import datasets

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "jax", "cupy", "array_api_strict", "dask", "distributed", "sklearn", "scipy", "pandas")


pytestmark = pytest.mark.numpy_session("the imports of the numpy path are checked in the numpy session")


def heavy_modules_after(code: str, folder: Path) -> list[str]:
    """The heavy modules in ``sys.modules`` once ``code`` has run in a fresh interpreter."""
    script = f"import sys\n{code}\nprint(__import__('json').dumps(sorted(set({HEAVY!r}) & set(sys.modules))))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=200)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def numpy_model(tmp_path) -> tuple[Path, Path]:
    """A NumPy model saved by ``bpxp train`` from a CSV file, and ten rows of new features to predict on."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    rows = [",".join(["a", "b", "c", "label"])]
    rows += [f"{a},{b},{c},{'yes' if a + b > 0 else 'no'}" for a, b, c in X]
    (tmp_path / "train.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "new.csv").write_text("\n".join(["c,a,b"] + [f"{c},{a},{b}" for a, b, c in X[:10]]) + "\n")
    model = tmp_path / "model.npz"
    assert cli.main(["train", str(tmp_path / "train.csv"), "--target", "label", "--epochs", "3", "--quiet",
                     "--save", str(model)]) == 0
    return model, tmp_path / "new.csv"


def test_import_bpxp_and_the_commands_help_import_no_heavy_library(tmp_path):
    assert heavy_modules_after("import bpxp", tmp_path) == []
    help_then_exit = "from bpxp.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    assert heavy_modules_after(help_then_exit, tmp_path) == []


def test_loading_a_numpy_model_imports_no_other_backend(numpy_model, tmp_path):
    model, _ = numpy_model
    assert heavy_modules_after(f"import bpxp\nbpxp.load({str(model)!r})", tmp_path) == []


def test_predicting_on_a_csv_file_with_a_numpy_model_imports_no_heavy_library(numpy_model, tmp_path):
    model, rows = numpy_model
    out = tmp_path / "predictions.csv"
    argv = ["predict", str(model), str(rows), "--out", str(out)]
    code = f"from bpxp.cli import main\nassert main({argv!r}) == 0"
    assert heavy_modules_after(code, tmp_path) == []
    assert len(out.read_text().splitlines()) == 11


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_predictions_are_written_as_pandas_writes_them(tmp_path, dtype):
    pandas = pytest.importorskip("pandas")
    outputs = np.random.default_rng(0).random(size=(5, 2)).astype(dtype)
    columns = {"prediction": np.asarray(["no", "yes, sure"], dtype=object)[outputs.argmax(axis=1)],
               "p(no)": outputs[:, 0], "p(yes, sure)": outputs[:, 1]}
    written = io.StringIO()
    importlib.import_module("bpxp.cli.main")._write_csv(columns, written)
    assert written.getvalue() == pandas.DataFrame(columns).to_csv(index=False)


def test_a_plain_csv_reads_the_same_numbers_as_pandas(tmp_path):
    pandas = pytest.importorskip("pandas")
    path = tmp_path / "plain.csv"
    path.write_text('b,a,"name, quoted"\n0.1,1e-3,x\n"2.5",-7,"y, z"\n 3 ,1.7976931348623157e308,w\n')
    X = datasets.plain_numeric_csv(str(path), ["a", "b"])
    np.testing.assert_array_equal(X, pandas.read_csv(path)[["a", "b"]].to_numpy(dtype=np.float64))


@pytest.mark.parametrize(("text", "why"), [
    ("a,b\n1,\n", "a missing value"), ("a,b\n1,NA\n", "a missing value by name"),
    ("a,b\n1,x\n", "a text feature"), ("a,b\n1,2,3\n4,5\n", "ragged rows"),
    ("a,a\n1,2\n", "a repeated column name"), ("a,c\n1,2\n", "a missing feature column"),
    ("a,b\n", "no rows"), ("a,b\n1,inf\n", "an infinite value"),
])
def test_any_other_csv_is_left_to_pandas(tmp_path, text, why):
    path = tmp_path / "other.csv"
    path.write_text(text)
    assert datasets.plain_numeric_csv(str(path), ["a", "b"]) is None, why


def test_predicting_on_a_file_with_a_missing_value_leaves_it_to_pandas_and_the_encoding(numpy_model, tmp_path,
                                                                                      capsys):
    """A gap is not for the plain reader: pandas reads the file, and the model's encoding fills the gap as training
    did (``--missing mean``, the default), saying so."""
    model, _ = numpy_model
    (tmp_path / "gap.csv").write_text("a,b,c\n1,2,3\n4,,6\n")
    assert cli.main(["predict", str(model), str(tmp_path / "gap.csv")]) == 0
    assert "filled 1 missing value" in capsys.readouterr().err

