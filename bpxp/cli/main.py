"""The ``bpxp`` command.

    bpxp train                                  # Iris (bundled), 4-16-3 relu/softmax, Adam, 200 epochs
    bpxp train wine --backend torch --save wine.npz --plot wine.png
    bpxp train data.csv --target price --hidden-layers 64,64 --epochs 50
    bpxp train penguins.csv --target species --missing drop   # text columns one-hot encoded
    bpxp predict wine.npz wine [--out predictions.csv]
    bpxp evaluate wine.npz wine
    bpxp check                                  # backpropagation against finite differences (iris, fresh)
    bpxp check wine --model wine.npz
    bpxp info wine.npz
    bpxp backends
    bpxp export wine.npz wine.onnx

Every user mistake (a bad path, column or option) ends in one line on stderr and exit status 2.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import os
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np

from ..backend import namespaces as _backend
from ..backend.listing import backends as listed_backends
from ..checks import destination_problem
from ..gradient_check import gradcheck
from ..loading import load
from ..mlp import MLP
from ..training.recovery import FinishedRunWarning, InterruptedWarning, TrainingDiverged
from .datasets import NAMES as BUNDLED
from .datasets import split as split_rows
from .datasets import standardizer
from .encoding import Encoding, drop_incomplete, summary
from .encoding import fit as fit_encoding
from .info import info
from .parser import hidden_sizes
from .parser import parser as _parser
from .resuming import announce_resume, resume_errors_as_options, stopped_line
from .saved import class_indices, model_and_data, no_target_for_bundled, read_data, tell_how_read, trained_on
from .targets import check_no_missing
from .targets import encoded as encoded_targets


def _check_writable(path: str | None, option: str) -> None:
    """Refuse, before training, an output path that names a folder or whose folder cannot be made or written (not
    after an hour's run)."""
    problem = None if path is None else destination_problem(path)
    if problem is not None:
        raise ValueError(f"{option} {path!r} {problem}")


def _made_writable(path: str | None, option: str) -> None:
    """:func:`_check_writable`, then the path's missing folders made (as a model's are when it is saved)."""
    _check_writable(path, option)
    if path is not None:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)


@dataclass(frozen=True)
class _TrainingData:
    """The data ``bpxp train`` fits: X standardised by its training rows' mean and spread, y as the network reads
    it (class indices, or numbers for regression), and the split into training and validation rows."""

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target: str
    classes: list | None  # the class names in the order of their indices; None for regression
    train_rows: np.ndarray
    val_rows: np.ndarray
    mean: np.ndarray
    spread: np.ndarray
    encoding: Encoding | None  # how a data file's columns became X (None for a bundled dataset)

    @property
    def classification(self) -> bool:
        return self.classes is not None

    @property
    def training(self) -> tuple[np.ndarray, np.ndarray]:
        return self.X[self.train_rows], self.y[self.train_rows]

    @property
    def validation(self) -> tuple[np.ndarray, np.ndarray]:
        return self.X[self.val_rows], self.y[self.val_rows]


def train(args) -> int:
    """``bpxp train``: check the options, read the data, build the network, fit it, report, save and plot."""
    _check_train_options(args)
    data = _training_data(args)
    net = _network(args, data)
    print(f"{args.data}: {len(data.train_rows)} training and {len(data.val_rows)} validation samples"
          + (f", {len(data.classes)} classes" if data.classification else "") + f"; {net!r}", file=sys.stderr)
    history, ran, seconds = _fit(net, data, args)
    _report(net, data, ran=ran, seconds=seconds)
    _report_how_training_ended(history, args)
    if args.save:
        _save(net, data, history, args)
    if args.plot:
        history.plot(args.plot, title=f"bpxp on {args.data}: {'-'.join(map(str, net.layer_sizes))} {args.hidden}")
        print(f"plotted {args.plot}", file=sys.stderr)
    if history.interrupted:
        print(stopped_line(args, history), file=sys.stderr)
        return 130
    return 0


def _check_train_options(args) -> None:
    """Refuse before reading data: --resume without --checkpoint, --target with bundled data, unwritable paths."""
    if args.resume and not args.checkpoint:
        raise ValueError("--resume needs --checkpoint RUN.npz: the checkpoint to continue from")
    no_target_for_bundled(args)
    for option in ("save", "checkpoint", "plot"):
        _check_writable(getattr(args, option), f"--{option}")
    if args.plot is not None and importlib.util.find_spec("matplotlib") is None:  # found before, not after, the run
        raise ModuleNotFoundError("No module named 'matplotlib'", name="matplotlib")


