"""The package's shape, read from its source: imports run one way, modules stay small, private names stay home.

Every module of ``bpxp`` belongs to a layer and imports only from its own layer or the layers below it:

    backend (_version, _backend, _precision, _usable, _fast, _compiled, _graphs, _random, _inputs, defaults)
      ← math (activations, losses, metrics, optimizers, backprop)
      ← description (spec, _checks: what a network and its options are)
      ← training loop (train, config, recovery, lbfgs, progress)
      ← services of the MLP that never import it (checkpoint, the Dask driver)
      ← the MLP's halves (fitting, predicting: its base classes)
      ← mlp (the MLP class)
      ← edges (the estimators, the CLI, datasets, the package's __init__; any module not listed here)

Imports inside functions count as much as those at the top: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

import bpxp

PACKAGE = Path(bpxp.__file__).resolve().parent
MAX_LINES = 400

LAYERS = [
    {"_version", "_backend", "_fast", "_precision", "_usable", "_compiled", "_graphs", "_random", "_inputs",
     "defaults"},
    {"activations", "losses", "metrics", "optimizers", "backprop"},
    {"spec", "_checks"},
    {"train", "config", "recovery", "lbfgs", "progress"},
    {"checkpoint", "dask_training", "dask_chunks", "dask_store"},
    {"fitting", "predicting"},
    {"mlp"},
]
EDGE = len(LAYERS)  # modules not listed above (the estimators, the CLI, datasets, __init__, ...)

def layer_of(module: str) -> int:
    return next((i for i, members in enumerate(LAYERS) if module in members), EDGE)


def modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for path in sorted(PACKAGE.glob("*.py"))}


def imports_of(tree: ast.Module, names: set[str]) -> tuple[set[str], set[tuple[str, str]]]:
    """(bpxp modules imported anywhere in ``tree``, (module, private name) pairs taken from them)."""
    imported, private = set(), set()
    aliases = {}  # local name → bpxp module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 or (node.module or "").split(".")[0] == "bpxp":
                base = node.module if node.level == 1 else node.module.partition(".")[2]
                base = (base or "").split(".")[0]
                for alias in node.names:
                    if not base and alias.name in names:  # from . import module
                        imported.add(alias.name)
                        aliases[alias.asname or alias.name] = alias.name
                    elif base:
                        imported.add(base if base in names else "__init__")
                        if alias.name.startswith("_") and not alias.name.startswith("__"):
                            private.add((base, alias.name))
                    else:
                        imported.add("__init__")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "bpxp" and len(parts) > 1 and parts[1] in names:
                    imported.add(parts[1])
                    if alias.asname:
                        aliases[alias.asname] = parts[1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            if node.attr.startswith("_") and not node.attr.startswith("__"):
                private.add((aliases[node.value.id], node.attr))
    return imported, private


def graph() -> tuple[dict[str, set[str]], dict[str, set[tuple[str, str]]], dict[str, int]]:
    trees = modules()
    names = set(trees)
    edges, private = {}, {}
    for name, tree in trees.items():
        edges[name], private[name] = imports_of(tree, names)
        edges[name].discard(name)
    lengths = {path.stem: len(path.read_text(encoding="utf-8").splitlines()) for path in PACKAGE.glob("*.py")}
    return edges, private, lengths


def judge(offenders: dict[str, object], rule: str) -> None:
    """Fail naming every module that breaks ``rule`` and how."""
    if not offenders:
        return
    listing = "; ".join(f"{module}: {what}" for module, what in sorted(offenders.items()))
    pytest.fail(f"{rule} — {listing}")


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], itertools.count()

    def visit(v):
        index[v] = low[v] = next(counter)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_architecture_reader_sees_every_module_and_the_known_imports():
    edges, _, lengths = graph()
    assert {"_backend", "backprop", "train", "mlp", "dask_training"} <= set(edges)
    assert "backprop" in edges["train"] and "_backend" in edges["train"]
    assert set(lengths) == set(edges)


def test_no_import_cycles_among_the_modules():
    edges, _, _ = graph()
    offenders = {}
    for component in cycles(edges):
        for module in component:
            offenders[module] = "in the cycle " + " ↔ ".join(component)
    judge(offenders, "import cycles")


def test_no_module_is_longer_than_400_lines():
    _, _, lengths = graph()
    judge({module: f"{n} lines" for module, n in lengths.items() if n > MAX_LINES}, f"modules over {MAX_LINES} lines")


def test_no_module_takes_a_private_name_from_another():
    _, private, _ = graph()
    offenders = {module: ", ".join(sorted(f"{source}.{name}" for source, name in pairs))
                 for module, pairs in private.items() if pairs}
    judge(offenders, "private names imported across modules")


def test_imports_point_down_the_layers():
    edges, _, _ = graph()
    offenders = {}
    for module, imported in edges.items():
        upward = sorted(other for other in imported if layer_of(other) > layer_of(module))
        if upward:
            offenders[module] = "imports " + ", ".join(upward) + " from a layer above"
    judge(offenders, "imports that point up the layers")


def test_math_modules_import_no_array_library():
    trees = modules()
    libraries = {"numpy", "torch", "jax", "cupy", "array_api_strict", "dask", "scipy"}
    offenders = {}
    for module in LAYERS[1]:
        if module not in trees:
            continue
        for node in ast.walk(trees[module]):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            bad = sorted({n.split(".")[0] for n in names} & libraries)
            if bad:
                offenders[module] = "imports " + ", ".join(bad)
    judge(offenders, "array libraries imported by math modules")


def test_the_dask_driver_never_imports_the_mlp():
    trees = modules()
    imported, private = imports_of(trees["dask_training"], set(trees))
    assert "mlp" not in imported and not private


def test_nothing_outside_the_mlp_assigns_its_attributes():
    """``net.weights = …`` belongs to MLP's own methods; every other module goes through ``set_parameters`` etc."""
    own = {"mlp", "fitting", "predicting"}
    networks = {"net", "network", "network_", "_network"}  # the names the edges give an MLP they hold

    def holds_a_network(node) -> bool:
        return (isinstance(node, ast.Name) and node.id in networks) or \
            (isinstance(node, ast.Attribute) and node.attr in networks)

    offenders = {}
    for module, tree in modules().items():
        if module in own:
            continue
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else []
            for target in targets:
                for part in ast.walk(target):
                    if isinstance(part, ast.Attribute) and holds_a_network(part.value):
                        offenders.setdefault(module, set()).add(f"line {part.lineno}: .{part.attr} =")
    judge({m: ", ".join(sorted(v)) for m, v in offenders.items()}, "MLP attributes assigned outside MLP")


def test_the_readme_layout_lists_every_module_and_no_other():
    import re

    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Layout", 1)[1].split("```", 2)[1]
    listed = set(re.findall(r"bpxp/(\w+)\.py", layout))
    present = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__"}
    offenders = {module: "not in README's Layout" for module in present - listed}
    offenders.update({module: "in README's Layout but not in bpxp/" for module in listed - present})
    judge(offenders, "README's Layout")
