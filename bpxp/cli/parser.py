"""The ``bpxp`` command's parser: its subcommands and options, each number checked by ``bpxp.checks``' rules, and
every parser error on one line (usage is one ``--help`` away)."""

from __future__ import annotations

import argparse

from .. import checks
from ..backend import namespaces as _backend
from ..math.optimizers import OPTIMIZERS, SCHEDULES
from .datasets import NAMES as BUNDLED
from .encoding import DEFAULT_MISSING, MISSING


def _option(rule: checks.Rule):
    """An argparse type: the option's text as a number obeying ``rule`` (``bpxp.checks``), else the parser's
    one-line error saying what was expected."""
    def parse(text: str) -> int | float:
        try:
            return checks.parse(text, rule)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


_positive_int = _option(checks.POSITIVE_INT)
_non_negative_int = _option(checks.NON_NEGATIVE_INT)
_positive_float = _option(checks.POSITIVE_FLOAT)
_non_negative_float = _option(checks.NON_NEGATIVE_FLOAT)
_fraction = _option(checks.FRACTION)
_MODEL = "a model saved by 'bpxp train --save MODEL.npz'"


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line like every other user mistake (usage is one ``--help`` away)."""

    def error(self, message: str):
        self.exit(2, f"bpxp: error: {message} (see '{self.prog} --help')\n")


class _ShowDefaults(argparse.HelpFormatter):
    """``--help`` shows every option's default (those that have one), as ``(default: …)``."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        hidden = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if "(default" in text or hidden or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)".lstrip()


