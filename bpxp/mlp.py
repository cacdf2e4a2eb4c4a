"""``bpxp.MLP``: a multi-layer perceptron that holds its parameters on one backend and device. Its methods are what
a user calls; each keeps the network's own state (its ``bpxp.spec.Spec``, placement and parameters) and hands the
work to functions of the floors below: ``bpxp.backend.inputs``, ``bpxp.math``, ``bpxp.training``, ``bpxp.dask``."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import checks, defaults
from .backend import inputs, namespaces, randomness
from .dask import chunks as dask_chunks
from .dask import training as dask_training
from .math import predictions
from .math.backprop import Gradients, dataset_loss, forward_pass, gradients
from .spec import Spec
from .training import checkpoint, lbfgs, progress, recovery, session
from .training.config import TrainingConfig, check_callback
from .training.history import History


class MLP:
    """A multi-layer perceptron trained by backpropagation, on any Array API backend.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, input first: ``(6, 2, 1)`` is 6 inputs, one hidden layer of 2, one output.
    hidden : {'relu', 'sigmoid', 'tanh', 'leaky_relu', 'identity'}
        Activation of the hidden layers.
    output : str, optional
        Activation of the output layer: a hidden one, 'softmax', or 'exp' (for loss 'poisson').
    loss : {'mse', 'binary_cross_entropy', 'cross_entropy', 'poisson'}, optional
        Given one of ``output`` and ``loss``, the other follows it; given neither, the first ``fit`` chooses both
        from its targets (``bpxp.defaults``): softmax + cross-entropy for class labels, sigmoid + binary
        cross-entropy for 0/1 targets of one output or multi-label rows, identity + mse for real values.
    bias : bool
        Whether layers have biases bˡ.
    dtype : {'float32', 'float64'}
    backend : {'numpy', 'cupy', 'torch', 'jax', 'array_api_strict', 'mlx'}
    device : str or device, optional
        Where the parameters live, e.g. 'cuda:0' or a device object; the backend's default when None.
    precision : {'float32', 'tf32'}
        Float32 matrix products: IEEE float32 on every backend, so all agree; or TF32 tensor cores on CUDA GPUs
        (faster, ~1e-3 relative products; elsewhere a no-op, said once). float64 is never affected.
    random_state : int or numpy.random.Generator, optional
        Seeds the host draw of the initial weights (``bpxp.backend.randomness``): the same on every backend.

    Notes
    -----
    ``predict`` and ``score`` follow the output layer (``bpxp.math.predictions``): one sigmoid unit → binary
    (labels ``ŷ > ½``, accuracy); softmax, or several sigmoid units under 'mse' (the Iris tutorial) →
    multi-class (``argmax ŷ``, accuracy); several sigmoid units under 'binary_cross_entropy' → multi-label
    (subset accuracy); any other output → regression (``predict`` returns ŷ, score = R²).

    Examples
    --------
    >>> import bpxp, numpy as np
    >>> net = bpxp.MLP([2, 3, 1], dtype="float64", random_state=0)
    >>> [w.shape for w in net.weights], net.backward(np.array([[0., 1.]]), np.array([1.])).deltas[-1].shape
    ([(2, 3), (3, 1)], (1, 1))
    """

    def __init__(self, layer_sizes: Sequence[int], *, hidden: str = defaults.HIDDEN, output: str | None = None,
                 loss: str | None = None, bias: bool = True, dtype: str = "float32", backend: str = "numpy",
                 device: Any = None, random_state: Any = None, precision: str = "float32") -> None:
        self._output_from_targets = output is None and loss is None  # the first fit chooses them (bpxp.defaults)
        self._configure(defaults.initial_spec(layer_sizes, hidden, output, loss, bias=bias, precision=precision),
                        backend, dtype, device)
        self._set_parameters(*randomness.initial_parameters(
            self.layer_sizes, [f.name for f in self._spec.activations], bias=bias, dtype=self.dtype_name,
            random_state=checks.check_seed(random_state)))

    @classmethod
    def from_weights(cls, weights: Sequence[Any], biases: Sequence[Any] | None = None, *,
                     hidden: str = "sigmoid", output: str = "sigmoid", loss: str = "mse",
                     backend: str | None = None, dtype: str | None = None, device: Any = None,
                     precision: str = "float32") -> MLP:
        """A network holding copies of the given parameters (NumPy arrays, lists, or one backend's arrays).

        Parameters
        ----------
        weights : list of arrays, shapes (nₗ₋₁, nₗ)
            W¹ … Wᴸ; consecutive shapes must chain.
        biases : list of arrays, shapes (nₗ,), optional
            b¹ … bᴸ, or None for a network without biases.
        hidden, output, loss, precision : str
            As for :class:`MLP`.
        backend, dtype, device : optional
            The arrays' backend and device (NumPy for host data), float32 for float32 arrays, else float64.
        """
        backend, dtype, device = inputs.infer_placement(weights, biases, backend, dtype, device)
        net = cls.__new__(cls)
        net._configure(Spec.checked(inputs.layer_sizes_of(weights), hidden, output, loss, bias=biases is not None,
                                    precision=namespaces.check_precision(precision)), backend, dtype, device)
        net._set_parameters(list(weights), None if biases is None else list(biases))
        return net

    @classmethod
    def from_checkpoint(cls, saved: checkpoint.Saved, *, backend: str, device: Any, dtype: str) -> MLP:
        """The network a checkpoint holds (``bpxp.training.checkpoint.read_network``), on ``backend``/``device`` in
        ``dtype``, with ``optimizer_``, ``optimizer_state_`` and ``checkpoint_metadata_``; see :func:`bpxp.load`."""
        spec = saved.spec
        net = cls.from_weights(saved.weights, saved.biases, hidden=spec.hidden, output=spec.output, loss=spec.loss,
                               backend=backend, device=device, dtype=dtype, precision=spec.precision)
        net.set_parameters(net.weights, net.biases, optimizer=saved.optimizer,
                           optimizer_state=saved.optimizer_state(xp=net.xp, device=net.device))
        net.checkpoint_metadata_ = saved.metadata
        return net

    _output_from_targets = False  # networks made by from_weights, bpxp.load or unpickling keep their output

    def _configure(self, spec: Spec, backend: Any, dtype: Any, device: Any) -> None:
        self.backend, self._xp, self.dtype, self.device = placement = inputs.placement(backend, dtype, device)
        self._spec = dataclasses.replace(spec, dtype=placement.dtype_name)

    def _set_parameters(self, weights: list[Any], biases: list[Any] | None) -> None:
        self.weights, self.biases, self.device = inputs.parameters(
            weights, biases, layer_sizes=self.layer_sizes, xp=self._xp, device=self.device, dtype=self.dtype,
            float_name=self.dtype_name)

    spec = property(lambda self: self._spec, doc="The network's description (``bpxp.spec.Spec``).")
    layer_sizes = property(lambda self: self._spec.layer_sizes, doc="Units per layer, input first.")
    hidden = property(lambda self: self._spec.hidden, doc="Activation of the hidden layers.")
    output = property(lambda self: self._spec.output, doc="Activation of the output layer.")
    loss = property(lambda self: self._spec.loss, doc="Name of the loss.")
    dtype_name = property(lambda self: self._spec.dtype, doc="'float32' or 'float64'.")
    precision = property(lambda self: self._spec.precision, doc="'float32' or 'tf32' (see the class docstring).")
    task = property(lambda self: self._spec.task, doc="'multiclass', 'binary', 'multilabel' or 'regression'.")
    xp = property(lambda self: self._xp, doc="The Array API namespace the parameters live in.")
    n_layers = property(lambda self: len(self.weights), doc="Number of weight layers L (hidden layers + output).")

    def __repr__(self) -> str:
        return (f"MLP({list(self.layer_sizes)}, hidden={self.hidden!r}, output={self.output!r}, "
                f"loss={self.loss!r}, bias={self.biases is not None}, dtype={self.dtype_name!r}, "
                f"backend={self.backend!r}, device={namespaces.device_label(self.device)!r}"
                + (f", precision={self.precision!r})" if self.precision != "float32" else ")"))

    def copy_parameters(self) -> tuple[tuple, tuple | None]:
        """Copies of (weights, biases): training updates the network's arrays in place, the copies stay."""
        copy = lambda arrays: None if arrays is None else tuple(self._xp.asarray(a, copy=True) for a in arrays)  # noqa: E731
        return copy(self.weights), copy(self.biases)

    def set_parameters(self, weights: Sequence[Any], biases: Sequence[Any] | None, *, optimizer: Any = None,
                       optimizer_state: Any = None) -> None:
        """Hold these arrays (the network's backend, device and shapes, e.g. from :meth:`copy_parameters`) and,
        when given, the optimizer rule (``optimizer_``) and its state (``optimizer_state_``) that trained them."""
        self.weights, self.biases = list(weights), None if biases is None else list(biases)
        if optimizer is not None:
            self.optimizer_ = optimizer
        if optimizer is not None or optimizer_state is not None:
            self.optimizer_state_ = optimizer_state

    @namespaces.follows_precision  # each method that multiplies follows the precision policy
    def forward(self, X: Any) -> Any:
        """Run the network forward: Ŷ = Aᴸ.

        Parameters
        ----------
        X : array or array-like, shape (n_samples, layer_sizes[0])

        Returns
        -------
        array, shape (n_samples, layer_sizes[-1])
            In the network's namespace and on its device (for a Dask X, lazily, chunk by chunk).
        """
        if dask_chunks.is_dask(X):
            return dask_chunks.outputs(self, X)
        X = session.features(self, X)
        return forward_pass(X, *session.parameters(self), self._spec.activations, xp=self._xp)[0][-1]

    @namespaces.follows_precision
    def logits(self, X: Any) -> Any:
        """Zᴸ = Aᴸ⁻¹·Wᴸ + bᴸ, the output layer's pre-activation (Ŷ = fᴸ(Zᴸ), :meth:`forward`), shape (n_samples,
        layer_sizes[-1]), on the network's device: probabilities computed from it keep what a rounded Ŷ loses."""
        X = session.features(self, X)
        return forward_pass(X, *session.parameters(self), self._spec.activations, xp=self._xp, output=False)[1]

    @namespaces.follows_precision
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
            per-sample δˡ (n_samples, nₗ), ``.activations`` A⁰ … Aᴸ, ``.loss`` L (0-d array) and ``.inputs``
            ∂L/∂X (n_samples, layer_sizes[0]).
        """
        return gradients(*session.data(self, X, y), *session.parameters(self), self._spec.activations,
                         self._spec.loss_function, xp=self._xp)

    @namespaces.follows_precision
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
        return float(dataset_loss(*session.data(self, X, y), *session.parameters(self), self._spec.activations,
                                  self._spec.loss_function, xp=self._xp))

    def fit(self, X: Any, y: Any, *, epochs: int = defaults.EPOCHS, learning_rate: float | None = None,
            batch_size: int | str | None = "auto", optimizer: Any = "adam", shuffle: bool = True,
            validation_data: tuple | None = None, early_stopping: int | None = None, random_state: Any = None,
            callback: Callable[[int, History], None] | None = None, l2: float = 0.0,
            optimizer_state: Any = None, clip_norm: float | None = None, on_divergence: str = "raise",
            snapshot: bool = True, checkpoint: Any = None, checkpoint_every: int = 1, resume: Any = None,
            verbose: bool = False, learning_rate_schedule: Any = None, record: Sequence[str] = ()) -> History:
        """Train by backpropagation; return the per-epoch :class:`~bpxp.History`.

        Ctrl-C returns the History so far (``history.interrupted``, an :class:`bpxp.InterruptedWarning`). Dask arrays
        chunked along rows train per chunk on the Dask workers (``bpxp.dask.training``).

        Parameters
        ----------
        X : array, shape (n_samples, layer_sizes[0])
        y : array, shape (n_samples, layer_sizes[-1]), or (n_samples,) for one output or class labels
        epochs : int
            Passes over the data (in all: a resumed fit runs those its checkpoint had not reached).
        learning_rate : float, optional
            η: with 'sgd' each step is exactly ``W ← W − η·∂L/∂W``. Default: ``bpxp.defaults.LEARNING_RATES``.
        batch_size : int, 'auto' or None
            Rows per step: 'auto' is min(32, n_samples); None (or ≥ n_samples) full-batch, as the seed tutorials.
        optimizer : {'adam', 'sgd', 'momentum', 'nesterov'} or bpxp.optimizers.Optimizer
            'momentum' and 'nesterov' are μ = 0.9: ``bpxp.optimizers.Momentum(0.5)`` etc. for other settings.
        shuffle, random_state : bool, and int or numpy.random.Generator (optional)
            Mini-batches from a fresh host permutation each epoch, seeded by ``random_state``; in order if False.
        validation_data : (X_val, y_val), optional
            Scored after every epoch into ``History.val_loss``.
        early_stopping : int, optional
            Patience: stop when ``val_loss`` has not improved for that many epochs; keep the best epoch's weights.
        l2 : float
            L2 penalty α (scikit-learn's ``alpha``): each batch's loss gains (α/2m)·Σ‖Wˡ‖².
        optimizer_state : optional
            ``net.optimizer_state_`` of an earlier ``fit`` with the same optimizer, to continue from.
        clip_norm : float, optional
            Rescale each batch's gradients to a joint L2 norm of at most this (``torch.nn.utils.clip_grad_norm_``).
        on_divergence : {'raise', 'warn'}
            When an epoch's loss or weights are not finite: raise :class:`bpxp.TrainingDiverged` or warn
            (:class:`bpxp.DivergenceWarning`). The network keeps weights whose loss was finite (or the best).
        snapshot : bool
            Each epoch's first step writes new arrays (later ones update in place where the backend allows), so a
            divergence or Ctrl-C returns to the last finite epoch without a copy; else to the faulty step's weights.
        checkpoint, checkpoint_every : str or path (optional), int
            Write a training checkpoint to ``checkpoint`` (atomically) every ``checkpoint_every`` epochs and when
            training stops: parameters, optimizer state, History, epoch, the shuffling Generator's state.
        resume : str or path, optional
            Continue from such a checkpoint with the same network and settings, to exactly an uninterrupted run.
        callback, verbose : callable(epoch, history) (optional), bool
            Called after each epoch, once its loss is read; show a progress bar with the losses (on a terminal).
        learning_rate_schedule : {'constant', 'invscaling', 'adaptive'} or a schedule, optional
            How η changes between epochs, as scikit-learn's ``learning_rate`` (``bpxp.optimizers.InverseScaling``,
            ``Adaptive``); an adaptive η at its floor ends training (``history.schedule_ended``).
        record : tuple of str
            ``("gradient_norms",)``: each layer's ‖∂L/∂Wˡ‖ per epoch into ``History.gradient_norms`` (in memory).
        """
        config = TrainingConfig.checked(
            epochs=epochs, learning_rate=learning_rate, batch_size=batch_size, optimizer=optimizer, shuffle=shuffle,
            random_state=random_state, l2=l2, clip_norm=clip_norm, early_stopping=early_stopping,
            on_divergence=on_divergence, snapshot=snapshot, checkpoint_every=checkpoint_every,
            learning_rate_schedule=learning_rate_schedule, record=record)
        checks.check_bool(verbose, "verbose")
        session.check_optimizer_state(self, optimizer_state, config.optimizer)
        callback = check_callback(callback)
        start = session.Start(optimizer_state, checkpoint, resume)
        if dask_chunks.is_dask(X):  # per chunk on the Dask workers; called from here, its warnings point at the caller
            return dask_training.fit(self, X, y, config, start=start, callback=callback, verbose=verbose,
                                     validation_data=validation_data)
        if self._output_from_targets:
            self._spec, self._output_from_targets = defaults.spec_for_targets(self._spec, y), False
        run = session.prepared(self, X, y, config, start, validation_data=validation_data)
        with progress.shown(callback, config.epochs, verbose) as callback:  # the inputs checked: a bar may show
            history = session.fit(self, run, callback).history
        recovery.report(history, on_divergence=config.on_divergence, snapshot=config.snapshot, stacklevel=3)
        return history

    @namespaces.follows_precision
    def fit_lbfgs(self, X: Any, y: Any, *, max_iter: int = 200, max_fun: int = 15000, tol: float = 1e-4,
                  l2: float = 0.0, sample_weight: Any = None, block_rows: int = 4096,
                  callback: Callable[[int, float], None] | None = None) -> lbfgs.LbfgsResult:
        """Train full-batch by L-BFGS-B (``scipy.optimize.minimize``), from the current parameters.

        Parameters
        ----------
        X : array, or a scipy.sparse matrix, shape (n_samples, layer_sizes[0])
        y : array, shape (n_samples, layer_sizes[-1]), or (n_samples,)
        max_iter, max_fun, tol : int, int, float
            At most ``max_iter`` iterations, about ``max_fun`` evaluations; stop at a projected gradient < ``tol``.
        l2 : float
            L2 penalty α: J gains (α/2Σw)·Σ‖Wˡ‖².
        sample_weight : array, shape (n_samples,), optional
            J is the weighted mean of the per-sample losses.
        block_rows : int
            A sparse X is densified on the device this many rows at a time, in every evaluation.
        callback : callable(iteration, loss), optional

        Returns
        -------
        bpxp.training.lbfgs.LbfgsResult
            The loss, iterations, evaluations and whether it converged; the network holds the parameters found.
        """
        blocks = lbfgs.blocks_of(self, X, y, sample_weight=sample_weight, block_rows=block_rows)
        options = lbfgs.LbfgsOptions.checked(l2=l2, max_iter=max_iter, max_fun=max_fun, tol=tol)
        result = lbfgs.minimize(*session.parameters(self), blocks, self._spec.activations, self._spec.loss_function,
                                xp=self._xp, options=options, callback=callback)
        self.set_parameters(result.weights, result.biases)
        return result

    def predict(self, X: Any) -> Any:
        """Class labels for classifiers, outputs for regressors (see the class Notes).

        Parameters
        ----------
        X : array or array-like, shape (n_samples, layer_sizes[0])

        Returns
        -------
        array
            Integer labels, shape (n_samples,) (multi-label: (n_samples, k) of 0/1); for a regressor Ŷ, shape
            (n_samples,) with one output, as scikit-learn, else (n_samples, k). In the network's namespace.
        """
        P = self.forward(X)  # a Dask X: lazy outputs, lazy labels on Dask's namespace
        integers = self._xp.__array_namespace_info__().default_dtypes(device=self.device)["integral"]
        return predictions.labels(P, task=self.task, xp=namespaces.array_namespace(P), integers=integers)

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities, as scikit-learn's ``predict_proba``, of a classifier with probability outputs: a
        ValueError for a regressor and for sigmoid outputs trained under mse (the Iris tutorial), which are scores.

        Parameters
        ----------
        X : array or array-like, shape (n_samples, layer_sizes[0])

        Returns
        -------
        array, shape (n_samples, n_classes)
            Softmax outputs; [1 − ŷ, ŷ] for one sigmoid unit; each label's probability for several sigmoid units
            under binary cross-entropy (multi-label). In the network's namespace.
        """
        predictions.check_probabilities(task=self.task, output=self.output, loss=self.loss)
        P = self.forward(X)
        return predictions.probabilities(P, task=self.task, xp=namespaces.array_namespace(P))

    @namespaces.follows_precision
    def score(self, X: Any, y: Any) -> float:
        """Accuracy for classifiers, R² for regressors (see the class Notes).

        Parameters
        ----------
        X : array or array-like, shape (n_samples, layer_sizes[0])
        y : array or array-like, shape (n_samples,) labels or values, or (n_samples, layer_sizes[-1])

        Returns
        -------
        float
            For a Dask X too: its graph is computed (``predict`` and ``forward`` stay lazy).
        """
        return dask_chunks.score(self, X, y) if dask_chunks.is_dask(X) else session.score(self, X, y)

    def __getstate__(self) -> dict:
        """Pickle with NumPy copies of every array and the backend by name (modules do not pickle)."""
        host = lambda arrays: None if arrays is None else [namespaces.to_numpy(a) for a in arrays]  # noqa: E731
        state = {k: v for k, v in vars(self).items() if k not in ("_xp", "dtype")}
        state.update(weights=host(self.weights), biases=host(self.biases), device=namespaces.device_label(self.device),
                     optimizer_state_=checkpoint.on_host(getattr(self, "optimizer_state_", None)))
        return state

    def __setstate__(self, state: dict) -> None:
        """Unpickle onto the same backend and device label (a different machine must have them)."""
        state = dict(state)
        weights, biases, (flat, structure) = state.pop("weights"), state.pop("biases"), state.pop("optimizer_state_")
        self.__dict__.update(state)
        self.backend, self._xp, self.dtype, self.device = inputs.placed(self.backend, self.dtype_name, self.device)
        self._set_parameters(weights, biases)
        if structure is not None:
            self.optimizer_state_ = checkpoint.on_device(flat, structure, xp=self._xp, device=self.device)

    def save(self, path: str | os.PathLike[str], *, extra: dict[str, Any] | None = None) -> Path:
        """Write the network to ``path`` (``.npz`` + JSON metadata, atomically) and return the path; load it with
        :func:`bpxp.load`. The parameters, configuration and optimizer state of the last ``fit`` are saved;
        ``extra`` adds JSON-serialisable entries to the metadata."""
        return checkpoint.save(path, self._spec, (self.weights, self.biases), backend=self.backend, device=self.device,
                               optimizer=getattr(self, "optimizer_", None),
                               state=getattr(self, "optimizer_state_", None), extra=extra)
