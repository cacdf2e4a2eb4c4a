"""benchmarks/gpu.py stays runnable: its smoke mode runs the same code on tiny workloads on the CPU.

Only that it runs and reports is checked here; its figures are measured on a GPU (.ci/gpu-all), never asserted.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu.py"


def test_the_gpu_benchmark_smoke_run_checks_weights_and_writes_markdown_and_json(request, tmp_path):
    if "numpy" not in request.config.bpxp_backends:
        pytest.skip("runs in the numpy session")
    pytest.importorskip("sklearn")  # the iris workload's data
    environment = {**os.environ, "PYTHONPATH": str(SCRIPT.parents[1])}
    done = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--out", str(tmp_path)], env=environment,
                          capture_output=True, text=True, timeout=200)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "gpu.json").read_text())
    assert [r["workload"] for r in report["results"]] == ["iris 4-8-3, full batch", "32-16-4, 256 rows, batch 64"]
    rows = [row for result in report["results"] for row in result["rows"]]
    assert rows and all("error" not in row and row["weights_agree"] for row in rows), rows
    assert "| implementation | ms/epoch |" in (tmp_path / "gpu.md").read_text()