def parser() -> argparse.ArgumentParser:
    """The ``bpxp`` command's parser: ``--version`` and the subcommands train, predict, evaluate, check, info,
    backends."""
    from .._version import __version__

    parser = _Parser(prog="bpxp", description="Backpropagation on any Array API backend.")
    parser.add_argument("--version", action="version", version=f"bpxp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser = _with_defaults_shown(commands.add_parser)
    _add_train(commands.add_parser("train", help="train on a bundled dataset or a CSV/Parquet file"))
    _add_predict(commands.add_parser("predict", help="predict with a saved model; CSV to stdout or --out"))
    _add_evaluate(commands.add_parser("evaluate", help="score a saved model on labelled data"))
    _add_check(commands.add_parser("check", help="check backpropagation against finite differences (exit 1 if it "
                                                 "disagrees)"))
    commands.add_parser("info", help="describe a saved model").add_argument("model", help=_MODEL)
    commands.add_parser("backends", help="list backends, whether they are installed, and their devices")
    export = commands.add_parser("export", help="write a saved model as an ONNX model (needs the onnx extra)")
    export.add_argument("model", help=_MODEL)
    export.add_argument("out", help="the .onnx file to write")
    return parser


def _add_train(train: argparse.ArgumentParser) -> None:
    """``bpxp train``'s arguments, in the order ``--help`` lists them."""
    _add_training_data(train)
    _add_missing_values(train)
    _add_network_shape(train)
    _add_optimizer_options(train)
    _add_validation(train)
    _add_placement(train)
    _add_numerics(train)
    _add_training_outputs(train)


def _add_training_data(train: argparse.ArgumentParser) -> None:
    """The data to train on, its target column, and whether that target is classes or numbers."""
    train.add_argument("data", nargs="?", default="iris",
                       help=f"a bundled dataset ({', '.join(BUNDLED)}) or a .csv/.parquet file "
                            f"(default: iris)")
    train.add_argument("--target", help="the target column (required with a data file)")
    train.add_argument("--task", choices=["auto", "classification", "regression"], default="auto",
                       help="auto: classification for text or whole-number targets with few values")


def _add_missing_values(train: argparse.ArgumentParser) -> None:
    """What a data file's missing feature values become (text columns are one-hot encoded, needing no option)."""
    train.add_argument("--missing", choices=MISSING, default=DEFAULT_MISSING,
                       help="missing values in a data file's feature columns: mean fills each with its column's "
                            "training mean (a text column's most frequent category), and predict/evaluate fill "
                            "new data the same way; drop drops incomplete rows (also those without a target), as "
                            "evaluate does later, while predict refuses them; error refuses them")


def _add_network_shape(train: argparse.ArgumentParser) -> None:
    """The hidden layers, the activations and the loss."""
    train.add_argument("--hidden-layers", default="16", metavar="N[,N…]", help="hidden widths")
    train.add_argument("--hidden", default="relu", help="hidden activation")
    train.add_argument("--output", help="output activation (default: softmax, or identity for regression)")
    train.add_argument("--loss", help="loss (default: cross_entropy, or mse for regression)")


def _add_optimizer_options(train: argparse.ArgumentParser) -> None:
    """The update rule, how long and in what steps it runs, its learning rate and schedule, and the L2 penalty."""
    train.add_argument("--optimizer", default="adam", choices=list(OPTIMIZERS), help="the update rule")
    train.add_argument("--epochs", type=_positive_int, default=200, help="passes over the training rows")
    # The command's defaults suit the bundled datasets (150 to 1,800 rows): smaller batches and a larger η than
    # MLP.fit's (32, and Adam's 0.001) give them enough progress within the default 200 epochs.
    train.add_argument("--batch-size", type=_positive_int, default=16,
                       help="rows per step (default: 16, where MLP.fit's is 32: more steps per epoch on the "
                            "bundled datasets' few hundred rows)")
    train.add_argument("--learning-rate", type=_positive_float, default=0.01,
                       help="step size η (default: 0.01 for every optimizer, where MLP.fit's depends on it, "
                            "Adam's 0.001: the bundled datasets then train within the 200 epochs)")
    train.add_argument("--learning-rate-schedule", choices=list(SCHEDULES), metavar="{" + ",".join(SCHEDULES) + "}",
                       help="how η changes between epochs (default: constant, η fixed): invscaling "
                            "η₀/(t + 1)^0.5 after t "
                            "samples; adaptive η/5 after 10 epochs without improving the validation loss, "
                            "stopping once η ≤ 1e-6")
    train.add_argument("--l2", type=_non_negative_float, default=0.0, help="L2 penalty α")


def _add_validation(train: argparse.ArgumentParser) -> None:
    """The rows held out for validation, and early stopping on their loss (or none)."""
    train.add_argument("--validation-split", type=_fraction, default=0.2, help="fraction held out")
    stopping = train.add_mutually_exclusive_group()
    stopping.add_argument("--early-stopping", type=_positive_int, metavar="PATIENCE", default=20,
                          help="stop when validation loss has not improved for PATIENCE epochs, and keep the "
                               "best epoch's weights")
    stopping.add_argument("--no-early-stopping", dest="early_stopping", action="store_const", const=None,
                          help="train all --epochs and keep the last epoch")


def _add_numerics(train: argparse.ArgumentParser) -> None:
    """How the numbers are made: the dtype, the precision of products, the seed, and gradient clipping."""
    train.add_argument("--dtype", default="float32", choices=_backend.DTYPE_NAMES, help="floating dtype")
    train.add_argument("--precision", default="float32", choices=_backend.PRECISION_NAMES,
                       help="float32 products: IEEE 'float32' (default) or 'tf32' tensor cores on a CUDA GPU")
    train.add_argument("--seed", type=_non_negative_int, default=0,
                       help="seed of the split, initial weights and shuffling")
    train.add_argument("--clip-norm", type=_positive_float, metavar="C",
                       help="rescale each batch's gradients to a joint norm of at most C")


def _add_training_outputs(train: argparse.ArgumentParser) -> None:
    """What a run leaves: checkpoints (and resuming from one), the saved model, the loss curves, the progress."""
    train.add_argument("--checkpoint", metavar="RUN.npz",
                       help="write a training checkpoint there every --checkpoint-every epochs (atomically)")
    train.add_argument("--checkpoint-every", type=_positive_int, default=1, metavar="N",
                       help="epochs between checkpoints")
    train.add_argument("--resume", action="store_true",
                       help="continue from --checkpoint if it exists (same data and options): the run ends with "
                            "exactly the weights of an uninterrupted one")
    train.add_argument("--save", metavar="MODEL.npz", help="write the trained model (with its preprocessing)")
    train.add_argument("--plot", metavar="CURVE.png", help="draw the loss curves (needs matplotlib)")
    train.add_argument("--quiet", action="store_true", help="no per-epoch progress")


def _add_predict(predict: argparse.ArgumentParser) -> None:
    """``bpxp predict MODEL DATA [--out CSV]``."""
    predict.add_argument("model", help=_MODEL)
    predict.add_argument("data", help="the rows to predict on: a bundled dataset, or a .csv/.parquet file with "
                                      "the model's feature columns (other columns are ignored)")
    predict.add_argument("--out", help="write the CSV here instead of stdout")
    _add_placement(predict)


def _add_evaluate(evaluate: argparse.ArgumentParser) -> None:
    """``bpxp evaluate MODEL DATA [--target COLUMN] [--all-rows]``."""
    evaluate.add_argument("model", help=_MODEL)
    evaluate.add_argument("data", help="labelled rows to score: a bundled dataset, or a .csv/.parquet file with "
                                       "the model's feature columns and its target column")
    evaluate.add_argument("--target", help="the target column (default: the one the model was trained on)")
    evaluate.add_argument("--all-rows", action="store_true",
                          help="score every row, also on the data the model was trained on (by default only "
                               "its held-out validation rows are scored there)")
    _add_placement(evaluate)


def _add_check(check: argparse.ArgumentParser) -> None:
    """``bpxp check [DATA] [--model MODEL.npz] [--rows N]``: a fresh network (``train``'s shape options) or a saved
    model, its gradients checked in float64 on some rows of the data."""
    check.add_argument("data", nargs="?",
                       help=f"a bundled dataset ({', '.join(BUNDLED)}) or a .csv/.parquet file (default: the data "
                            "--model was trained on; without --model, iris)")
    check.add_argument("--model", metavar="MODEL.npz", help="check this saved model (default: a fresh network)")
    check.add_argument("--target", help="the target column (required with a data file and no model)")
    check.add_argument("--rows", type=_positive_int, default=16, help="rows checked, drawn by --seed")
    check.add_argument("--hidden-layers", default="16", metavar="N[,N…]", help="hidden widths of a fresh network")
    check.add_argument("--hidden", default="relu", help="hidden activation of a fresh network")
    check.add_argument("--seed", type=_non_negative_int, default=0, help="seed of the rows and the initial weights")
    check.add_argument("--eps", type=_positive_float, default=1e-6, help="step ε of the central differences")
    check.add_argument("--rtol", type=_positive_float, default=1e-4, help="relative tolerance")
    _add_placement(check)


def _with_defaults_shown(add_parser):
    def add(name: str, **kwargs) -> argparse.ArgumentParser:
        return add_parser(name, formatter_class=_ShowDefaults, **kwargs)

    return add


def _add_placement(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=_backend.BACKEND_NAMES, help="default: numpy (train), the "
                        "backend trained on (predict, evaluate)")
    parser.add_argument("--device", help="e.g. cuda:0; default: the backend's default device")


def hidden_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise ValueError(f"--hidden-layers must be positive integers separated by commas, got {text!r}")
    return sizes
