"""The ``bpxp`` command: train, predict, evaluate, info and backends, with one-line errors."""

import subprocess
import sys

import numpy as np
import pytest

import bpxp
from bpxp import cli

pytest.importorskip("sklearn")


pytestmark = pytest.mark.numpy_session("the CLI runs in the numpy session")


def test_train_on_the_default_dataset_reports_accuracy_and_is_quiet_off_a_terminal(capsys):
    assert cli.main(["train", "--epochs", "30"]) == 0
    out, err = capsys.readouterr()
    assert "iris: 120 training and 30 validation samples, 3 classes" in err
    assert "training:" not in err and "epoch" not in err  # stderr is not a terminal here
    assert float(out.split("validation accuracy")[1].split()[0]) >= 0.8


def test_on_a_terminal_a_progress_bar_shows_epochs_and_both_losses():
    import io

    from bpxp.training.progress import progress_callback

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    update, close = progress_callback(3, stream=terminal)
    import bpxp

    history = bpxp.History()
    for epoch in range(3):
        history.loss.append(1.0 / (epoch + 1))
        history.val_loss.append(2.0 / (epoch + 1))
        update(epoch, history)
    close()
    shown = terminal.getvalue()
    assert "3/3" in shown and "loss=0.3333" in shown and "val_loss=0.6667" in shown


def test_installed_console_command_runs():
    result = subprocess.run([sys.executable, "-m", "bpxp.cli", "train", "--epochs", "5", "--quiet"],
                            capture_output=True, text=True, check=True)
    assert "validation accuracy" in result.stdout and "epoch" not in result.stderr


def test_save_then_info_predict_and_evaluate(tmp_path, capsys):
    model, plot = tmp_path / "wine.npz", tmp_path / "curve.png"
    assert cli.main(["train", "wine", "--epochs", "40", "--quiet", "--save", str(model), "--plot", str(plot)]) == 0
    assert model.exists() and plot.read_bytes().startswith(b"\x89PNG")
    capsys.readouterr()
    assert cli.main(["info", str(model)]) == 0
    assert "13-16-3" in capsys.readouterr().out
    out_file = tmp_path / "predictions.csv"
    assert cli.main(["predict", str(model), "wine", "--out", str(out_file)]) == 0
    lines = out_file.read_text().splitlines()
    assert lines[0] == "prediction,p(class_0),p(class_1),p(class_2)" and len(lines) == 179
    assert cli.main(["evaluate", str(model), "wine"]) == 0
    assert float(capsys.readouterr().out.split()[1]) > 0.9


def _info(model, capsys) -> dict[str, str]:
    capsys.readouterr()
    assert cli.main(["info", str(model)]) == 0
    return {line[:13].strip(): line[14:] for line in capsys.readouterr().out.splitlines()}


def test_info_shows_the_epoch_the_model_holds_with_its_figures_and_the_last_epoch_run(tmp_path, capsys):
    """Under early stopping the model holds the best epoch, not the last: info shows its figures, as evaluate."""
    model = tmp_path / "wine.npz"
    assert cli.main(["train", "wine", "--epochs", "300", "--early-stopping", "5", "--learning-rate", "0.05",
                     "--quiet", "--save", str(model)]) == 0
    history = bpxp.load(model).checkpoint_metadata_["history"]
    kept, last = history["best_epoch"], len(history["loss"]) - 1
    assert kept < last
    rows = _info(model, capsys)
    assert rows["epochs"] == f"{last + 1} run; the model holds epoch {kept + 1} (the best, kept by early stopping)"
    assert rows["kept epoch"].startswith(f"{kept + 1}: training loss {history['loss'][kept]:.6g}, validation loss "
                                         f"{history['val_loss'][kept]:.6g}; training accuracy ")
    assert rows["last epoch"] == (f"{last + 1}: training loss {history['loss'][last]:.6g}, validation loss "
                                  f"{history['val_loss'][last]:.6g}")
    assert cli.main(["evaluate", str(model), "wine"]) == 0
    out = capsys.readouterr().out
    assert f"{float(out.split()[3]):.5f}" == f"{history['val_loss'][kept]:.5f}"  # evaluate's loss: the kept epoch's
    assert rows["kept epoch"].endswith(f"validation accuracy {out.split()[1]}")


