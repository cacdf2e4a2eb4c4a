"""The documentation pages' Python blocks run as written, and each ``literalinclude`` of the equations page
names a function or class that exists: the site cannot promise what the code does not do."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# pages whose Python blocks are complete programs (the GPU pages' need a GPU), with what they import beyond bpxp
RUNNABLE = {"getting-started.md": "sklearn", "user-guide/learning.md": "sklearn", "user-guide/training.md": "sklearn",
            "user-guide/sklearn.md": "sklearn", "user-guide/dask.md": "distributed",
            "user-guide/export.md": "onnxruntime"}


pytestmark = pytest.mark.numpy_session("the documentation is checked in the numpy session")


def python_blocks(page: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("page", list(RUNNABLE))
def test_each_python_block_runs_as_written(page, tmp_path):
    pytest.importorskip(RUNNABLE[page])
    blocks = python_blocks(page)
    assert blocks, f"{page} has no Python block"
    for number, code in enumerate(blocks):
        (tmp_path / "block.py").write_text(code)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
        done = subprocess.run([sys.executable, "block.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=400)
        assert done.returncode == 0, f"{page}, block {number + 1}:\n{done.stderr[-3000:]}"


def test_the_training_pages_divergence_example_diverges(tmp_path):
    """The block that shows ``TrainingDiverged`` must reach its ``except``: it prints the epoch, the last finite
    loss and the epoch kept."""
    pytest.importorskip("sklearn")
    (code,) = [block for block in python_blocks("user-guide/training.md") if "TrainingDiverged" in block]
    (tmp_path / "block.py").write_text(code)
    done = subprocess.run([sys.executable, "block.py"], cwd=tmp_path, capture_output=True, text=True, timeout=400,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    epoch, last_finite_loss, kept_epoch = done.stdout.split("\n")[0].split()
    assert int(epoch) > int(kept_epoch) >= 0 and float(last_finite_loss) > 0


def test_the_equations_page_includes_code_that_exists():
    import ast

    page = (DOCS / "equations.md").read_text(encoding="utf-8")
    includes = re.findall(r"```\{literalinclude\} \.\./(\S+)\n:pyobject: (\S+)", page)
    assert len(includes) >= 8
    for path, name in includes:
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}
        assert name in defined, f"{path} defines no {name}"
