"""The examples in docstrings run as written."""

import doctest
import importlib

import pytest

MODULES = ["bpxp._backend", "bpxp.mlp", "bpxp.backprop", "bpxp.activations", "bpxp.losses",
           "bpxp.optimizers", "bpxp.train", "bpxp.metrics", "bpxp._fast", "bpxp.checkpoint", "bpxp.sklearn",
           "bpxp.datasets", "bpxp.progress", "bpxp.loading", "bpxp.fitting", "bpxp.predicting", "bpxp.config",
           "bpxp.spec", "bpxp._checks"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, request):
    if "numpy" not in request.config.bpxp_backends:
        pytest.skip("doctests run in the numpy session")
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
