"""The README's commands and quick start, run verbatim, and the pages its content moved to: code blocks
are extracted and executed as a user would paste them, so they cannot drift from the code."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"


pytestmark = pytest.mark.numpy_session("the README is checked in the numpy session")


def sections(text: str = README) -> dict[str, str]:
    """Text per '## ' heading (the README's, or a documentation page's)."""
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2]))


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def run_python(code: str, folder: Path) -> subprocess.CompletedProcess:
    (folder / "readme.py").write_text(code)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "readme.py"], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=400)


def test_the_quick_start_runs_verbatim(tmp_path):
    pytest.importorskip("sklearn")
    blocks = code_blocks(sections()["Quick start"], "python")
    assert len(blocks) == 1, "the quick start is one Python block"
    done = run_python(blocks[0], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_readme_stays_a_front_page():
    assert len(README.splitlines()) <= 200
    for target in re.findall(r"\]\(((?:docs|examples)/[^)#]+)\)", README):
        assert (ROOT / target).exists(), f"the README links to {target}, which is missing"


def test_the_iris_transcript_is_what_the_example_prints():
    for text in (README, page("getting-started.md")):  # the front page, and the page that explains it
        assert "$ python examples/iris.py" in code_blocks(sections(text)["The seeds, reproduced"], "text")[0]
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
    for text, title in ((README, "Backends"), (page("getting-started.md"), "Install from a clone"),
                        (page("user-guide/backends.md"), "Backends")):
        row = next(line for line in sections(text)[title].splitlines() if line.startswith("| PyTorch"))
        assert "'.[torch]'" in row and "--index-url https://download.pytorch.org/whl/cpu" in row, title


def test_bpxp_is_installed_from_the_clone_never_from_an_index():
    for path in (ROOT / "README.md", ROOT / "CONTRIBUTING.md", *DOCS.rglob("*.md")):
        assert not re.search(r"pip install ['\"]?bpxp\b", path.read_text(encoding="utf-8")), path


def test_the_recovery_snippet_does_not_reuse_the_cli_quick_starts_checkpoint():
    cli = code_blocks(page("user-guide/cli.md"), "bash")[0]
    recovery = code_blocks(sections(page("user-guide/training.md"))["When training goes wrong: divergence, Ctrl-C, "
                                                                     "checkpoints and resume"], "python")[0]
    cli_files = set(re.findall(r"[\w-]+\.npz", cli))
    assert cli_files and not cli_files & set(re.findall(r"[\w-]+\.npz", recovery))
