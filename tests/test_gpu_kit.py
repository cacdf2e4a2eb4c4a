"""The GPU kit's pure parts, checked on any machine: which CUDA build the nox sessions install, and the Markdown
report ``.ci/gpu-all`` writes from pytest's JUnit XML."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
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
