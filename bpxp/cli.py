"""The ``bpxp`` command: train an MLP on a bundled dataset and report its accuracy.

    bpxp train                      # Iris, 4-16-3 relu/softmax, Adam, 200 epochs, on NumPy
    bpxp train wine --backend torch --epochs 100
    bpxp backends                   # which backends and devices are usable here
"""

from __future__ import annotations

import argparse
import sys
import time

from . import _backend, datasets
from .model import MLP


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bpxp", description="Backpropagation on any Array API backend.")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train on a bundled dataset and report test accuracy")
    train.add_argument("dataset", nargs="?", default="iris", choices=datasets.NAMES)
    train.add_argument("--hidden-layers", default="16", metavar="N[,N…]",
                       help="hidden layer widths, comma-separated (default: 16)")
    train.add_argument("--hidden", default="relu", help="hidden activation (default: relu)")
    train.add_argument("--optimizer", default="adam", choices=["sgd", "momentum", "adam"])
    train.add_argument("--epochs", type=int, default=200)
    train.add_argument("--batch-size", type=int, default=16)
    train.add_argument("--learning-rate", type=float, default=0.01)
    train.add_argument("--backend", default="numpy", choices=_backend.BACKEND_NAMES)
    train.add_argument("--device", default=None)
    train.add_argument("--dtype", default="float32", choices=_backend.DTYPE_NAMES)
    train.add_argument("--seed", type=int, default=0, help="seed of the split, initial weights and shuffling")
    train.add_argument("--test-fraction", type=float, default=0.2)
    train.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    commands.add_parser("backends", help="list backends, whether they are installed, and their devices")
    return parser


def _hidden_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise ValueError(f"--hidden-layers must be positive integers separated by commas, got {text!r}")
    return sizes


def _progress(epochs: int, quiet: bool):
    """A per-epoch callback: a tqdm bar on a terminal, a plain line every tenth of the run otherwise."""
    if quiet:
        return None, lambda: None
    if sys.stderr.isatty():
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, unit="epoch", desc="training")

        def update(epoch, history):
            bar.set_postfix(loss=f"{history.loss[-1]:.4f}", val_loss=f"{history.val_loss[-1]:.4f}")
            bar.update(1)

        return update, bar.close
    every = max(1, epochs // 10)

    def log(epoch, history):
        if epoch % every == 0 or epoch == epochs - 1:
            print(f"epoch {epoch + 1:4d}/{epochs}  loss {history.loss[-1]:.4f}  "
                  f"test loss {history.val_loss[-1]:.4f}", file=sys.stderr, flush=True)

    return log, lambda: None


def train(args) -> int:
    data = datasets.load(args.dataset)
    X_train, X_test, y_train, y_test = datasets.split(data.X, data.y, test_fraction=args.test_fraction,
                                                      random_state=args.seed)
    sizes = [X_train.shape[1], *_hidden_sizes(args.hidden_layers), data.n_classes]
    net = MLP(sizes, hidden=args.hidden, output="softmax", loss="cross_entropy", dtype=args.dtype,
              backend=args.backend, device=args.device, random_state=args.seed)
    print(f"{data.name}: {len(y_train)} training and {len(y_test)} test samples, {data.n_classes} classes; "
          f"{net!r}", file=sys.stderr)
    callback, close = _progress(args.epochs, args.quiet)
    start = time.perf_counter()
    try:
        net.fit(X_train, y_train, epochs=args.epochs, learning_rate=args.learning_rate,
                batch_size=args.batch_size, optimizer=args.optimizer, validation_data=(X_test, y_test),
                random_state=args.seed, callback=callback)
    finally:
        close()
    seconds = time.perf_counter() - start
    print(f"train accuracy {net.score(X_train, y_train):.4f}   test accuracy {net.score(X_test, y_test):.4f}"
          f"   ({args.epochs} epochs in {seconds:.2f} s)")
    return 0


def backends(args) -> int:
    for row in _backend.backends():
        status = (", ".join(row.devices) or row.note) if row.installed else f"not installed — {row.note}"
        print(f"{row.name:17s} {row.version or '':14s} {status}")
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"train": train, "backends": backends}[args.command](args)
    except (ValueError, TypeError, ImportError) as error:  # user mistakes: one line, no traceback
        print(f"bpxp: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
