"""``import bpxp`` stays light: no GPU or deep-learning library is imported until a backend is asked for."""

import subprocess
import sys


def test_import_bpxp_imports_no_optional_backend():
    code = ("import sys, bpxp; heavy = {'cupy', 'torch', 'jax', 'array_api_strict', 'mlx'} & set(sys.modules); "
            "print(sorted(heavy))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_listing_backends_says_what_is_installed_and_how_to_get_the_rest():
    import bpxp

    rows = {row.name: row for row in bpxp.backends()}
    assert list(rows) == ["numpy", "cupy", "torch", "jax", "array_api_strict", "mlx"]
    assert rows["numpy"].installed and rows["numpy"].devices == ["cpu"]
    for row in rows.values():
        assert row.installed or "pip install" in row.note


def test_the_math_modules_public_paths_import_as_modules():
    """``bpxp.activations``, ``backprop``, ``losses``, ``metrics`` and ``optimizers`` are modules one can import
    from, each holding what its ``bpxp.math`` module holds publicly."""
    import importlib

    for name in ("activations", "backprop", "losses", "metrics", "optimizers"):
        public, inner = importlib.import_module(f"bpxp.{name}"), importlib.import_module(f"bpxp.math.{name}")
        for attribute in public.__all__ if hasattr(public, "__all__") else ():
            assert getattr(public, attribute) is getattr(inner, attribute), (name, attribute)
    from bpxp.metrics import accuracy, r2, score  # noqa: F401
