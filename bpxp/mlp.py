"""``bpxp.MLP``: a multi-layer perceptron that holds its parameters on one backend and device.

The class is the user-facing edge: it checks arguments and inputs once per call, then hands arrays to the pure
math of ``bpxp.backprop``, ``bpxp.optimizers`` and ``bpxp.training.loop``. This module owns construction (from a
description, ``bpxp.spec.Spec``, or from given weights), the parameters, input checks, the forward/backward
façade, pickling and saving; training lives in ``bpxp.fitting`` and predictions in ``bpxp.predicting``, both base
classes of ``MLP``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import array_api_compat

from . import checks, defaults
from .backend import inputs as _inputs
from .backend import namespaces as _backend
from .backend import randomness as _random
from .dask import chunks as dask_chunks
from .fitting import Fitting
from .math.backprop import Gradients, dataset_loss, forward_pass, gradients
from .predicting import Predicting
from .spec import Spec
from .training import checkpoint, session


class MLP(Fitting, Predicting):
    """A multi-layer perceptron trained by backpropagation, on any Array API backend.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, input first: ``(6, 2, 1)`` is 6 inputs, one hidden layer of 2, one output.
    hidden : str
        Activation of the hidden layers: 'relu' (default), 'sigmoid', 'tanh', 'leaky_relu' or 'identity'.
    output : str, optional
        Activation of the output layer: any hidden one, 'softmax', or 'exp' (for loss 'poisson'). With
        neither ``output`` nor ``loss`` given, the first ``fit`` chooses both from its targets
        (``bpxp.defaults``): softmax + cross-entropy for class labels, sigmoid + binary cross-entropy for 0/1
        targets of one output or multi-label rows, identity + mse for real values. With one given, the other follows it.
    loss : str, optional
        'mse' (½·mean of squared errors), 'binary_cross_entropy' (sigmoid output), 'cross_entropy'
        (softmax output) or 'poisson' (½ Poisson deviance, 'exp' output).
    bias : bool
        Whether layers have biases bˡ.
    dtype : {'float32', 'float64'}
        Floating dtype of parameters and computation.
    backend : str
        'numpy', 'cupy', 'torch', 'jax' or 'array_api_strict'.
    device : str or device, optional
        Where the parameters live, e.g. 'cuda:0' or a device object; the backend's default when None.
    precision : {'float32', 'tf32'}
        Float32 matrix products: 'float32' is IEEE float32 on every backend and device (JAX pinned to its highest
        precision, torch's TF32 off, CuPy's default compute type), so all backends agree; 'tf32' opts into
        tensor-core TF32 products on CUDA GPUs (CuPy, torch, JAX) — faster on wide layers, ~1e-3 relative
        products — and changes nothing elsewhere (said once). Part of the network's description: ``fit``,
        ``forward`` and ``predict`` follow it, checkpoints record it. float64 is never affected.
    random_state : int or numpy.random.Generator, optional
        Seed of the host ``numpy.random.default_rng`` that draws initial weights (Glorot uniform before
        sigmoid/tanh/identity/softmax, He normal before relu/leaky_relu; zero biases). The same seed gives the
        same initial weights on every backend.

    Notes
    -----
    What ``predict`` and ``score`` do follows from the output layer:

    - sigmoid, 1 unit → binary classifier: labels ``ŷ > ½``, score = accuracy;
    - softmax, or sigmoid with several units and loss 'mse' (the Iris tutorial) → multi-class: labels
      ``argmax ŷ``, score = accuracy;
    - sigmoid with several units and 'binary_cross_entropy' → multi-label, score = subset accuracy;
    - any other output → regression: ``predict`` returns ŷ, score = R².

    Examples
    --------
    >>> import bpxp, numpy as np
    >>> net = bpxp.MLP([2, 3, 1], dtype="float64", random_state=0)
    >>> X, y = np.array([[0., 1.], [1., 0.]]), np.array([1., 0.])
    >>> [w.shape for w in net.weights]
    [(2, 3), (3, 1)]
    >>> net.backward(X, y).deltas[-1].shape
    (2, 1)
    """

    def __init__(self, layer_sizes: Sequence[int], *, hidden: str = defaults.HIDDEN, output: str | None = None,
                 loss: str | None = None, bias: bool = True, dtype: str = "float32", backend: str = "numpy",
                 device: Any = None, random_state: Any = None, precision: str = "float32") -> None:
        sizes = checks.check_layer_sizes(layer_sizes)
        checks.check_bool(bias, "bias")
        # neither named: the first fit chooses them from its targets (bpxp.defaults); until then, by output size
        self._output_from_targets = output is None and loss is None
        output, loss = defaults.output_and_loss(output, loss, sizes[-1])
        self._configure(sizes, hidden, output, loss, bias, backend, dtype, device, precision)
        names = [hidden] * (len(sizes) - 2) + [output]
        host_weights, host_biases = _random.initial_parameters(
            sizes, names, bias=bias, dtype=self.dtype_name, random_state=checks.check_seed(random_state))
        self._set_parameters(host_weights, host_biases)

    @classmethod
    def from_weights(cls, weights: Sequence[Any], biases: Sequence[Any] | None = None, *,
                     hidden: str = "sigmoid", output: str = "sigmoid", loss: str = "mse",
                     backend: str | None = None, dtype: str | None = None, device: Any = None,
                     precision: str = "float32") -> MLP:
        """A network with the given parameters (NumPy arrays, lists, or one backend's arrays).

        Parameters
        ----------
        weights : list of arrays, shapes (nₗ₋₁, nₗ)
            W¹ … Wᴸ; consecutive shapes must chain.
        biases : list of arrays, shapes (nₗ,), optional
            b¹ … bᴸ, or None for a network without biases.
        hidden, output, loss : str
            As for :class:`MLP`.
        backend, dtype, device : optional
            Follow the arrays when not named: their backend and device (NumPy for host data), float32 for
            float32 arrays, else float64.
        precision : {'float32', 'tf32'}
            As for :class:`MLP`.

        Returns
        -------
        MLP
            Holding copies of the arrays: training never changes the caller's.

        Examples
        --------
        >>> import bpxp, numpy as np
        >>> net = bpxp.MLP.from_weights([np.ones((4, 2)), np.ones((2, 3))])
        >>> net.layer_sizes, net.dtype_name, net.biases
        ((4, 2, 3), 'float64', None)
        """
        if isinstance(weights, str) or not isinstance(weights, Sequence) or len(weights) == 0:
            raise TypeError(f"`weights` must be a non-empty list of 2-D arrays, got {type(weights).__name__}")
        if biases is not None and (isinstance(biases, str) or not isinstance(biases, Sequence)
                                   or len(biases) != len(weights)):
            raise ValueError(f"`biases` must be None or a list of {len(weights)} arrays (one per layer), "
                             f"got {biases!r:.80}")
        arrays = [*weights, *(biases or ())]
        backend, dtype, device = _inputs.infer_placement(arrays, backend, dtype, device)
        net = cls.__new__(cls)
        sizes = _inputs.layer_sizes_of(weights)
        net._configure(sizes, hidden, output, loss, biases is not None, backend, dtype, device, precision)
        net._set_parameters(list(weights), None if biases is None else list(biases))
        return net

    @classmethod
    def from_checkpoint(cls, saved: checkpoint.Saved, *, backend: str, device: Any, dtype: str) -> MLP:
        """The network a checkpoint holds (``bpxp.training.checkpoint.read_network``), on ``backend``/``device`` in
        ``dtype``, with ``optimizer_``, ``optimizer_state_`` and ``checkpoint_metadata_``; see :func:`bpxp.load`."""
        spec = saved.spec
        net = cls.from_weights(saved.weights, saved.biases, hidden=spec.hidden, output=spec.output, loss=spec.loss,
                               backend=backend, device=device, dtype=dtype, precision=spec.precision)
        if saved.optimizer is not None:
            flat = [net.xp.asarray(a, device=net.device) for a in saved.state_arrays]
            net._hold(net.weights, net.biases, optimizer=saved.optimizer,
                      optimizer_state=checkpoint.unflatten(flat, saved.state_structure))
        net.checkpoint_metadata_ = saved.metadata
        return net

    # -- configuration -------------------------------------------------------------------------------------
    def _configure(self, sizes, hidden, output, loss, bias, backend, dtype, device, precision):
        precision = _backend.check_precision(precision)
        spec = Spec.checked(sizes, hidden, output, loss, bias=bias, precision=precision)  # dtype follows below
        self.backend = _backend.check_backend_name(backend)
        _backend.check_usable(backend, device)
        self._xp = _backend.namespace(backend)
        self.dtype = _backend.resolve_dtype(self._xp, dtype)
        self.device = _backend.resolve_device(self._xp, device)
        self._describe(dataclasses.replace(
            spec, dtype=next(n for n in _backend.DTYPE_NAMES if getattr(self._xp, n) == self.dtype)))

    def _describe(self, spec: Spec) -> None:
        """Hold ``spec`` as this network's description, with the activation and loss objects it names."""
        self._spec = spec
        self._activations = spec.activations
        self._loss = spec.loss_function

    _output_from_targets = False  # networks made by from_weights, bpxp.load or unpickling keep their output

    def _choose_output(self, y: Any) -> None:
        """Once, at the first fit: the output activation and loss that suit the targets (``bpxp.defaults``)."""
        host = y if _backend.array_backend(y) is None else _backend.to_numpy(y)
        chosen = defaults.output_and_loss_for_targets(host, self.layer_sizes[-1])
        if chosen is not None and chosen != (self.output, self.loss):
            # the output layer's initial weights are Glorot's for softmax, sigmoid and identity alike: unchanged
            spec = self._spec
            self._describe(dataclasses.replace(Spec.checked(spec.layer_sizes, spec.hidden, *chosen, bias=spec.bias,
                                                            precision=spec.precision), dtype=spec.dtype))
        self._output_from_targets = False

    def _set_parameters(self, weights: list[Any], biases: list[Any] | None) -> None:
        names = [f"weights[{i}]" for i in range(len(weights))] + [f"biases[{i}]" for i in range(len(biases or ()))]
        moved = _inputs.parameters([*weights, *(biases or ())], names, xp=self._xp, device=self.device,
                                   dtype=self.dtype, float_name=self.dtype_name)
        expected = [self.layer_sizes[i:i + 2] for i in range(len(weights))] + \
            [(self.layer_sizes[i + 1],) for i in range(len(biases or ()))]
        for name, array, shape in zip(names, moved, expected):
            if tuple(array.shape) != shape:
                raise ValueError(f"`{name}` has shape {tuple(array.shape)}, expected {shape}"
                                 + (" (n_in, n_out)" if name.startswith("weights") else ""))
        if self.device is None:
            self.device = array_api_compat.device(moved[0])
        self.weights, self.biases = moved[:len(weights)], None if biases is None else moved[len(weights):]

    # -- properties ------------------------------------------------------------------------------------------
    @property
    def spec(self) -> Spec:
        """The network's description (``bpxp.spec.Spec``): sizes, activations, loss, bias, dtype, precision."""
        return self._spec

    layer_sizes = property(lambda self: self._spec.layer_sizes, doc="Units per layer, input first.")
    hidden = property(lambda self: self._spec.hidden, doc="Activation of the hidden layers.")
    output = property(lambda self: self._spec.output, doc="Activation of the output layer.")
    loss = property(lambda self: self._spec.loss, doc="Name of the loss.")
    dtype_name = property(lambda self: self._spec.dtype, doc="'float32' or 'float64'.")
    precision = property(lambda self: self._spec.precision, doc="'float32' or 'tf32' (see the class docstring).")
    task = property(lambda self: self._spec.task,
                    doc="'multiclass', 'binary', 'multilabel' or 'regression' (see the class Notes).")

    @property
    def xp(self) -> Any:
        """The Array API namespace the parameters live in."""
        return self._xp

    @property
    def n_layers(self) -> int:
        """Number of weight layers L (hidden layers + output)."""
        return len(self.weights)

    def __repr__(self) -> str:
        return (f"MLP({list(self.layer_sizes)}, hidden={self.hidden!r}, output={self.output!r}, "
                f"loss={self.loss!r}, bias={self.biases is not None}, dtype={self.dtype_name!r}, "
                f"backend={self.backend!r}, device={_backend.device_label(self.device)!r}"
                + (f", precision={self.precision!r})" if self.precision != "float32" else ")"))

    def _precision(self):
        """``follows_precision``'s context (``bpxp.backend.namespaces``), for the training loops' ``with`` blocks."""
        return _backend.network_precision(self)

    @property
    def _parameters(self) -> tuple[tuple, tuple | None]:
        return tuple(self.weights), None if self.biases is None else tuple(self.biases)

    # -- the parameters, read and set by whole sets ------------------------------------------------------------
    def copy_parameters(self) -> tuple[tuple, tuple | None]:
        """Copies of (weights, biases): training updates the network's arrays in place, the copies stay."""
        copy = lambda arrays: None if arrays is None else tuple(self._xp.asarray(a, copy=True) for a in arrays)  # noqa: E731
        return copy(self.weights), copy(self.biases)

    def set_parameters(self, weights: Sequence[Any], biases: Sequence[Any] | None, *, optimizer: Any = None,
                       optimizer_state: Any = None) -> None:
        """Hold these arrays (the network's backend, device and shapes, e.g. from :meth:`copy_parameters`) and,
        when given, the optimizer rule (``optimizer_``) and its state (``optimizer_state_``) that trained them."""
        self._hold(weights, biases, optimizer=optimizer, optimizer_state=optimizer_state)

    def _hold(self, weights, biases, *, optimizer=None, optimizer_state=None) -> None:
        self.weights = list(weights)
        self.biases = None if biases is None else list(biases)
        if optimizer is not None:
            self.optimizer_ = optimizer
        if optimizer is not None or optimizer_state is not None:
            self.optimizer_state_ = optimizer_state

    # -- the math: each method that multiplies follows the precision policy ---------------------------------
    @_backend.follows_precision
    def forward(self, X: Any) -> Any:
        """Run the network forward: Ŷ = Aᴸ.

        Parameters
        ----------
        X : array or array-like, shape (n_samples, layer_sizes[0])

        Returns
        -------
        array, shape (n_samples, layer_sizes[-1])
            The outputs, in the network's namespace and on its device.
        """
        if dask_chunks.is_dask(X):
            return dask_chunks.outputs(self, X)  # lazy, chunk by chunk
        A, _ = forward_pass(session.features(self, X), *self._parameters, self._activations, xp=self._xp)
        return A[-1]

    @_backend.follows_precision
    def logits(self, X: Any) -> Any:
        """Zᴸ = Aᴸ⁻¹·Wᴸ + bᴸ, the output layer's pre-activation (Ŷ = fᴸ(Zᴸ), :meth:`forward`), shape (n_samples,
        layer_sizes[-1]), on the network's device: probabilities computed from it keep what a rounded Ŷ loses."""
        _, Z = forward_pass(session.features(self, X), *self._parameters, self._activations, xp=self._xp, output=False)
        return Z

    @_backend.follows_precision
    def backward(self, X: Any, y: Any) -> Gradients:
        """One forward and backward pass; nothing is updated.

        Parameters
        ----------
        X : array or array-like, shape (n_samples, layer_sizes[0])
        y : array or array-like, shape (n_samples, layer_sizes[-1]), or (n_samples,) for one output or labels

        Returns
        -------
        Gradients
            ``.weights`` ∂L/∂Wˡ (shapes of ``net.weights``), ``.biases`` ∂L/∂bˡ or None, ``.deltas`` the
            per-sample δˡ (n_samples, nₗ), ``.activations`` A⁰ … Aᴸ and ``.loss`` L (0-d array).
        """
        X = session.features(self, X)
        Y = session.targets(self, y, X.shape[0])
        return gradients(X, Y, *self._parameters, self._activations, self._loss, xp=self._xp)

    @_backend.follows_precision
    def loss_value(self, X: Any, y: Any) -> float:
        """The loss L of the current weights on (X, y).

        Parameters
        ----------
        X : array or array-like, shape (n_samples, layer_sizes[0])
        y : array or array-like, shape (n_samples, layer_sizes[-1]), or (n_samples,)

        Returns
        -------
        float
        """
        X = session.features(self, X)
        Y = session.targets(self, y, X.shape[0])
        return float(dataset_loss(X, Y, *self._parameters, self._activations, self._loss, xp=self._xp))

    # -- pickling, saving --------------------------------------------------------------------------------
    def __getstate__(self) -> dict:
        """Pickle with NumPy copies of every array and the backend by name (modules do not pickle)."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("_xp", "weights", "biases", "device",
                                                                      "dtype", "optimizer_state_")}
        state["weights"] = [_backend.to_numpy(w) for w in self.weights]
        state["biases"] = None if self.biases is None else [_backend.to_numpy(b) for b in self.biases]
        state["device"] = _backend.device_label(self.device)
        flat, structure = checkpoint.flatten(getattr(self, "optimizer_state_", None))
        state["optimizer_state_"] = ([_backend.to_numpy(a) for a in flat], structure)
        return state

    def __setstate__(self, state: dict) -> None:
        """Unpickle onto the same backend and device label (a different machine must have them)."""
        state = dict(state)
        weights, biases = state.pop("weights"), state.pop("biases")
        flat, structure = state.pop("optimizer_state_")
        self.__dict__.update(state)
        self._xp = _backend.namespace(self.backend)
        self.dtype = _backend.resolve_dtype(self._xp, self.dtype_name)
        self.device = _backend.resolve_device(self._xp, self.device)
        self._set_parameters(weights, biases)
        if structure is not None:
            moved = [self._xp.asarray(a, device=self.device) for a in flat]
            self.optimizer_state_ = checkpoint.unflatten(moved, structure)

    def save(self, path: str | os.PathLike[str], *, extra: dict[str, Any] | None = None) -> Path:
        """Write the network to ``path`` (``.npz`` + JSON metadata, atomically); load it with :func:`bpxp.load`.

        The parameters, the configuration and the optimizer state of the last ``fit`` are saved; ``extra`` adds
        JSON-serialisable entries to the metadata. Returns the path.
        """
        return checkpoint.save(path, self._spec, (self.weights, self.biases), backend=self.backend, device=self.device,
                               optimizer=getattr(self, "optimizer_", None),
                               state=getattr(self, "optimizer_state_", None), extra=extra)

