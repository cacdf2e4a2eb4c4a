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
