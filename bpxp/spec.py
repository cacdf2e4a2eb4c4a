"""The one description of a network: its layer sizes, activations, loss, biases, dtype and precision.

``MLP`` keeps its configuration as a :class:`Spec`, checkpoints write and read it (``to_metadata`` /
``from_metadata``: the JSON keys of format 1 unchanged) and the Dask driver ships it to the workers (it is made of
names only, so it pickles). What follows from the description — the activation objects, the loss object, the task
— is computed here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from .math.activations import Activation, get_activation
from .math.losses import Loss, get_loss

# the metadata keys that describe the network (format 1); a resumed fit compares them
DESCRIPTION_KEYS = ("layer_sizes", "hidden", "output", "loss", "bias", "dtype")


def task_of(output: str, loss: str, n_outputs: int) -> str:
    """What ``predict``/``score`` do, from the output layer: 'multiclass', 'binary', 'multilabel' or 'regression'.

    softmax → multiclass; sigmoid with one unit → binary; several sigmoid units → multilabel under
    binary cross-entropy, multiclass (argmax, the Iris tutorial) otherwise; any other output → regression.
    """
    if output == "softmax":
        return "multiclass"
    if output == "sigmoid":
        if n_outputs == 1:
            return "binary"
        return "multilabel" if loss == "binary_cross_entropy" else "multiclass"
    return "regression"


@dataclass(frozen=True)
class Spec:
    """A network's description: picklable names, no arrays.

    Attributes
    ----------
    layer_sizes : tuple of int
        n₀ (inputs) … n_L (outputs).
    hidden, output : str
        Canonical activation names of the hidden layers and of the output layer.
    loss : str
        Canonical loss name.
    bias : bool
        Whether layers have biases bˡ.
    dtype : str
        'float32' or 'float64'.
    precision : str
        'float32' or 'tf32' (float32 matrix products on CUDA).
    """

    layer_sizes: tuple[int, ...]
    hidden: str
    output: str
    loss: str
    bias: bool = True
    dtype: str = "float32"
    precision: str = "float32"

    @classmethod
    def checked(cls, layer_sizes: tuple[int, ...], hidden: str, output: str, loss: str, *, bias: bool = True,
                dtype: str = "float32", precision: str = "float32") -> Spec:
        """A Spec from user-given names: activation and loss names checked (and made canonical) once, here."""
        hidden = get_activation(hidden, argument="hidden", hidden=True).name
        output = get_activation(output, argument="output").name
        loss = get_loss(loss, output=output).name
        if output == "softmax" and layer_sizes[-1] < 2:
            raise ValueError("`output` 'softmax' needs at least 2 output units (layer_sizes[-1]), got "
                             f"{layer_sizes[-1]}; use 'sigmoid' for one")
        return cls(tuple(layer_sizes), hidden, output, loss, bias, dtype, precision)

    @property
    def task(self) -> str:
        """'multiclass', 'binary', 'multilabel' or 'regression' (:func:`task_of`)."""
        return task_of(self.output, self.loss, self.layer_sizes[-1])

    @property
    def activations(self) -> tuple[Activation, ...]:
        """σ¹ … σᴸ: the hidden activation for each hidden layer, then the output activation."""
        n_hidden = len(self.layer_sizes) - 2
        return tuple([get_activation(self.hidden, hidden=True)] * n_hidden + [get_activation(self.output)])

    @property
    def loss_function(self) -> Loss:
        """The loss object ℓ paired with the output activation."""
        return get_loss(self.loss, output=self.output)

    def to_metadata(self) -> dict:
        """The checkpoint metadata entries describing the network (JSON-serialisable)."""
        return {"layer_sizes": list(self.layer_sizes), "hidden": self.hidden, "output": self.output,
                "loss": self.loss, "bias": self.bias, "dtype": self.dtype, "precision": self.precision}

    @classmethod
    def from_metadata(cls, metadata: dict) -> Spec:
        """The description a checkpoint's metadata holds (files without ``precision`` predate it: float32)."""
        return cls(tuple(metadata["layer_sizes"]), metadata["hidden"], metadata["output"], metadata["loss"],
                   bool(metadata.get("bias", False)), metadata["dtype"], metadata.get("precision", "float32"))

    def differences(self, metadata: dict) -> dict:
        """``{key: (theirs, mine)}`` for each describing key on which ``metadata`` and this network differ."""
        mine = {key: value for key, value in self.to_metadata().items() if key in DESCRIPTION_KEYS}
        return {key: (metadata.get(key), value) for key, value in mine.items() if metadata.get(key) != value}
