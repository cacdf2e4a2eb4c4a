"""Print the compact README table from benchmarks/results/latest.json (run after benchmarks/run.py)."""

import json
import sys
from pathlib import Path

report = json.loads((Path(__file__).resolve().parent / "results" / "latest.json").read_text())
names = ["bpxp (numpy)", "bpxp (numpy, snapshot=False)", "bpxp (jax)", "bpxp (torch)", "scikit-learn MLPClassifier",
         "PyTorch CPU (nn + optim)", "seed-style per-record loop"]
short = ["bpxp NumPy", "bpxp NumPy snapshot=False", "bpxp JAX", "bpxp torch", "scikit-learn", "PyTorch",
         "per-record loop"]
m = report["machine"]
print(f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, numpy {m.get('numpy')}, torch "
      f"{m.get('torch')}, jax {m.get('jax')}, scikit-learn {m.get('sklearn')}; {m['date']}. Times are × the "
      "hand-written NumPy step (lower is faster); bpxp NumPy also in ms/epoch and % of the float32 matmul rate "
      f"({report['matmul_rates']['float32 2048'] / 1e9:.0f} GFLOP/s).\n")
print("| workload | bpxp NumPy ms/epoch | % matmul | " + " | ".join(short) + " |")
print("|---|---|---|" + "---|" * len(short))
for result in report["results"]:
    rows = {r["implementation"]: r for r in result["rows"]}
    ours = rows["bpxp (numpy)"]
    cells = [f"{rows[n]['vs_handwritten']:.2f}" if n in rows else "–" for n in names]
    print(f"| {result['workload']} | {ours['median_s'] * 1e3:.3f} | {100 * ours['matmul_fraction']:.0f} | "
          + " | ".join(cells) + " |")
print("\n| target | measured | limit | met |\n|---|---|---|---|")
for c in report["targets"]:
    better = "≤" if ("/ hand" in c["target"] or "memory" in c["target"] or "(jax) /" in c["target"]) else "≥"
    print(f"| {c['target']} | {c['value']:.3g} | {better} {c['limit']:.3g} | {'yes' if c['met'] else '**no**'} |")
sys.exit(0)
