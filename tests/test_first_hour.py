"""A user's first hour with the ``bpxp`` command: run as a user would, in a subprocess.

Every mistake ends in one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn")
pandas = pytest.importorskip("pandas")

QUICK = ["--epochs", "15", "--quiet"]


pytestmark = pytest.mark.numpy_session("the CLI runs in the numpy session")


def run_bpxp(*argv, cwd: Path | None = None, check: bool = True, path: tuple = ()) -> subprocess.CompletedProcess:
    """Run the real ``bpxp`` entry point (this tree's, through PYTHONPATH) and return the finished process."""
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([*map(str, path), str(Path(__file__).resolve().parents[1])])}
    done = subprocess.run([sys.executable, "-c", "import sys; from bpxp.cli import main; sys.exit(main())",
                           *map(str, argv)], capture_output=True, text=True, cwd=cwd, env=env, timeout=200)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def one_line_error(done: subprocess.CompletedProcess, *fragments: str) -> str:
    """The single stderr line of a refused command, checked to contain every fragment."""
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("bpxp: ")
    for fragment in fragments:
        assert fragment in done.stderr, done.stderr
    return done.stderr


@pytest.fixture(scope="module")
def cancer(tmp_path_factory):
    """A breast-cancer CSV with its 'diagnosis' column, a model trained on it, and the features-only CSV."""
    from sklearn.datasets import load_breast_cancer

    folder = tmp_path_factory.mktemp("cancer")
    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.rename(columns={"target": "diagnosis"})
    frame.to_csv(folder / "cancer.csv", index=False)
    frame.drop(columns="diagnosis").head(25).to_csv(folder / "cancer_new.csv", index=False)
    run_bpxp("train", folder / "cancer.csv", "--target", "diagnosis", "--save", folder / "cancer.npz", *QUICK)
    return folder


@pytest.fixture(scope="module")
def wine_model(tmp_path_factory) -> tuple[Path, str]:
    """A model trained on the bundled wine dataset with seed 5, shared by the module, and what training printed."""
    path = tmp_path_factory.mktemp("wine") / "m.npz"
    trained = run_bpxp("train", "wine", "--seed", "5", "--save", path, *QUICK)
    return path, trained.stdout


# -- 1. predict on new, unlabelled data -----------------------------------------------------------------
def test_predict_writes_predictions_for_a_features_only_csv(cancer):
    done = run_bpxp("predict", cancer / "cancer.npz", cancer / "cancer_new.csv")
    lines = done.stdout.splitlines()
    assert lines[0] == "prediction,p(0),p(1)" and len(lines) == 26


def test_predict_writes_predictions_for_a_csv_that_still_has_the_target(cancer):
    out = cancer / "labelled.csv"
    run_bpxp("predict", cancer / "cancer.npz", cancer / "cancer.csv", "--out", out)
    assert len(out.read_text().splitlines()) == 570


def test_a_csv_with_the_wrong_columns_names_the_missing_and_the_unexpected_ones(cancer, tmp_path):
    frame = pandas.read_csv(cancer / "cancer_new.csv").rename(columns={"mean radius": "radius", "worst area": "area"})
    frame.to_csv(tmp_path / "other.csv", index=False)
    done = run_bpxp("predict", cancer / "cancer.npz", tmp_path / "other.csv", check=False)
    one_line_error(done, "lacks the model's feature columns ['mean radius', 'worst area']",
                   "unexpected columns ['radius', 'area']")


# -- 4. missing files, unknown dataset names, a model that is not one -------------------------------------
@pytest.mark.parametrize("data", ["nosuch.csv", "Iris"])
def test_a_missing_file_or_unknown_dataset_says_so_and_lists_the_bundled_ones(data):
    done = run_bpxp("train", data, check=False)
    one_line_error(done, f"no such data file: {data!r}", "known: iris, wine, breast_cancer, digits")
    assert "--target" not in done.stderr


def test_info_of_a_file_that_is_no_model_says_so_without_numpy_advice(cancer):
    done = run_bpxp("info", cancer / "cancer.csv", check=False)
    one_line_error(done, "is not a readable bpxp checkpoint", "not a .npz")
    assert "pickle" not in done.stderr


# -- 2. installed but unusable backends: one clear error ---------------------------------------------------
FAKE_CUPY = """
class CUDARuntimeError(RuntimeError):
    pass


class runtime:
    @staticmethod
    def getDeviceCount():
        raise CUDARuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")


class cuda:
    runtime = runtime


__version__ = "13.6.0"
"""


@pytest.fixture
def cupy_without_a_gpu(tmp_path):
    """A folder whose ``cupy`` is installed but meets no usable driver, as on a machine without a GPU."""
    (tmp_path / "cupy").mkdir()
    (tmp_path / "cupy" / "__init__.py").write_text(FAKE_CUPY)
    return tmp_path


