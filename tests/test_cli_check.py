"""``bpxp check``: backpropagation against finite differences from the command line, a fresh network or a saved
model; exit 0 when they agree, 1 when not, 2 for a usage mistake."""

import pytest

from bpxp import cli
from bpxp.math import activations as math_activations

pytest.importorskip("sklearn")


pytestmark = pytest.mark.numpy_session("the CLI runs in the numpy session")


def test_a_fresh_network_on_iris_passes_and_prints_every_layer(capsys):
    assert cli.main(["check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("iris, 16 rows; MLP([4, 16, 3]")
    assert "passed" in out and "layer 2  b" in out and "FAILED" not in out


def test_a_saved_model_is_checked_on_its_data(tmp_path, capsys):
    model = tmp_path / "wine.npz"
    assert cli.main(["train", "wine", "--epochs", "3", "--quiet", "--save", str(model)]) == 0
    capsys.readouterr()
    assert cli.main(["check", "wine", "--model", str(model), "--rows", "5"]) == 0
    assert "wine, 5 rows; MLP([13, 16, 3]" in capsys.readouterr().out
    assert cli.main(["check", "--model", str(model), "--rows", "5"]) == 0  # on the data it was trained on
    assert "wine, 5 rows; MLP([13, 16, 3]" in capsys.readouterr().out


def test_a_model_saved_from_python_needs_its_data_named(tmp_path, capsys):
    import bpxp

    model = bpxp.MLP([4, 3, 3], random_state=0).save(tmp_path / "plain.npz")
    assert cli.main(["check", "--model", str(model)]) == 2
    err = capsys.readouterr().err
    assert "does not record the data it was trained on: give the data, as in `bpxp check DATA --model" in err


def test_a_wrong_derivative_exits_1_and_says_where(monkeypatch, capsys):
    monkeypatch.setattr(math_activations.Tanh, "backward", lambda self, G, A, *, xp: G * (1.0 - A))
    assert cli.main(["check", "--hidden", "tanh"]) == 1
    out = capsys.readouterr().out
    assert "1 FAILED" not in out and "2 FAILED" in out and "layer 1  W" in out


def test_a_bad_option_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["check", "--rows", "0"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--rows" in err
