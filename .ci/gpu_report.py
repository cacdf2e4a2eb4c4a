"""One Markdown report of a GPU run of the offline GPU test kit, ready to paste into the README.

    python3 .ci/gpu_report.py RESULTS        # reads RESULTS/, writes RESULTS/report.md and prints it

From the folder that ``.ci/gpu-all`` fills: ``nvidia-smi.txt`` (nvidia-smi's banner: driver and CUDA version),
``gpu.csv`` (``nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader``), per part of the
suite ``gpu-<part>.xml`` (pytest's JUnit XML) and ``gpu-<part>.log`` (its last line ``== part: exit N in S s``),
and ``gpu.md``, the benchmark's table (``benchmarks/gpu.py``). Whatever is missing is reported as missing.
Standard library only: the GPU machine may have nothing else.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

PARTS = ("cupy", "torch", "jax")
FAILURES_SHOWN = 20


@dataclass
class PartResult:
    """A part's counts (from JUnit XML), its time, and its failures' test ids with their messages' first lines."""

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)


def machine(banner: str, query_csv: str) -> dict[str, str]:
    """The GPU's name and memory (nvidia-smi's query CSV), the driver and CUDA versions (its banner)."""
    first = next((line for line in query_csv.splitlines() if line.strip()), "")
    columns = [part.strip() for part in first.split(",")]
    driver = re.search(r"Driver Version:\s*([\d.]+)", banner)
    cuda = re.search(r"CUDA Version:\s*([\d.]+)", banner)
    return {"gpu": columns[0] if columns and columns[0] else "unknown",
            "memory": columns[1] if len(columns) > 1 else "unknown",
            "driver": driver.group(1) if driver else (columns[2] if len(columns) > 2 else "unknown"),
            "cuda": cuda.group(1) if cuda else "unknown"}


def first_line(text: str | None) -> str:
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")


def part_result(junit_xml: str) -> PartResult:
    """Counts, time and failures of one pytest run from its JUnit XML."""
    root = ET.fromstring(junit_xml)
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    result = PartResult()
    for suite in suites:
        result.seconds += float(suite.get("time", 0.0))
        for case in suite.iter("testcase"):
            name = f"{case.get('classname', '')}::{case.get('name', '')}".lstrip(":")
            failure, error = case.find("failure"), case.find("error")
            if failure is not None or error is not None:
                outcome = failure if failure is not None else error
                if failure is not None:
                    result.failed += 1
                else:
                    result.errors += 1
                result.failures.append((name, first_line(outcome.get("message")) or first_line(outcome.text)))
            elif case.find("skipped") is not None:
                result.skipped += 1
            else:
                result.passed += 1
    return result


def exit_line(log: str) -> tuple[int, int] | None:
    """(exit status, seconds) from a part's log's ``== part: exit N in S s`` line."""
    found = re.findall(r"^== \w+: exit (\d+) in (\d+) s$", log, flags=re.MULTILINE)
    return (int(found[-1][0]), int(found[-1][1])) if found else None


def markdown(gpu: dict[str, str], parts: dict[str, PartResult | None], exits: dict[str, tuple[int, int] | None],
             benchmark: str | None) -> str:
    """The report: the machine, a table of the parts, their failures, then the benchmark's own Markdown."""
    lines = ["## GPU run", "",
             f"{gpu['gpu']} ({gpu['memory']}), driver {gpu['driver']}, CUDA {gpu['cuda']}.", "",
             "| backend (GPU variants) | passed | failed | errors | skipped | time |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, result in parts.items():
        ended = exits.get(name)
        if result is None:
            why = f"no JUnit XML (exit {ended[0]} after {ended[1]} s: timed out?)" if ended else "did not run"
            lines.append(f"| {name} | {why} | | | | |")
        else:
            seconds = ended[1] if ended else result.seconds
            lines.append(f"| {name} | {result.passed} | {result.failed} | {result.errors} | {result.skipped} | "
                         f"{seconds:.0f} s |")
    failures = [(name, test, message) for name, result in parts.items() if result for test, message in result.failures]
    if failures:
        lines += ["", "### Failures", ""]
        lines += [f"- {name}: `{test}` — {message}" for name, test, message in failures[:FAILURES_SHOWN]]
        if len(failures) > FAILURES_SHOWN:
            lines.append(f"- … and {len(failures) - FAILURES_SHOWN} more")
    lines += ["", "### Benchmark", "", benchmark.strip() if benchmark else "No benchmark table (gpu.md missing).", ""]
    return "\n".join(lines)


def report(folder: Path) -> str:
    def read(name: str) -> str | None:
        path = folder / name
        return path.read_text(errors="replace") if path.exists() else None

    gpu = machine(read("nvidia-smi.txt") or "", read("gpu.csv") or "")
    parts = {name: part_result(xml) if (xml := read(f"gpu-{name}.xml")) else None for name in PARTS}
    exits = {name: exit_line(log) if (log := read(f"gpu-{name}.log")) else None for name in PARTS}
    return markdown(gpu, parts, exits, read("gpu.md"))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: gpu_report.py RESULTS_FOLDER", file=sys.stderr)
        return 2
    folder = Path(argv[0])
    text = report(folder)
    (folder / "report.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