def _training_data(args) -> _TrainingData:
    """``args.data`` read, its target checked and encoded, split (stratified for classes), its feature columns
    encoded (a data file's: text one-hot encoded, missing values per --missing) and standardised."""
    features, y, feature_names, target, class_names = read_data(args.data, args.target)
    encode, dropped = args.data not in BUNDLED, 0
    if encode and args.missing == "drop":
        features, y, dropped = drop_incomplete(features, y, data=args.data)
    classes, y = encoded_targets(y, target=target, data=args.data, task=args.task, class_names=class_names)
    train_rows, val_rows = split_rows(y, test_fraction=args.validation_split, random_state=args.seed,
                                      stratify=classes is not None)
    encoding = fit_encoding(features, missing=args.missing, fit_rows=train_rows, data=args.data) if encode else None
    X = encoding.apply(features, data=args.data) if encode else features
    tell_how_read(args.data, encode and summary(encoding, features, dropped=dropped))
    mean, spread = standardizer(X[train_rows])
    return _TrainingData((X - mean) / spread, y, feature_names, target, classes, train_rows, val_rows, mean, spread,
                         encoding)


def _network(args, data: _TrainingData) -> MLP:
    """The MLP of the options: an output per class (softmax, cross-entropy), or one (identity, MSE) for regression."""
    if data.classification:
        n_outputs, output, loss = len(data.classes), args.output or "softmax", args.loss or "cross_entropy"
    else:
        n_outputs, output, loss = 1, args.output or "identity", args.loss or "mse"
    sizes = [data.X.shape[1], *hidden_sizes(args.hidden_layers), n_outputs]
    return MLP(sizes, hidden=args.hidden, output=output, loss=loss, dtype=args.dtype, backend=args.backend or "numpy",
               device=args.device, random_state=args.seed, precision=args.precision)


def _fit(net: MLP, data: _TrainingData, args):
    """Fit on the training rows (resuming with --resume): (its History, the epochs this run trained, its seconds)."""
    resume = args.checkpoint if args.resume and os.path.exists(args.checkpoint) else None
    done_before = announce_resume(resume, args.epochs, net.spec)
    start = time.perf_counter()
    with warnings.catch_warnings(), resume_errors_as_options():  # Ctrl-C is said below in one line, not warned
        warnings.simplefilter("ignore", InterruptedWarning)
        warnings.simplefilter("ignore", FinishedRunWarning)  # said by announce_resume
        history = net.fit(*data.training, epochs=args.epochs, learning_rate=args.learning_rate,
                          batch_size=args.batch_size, optimizer=args.optimizer, l2=args.l2,
                          validation_data=data.validation, early_stopping=args.early_stopping,
                          random_state=args.seed, verbose=not args.quiet, clip_norm=args.clip_norm,
                          checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every, resume=resume,
                          learning_rate_schedule=args.learning_rate_schedule)
    return history, history.epochs - done_before, time.perf_counter() - start


def _report(net: MLP, data: _TrainingData, *, ran: int, seconds: float) -> None:
    """The scores on the training and validation rows, and how many epochs this run trained in how long."""
    measure = "accuracy" if data.classification else "R²"
    print(f"train {measure} {net.score(*data.training):.4f}   validation {measure} "
          f"{net.score(*data.validation):.4f}   "
          + (f"({ran} epochs in {seconds:.2f} s)" if ran else "(no epochs left to train)"))


def _report_how_training_ended(history, args) -> None:
    """Say when the adaptive schedule ended training, and which epoch early stopping kept."""
    if history.schedule_ended:
        print(f"the adaptive learning rate reached its floor (η ≤ 1e-6) at epoch {history.epochs}: training ended")
    if args.early_stopping is not None and history.kept_epoch is not None and history.val_loss:
        best = history.val_loss[history.kept_epoch - (history.epochs - len(history.val_loss))]
        print(("stopped early: " if history.stopped_early and not history.schedule_ended else "early stopping: ")
              + f"kept the best epoch, {history.kept_epoch + 1} of {history.epochs} (validation loss {best:.4g}); "
              f"--no-early-stopping keeps the last")