def test_info_on_a_training_checkpoint_shows_its_last_epoch_and_its_best(tmp_path, capsys):
    run = tmp_path / "run.npz"
    assert cli.main(["train", "wine", "--epochs", "300", "--early-stopping", "5", "--learning-rate", "0.05",
                     "--quiet", "--checkpoint", str(run)]) == 0
    training = bpxp.load(run).checkpoint_metadata_["training"]
    last, best = training["epoch"], training["history"]["best_epoch"]
    rows = _info(run, capsys)
    assert rows["epochs"] == f"{last + 1} run; the model holds epoch {last + 1} (the last)"
    assert rows["best epoch"].startswith(f"{best + 1}: training loss ")
def test_export_writes_an_onnx_model_that_predicts_as_bpxp_predict_on_the_raw_features(tmp_path, capsys):
    """The exported model standardises its input as training did and names the classes: ONNX Runtime on the data's
    own rows gives what `bpxp predict` gives."""
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("ndonnx")
    from sklearn.datasets import load_wine

    model, onnx_file, predicted = tmp_path / "wine.npz", tmp_path / "wine.onnx", tmp_path / "predicted.csv"
    assert cli.main(["train", "wine", "--epochs", "20", "--quiet", "--save", str(model)]) == 0
    capsys.readouterr()
    assert cli.main(["export", str(model), str(onnx_file)]) == 0
    assert "input X (N, 13) float32, the columns alcohol, malic_acid, ash, alcalinity_of_ash… as in the data " \
           "(standardised inside the model); outputs label, probabilities" in capsys.readouterr().err
    assert cli.main(["predict", str(model), "wine", "--out", str(predicted)]) == 0
    rows = [line.split(",") for line in predicted.read_text().splitlines()[1:]]
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    labels, probabilities = session.run(None, {"X": load_wine().data.astype(np.float32)})
    assert labels.tolist() == [row[0] for row in rows]
    np.testing.assert_allclose(probabilities, np.array([row[1:] for row in rows], dtype=float), rtol=1e-5, atol=1e-6)


def test_a_csv_file_with_a_target_column_regression_and_classification(tmp_path, capsys):
    pandas = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pandas.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    frame["price"] = 2 * frame["a"] - frame["b"] + 0.1 * rng.normal(size=200)
    frame["kind"] = np.where(frame["a"] > 0, "big", "small")
    path = tmp_path / "data.csv"
    frame.drop(columns="kind").to_csv(path, index=False)
    assert cli.main(["train", str(path), "--target", "price", "--epochs", "60", "--quiet"]) == 0
    assert float(capsys.readouterr().out.split("validation R²")[1].split()[0]) > 0.9
    parquet = tmp_path / "data.parquet"
    frame.drop(columns="price").to_parquet(parquet)
    model = tmp_path / "kind.npz"
    assert cli.main(["train", str(parquet), "--target", "kind", "--epochs", "40", "--quiet",
                     "--save", str(model)]) == 0
    assert cli.main(["evaluate", str(model), str(parquet)]) == 0
    assert float(capsys.readouterr().out.split("accuracy")[-1].split()[0]) > 0.9


