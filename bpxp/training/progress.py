"""Showing training as it goes: a per-epoch progress bar (``shown`` wires it into a fit's callback, in memory and
on Dask), and the loss curves as a picture.

The bar is tqdm's (``pip install tqdm``), shown on a terminal only: a log file, CI or a pipe stays quiet.
Plots use matplotlib (``pip install matplotlib``). Both are imported only when asked for.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any


def progress_callback(epochs: int, *, stream: Any = None) -> tuple[Callable | None, Callable]:
    """A ``fit`` callback showing a tqdm bar with epoch, loss and validation loss, and a function closing it.

    Quiet — ``(None, no-op)`` — when ``stream`` (default stderr) is not a terminal (a log file, CI, a pipe).
    Without tqdm installed, a line every tenth of the run stands in for the bar.
    """
    stream = sys.stderr if stream is None else stream
    if not getattr(stream, "isatty", lambda: False)():
        return None, lambda: None

    def describe(history) -> dict[str, str]:
        shown = {"loss": f"{history.loss[-1]:.4g}"}
        if history.val_loss:
            shown["val_loss"] = f"{history.val_loss[-1]:.4g}"
        return shown

    try:
        from tqdm.auto import tqdm
    except ImportError:
        every = max(1, epochs // 10)

        def log(epoch, history):
            if epoch % every == 0 or epoch == epochs - 1:
                shown = "  ".join(f"{k} {v}" for k, v in describe(history).items())
                print(f"epoch {epoch + 1:4d}/{epochs}  {shown}", file=stream, flush=True)

        return log, lambda: None
    bar = tqdm(total=epochs, unit="epoch", desc="training", file=stream)

    def update(epoch, history):
        bar.set_postfix(describe(history))
        bar.update(1)

    return update, bar.close


@contextlib.contextmanager
def shown(callback: Callable | None, epochs: int, verbose: bool) -> Iterator[Callable | None]:
    """Within: ``callback`` and, when ``verbose``, a progress bar's (:func:`progress_callback`), one callback
    (epoch, history) calling both; the bar is closed on leaving, however training ended. Opened by ``fit`` once its
    inputs are checked, so a refused fit draws no bar."""
    bar, close = progress_callback(epochs) if verbose else (None, None)
    try:
        yield both(callback, bar)
    finally:
        if close is not None:
            close()


def both(first: Callable | None, second: Callable | None) -> Callable | None:
    """One callback(epoch, history) calling ``first`` then ``second`` (either may be None)."""
    if first is None or second is None:
        return first or second

    def call_both(epoch, history):
        first(epoch, history)
        second(epoch, history)

    return call_both


def plot_history(history, path: Any = None, *, ax: Any = None, log_scale: bool | None = None,
                 title: str | None = None):
    """Draw the training (and validation) loss per epoch; save a PNG to ``path`` if given; return the Axes.

    ``log_scale`` None chooses a logarithmic loss axis when the loss falls more than tenfold.
    """
    figure, ax = _axes(ax, path)
    epochs = range(1, history.epochs + 1)
    ax.plot(epochs, history.loss, label="training loss", color="tab:blue", linewidth=1.8)
    if history.val_loss:
        ax.plot(range(1, len(history.val_loss) + 1), history.val_loss, label="validation loss",
                color="tab:orange", linewidth=1.8)
    if history.best_epoch is not None:
        ax.axvline(history.best_epoch + 1, color="grey", linestyle=":", linewidth=1,
                   label=f"best epoch ({history.best_epoch + 1})")
    values = [v for v in (*history.loss, *history.val_loss) if v > 0]
    if log_scale is None:
        log_scale = bool(values) and max(values) > 10 * min(values)
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (log scale)" if log_scale else "loss")
    ax.set_title(title or "Training curve")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return _finished(figure, ax, path)


def plot_gradient_norms(history, path: Any = None, *, ax: Any = None, title: str | None = None):
    """Draw each layer's gradient norm ‖∂L/∂Wˡ‖ per epoch (``History.gradient_norms``, recorded by
    ``fit(..., record=("gradient_norms",))``) on a log axis; save a PNG to ``path`` if given; return the Axes.

    Vanishing gradients show as the first layers' curves lying decades below the last layer's.
    """
    if not history.gradient_norms:
        raise ValueError("the History has no gradient norms: train with fit(..., record=('gradient_norms',))")
    figure, ax = _axes(ax, path)
    epochs = range(1, len(history.gradient_norms) + 1)
    layers = len(history.gradient_norms[0])
    for layer in range(layers):
        ax.plot(epochs, [norms[layer] for norms in history.gradient_norms], linewidth=1.6,
                label=f"layer {layer + 1}" + (" (output)" if layer == layers - 1 else ""))
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("‖∂L/∂Wˡ‖ (mean over the epoch's steps)")
    ax.set_title(title or "Gradient norm per layer")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return _finished(figure, ax, path)


def _axes(ax: Any, path: Any) -> tuple[Any, Any]:
    """(a new figure or None, the Axes to draw on): a new figure when ``ax`` is None, with no display needed to
    write it to ``path``."""
    import matplotlib

    if ax is not None:
        return None, ax
    if path is not None:
        matplotlib.use("Agg")  # no display needed to write a file
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(7, 4.2), dpi=120)


def _finished(figure: Any, ax: Any, path: Any) -> Any:
    """Lay out a figure the plot made, and write it to ``path`` (then close it) if given; return the Axes."""
    if figure is not None:
        figure.tight_layout()
        if path is not None:
            import matplotlib.pyplot as plt

            figure.savefig(path)
            plt.close(figure)
    return ax
