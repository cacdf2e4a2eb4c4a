"""The examples in docstrings run as written."""

import doctest
import importlib
import pkgutil

import pytest

import bpxp

# every module of the package (the command's `python -m` entry point aside): docstring examples live where the
# code does, so the list follows the folders
MODULES = sorted(info.name for info in pkgutil.walk_packages(bpxp.__path__, "bpxp.")
                 if not info.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, request):
    if "numpy" not in request.config.bpxp_backends:
        pytest.skip("doctests run in the numpy session")
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