def test_backends_lists_every_backend(capsys):
    assert cli.main(["backends"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("numpy", "cupy", "torch", "jax", "array_api_strict", "mlx"))


@pytest.mark.parametrize(("argv", "message"), [
    (["train", "--hidden-layers", "0"], "--hidden-layers must be positive integers"),
    (["train", "--device", "tpu"], "`device` must be one of ['cpu']"),
    (["train", "no/such/file.csv", "--target", "y"], "no such data file: 'no/such/file.csv'"),
    (["train", "no/such/file.csv"], "nor a bundled dataset (known: iris, wine, breast_cancer, digits)"),
    (["predict", "missing.npz", "iris"], "no checkpoint at 'missing.npz'"),
    (["info", "missing.npz"], "no checkpoint at 'missing.npz'"),
    (["export", "missing.npz", "out.onnx"], "no checkpoint at 'missing.npz'"),
    (["train", "iris", "--task", "regression"], "--task regression applies to data files only"),
])
def test_user_mistakes_give_one_line_and_exit_2(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("bpxp: error: ") and message in err and "Traceback" not in err
    assert err.count("\n") == 1


def test_predict_checks_its_out_path_first_and_makes_its_folders(tmp_path, capsys):
    model, blocker = tmp_path / "iris.npz", tmp_path / "a-file"
    assert cli.main(["train", "--epochs", "2", "--quiet", "--save", str(model)]) == 0
    blocker.write_text("")
    capsys.readouterr()
    assert cli.main(["predict", str(model), "iris", "--out", str(blocker / "p.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bpxp: error: --out ") and "is a file, not a folder" in err and err.count("\n") == 1
    assert cli.main(["predict", str(model), "iris", "--out", str(tmp_path / "new" / "p.csv")]) == 0
    assert (tmp_path / "new" / "p.csv").read_text().startswith("prediction,")


@pytest.mark.filterwarnings("always::UserWarning")  # shown, as outside the suite, not raised
def test_a_warning_is_one_line_in_the_commands_voice(capsys, monkeypatch):
    from bpxp.backend import namespaces

    monkeypatch.setattr(namespaces, "_said_tf32_is_a_no_op", set())  # not yet said in this process
    assert cli.main(["train", "--epochs", "2", "--quiet", "--precision", "tf32"]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "tf32" in line and "warning" in line]
    assert warned == ["bpxp: warning: precision='tf32' changes nothing on backend 'numpy', device 'cpu': TF32 "
                      "products exist on CUDA GPUs only (float32 is used)"]


def test_a_missing_column_is_named(tmp_path, capsys):
    path = tmp_path / "data.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    assert cli.main(["train", str(path), "--target", "price"]) == 2
    assert "--target 'price' is not a column of" in capsys.readouterr().err


def test_bad_option_values_are_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--epochs", "0"])
    assert exit_info.value.code == 2 and "must be a positive integer" in capsys.readouterr().err


def test_a_checkpointed_run_resumes_to_the_model_of_an_uninterrupted_one(tmp_path, capsys):
    import bpxp

    run, whole, resumed = tmp_path / "run.npz", tmp_path / "whole.npz", tmp_path / "resumed.npz"
    common = ["train", "wine", "--quiet", "--batch-size", "8", "--seed", "3", "--dtype", "float64"]
    assert cli.main([*common, "--epochs", "12", "--save", str(whole)]) == 0
    assert cli.main([*common, "--epochs", "5", "--checkpoint", str(run), "--checkpoint-every", "2"]) == 0
    assert bpxp.load(run).checkpoint_metadata_["training"]["epoch"] == 4
    assert cli.main([*common, "--epochs", "12", "--checkpoint", str(run), "--resume", "--save", str(resumed)]) == 0
    for a, b in zip(bpxp.load(resumed).weights, bpxp.load(whole).weights, strict=True):
        np.testing.assert_array_equal(a, b)
    capsys.readouterr()
    assert cli.main(["train", "--resume"]) == 2
    assert "--resume needs --checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize("case", ["another network", "a saved model", "other settings"])
def test_a_checkpoint_that_cannot_be_resumed_is_one_line_in_the_commands_terms(tmp_path, capsys, case):
    run = tmp_path / "run.npz"
    common = ["train", "--quiet", "--epochs", "2"]
    made = [*common, "--save" if case == "a saved model" else "--checkpoint", str(run)]
    assert cli.main(made) == 0
    changed = {"another network": ["--hidden-layers", "8"], "a saved model": [],
               "other settings": ["--batch-size", "8"]}[case]
    capsys.readouterr()
    assert cli.main([*common, *changed, "--checkpoint", str(run), "--resume"]) == 2
    err = capsys.readouterr().err
    said = {"another network": "was written by a different network: layer_sizes [4, 16, 3] there, [4, 8, 3] here",
            "a saved model": "is a checkpoint without training progress (a model written by --save, not a "
                             "--checkpoint)",
            "other settings": "was written by a fit with other settings"}[case]
    error = err.splitlines()[-1]  # after the line describing the data and the network
    assert error.startswith(f"bpxp: error: --resume: {str(run)!r} {said}"), err
    assert error.endswith("; resume with the options it was trained with, or give --checkpoint a new file to "
                          "start afresh")
    assert "Traceback" not in err and "bpxp.load" not in err and "fit(" not in err
    if case != "other settings":  # what the checkpoint's metadata shows is refused before any "resuming from …"
        assert "resuming from" not in err and "had finished" not in err


def test_a_diverging_run_says_so_in_one_line_and_exits_1(capsys):
    code = cli.main(["train", "--epochs", "20", "--optimizer", "sgd", "--learning-rate", "1e30", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "training diverged at epoch" in err and "Traceback" not in err


def test_a_learning_rate_schedule_reaches_training_and_its_rate_is_checkpointed(tmp_path, capsys):
    import bpxp

    run = tmp_path / "run.npz"
    assert cli.main(["train", "wine", "--quiet", "--epochs", "3", "--no-early-stopping", "--learning-rate", "0.01",
                     "--learning-rate-schedule", "invscaling", "--checkpoint", str(run)]) == 0
    rate = bpxp.load(run).checkpoint_metadata_["training"]["rate"]
    assert rate["learning_rate"] == pytest.approx(0.01 / (3 * 142 + 1) ** 0.5)  # η₀/(t + 1)^0.5, t = 3 × 142 rows
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--learning-rate-schedule", "sometimes"])
    assert exit_info.value.code == 2 and "invalid choice: 'sometimes'" in capsys.readouterr().err


def test_an_adaptive_schedule_that_ends_training_says_so(capsys):
    assert cli.main(["train", "--quiet", "--optimizer", "sgd", "--learning-rate", "0.5", "--epochs", "300",
                     "--learning-rate-schedule", "adaptive", "--no-early-stopping"]) == 0
    out = capsys.readouterr().out
    assert "the adaptive learning rate reached its floor (η ≤ 1e-6) at epoch" in out
    assert int(out.split(" epochs in ")[0].rsplit("(", 1)[1]) < 300


@pytest.mark.parametrize("module", ["pandas", "matplotlib"])
def test_a_missing_module_of_the_cli_extra_is_one_line_naming_the_extra(tmp_path, capsys, monkeypatch, module):
    """Installed without the `cli` extra, the command says which extra to install from the clone (before training,
    for --plot's matplotlib)."""
    data = tmp_path / "data.csv"
    data.write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n")
    monkeypatch.setitem(sys.modules, module, None)  # `import pandas` now raises ModuleNotFoundError
    monkeypatch.setitem(sys.modules, f"{module}.pyplot", None)
    argv = ["train", str(data), "--target", "label", "--epochs", "2", "--quiet"]
    if module == "matplotlib":
        argv += ["--plot", str(tmp_path / "loss.png")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err == (f"bpxp: error: {module} is not installed; the bpxp command needs it: pip install '.[cli]' "
                   "(in your clone of bpxp)\n")


def test_the_bundled_data_needs_no_pandas_to_check_its_target(monkeypatch):
    from bpxp.cli.targets import check_no_missing

    monkeypatch.setitem(sys.modules, "pandas", None)
    check_no_missing(np.array([0, 1, 2]), target="class", data="iris")
    with pytest.raises(ValueError, match=r"1 missing value\(s\) \(first at row 2\)"):
        check_no_missing(np.array([0.0, np.nan]), target="y", data="d.csv")
