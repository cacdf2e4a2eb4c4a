"""Every install instruction works as written from a clone: bpxp is on no package index, so no file and no error
message sends a user to install bpxp by name, and every extra an instruction names exists in pyproject.toml."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import bpxp
from bpxp.backend import namespaces as _backend

tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python ≥ 3.11's tomllib")

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
# One pip command as written in prose, code or a message: up to its closing backtick, the end of the line, the
# next command (; && ||) or a parenthesis.
PIP_INSTALL = re.compile(r"pip install\s+([^`\n;&|()]*)")
# A requirement naming bpxp itself, as an index would resolve it: bpxp, 'bpxp[torch]', bpxp==0.1 (a path such as
# '/path/to/bpxp[torch]' or '.[torch]' is not one).
FROM_AN_INDEX = re.compile(r"bpxp(\[[^\]]*\])?([=<>!~].*)?")
NAMED_EXTRAS = re.compile(r"(?:^|[\s'\"/.])[\w.-]*\[([\w, -]+)\]")


pytestmark = pytest.mark.numpy_session("install instructions are checked in the numpy session")


def repository_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    names = listed.stdout.splitlines() if listed.returncode == 0 else []
    return [ROOT / name for name in names if (ROOT / name).is_file()]


def requirements(text: str) -> list[str]:
    """The words after every ``pip install`` in ``text``, quotes and options dropped."""
    return [word.strip("'\"") for command in PIP_INSTALL.findall(text) for word in command.split()
            if not word.startswith("-")]


def check_instructions(text: str, where: str) -> None:
    from_an_index = [word for word in requirements(text) if FROM_AN_INDEX.fullmatch(word)]
    assert not from_an_index, f"{where} tells users to pip install {from_an_index} from an index"
    for command in PIP_INSTALL.findall(text):
        for extras in NAMED_EXTRAS.findall(command):
            unknown = {e.strip() for e in extras.split(",")} - EXTRAS
            assert not unknown, f"{where} names extras {unknown} that pyproject.toml does not define ({EXTRAS})"


def test_the_requirement_pattern_tells_an_index_install_from_a_clone_install():
    assert requirements("run `pip install 'bpxp[torch]'` or pip install bpxp") == ["bpxp[torch]", "bpxp"]
    assert all(FROM_AN_INDEX.fullmatch(w) for w in ["bpxp", "bpxp[torch]", "bpxp==0.1.0"])
    assert not any(FROM_AN_INDEX.fullmatch(w) for w in [".", ".[torch]", "/path/to/bpxp[torch]", "bpxp-main/"])


def test_no_file_in_the_repository_sends_users_to_an_index():
    files = repository_files()
    if not files:
        pytest.skip("not a git checkout")
    for path in files:
        if path == Path(__file__).resolve():  # its own examples of what is refused
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        check_instructions(text, str(path.relative_to(ROOT)))


@pytest.mark.parametrize("name", [n for n in _backend.BACKEND_NAMES if n != "numpy"])
def test_a_missing_backend_says_how_to_install_it_from_the_clone(monkeypatch, name):
    real = importlib.util.find_spec
    module = _backend._BACKENDS[name].module
    monkeypatch.setattr(_backend.importlib.util, "find_spec", lambda m, *a: None if m == module else real(m, *a))
    with pytest.raises(ImportError, match=r"\(in your clone of bpxp\)") as raised:
        _backend.namespace(name)
    check_instructions(str(raised.value), f"the ImportError of backend {name!r}")
    note = next(row.note for row in bpxp.backends() if row.name == name)
    assert "pip install '.[" in note
    check_instructions(note, f"bpxp.backends()' note on {name!r}")


def test_the_bundled_datasets_without_scikit_learn_say_how_to_install_them(monkeypatch):
    from bpxp.cli import datasets

    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install '\.\[cli\]'") as raised:
        datasets.load("iris")
    check_instructions(str(raised.value), "the bundled datasets' ImportError")
