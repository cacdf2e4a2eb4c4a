"""The examples run from a clone: one without its data file says in one line where to get it, and exits 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.numpy_session("the examples are checked in the numpy session")


@pytest.mark.parametrize("argv", [[], ["--csv", "no-such-folder/binary.csv"]], ids=["no --csv", "a missing file"])
def test_admissions_without_its_csv_says_where_to_get_it_in_one_line(tmp_path, argv):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "admissions.py"), *argv], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=200)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "binary.csv" in done.stderr and "https://" in done.stderr and "--csv" in done.stderr


def test_iris_with_a_missing_csv_says_so_in_one_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "iris.py"), "--csv", "Iris.csv"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=200)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1 and "Iris.csv" in done.stderr, done.stderr


def test_no_example_reads_this_machines_data_folder():
    for path in (ROOT / "examples").glob("*.py"):
        assert "shared/data" not in path.read_text(), f"{path.name} names a folder a clone does not have"