def test_mlp_on_cupy_without_a_usable_gpu_raises_one_clear_error(cupy_without_a_gpu, monkeypatch):
    import bpxp

    monkeypatch.syspath_prepend(str(cupy_without_a_gpu))
    try:
        with pytest.raises(bpxp.BackendUnusable, match=r"backend 'cupy' is not usable on this machine: CuPy cannot "
                           r"reach a GPU \(CUDARuntimeError: cudaErrorInsufficientDriver"):
            bpxp.MLP([4, 3], backend="cupy")
        row = next(b for b in bpxp.backends() if b.name == "cupy")
        assert row.installed and not row.devices and "cudaErrorInsufficientDriver" in row.note
    finally:
        sys.modules.pop("cupy", None)


def test_the_cli_on_cupy_without_a_usable_gpu_says_so_in_one_line(cupy_without_a_gpu):
    done = run_bpxp("train", "wine", "--backend", "cupy", *QUICK, path=(cupy_without_a_gpu,), check=False)
    one_line_error(done, "backend 'cupy' is not usable on this machine", "cudaErrorInsufficientDriver")


def test_torch_cuda_without_cuda_is_one_clear_error():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    import bpxp

    with pytest.raises(bpxp.BackendUnusable, match=r"device 'cuda' is not usable .*torch\.cuda\.is_available\(\)"):
        bpxp.MLP([4, 3], backend="torch", device="cuda")
    done = run_bpxp("train", "--backend", "torch", "--device", "cuda:0", *QUICK, check=False)
    one_line_error(done, "backend 'torch' with device 'cuda:0' is not usable", "CPU-only build")
    assert done.returncode == 2


def test_jax_gpu_without_a_gpu_is_one_clear_error():
    jax = pytest.importorskip("jax")
    if any(d.platform == "gpu" for d in jax.devices()):
        pytest.skip("this machine has a GPU for JAX")
    import bpxp

    with pytest.raises(bpxp.BackendUnusable, match=r"JAX has no gpu device here"):
        bpxp.MLP([4, 3], backend="jax", device="gpu")


# -- 7. --help shows the defaults; --version -----------------------------------------------------------------
def test_train_help_shows_every_default():
    shown = " ".join(run_bpxp("train", "--help").stdout.split())
    for option, default in [("--optimizer", "adam"), ("--epochs", "200"), ("--batch-size", "16"),
                            ("--learning-rate", "0.01"), ("--dtype", "float32"), ("--checkpoint-every", "1"),
                            ("--hidden-layers", "16"), ("--validation-split", "0.2")]:
        after = shown.split(f" {option} ", 1)[1]
        assert re.search(rf"\(default: {re.escape(default)}\b", after.split(" --", 1)[0]), option


def test_version_prints_the_package_version():
    import bpxp

    done = run_bpxp("--version")
    assert done.stdout.strip() == f"bpxp {bpxp.__version__}"