def _save(net: MLP, data: _TrainingData, history, args) -> None:
    """--save: the model, with what ``predict`` and ``evaluate`` need (features, target, classes, scaling, split)."""
    extra = {"feature_names": data.feature_names, "target": data.target, "classes": data.classes,
             "preprocessing": {"mean": data.mean.tolist(), "scale": data.spread.tolist()},
             **({} if data.encoding is None else {"encoding": data.encoding.to_metadata()}),
             "history": {"loss": history.loss, "val_loss": history.val_loss, "best_epoch": history.best_epoch,
                         "kept_epoch": history.kept_epoch,
                         "kept_scores": {"measure": "accuracy" if data.classification else "R²",
                                         "training": net.score(*data.training),
                                         "validation": net.score(*data.validation)}},
             "trained_on_data": args.data,
             "split": {"data": _data_identity(args.data), "n_rows": len(data.y), "seed": args.seed,
                       "validation_fraction": args.validation_split, "stratified": data.classification}}
    try:
        saved = net.save(args.save, extra=extra)
    except OSError as error:  # the disk failed after the check before training (full, gone read-only)
        reason = getattr(error.__cause__, "strerror", None) or error.strerror or error  # the system's own words
        raise type(error)(f"--save {args.save!r}: cannot write the model there ({reason})") from None
    print(f"saved {saved}", file=sys.stderr)


def predict(args) -> int:
    _made_writable(args.out, "--out")
    net, meta, X, _ = model_and_data(args)
    classes = meta.get("classes")
    outputs = _backend.to_numpy(net.forward(X))
    if classes is not None:
        columns = {"prediction": np.asarray(classes, dtype=object)[outputs.argmax(axis=1)]}
        columns.update({f"p({name})": outputs[:, i] for i, name in enumerate(classes)})
    else:
        columns = {"prediction": outputs[:, 0]}
    if args.out:
        with open(args.out, "w", newline="") as out:
            _write_csv(columns, out)
        print(f"wrote {len(outputs)} predictions to {args.out}", file=sys.stderr)
    else:
        _write_csv(columns, sys.stdout)
    return 0


