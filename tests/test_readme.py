"""The README's quick starts, run verbatim (issue 13): its code blocks are extracted and executed as a user would
paste them, so they cannot drift from the code."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
# The Python quick starts, each run on its own as pasted into a fresh interpreter; the recovery block continues the
# first quick start (the same net, X and y), as the README reads.
SCRIPTS = {
    "delta-then-recovery": ["Quick start: the δ of every layer, explicitly", "When training goes wrong"],
    "estimator": ["Quick start: the scikit-learn estimator"],
    "dask": ["Data bigger than one machine: Dask"],
}
NEEDS = {"delta-then-recovery": "sklearn", "estimator": "sklearn", "dask": "distributed"}


@pytest.fixture(autouse=True)
def _numpy_session_only(request):
    if "numpy" not in request.config.bpxp_backends:
        pytest.skip("the README is checked in the numpy session")


def sections() -> dict[str, str]:
    """README text per '## ' heading."""
    parts = re.split(r"^## (.+)$", README, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2]))


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def run_python(code: str, folder: Path) -> subprocess.CompletedProcess:
    (folder / "readme.py").write_text(code)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "readme.py"], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=400)


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_the_python_quick_starts_run_verbatim(tmp_path, script):
    pytest.importorskip(NEEDS[script])
    found = sections()
    blocks = [code_blocks(found[title], "python") for title in SCRIPTS[script]]
    assert all(len(b) == 1 for b in blocks), "each of these sections has one Python block"
    done = run_python("\n".join(b[0] for b in blocks), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    if script == "dask":  # the score is computed, a float, as the snippet says
        assert 0.5 < float(done.stdout.strip().splitlines()[-1]) <= 1


def test_the_iris_transcript_is_what_the_example_prints():
    transcript = code_blocks(sections()["The seeds, reproduced"], "text")[0]
    shown = transcript.split("$ python examples/iris.py\n")[1].strip().splitlines()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    printed = subprocess.run([sys.executable, str(ROOT / "examples" / "iris.py")], env=env, capture_output=True,
                             text=True, check=True, timeout=200).stdout.splitlines()
    assert shown == printed[:len(shown)]


def test_the_first_command_promises_what_bpxp_train_prints():
    first = code_blocks(sections()["Two commands"], "bash")[0]
    assert "then validation accuracy" in first and "test accuracy" not in first


def test_the_torch_cpu_wheel_index_is_documented_next_to_the_extra():
    row = next(line for line in sections()["Install per backend"].splitlines() if line.startswith("| PyTorch"))
    assert "'.[torch]'" in row and "--index-url https://download.pytorch.org/whl/cpu" in row


def test_the_recovery_snippet_does_not_reuse_the_cli_quick_starts_checkpoint():
    cli = code_blocks(sections()["Quick start: the command line"], "bash")[0]
    recovery = code_blocks(sections()["When training goes wrong"], "python")[0]
    cli_files = set(re.findall(r"[\w-]+\.npz", cli))
    assert cli_files and not cli_files & set(re.findall(r"[\w-]+\.npz", recovery))
