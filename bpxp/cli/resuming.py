"""A training run's checkpoint on the command line: where ``bpxp train --resume`` starts (or that the run had
finished), why a checkpoint cannot be resumed (in the command's terms), and the line after Ctrl-C saying how to
go on."""

from __future__ import annotations

import contextlib
import shlex
import sys

from ..training.checkpoint import check_resumable, read, recorded_history


@contextlib.contextmanager
def resume_errors_as_options():
    """A checkpoint that cannot be resumed, said in the command's terms (``fit`` says it in Python's)."""
    try:
        yield
    except ValueError as error:
        if not str(error).startswith("`resume`: "):
            raise
        raise ValueError(_in_options(str(error))) from None


def _in_options(message: str) -> str:
    """``fit``'s "`resume`: … ; <what to do in Python>" as the command's "--resume: … ; <what to do here>"."""
    message = message.removeprefix("`resume`: ").split("; ")[0].replace(
        "(written by MLP.save, not by fit(checkpoint=...))", "(a model written by --save, not a --checkpoint)")
    return (f"--resume: {message}; resume with the options it was trained with, or give --checkpoint a new file to "
            "start afresh")


def announce_resume(checkpoint: str | None, epochs: int, spec) -> int:
    """Say where a resumed run starts ("resuming from epoch N of M", or that it had finished); return N. A
    checkpoint without training progress, or of another network (``spec`` is this one's), is refused first."""
    if checkpoint is None:
        return 0
    metadata = read(checkpoint, parts=())[0]
    with resume_errors_as_options():  # what the metadata shows, refused before "resuming from …" is said
        check_resumable(checkpoint, metadata, spec)
    training = metadata["training"]
    done = training.get("epoch", -1) + 1
    finished = recorded_history(training).finished(epochs) if "history" in training else None
    if finished is not None:
        print(f"the run in {checkpoint} had finished at epoch {done} of {epochs} ({finished}): nothing to resume",
              file=sys.stderr)
    else:
        print(f"resuming from epoch {done} of {epochs} ({checkpoint})", file=sys.stderr)
    return done


def stopped_line(args, history) -> str:
    """The one line after Ctrl-C: where training stopped, what was saved, and how to go on."""
    kept = "its initial weights" if history.kept_epoch is None else f"the weights of epoch {history.kept_epoch + 1}"
    line = f"stopped at epoch {history.epochs} of {args.epochs} (Ctrl-C); the model keeps {kept}"
    if args.save:
        line += f"; model saved to {args.save}"
    if args.checkpoint:
        argv = [*args.argv, *([] if "--resume" in args.argv else ["--resume"])]
        line += f"; resume with: {shlex.join(['bpxp', *argv])}"
    return line
