"""The GPU kit's pure parts, checked on any machine: which CUDA build the nox sessions install, and the Markdown
report ``.ci/gpu-all`` writes from pytest's JUnit XML."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def noxfile():
    pytest.importorskip("nox")
    return _module(ROOT / "noxfile.py", "bpxp_noxfile")


NVIDIA_SMI_BANNER = """\
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 580.65.06              Driver Version: 580.65.06      CUDA Version: 13.0     |
|-----------------------------------------+------------------------+----------------------+
"""


@pytest.mark.parametrize(("banner", "major"), [
    (NVIDIA_SMI_BANNER, 13),
    ("| NVIDIA-SMI 550.54.15   Driver Version: 550.54.15   CUDA Version: 12.4 |", 12),
    ("CUDA Version:12.8", 12),
    ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", None),
    ("", None),
], ids=["cuda-13.0", "cuda-12.4", "no-spaces", "no-driver", "empty"])
def test_the_cuda_major_version_is_read_from_nvidia_smi(noxfile, banner, major):
    assert noxfile.cuda_major(banner) == major


def test_the_cuda_sessions_exist_and_know_a_torch_index_per_major_version(noxfile):
    for name in ("cupy", "torch_cuda", "jax_cuda"):
        assert callable(getattr(noxfile, name))
    assert set(noxfile.TORCH_CUDA_INDEX) == {12, 13}
    assert all(url.startswith("https://download.pytorch.org/whl/cu") for url in noxfile.TORCH_CUDA_INDEX.values())


JUNIT_XML = """<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests"><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="5" time="12.5">
<testcase classname="tests.test_api" name="test_fit[cupy]" time="0.1"/>
<testcase classname="tests.test_api" name="test_predict[cupy]" time="0.1"/>
<testcase classname="tests.test_graphs" name="test_capture[cupy]" time="0.2">
  <failure message="AssertionError: the graph's replay differs&#10;assert 0.5 == 0.0">traceback…</failure>
</testcase>
<testcase classname="tests.test_devices" name="test_move[cupy]" time="0.0">
  <error message="failed on setup with &quot;RuntimeError: CUDA out of memory&quot;">details</error>
</testcase>
<testcase classname="tests.test_dask" name="test_chunks[cupy]" time="0.0"><skipped message="no dask"/></testcase>
</testsuite></testsuites>
"""
BANNER = NVIDIA_SMI_BANNER


@pytest.fixture(scope="module")
def gpu_report():
    return _module(ROOT / ".ci" / "gpu_report.py", "gpu_report")


def test_the_report_counts_each_part_from_junit_xml(gpu_report):
    result = gpu_report.part_result(JUNIT_XML)
    assert (result.passed, result.failed, result.errors, result.skipped) == (2, 1, 1, 1)
    assert result.seconds == 12.5
    assert result.failures == [("tests.test_graphs::test_capture[cupy]", "AssertionError: the graph's replay differs"),
                               ("tests.test_devices::test_move[cupy]",
                                'failed on setup with "RuntimeError: CUDA out of memory"')]


def test_the_report_is_one_markdown_page(gpu_report, tmp_path):
    (tmp_path / "nvidia-smi.txt").write_text(BANNER)
    (tmp_path / "gpu.csv").write_text("NVIDIA H100 80GB HBM3, 81559 MiB, 580.65.06\n")
    (tmp_path / "gpu-cupy.xml").write_text(JUNIT_XML)
    (tmp_path / "gpu-cupy.log").write_text("...\n== cupy: exit 1 in 14 s\n")
    (tmp_path / "gpu-torch.log").write_text("== torch: exit 124 in 150 s\n")  # killed by timeout: no XML
    (tmp_path / "gpu.md").write_text("| workload | ms |\n|---|---:|\n| iris | 1.0 |\n")
    assert gpu_report.main([str(tmp_path)]) == 0
    text = (tmp_path / "report.md").read_text()
    assert "NVIDIA H100 80GB HBM3 (81559 MiB), driver 580.65.06, CUDA 13.0." in text
    assert "| cupy | 2 | 1 | 1 | 1 | 14 s |" in text
    assert "| torch | no JUnit XML (exit 124 after 150 s: timed out?) |" in text
    assert "| jax | did not run |" in text
    assert "- cupy: `tests.test_graphs::test_capture[cupy]` — AssertionError: the graph's replay differs" in text
    assert text.rstrip().endswith("| iris | 1.0 |")


def test_a_report_without_anything_says_what_is_missing(gpu_report, tmp_path):
    text = gpu_report.report(tmp_path)
    assert "unknown (unknown), driver unknown, CUDA unknown." in text
    assert "No benchmark table (gpu.md missing)." in text