# -- 8. Ctrl-C: one line and exit 130; resuming says where it starts --------------------------------------------
def test_ctrl_c_prints_one_line_saves_the_model_and_exits_130(tmp_path):
    import signal
    import time

    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    argv = ["train", "digits", "--epochs", "100000", "--no-early-stopping", "--quiet", "--checkpoint", "run.npz",
            "--save", "model.npz"]
    child = subprocess.Popen([sys.executable, "-c", "import sys; from bpxp.cli import main; sys.exit(main())",
                              *argv], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not (tmp_path / "run.npz").exists() and child.poll() is None:  # the first checkpoint: training runs
        time.sleep(0.1)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 130, err
    assert "Traceback" not in err and "Warning" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("stopped at epoch ") and "(Ctrl-C)" in last
    assert "model saved to model.npz" in last
    assert f"resume with: bpxp {' '.join(argv)} --resume" in last
    assert (tmp_path / "model.npz").exists()
    done = int(last.split("stopped at epoch ")[1].split()[0])
    resumed = run_bpxp(*argv[:2], "--epochs", done + 2, *argv[4:], "--resume", cwd=tmp_path)
    assert f"resuming from epoch {done} of {done + 2} (run.npz)" in resumed.stderr
    assert "(2 epochs in" in resumed.stdout
    again = run_bpxp(*argv[:2], "--epochs", done + 2, *argv[4:], "--resume", cwd=tmp_path)
    assert "had finished at epoch" in again.stderr and "nothing to resume" in again.stderr
    assert "no epochs left to train" in again.stdout


# -- 11. files: modes follow the umask; killed writes' temporaries are cleaned; --target with bundled data -----
@pytest.mark.parametrize("umask", [0o022, 0o077], ids=["umask-022", "umask-077"])
def test_saved_models_and_checkpoints_follow_the_umask(tmp_path, umask):
    import bpxp

    before = os.umask(umask)
    try:
        path = bpxp.MLP([3, 2, 1], random_state=0).save(tmp_path / "model.npz")
    finally:
        os.umask(before)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_write_removes_the_temporaries_killed_writes_left(tmp_path):
    import bpxp

    dead = tmp_path / ".run.npz.99999999.0a1b2c3d.tmp"  # a process id no system hands out
    old = tmp_path / ".run.npz.k2j4h1x9.tmp"  # the name an older bpxp gave (no process id), long untouched
    alive = tmp_path / f".run.npz.{os.getppid()}.0a1b2c3d.tmp"  # a live writer's: kept
    other = tmp_path / ".other.npz.99999999.0a1b2c3d.tmp"  # another target's: kept
    for leftover in (dead, old, alive, other):
        leftover.write_bytes(b"half a checkpoint")
    os.utime(old, (0, 0))
    bpxp.MLP([3, 2, 1], random_state=0).save(tmp_path / "run.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["run.npz", alive.name, other.name])


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_target_with_a_bundled_dataset_is_refused_not_ignored(command, request):
    argv = ["train", "wine", "--target", "alcohol", *QUICK] if command == "train" else \
        ["evaluate", request.getfixturevalue("wine_model")[0], "wine", "--target", "alcohol"]
    one_line_error(run_bpxp(*argv, check=False), "--target applies to data files only",
                   "bundled dataset 'wine' has its target built in")


# -- 6. evaluate on the training data scores its held-out split ---------------------------------------------
def test_evaluate_on_the_training_data_scores_the_held_out_split_recorded_in_the_model(wine_model):
    model, trained = wine_model
    validation = trained.split("validation accuracy")[1].split()[0]
    held_out = run_bpxp("evaluate", model, "wine").stdout
    assert held_out.startswith(f"accuracy {validation} ")
    assert "36 held-out samples: the validation split of training (seed 5)" in held_out
    every = run_bpxp("evaluate", model, "wine", "--all-rows").stdout
    assert "178 samples: every row of wine" in every


def test_evaluate_on_other_data_says_it_scored_every_row(cancer, tmp_path):
    frame = pandas.read_csv(cancer / "cancer.csv").sample(frac=1.0, random_state=0)
    frame.to_csv(tmp_path / "shuffled.csv", index=False)
    out = run_bpxp("evaluate", cancer / "cancer.npz", tmp_path / "shuffled.csv").stdout
    assert f"569 samples: every row of {tmp_path / 'shuffled.csv'}" in out
    own = run_bpxp("evaluate", cancer / "cancer.npz", cancer / "cancer.csv").stdout
    assert "113 held-out samples" in own  # as `bpxp train` split it: 456 and 113


# -- 3. the CLI stops early by default and keeps the best epoch --------------------------------------------------
def test_the_default_run_keeps_an_epoch_within_5_percent_of_the_best_validation_loss(tmp_path):
    import bpxp

    done = run_bpxp("train", "breast_cancer", "--quiet", "--save", tmp_path / "m.npz")
    assert "kept the best epoch" in done.stdout and "--no-early-stopping keeps the last" in done.stdout
    val_loss = bpxp.load(tmp_path / "m.npz").checkpoint_metadata_["history"]["val_loss"]
    held_out = run_bpxp("evaluate", tmp_path / "m.npz", "breast_cancer").stdout
    kept = float(held_out.split("loss")[1].split()[0])
    assert kept <= 1.05 * min(val_loss)
    assert len(val_loss) < 200  # stopped early


def test_no_early_stopping_trains_every_epoch_and_keeps_the_last(tmp_path):
    done = run_bpxp("train", "iris", "--epochs", "30", "--quiet", "--no-early-stopping")
    assert "(30 epochs in" in done.stdout and "kept the best" not in done.stdout


# -- every CLI mistake: one line on stderr, a non-zero exit, never a traceback -----------------------------------
# (CUDA asked of a CPU-only torch is test_torch_cuda_without_cuda_is_one_clear_error's: `cuda` in process,
# `cuda:0` on the command line, with the message and the exit status checked; one subprocess importing torch, not two.)
MISTAKES = {
    "no command": [],
    "unknown command": ["fly"],
    "zero epochs": ["train", "--epochs", "0"],
    "bad hidden layers": ["train", "--hidden-layers", "0"],
    "unknown device": ["train", "--device", "tpu"],
    "missing data file": ["train", "nosuch.csv"],
    "unknown dataset name": ["train", "Iris"],
    "data file without --target": ["train", "{cancer}/cancer.csv"],
    "missing target column": ["train", "{cancer}/cancer.csv", "--target", "price"],
    "--target with a bundled dataset": ["train", "wine", "--target", "class"],
    "--resume without --checkpoint": ["train", "--resume"],
    "both early-stopping flags": ["train", "--early-stopping", "5", "--no-early-stopping"],
    "unwritable --save": ["train", "--save", "{cancer}/cancer.csv/m.npz", *QUICK],  # a file as the folder
    "missing model": ["predict", "missing.npz", "iris"],
    "a CSV as the model": ["info", "{cancer}/cancer.csv"],
    "predict on the wrong columns": ["predict", "{cancer}/cancer.npz", "iris"],
    "evaluate without labels": ["evaluate", "{cancer}/cancer.npz", "{cancer}/cancer_new.csv"],
    "evaluate a missing file": ["evaluate", "{cancer}/cancer.npz", "nosuch.csv"],
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_every_cli_mistake_is_one_line_and_a_non_zero_exit(mistake, cancer):
    argv = [a.replace("{cancer}", str(cancer)) for a in MISTAKES[mistake]]
    one_line_error(run_bpxp(*argv, check=False))
