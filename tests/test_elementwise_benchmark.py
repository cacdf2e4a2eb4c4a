"""benchmarks/elementwise.py stays runnable, and its floors compute bpxp's epoch (else their times mean nothing).

Its figures are measured by running it on a quiet machine, never asserted here.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "elementwise.py"


def test_the_elementwise_benchmark_times_every_row_and_its_floors_end_at_bpxps_weights(request, tmp_path):
    if "numpy" not in request.config.bpxp_backends:
        pytest.skip("runs in the numpy session")
    pytest.importorskip("threadpoolctl")
    environment = {**os.environ, "PYTHONPATH": str(SCRIPT.parents[1])}
    out = tmp_path / "elementwise.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--repeats", "1", "--rows", "600", "--out", str(out)],
                          env=environment, capture_output=True, text=True, timeout=200)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert {"bpxp (numpy)", "bpxp (numpy), steady epoch", "matrix products only",
            "NumPy floor (in place)"} <= set(result["rows"])
    assert all(row["median_ms"] > 0 for row in result["rows"].values())
    differences = result["floors_max_difference_from_bpxp"]
    assert "NumPy floor (in place)" in differences and max(differences.values()) <= 1e-5
