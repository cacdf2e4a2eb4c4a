"""``bpxp info MODEL``: what a saved model or training checkpoint holds — its network, and which epoch of its
training run its weights are, with that epoch's figures."""

from __future__ import annotations

import itertools
import json

from ..training.checkpoint import read
from ..training.metadata import check_saved_by_train
from .encoding import described as described_encoding


def info(args) -> int:
    """Print the description of ``args.model``, one ``key  value`` line each; return 0. Every member's header
    and the metadata are checked before anything is printed; no array data is read."""
    meta, _ = read(args.model, parts=())
    check_saved_by_train(meta, args.model, required=False)
    sizes = meta["layer_sizes"]
    parameters = sum(n_in * n_out + (n_out if meta.get("bias") else 0) for n_in, n_out in itertools.pairwise(sizes))
    rows = [("layers", "-".join(map(str, sizes))), ("parameters", f"{parameters:,}"),
            ("activations", f"{meta['hidden']} (hidden), {meta['output']} (output)"), ("loss", meta["loss"]),
            ("dtype", meta["dtype"]),
            ("trained on", f"{meta.get('backend', 'not recorded')} ({meta.get('device') or 'default device'})"),
            ("optimizer", json.dumps(meta.get("optimizer"))),
            ("bpxp version", meta.get("bpxp_version", "not recorded"))]
    rows += _epoch_rows(meta)
    if meta.get("feature_names"):
        rows.append(("features", f"{len(meta['feature_names'])}: {', '.join(meta['feature_names'][:6])}"
                     + (" …" if len(meta["feature_names"]) > 6 else "")))
    if meta.get("classes"):
        rows.append(("classes", ", ".join(map(str, meta["classes"]))))
    rows += described_encoding(meta)
    for key, value in rows:
        print(f"{key:13s} {value}")
    return 0


def _epoch_rows(meta: dict) -> list[tuple[str, str]]:
    """``info``'s lines on training: the epochs run, the epoch whose weights the file holds and its figures (the
    best one under early stopping, as ``evaluate`` scores it), and the last epoch run when that is another one."""
    training = meta.get("training")  # a training checkpoint holds its last completed epoch
    history = (training or {}).get("history") or meta.get("history") or {}
    losses, val_losses = history.get("loss") or [], history.get("val_loss") or []
    if not losses:
        return []
    last = len(losses) - 1
    if training is not None:
        held = training.get("epoch", last)
    else:  # files of older versions record no kept epoch: early stopping kept the best one
        held = history.get("kept_epoch", history.get("best_epoch", last))
        held = last if held is None else held
    first_val = len(losses) - len(val_losses)  # val_loss[i] belongs to epoch first_val + i

    def figures(epoch: int) -> str:
        text = f"training loss {losses[epoch]:.6g}"
        if val_losses and epoch >= first_val:
            text += f", validation loss {val_losses[epoch - first_val]:.6g}"
        return text

    rows = [("epochs", f"{len(losses)} run; the model holds epoch {held + 1}"
             + (" (the best, kept by early stopping)" if held != last else " (the last)"))]
    scores = history.get("kept_scores") if training is None else None
    rows.append(("kept epoch", f"{held + 1}: {figures(held)}" + (
        f"; training {scores['measure']} {scores['training']:.4f}, validation {scores['measure']} "
        f"{scores['validation']:.4f}"
        if scores else "")))
    if held != last:
        rows.append(("last epoch", f"{last + 1}: {figures(last)}"))
    best = history.get("best_epoch")
    if training is not None and best is not None and best != held:
        rows.append(("best epoch", f"{best + 1}: {figures(best)} (the one a finished run keeps)"))
    return rows
