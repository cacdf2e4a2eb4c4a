"""What a user waits for before the ``bpxp`` command does anything: whole processes, start-up included.

    PYTHONPATH=. python benchmarks/cli_startup.py [--runs 9]

Rows: an empty interpreter (the floor), ``import bpxp``, ``bpxp --help``, and ``bpxp predict`` of a NumPy model
(Iris, 4-16-3, saved by ``bpxp train``) on a CSV file of 10 rows. Each row is timed over ``--runs`` fresh
processes after one warm-up: wall seconds (min and median) and the CPU seconds (user + system) of the median
run, which a busy machine moves less than the wall time.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREDICT_ROWS = 10


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one process running ``argv`` to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _model_and_rows(folder: Path, env: dict[str, str]) -> tuple[Path, Path]:
    """A NumPy model trained by ``bpxp train`` on Iris, and ``PREDICT_ROWS`` rows of its features as CSV."""
    from sklearn.datasets import load_iris

    model = folder / "iris.npz"
    subprocess.run([sys.executable, "-m", "bpxp.cli", "train", "--epochs", "20", "--quiet", "--save", str(model)],
                   env=env, check=True, capture_output=True)
    frame = load_iris(as_frame=True).frame.drop(columns="target").head(PREDICT_ROWS)
    rows = folder / "rows.csv"
    frame.to_csv(rows, index=False)
    return model, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    with tempfile.TemporaryDirectory() as folder:
        model, rows = _model_and_rows(Path(folder), env)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "import bpxp": [sys.executable, "-c", "import bpxp"],
            "bpxp --help": [sys.executable, "-m", "bpxp.cli", "--help"],
            f"bpxp predict (NumPy model, {PREDICT_ROWS} rows)": [sys.executable, "-m", "bpxp.cli", "predict",
                                                                  str(model), str(rows)],
        }
        print(f"{'command':38s} {'wall min':>9s} {'wall median':>12s} {'cpu median':>11s}   ({args.runs} runs)")
        for name, argv in commands.items():
            _timed(argv, env)  # warm-up: the file system's caches
            runs = sorted(_timed(argv, env) for _ in range(args.runs))
            walls = [wall for wall, _ in runs]
            cpu = statistics.median(c for _, c in runs)
            print(f"{name:38s} {min(walls):9.3f} {statistics.median(walls):12.3f} {cpu:11.3f}")


if __name__ == "__main__":
    main()
