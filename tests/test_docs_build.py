"""The documentation site as built (``nox -s docs`` builds it with its gallery, warnings as errors, then runs
this file with ``BPXP_BUILT_DOCS`` naming the HTML folder): the API reference has its entries, the gallery its
pictures, the equations page its code."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GALLERY = sorted(path.stem for path in (ROOT / "examples" / "gallery").glob("plot_*.py"))


@pytest.fixture(scope="module")
def site() -> Path:
    built = os.environ.get("BPXP_BUILT_DOCS")
    if not built:
        pytest.skip("checks the built site: runs in the docs session (nox -s docs), which sets BPXP_BUILT_DOCS")
    return (ROOT / built).resolve()


def test_the_api_reference_documents_fit_and_the_estimators(site):
    mlp = (site / "generated" / "bpxp.MLP.html").read_text(encoding="utf-8")
    assert 'id="bpxp.MLP.fit"' in mlp and "early_stopping" in mlp and "record" in mlp
    classifier = (site / "generated" / "bpxp.sklearn.MLPClassifier.html").read_text(encoding="utf-8")
    assert 'id="bpxp.sklearn.MLPClassifier"' in classifier and "hidden_layer_sizes" in classifier
    assert 'id="bpxp.gradcheck"' in (site / "generated" / "bpxp.gradcheck.html").read_text(encoding="utf-8")


def test_every_gallery_example_ran_and_drew_a_picture(site):
    assert len(GALLERY) >= 8
    for name in GALLERY:
        page = (site / "auto_examples" / f"{name}.html").read_text(encoding="utf-8")
        pictures = re.findall(rf'src="[^"]*sphx_glr_{name}_\d+\.png"', page)
        assert pictures, f"{name}: no picture on its page"
        assert list((site / "_images").glob(f"sphx_glr_{name}_*.png")), f"{name}: no picture file"


def test_the_equations_page_shows_the_code_that_computes_them(site):
    page = (site / "equations.html").read_text(encoding="utf-8")
    for name in ("forward_pass", "backward_pass", "batch_gradients", "sigmoid_portable", "apply_update"):
        assert re.search(rf"def</span><span class=\"w\"> </span><span class=\"nf\">{name}<", page), name
