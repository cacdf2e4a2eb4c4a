"""The ``bpxp`` command trains on a bundled dataset, shows per-epoch progress and reports accuracy."""

import subprocess
import sys

import pytest

from bpxp import cli

pytest.importorskip("sklearn")


@pytest.fixture(autouse=True)
def _numpy_session_only(request):
    if "numpy" not in request.config.bpxp_backends:
        pytest.skip("the CLI runs in the numpy session")


def test_train_on_the_default_dataset_reports_progress_and_accuracy(capsys):
    assert cli.main(["train", "--epochs", "30"]) == 0
    out, err = capsys.readouterr()
    assert "iris: 120 training and 30 test samples" in err
    assert "epoch    1/30" in err and "epoch   30/30" in err
    accuracy = float(out.split("test accuracy")[1].split()[0])
    assert accuracy >= 0.8


def test_installed_console_command_runs():
    result = subprocess.run([sys.executable, "-m", "bpxp.cli", "train", "--epochs", "5", "--quiet"],
                            capture_output=True, text=True, check=True)
    assert "test accuracy" in result.stdout


def test_backends_lists_every_backend(capsys):
    assert cli.main(["backends"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("numpy", "cupy", "torch", "jax", "array_api_strict"))


@pytest.mark.parametrize("argv", [["train", "--hidden-layers", "0"], ["train", "--backend", "numpy",
                                                                      "--device", "tpu"]])
def test_user_mistakes_give_one_line_and_exit_2(argv, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("bpxp: error: ") and "Traceback" not in err