def _write_csv(columns: dict[str, np.ndarray], out) -> None:
    """The columns as CSV with a header row, numbers as their shortest round-trip text (what pandas' ``to_csv``
    writes, without importing pandas: it would cost more than the rest of ``bpxp predict``)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(zip(*columns.values()))  # str() of a NumPy float: its dtype's shortest round-trip text


def evaluate(args) -> int:
    net, meta, X, y = model_and_data(args)
    if y is None:
        raise ValueError(f"{args.data!r} has no target column to evaluate against; pass --target")
    check_no_missing(y, target=args.target or meta.get("target"), data=args.data)
    classes = meta.get("classes")
    y = y if classes is None else class_indices(args, classes, meta, y)
    rows = None if args.all_rows else _held_out_rows(args.data, meta, y)
    scored = f"{len(y)} samples: every row of {args.data}"
    if rows is not None:
        X, y = X[rows], y[rows]
        scored = (f"{len(y)} held-out samples: the validation split of training (seed {meta['split']['seed']}); "
                  f"--all-rows scores every row")
    print(f"{'accuracy' if classes is not None else 'R²'} {net.score(X, y):.4f}   loss {net.loss_value(X, y):.6f}"
          f"   ({scored})")
    return 0


def check(args) -> int:
    """``bpxp check``: a saved model (``--model``) or a fresh network, its ∂L/∂W and ∂L/∂b checked against central
    finite differences in float64 (``bpxp.gradcheck``) on ``--rows`` rows; exit 1 where they disagree."""
    if args.data is None:
        args.data = trained_on(args.model) if args.model else "iris"
    if args.model:
        net, meta, X, y = model_and_data(args)
        y = y if meta.get("classes") is None else class_indices(args, meta["classes"], meta, y)
    else:
        no_target_for_bundled(args)
        X, y, _, target, class_names = read_data(args.data, args.target)
        classes, y = encoded_targets(y, target=target, data=args.data, task="auto", class_names=class_names)
        mean, spread = standardizer(X)
        X = (X - mean) / spread
        output, loss = ("softmax", "cross_entropy") if classes is not None else ("identity", "mse")
        net = MLP([X.shape[1], *hidden_sizes(args.hidden_layers), len(classes) if classes is not None else 1],
                  hidden=args.hidden, output=output, loss=loss, backend=args.backend or "numpy", device=args.device,
                  random_state=args.seed)
    rows = np.sort(np.random.default_rng(args.seed).permutation(len(y))[:args.rows])
    report = gradcheck(net, X[rows], y[rows], eps=args.eps, rtol=args.rtol)
    print(f"{args.data}, {len(rows)} rows; {net!r}\n{report}")
    return 0 if report else 1


def _data_identity(data: str) -> str:
    """A bundled dataset's name, or a data file's resolved path: what `evaluate` compares to find the split."""
    return data if data in BUNDLED else os.path.realpath(data)


def _held_out_rows(data: str, meta: dict, y: np.ndarray) -> np.ndarray | None:
    """The validation rows of training when ``data`` is the data the model was trained on, else None."""
    split = meta.get("split")
    if not split or split["data"] != _data_identity(data) or split["n_rows"] != len(y):
        return None
    _, rows = split_rows(y, test_fraction=split["validation_fraction"], random_state=split["seed"],
                         stratify=split["stratified"])
    return rows


def backends(args) -> int:
    for row in listed_backends():
        status = (", ".join(row.devices) or row.note) if row.installed else f"not installed — {row.note}"
        print(f"{row.name:17s} {row.version or '':14s} {status}")
    return 0


def export(args) -> int:
    from ..onnx import export as to_onnx

    _made_writable(args.out, "out")
    net = load(args.model)
    meta = net.checkpoint_metadata_
    scaling = meta.get("preprocessing")
    model = to_onnx(net, args.out, scaling=None if scaling is None else (scaling["mean"], scaling["scale"]),
                    classes=meta.get("classes") if scaling is not None else None)
    print(f"wrote {args.out}: input X (N, {net.layer_sizes[0]}) {net.dtype_name}{_export_input(meta)}; outputs "
          f"{', '.join(o.name for o in model.graph.output)}", file=sys.stderr)
    return 0


def _export_input(meta: dict) -> str:
    """What the exported model's X holds, for a model saved by ``bpxp train`` (its standardisation runs in the
    graph; text columns must come one-hot encoded, as ``bpxp info`` lists them)."""
    if "preprocessing" not in meta:
        return ""
    text = Encoding.from_metadata(meta.get("encoding"), meta["feature_names"]).text_columns
    columns = "the features with text columns one-hot encoded, as `bpxp info` lists them" if text else \
        f"the columns {', '.join(map(str, meta['feature_names'][:4]))}{'…' if len(meta['feature_names']) > 4 else ''}"
    return f", {columns} as in the data (standardised inside the model)"


# What the `cli` extra installs (pyproject.toml) under the names Python imports it by.
CLI_EXTRA = ("sklearn", "tqdm", "pandas", "pyarrow", "matplotlib")


def main(argv: list[str] | None = None) -> int:
    """Run the ``bpxp`` command with ``argv`` (default: ``sys.argv[1:]``); return its exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    args.argv = argv
    with _warnings_in_one_line():
        return _run(args)


@contextlib.contextmanager
def _warnings_in_one_line():
    """A warning said as the command's other messages are: "bpxp: warning: …", one line on stderr."""
    shown = warnings.showwarning
    warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: print(
        f"bpxp: warning: {str(message).splitlines()[0]}", file=sys.stderr if file is None else file)
    try:
        yield
    finally:
        warnings.showwarning = shown


def _run(args) -> int:
    """The command ``args`` asks for, its errors each one line on stderr; its exit status."""
    try:
        return {"train": train, "predict": predict, "evaluate": evaluate, "check": check, "info": info,
                "backends": backends, "export": export}[args.command](args)
    except KeyboardInterrupt:  # Ctrl-C outside training (reading data, saving): nothing to keep
        print("bpxp: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `bpxp predict … | head`: the reader left, as is its right
        sys.stderr.close()
        return 0
    except TrainingDiverged as error:  # not a usage mistake: the run itself failed, and says how
        print(f"bpxp: {error}", file=sys.stderr)
        return 1
    # user mistakes (and a backend this machine cannot run): one line, no traceback
    except (ValueError, TypeError, ImportError, OSError, _backend.BackendUnusable) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        if isinstance(error, ModuleNotFoundError) and error.name in CLI_EXTRA:  # the command's own extra
            message = f"{error.name} is not installed; the bpxp command needs it: {_backend.install_hint('cli')}"
        print(f"bpxp: error: {message}", file=sys.stderr)
        return 2
    except Exception as error:  # a bug of bpxp's own: still one line, unless asked for the traceback
        if os.environ.get("BPXP_DEBUG"):
            raise
        print(f"bpxp: unexpected {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''} "
              f"(rerun with BPXP_DEBUG=1 for the traceback, and please report it)", file=sys.stderr)
        return 1

