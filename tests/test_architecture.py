"""The package's shape, read from its source: floors as folders, imports that run one way, small parts.

Every module of ``bpxp`` stands on a floor and imports only from its own floor or the floors below it:

    backend       bpxp/backend/ (namespaces, devices, precision, fast paths, how an epoch is driven), _version
      ← math      bpxp/math/ (activations, losses, backprop, optimizers, metrics) and their public paths
                  (bpxp/activations.py, backprop.py, losses.py, metrics.py, optimizers.py)
      ← description  spec, checks, defaults: what a network and its options are
      ← training  bpxp/training/ (the one epoch loop, its monitor, configuration, checkpoints, L-BFGS)
      ← dask      bpxp/dask/ (training and predicting per chunk; never the MLP)
      ← network   mlp (the MLP class), loading, gradient_check (bpxp.gradcheck)
      ← edges     bpxp/sklearn/, bpxp/cli/, the package's __init__

Imports inside functions count as much as those at the top: a lazy import is still a dependency. Functions stay
short (at most 60 lines of code, docstrings and comments aside) and take at most 8 parameters, except the public
constructors and methods whose parameters are the user's documented options.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

import bpxp

PACKAGE = Path(bpxp.__file__).resolve().parent
MAX_LINES = 400
MAX_MODULES_PER_FOLDER = 12
MAX_FUNCTION_LINES = 60
MAX_PARAMETERS = 8


pytestmark = pytest.mark.numpy_session("the package's shape is checked in the numpy session")

FLOORS = [  # (floor, the modules on it: a dotted name under bpxp, or a folder's prefix ending in '.')
    ("backend", ("backend.", "_version")),
    ("math", ("math.", "activations", "backprop", "losses", "metrics", "optimizers")),
    ("description", ("spec", "checks", "defaults")),
    ("training", ("training.",)),
    ("dask", ("dask.",)),
    ("network", ("mlp", "loading", "gradient_check")),
    ("edges", ("sklearn.", "cli.", "onnx.", "__init__")),
]
# The public constructors and methods whose parameters are the user's options, documented one by one.
MANY_PARAMETERS_ALLOWED = {
    "mlp.MLP.__init__", "mlp.MLP.from_weights", "mlp.MLP.fit", "mlp.MLP.fit_lbfgs",
    "sklearn.base.BaseMLP.__init__", "sklearn.estimators.MLPRegressor.__init__",
    "training.config.TrainingConfig.checked",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = (*parts[:-1], "__init__")
    return ".".join(parts)


def floor_of(module: str) -> int:
    for index, (_, members) in enumerate(FLOORS):
        if any(module == m or (m.endswith(".") and module.startswith(m)) for m in members):
            return index
    raise AssertionError(f"bpxp.{module} stands on no floor: add it to FLOORS in this file")


def sources() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def trees() -> dict[str, ast.Module]:
    return {name: ast.parse(path.read_text(encoding="utf-8"), filename=str(path)) for name, path in sources().items()}


def resolve(module: str, node: ast.ImportFrom) -> str:
    """The dotted name under bpxp that ``from ... import`` reaches (empty for bpxp itself), or None if outside."""
    if node.level == 0:
        name = node.module or ""
        if name != "bpxp" and not name.startswith("bpxp."):
            return None
        return name.partition(".")[2]
    package = module.split(".")[:-1]
    base = package[:len(package) - (node.level - 1)]
    return ".".join([*base, *(node.module.split(".") if node.module else [])])


def imports_of(module: str, tree: ast.Module, known: set[str]) -> tuple[set[str], set[str]]:
    """(bpxp modules ``module`` imports anywhere, private names it takes from other bpxp modules)."""
    imported, private = set(), set()
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = resolve(module, node)
            if base is None:
                continue
            for alias in node.names:
                whole = f"{base}.{alias.name}" if base else alias.name
                if whole in known or f"{whole}.__init__" in known:  # a module (or package) imported by name
                    target = whole if whole in known else f"{whole}.__init__"
                    imported.add(target)
                    aliases[alias.asname or alias.name] = target
                else:
                    imported.add(base if base in known else f"{base}.__init__" if base else "__init__")
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        private.add(f"{base}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("bpxp."):
                    imported.add(alias.name.partition(".")[2])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            if node.attr.startswith("_") and not node.attr.startswith("__"):
                private.add(f"{aliases[node.value.id]}.{node.attr}")
    imported.discard(module)
    return imported, private


def graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    parsed = trees()
    known = set(parsed)
    edges, private = {}, {}
    for name, tree in parsed.items():
        edges[name], private[name] = imports_of(name, tree, known)
    return edges, private


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


def functions(tree: ast.Module, prefix: str):
    """(qualified name, node) of every function and method, nested ones included."""
    def walk(node, names):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                yield ".".join([prefix, *names, child.name]), child
                yield from walk(child, [*names, child.name])
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, [*names, child.name])
            else:
                yield from walk(child, names)

    yield from walk(tree, [])


def lines_of_code(function: ast.FunctionDef, lines: list[str]) -> int:
    """Lines of ``function`` that hold code: its docstring, blank lines and comment lines not counted."""
    first = function.body[0]
    docstring = range(first.lineno, first.end_lineno + 1) if isinstance(first, ast.Expr) and \
        isinstance(first.value, ast.Constant) and isinstance(first.value.value, str) else range(0)
    return sum(1 for n in range(function.lineno, function.end_lineno + 1)
               if n not in docstring and lines[n - 1].strip() and not lines[n - 1].strip().startswith("#"))


def parameter_count(function: ast.FunctionDef) -> int:
    arguments = function.args
    names = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    count = len(names) + (arguments.vararg is not None) + (arguments.kwarg is not None)
    return count - (bool(names) and names[0].arg in ("self", "cls"))


def test_the_architecture_reader_sees_every_module_and_the_known_imports():
    edges, _ = graph()
    assert {"backend.namespaces", "math.backprop", "training.loop", "mlp", "dask.training", "sklearn.estimators",
            "cli.main"} <= set(edges)
    assert "math.backprop" in edges["training.step"] and "math.backprop" in edges["mlp"]


def test_every_module_stands_on_a_floor():
    for module in sources():
        floor_of(module)


def test_no_import_cycles_among_the_modules():
    edges, _ = graph()
    offenders = {}
    for component in cycles(edges):
        for module in component:
            offenders[module] = "in the cycle " + " ↔ ".join(component)
    judge(offenders, "import cycles")


def test_imports_point_down_the_floors():
    edges, _ = graph()
    offenders = {}
    for module, imported in edges.items():
        upward = sorted(other for other in imported if floor_of(other) > floor_of(module))
        if upward:
            offenders[module] = "imports " + ", ".join(upward) + " from a floor above"
    judge(offenders, "imports that point up the floors")


def test_every_folder_says_what_it_owns_and_holds_at_most_12_modules():
    offenders = {}
    for folder in [PACKAGE, *sorted(p for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists())]:
        modules = [p for p in folder.glob("*.py") if p.stem not in ("__init__", "__main__")]
        if len(modules) > MAX_MODULES_PER_FOLDER:
            offenders[folder.name] = f"{len(modules)} modules"
        if ast.get_docstring(ast.parse((folder / "__init__.py").read_text(encoding="utf-8"))) is None:
            offenders[folder.name] = "an __init__.py without a docstring"
    judge(offenders, f"folders over {MAX_MODULES_PER_FOLDER} modules or without a docstring")


def test_no_module_is_longer_than_400_lines():
    lengths = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in sources().items()}
    judge({module: f"{n} lines" for module, n in lengths.items() if n > MAX_LINES}, f"modules over {MAX_LINES} lines")


def test_no_function_is_longer_than_60_lines_of_code_or_takes_more_than_8_parameters():
    offenders = {}
    for module, path in sources().items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for name, function in functions(ast.parse("\n".join(lines)), module):
            length, count = lines_of_code(function, lines), parameter_count(function)
            if length > MAX_FUNCTION_LINES:
                offenders[name] = f"{length} lines of code"
            if count > MAX_PARAMETERS and name not in MANY_PARAMETERS_ALLOWED:
                offenders[name] = f"{count} parameters"
    judge(offenders, "functions too long or with too many parameters")


def test_no_module_takes_a_private_name_from_another():
    _, private = graph()
    judge({module: ", ".join(sorted(names)) for module, names in private.items() if names},
          "private names imported across modules")


def test_math_modules_import_no_array_library():
    libraries = {"numpy", "torch", "jax", "cupy", "array_api_strict", "dask", "scipy"}
    offenders = {}
    for module, tree in trees().items():
        if floor_of(module) != 1:
            continue
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            bad = sorted({n.split(".")[0] for n in names} & libraries)
            if bad:
                offenders[module] = "imports " + ", ".join(bad)
    judge(offenders, "array libraries imported by math modules")


def test_the_dask_floor_never_imports_the_mlp():
    edges, _ = graph()
    offenders = {module: "imports mlp" for module in edges if module.startswith("dask.") and "mlp" in edges[module]}
    judge(offenders, "the Dask floor reaching up to the MLP")


def test_nothing_outside_the_mlp_assigns_its_attributes():
    """``net.weights = …`` belongs to MLP's own methods; every other module goes through its methods."""
    networks = {"net", "network", "network_", "_network"}  # the names the edges give an MLP they hold

    def holds_a_network(node) -> bool:
        return (isinstance(node, ast.Name) and node.id in networks) or \
            (isinstance(node, ast.Attribute) and node.attr in networks)

    offenders = {}
    for module, tree in trees().items():
        if module == "mlp":
            continue
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else []
            for target in targets:
                for part in ast.walk(target):
                    if isinstance(part, ast.Attribute) and holds_a_network(part.value):
                        offenders.setdefault(module, set()).add(f"line {part.lineno}: .{part.attr} =")
    judge({m: ", ".join(sorted(v)) for m, v in offenders.items()}, "MLP attributes assigned outside MLP")


def test_the_documented_layout_lists_every_module_and_no_other():
    """The documentation's architecture page (docs/user-guide/architecture.md) names every module, and only those."""
    import re

    page = (PACKAGE.parent / "docs" / "user-guide" / "architecture.md").read_text(encoding="utf-8")
    layout = page.split("```", 2)[1]
    listed = set(re.findall(r"bpxp/([\w/]+)\.py", layout))
    present = {str(path.relative_to(PACKAGE).with_suffix("")) for path in PACKAGE.rglob("*.py")}
    present = {name for name in present if not name.endswith(("__init__", "__main__"))}
    offenders = {module: "not in the documented layout" for module in present - listed}
    offenders.update({module: "in the documented layout but not in bpxp/" for module in listed - present})
    judge(offenders, "docs/user-guide/architecture.md")
