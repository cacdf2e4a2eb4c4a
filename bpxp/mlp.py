"""``bpxp.MLP``: a multi-layer perceptron that holds its parameters on one backend and device.

The class is the user-facing edge: it checks arguments and inputs once per call, then hands arrays to the pure
math of ``bpxp.backprop``, ``bpxp.optimizers`` and ``bpxp.train``.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import array_api_compat

from . import _backend, _checks, _inputs, _random, checkpoint, chunked, defaults, metrics, train
from .backprop import Gradients, forward_pass, gradients
from .optimizers import get_optimizer
from .recovery import DivergenceWarning, InterruptedWarning, TrainingDiverged
from .spec import Spec


class MLP:
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
        sizes = _checks.check_layer_sizes(layer_sizes)
        _checks.check_bool(bias, "bias")
        # neither named: the first fit chooses them from its targets (bpxp.defaults); until then, by output size
        self._output_from_targets = output is None and loss is None
        output, loss = defaults.output_and_loss(output, loss, sizes[-1])
        self._configure(sizes, hidden, output, loss, bias, backend, dtype, device, precision)
        names = [hidden] * (len(sizes) - 2) + [output]
        host_weights, host_biases = _random.initial_parameters(
            sizes, names, bias=bias, dtype=self.dtype_name, random_state=_checks.check_seed(random_state))
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
        backend, dtype, device = _infer_placement(arrays, backend, dtype, device)
        net = cls.__new__(cls)
        sizes = _layer_sizes_of(weights)
        net._configure(sizes, hidden, output, loss, biases is not None, backend, dtype, device, precision)
        net._set_parameters(list(weights), None if biases is None else list(biases))
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
        moved = [self._parameter(w, f"weights[{i}]") for i, w in enumerate(weights)]
        for i, W in enumerate(moved):
            if tuple(W.shape) != self.layer_sizes[i:i + 2]:
                raise ValueError(f"`weights[{i}]` has shape {tuple(W.shape)}, expected "
                                 f"{self.layer_sizes[i:i + 2]} (n_in, n_out)")
        if self.device is None:
            self.device = array_api_compat.device(moved[0])
        self.weights = moved
        self.biases = None
        if biases is not None:
            self.biases = [self._parameter(b, f"biases[{i}]") for i, b in enumerate(biases)]
            for i, b in enumerate(self.biases):
                if tuple(b.shape) != (self.layer_sizes[i + 1],):
                    raise ValueError(f"`biases[{i}]` has shape {tuple(b.shape)}, expected "
                                     f"({self.layer_sizes[i + 1]},)")

    def _parameter(self, array: Any, name: str) -> Any:
        moved = _inputs.to_network(array, name=name, xp=self._xp, device=self.device, dtype=self.dtype,
                                   float_name=self.dtype_name)
        _inputs.check_finite(moved, name=name, xp=self._xp)
        return self._xp.asarray(moved, copy=True)  # never share memory with the caller's array

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

    # -- inputs ----------------------------------------------------------------------------------------------
    def _features(self, X: Any, name: str = "X") -> Any:
        return _inputs.features(X, n_features=self.layer_sizes[0], xp=self._xp, device=self.device,
                                dtype=self.dtype, float_name=self.dtype_name, name=name)

    def _targets(self, y: Any, n_rows: int, name: str = "y", rows_of: str = "X") -> Any:
        return _inputs.targets(y, n_rows=n_rows, n_outputs=self.layer_sizes[-1], task=self.task,
                               loss=self.loss, xp=self._xp, device=self.device, dtype=self.dtype,
                               float_name=self.dtype_name, name=name, rows_of=rows_of)

    def _precision(self):
        """The context in which this network's float32 products follow ``precision`` (``bpxp._backend``)."""
        return _backend.matmul_precision(self._xp, self.device, self.precision)

    @property
    def _parameters(self) -> tuple[tuple, tuple | None]:
        return tuple(self.weights), None if self.biases is None else tuple(self.biases)

    # -- the math ------------------------------------------------------------------------------------------
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
        if chunked.is_dask(X):
            return chunked.outputs(self, X)  # lazy, chunk by chunk
        weights, biases = self._parameters
        with self._precision():
            A, _ = forward_pass(self._features(X), weights, biases, self._activations, xp=self._xp)
        return A[-1]

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
        X = self._features(X)
        Y = self._targets(y, X.shape[0])
        weights, biases = self._parameters
        with self._precision():
            return gradients(X, Y, weights, biases, self._activations, self._loss, xp=self._xp)

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
        A, Z, Y = self._checked_forward(X, y)
        return float(self._loss.value(Y, A[-1], Z, xp=self._xp))

    def _checked_forward(self, X: Any, y: Any):
        """Inputs checked and moved, then the forward pass: (A⁰ … Aᴸ, Zᴸ, Y)."""
        X = self._features(X)
        Y = self._targets(y, X.shape[0])
        weights, biases = self._parameters
        with self._precision():
            A, Z = forward_pass(X, weights, biases, self._activations, xp=self._xp)
        return A, Z, Y

    def fit(self, X: Any, y: Any, *, epochs: int = defaults.EPOCHS, learning_rate: float | None = None,
            batch_size: int | str | None = "auto", optimizer: Any = "adam", shuffle: bool = True,
            validation_data: tuple | None = None, early_stopping: int | None = None, random_state: Any = None,
            callback: Callable[[int, train.History], None] | None = None, l2: float = 0.0,
            optimizer_state: Any = None, clip_norm: float | None = None, on_divergence: str = "raise",
            snapshot: bool = True, checkpoint: Any = None, checkpoint_every: int = 1, resume: Any = None,
            verbose: bool = False) -> train.History:
        """Train by backpropagation; return the per-epoch :class:`~bpxp.train.History`.

        Parameters
        ----------
        X : array, shape (n_samples, layer_sizes[0])
        y : array, shape (n_samples, layer_sizes[-1]), or (n_samples,) for one output or class labels
        epochs : int
            Passes over the data (in all: a resumed fit runs the epochs the checkpoint had not reached); 200.
        learning_rate : float, optional
            η. With ``optimizer='sgd'`` each step is exactly ``W ← W − η·∂L/∂W``. Default per optimizer
            (``bpxp.defaults.LEARNING_RATES``): 0.001 for Adam, 0.01 for momentum, 0.1 for SGD.
        batch_size : int, 'auto' or None
            Rows per step; 'auto' (default) is min(32, n_samples); None (or ≥ n_samples) is full-batch
            gradient descent, as the seed tutorials.
        optimizer : {'adam', 'sgd', 'momentum'} or bpxp.optimizers.Optimizer
            Default 'adam'. 'momentum' is μ = 0.9; pass ``bpxp.optimizers.Momentum(0.5)`` etc. for other
            settings.
        shuffle : bool
            Mini-batches from a fresh host permutation each epoch (seeded by ``random_state``); in order if False.
        validation_data : (X_val, y_val), optional
            Scored after every epoch into ``History.val_loss``.
        early_stopping : int, optional
            Patience: stop when ``val_loss`` has not improved for that many epochs, and restore the weights of
            the best epoch. Needs ``validation_data``.
        random_state : int or numpy.random.Generator, optional
            Seed of the shuffling permutations.
        callback : callable(epoch, history), optional
            Called after each epoch (after the loss is read), e.g. for a progress bar.
        l2 : float
            L2 penalty α (scikit-learn's ``alpha``): each batch's loss gains (α/2m)·Σ‖Wˡ‖².
        optimizer_state : optional
            Continue from this optimizer state (e.g. ``net.optimizer_state_`` of an earlier ``fit`` with the same
            optimizer) instead of a fresh one: momentum and Adam's moments carry over.
        clip_norm : float, optional
            Rescale each batch's gradients to a joint L2 norm of at most this (as
            ``torch.nn.utils.clip_grad_norm_``).
        on_divergence : {'raise', 'warn'}
            When an epoch's loss or weights are not finite: raise :class:`bpxp.TrainingDiverged`, or warn
            (:class:`bpxp.DivergenceWarning`) and return. Either way the network keeps the weights of the last
            finite epoch (the best, under early stopping) and the History stops before the faulty epoch.
        snapshot : bool
            Keep the last finite epoch's parameters so that divergence and Ctrl-C return to them: each epoch's
            first step writes new arrays instead of updating in place (one more set of parameters in memory, no
            copying). Without it every step is in place, and a diverged network holds the non-finite weights, an
            interrupted one the weights of the interrupted step.
        checkpoint : str or path, optional
            Write a training checkpoint there (atomically) every ``checkpoint_every`` epochs and when training
            stops: parameters, optimizer state, History, epoch and the shuffling Generator's state.
        checkpoint_every : int
            Epochs between checkpoints.
        resume : str or path, optional
            Continue from a checkpoint written by ``fit(checkpoint=...)`` with the same network and settings:
            the resumed run ends with exactly the weights of an uninterrupted one.
        verbose : bool
            Show a progress bar with the losses (on a terminal; quiet otherwise).

        Raises
        ------
        TrainingDiverged
            With ``on_divergence='raise'``, when the loss or the weights stop being finite.

        Notes
        -----
        Ctrl-C (KeyboardInterrupt) during ``fit`` returns the History so far, with ``history.interrupted`` set
        and an :class:`bpxp.InterruptedWarning` saying which epoch's weights the network kept.

        The parameters are updated in place where the backend allows (NumPy, CuPy, PyTorch, array-api-strict),
        except each epoch's first step (with ``snapshot``): the arrays of ``net.weights`` from before ``fit``
        keep their values; ``net.weights`` afterwards are other arrays.

        ``X`` and ``y`` may be Dask arrays chunked along rows: training then runs per chunk on the Dask
        workers (``bpxp.dask_training``).
        """
        epochs = _checks.positive_int(epochs, "epochs")
        batch_size = defaults.AUTO_BATCH_SIZE if isinstance(batch_size, str) and batch_size == "auto" else batch_size
        batch_size = None if batch_size is None else _checks.positive_int(batch_size, "batch_size")
        shuffle = _checks.check_bool(shuffle, "shuffle")
        random_state = _checks.check_seed(random_state)
        early_stopping = None if early_stopping is None else _checks.positive_int(early_stopping, "early_stopping")
        rule = get_optimizer(optimizer)
        learning_rate = defaults.learning_rate(rule.name) if learning_rate is None else learning_rate
        learning_rate = _checks.positive_float(learning_rate, "learning_rate")
        l2 = 0.0 if l2 == 0 else _checks.positive_float(l2, "l2")
        clip_norm = None if clip_norm is None else _checks.positive_float(clip_norm, "clip_norm")
        _checks.check_choice(on_divergence, "on_divergence", ("raise", "warn"))
        _checks.check_bool(verbose, "verbose")
        _checks.check_bool(snapshot, "snapshot")
        checkpoint_every = _checks.positive_int(checkpoint_every, "checkpoint_every")
        self._check_optimizer_state(optimizer_state, rule)
        if callback is not None and not callable(callback):
            raise TypeError(f"`callback` must be callable as callback(epoch, history), got {callback!r}")
        if chunked.is_dask(X):
            from . import dask_training

            return dask_training.fit(self, X, y, epochs=epochs, learning_rate=learning_rate, batch_size=batch_size,
                                     rule=rule, shuffle=shuffle, random_state=random_state, l2=l2,
                                     clip_norm=clip_norm, optimizer_state=optimizer_state, callback=callback,
                                     on_divergence=on_divergence, validation_data=validation_data,
                                     early_stopping=early_stopping, checkpoint=checkpoint,
                                     checkpoint_every=checkpoint_every, resume=resume)
        if self._output_from_targets:
            self._choose_output(y)
        X = self._features(X)
        Y = self._targets(y, X.shape[0])
        schedule = train.Schedule(epochs=epochs, batch_size=X.shape[0] if batch_size is None else batch_size,
                                  shuffle=shuffle, random_state=random_state, early_stopping=early_stopping)
        validation = self._validation(validation_data)
        if schedule.early_stopping is not None and validation is None:
            raise ValueError("`early_stopping` needs `validation_data` to watch: pass "
                             "validation_data=(X_val, y_val)")
        settings = {"learning_rate": learning_rate, "batch_size": min(schedule.batch_size, X.shape[0]),
                    "optimizer": {"name": rule.name, **dataclasses.asdict(rule)}, "shuffle": schedule.shuffle,
                    "l2": l2, "clip_norm": clip_norm, "early_stopping": schedule.early_stopping,
                    "n_samples": X.shape[0]}
        safety = train.Safety(snapshot=snapshot,
                              checkpoint=None if checkpoint is None else self._checkpointer(checkpoint, rule,
                                                                                            settings),
                              checkpoint_every=checkpoint_every)
        start = None if resume is None else self._resumed(resume, settings)
        close = None
        if verbose:
            from .progress import progress_callback

            shown, close = progress_callback(schedule.epochs)
            if shown is not None:
                callback = shown if callback is None else _both(callback, shown)
        try:
            return self._train(X, Y, schedule=schedule, learning_rate=learning_rate, rule=rule, l2=l2,
                               validation=validation, callback=callback, optimizer_state=optimizer_state,
                               clip_norm=clip_norm, on_divergence=on_divergence, safety=safety, start=start)
        finally:
            if close is not None:
                close()

    def _train(self, X: Any, Y: Any, *, schedule: train.Schedule, learning_rate: float, rule, l2: float,
               validation: tuple | None, callback: Callable | None, optimizer_state: Any,
               clip_norm: float | None = None, on_divergence: str = "raise",
               safety: train.Safety | None = None, start: train.Outcome | None = None,
               report: bool = True, weighted: bool = False) -> train.History:
        """Train on inputs already checked and on the device (``_features``/``_targets``/``_validation``).

        Whatever stops training — the end, divergence, Ctrl-C, an error — the network is left holding the
        parameters ``train.run`` kept.
        """
        weights, biases = self._parameters
        safety = safety or train.Safety()
        outcome = start or train.Outcome(weights, biases, optimizer_state)
        try:
            with self._precision():
                train.run(outcome, X, Y, activations=self._activations, loss=self._loss, optimizer=rule,
                          learning_rate=learning_rate, schedule=schedule, validation=validation,
                          callback=callback, xp=self._xp, l2=l2, clip_norm=clip_norm, safety=safety,
                          weighted=weighted)
        finally:
            self.weights = list(outcome.weights)
            self.biases = None if outcome.biases is None else list(outcome.biases)
            self.optimizer_, self.optimizer_state_ = rule, outcome.state
        if report:
            _report(outcome.history, on_divergence=on_divergence, snapshot=safety.snapshot)
        return outcome.history

    def fit_lbfgs(self, X: Any, y: Any, *, max_iter: int = 200, max_fun: int = 15000, tol: float = 1e-4,
                  l2: float = 0.0, sample_weight: Any = None, block_rows: int = 4096,
                  callback: Callable[[int, float], None] | None = None) -> Any:
        """Train full-batch by L-BFGS-B (``scipy.optimize.minimize``), from the current parameters.

        Parameters
        ----------
        X : array, or a scipy.sparse matrix, shape (n_samples, layer_sizes[0])
            A sparse X is densified on the device ``block_rows`` rows at a time, in every evaluation.
        y : array, shape (n_samples, layer_sizes[-1]), or (n_samples,)
        max_iter, max_fun, tol
            At most ``max_iter`` iterations and about ``max_fun`` evaluations; stop when the projected gradient
            falls below ``tol`` (SciPy's ``gtol``).
        l2 : float
            L2 penalty α: J gains (α/2Σw)·Σ‖Wˡ‖².
        sample_weight : array, shape (n_samples,), optional
            J is the weighted mean of the per-sample losses.
        callback : callable(iteration, loss), optional

        Returns
        -------
        bpxp.lbfgs.LbfgsResult
            The loss, iterations, evaluations and whether it converged; the network holds the parameters found.
        """
        from . import lbfgs

        n_rows = int(X.shape[0])
        sparse = hasattr(X, "tocsr") and hasattr(X, "toarray")  # scipy.sparse, checked without importing scipy
        Y = self._targets(y, n_rows)
        w = None
        if sample_weight is not None:
            w = _inputs.to_network(sample_weight, name="sample_weight", xp=self._xp, device=self.device,
                                   dtype=self.dtype, float_name=self.dtype_name)
            if tuple(w.shape) != (n_rows,):
                raise ValueError(f"`sample_weight` must have shape ({n_rows},), got {tuple(w.shape)}")
            w = self._xp.reshape(w, (n_rows, 1))
        if sparse:
            X = X.tocsr()
            bounds = [(a, min(a + block_rows, n_rows)) for a in range(0, n_rows, block_rows)]

            def blocks():
                for a, b in bounds:
                    yield (self._features(X[a:b].toarray()), Y[a:b, ...], None if w is None else w[a:b, ...])
        else:
            X = self._features(X)

            def blocks():
                return [(X, Y, w)]

        weights, biases = self._parameters
        result = lbfgs.minimize(weights, biases, blocks, self._activations, self._loss, xp=self._xp, l2=float(l2),
                                max_iter=_checks.positive_int(max_iter, "max_iter"),
                                max_fun=_checks.positive_int(max_fun, "max_fun"), tol=float(tol), callback=callback)
        self.weights = list(result.weights)
        self.biases = None if result.biases is None else list(result.biases)
        return result

    def _check_optimizer_state(self, state: Any, rule) -> None:
        """Refuse an optimizer state that is not ``rule``'s for these parameters (nesting, shapes, dtypes, backend)."""
        if state is None:
            return
        if not isinstance(state, tuple):
            raise TypeError(f"`optimizer_state` must be a tuple of arrays (net.optimizer_state_ of an earlier fit), "
                            f"got {type(state).__name__}")
        expected_arrays, expected = checkpoint.flatten(rule.init((*self.weights, *(self.biases or ())), xp=self._xp))
        given_arrays, given = checkpoint.flatten(state)
        same = expected == given and all(
            _backend.array_backend(a) in (self.backend, None)  # None: a NumPy scalar (NumPy's 0-d results)
            and tuple(getattr(a, "shape", ())) == tuple(b.shape) and getattr(a, "dtype", None) == b.dtype
            for a, b in zip(given_arrays, expected_arrays))
        if not same:
            raise ValueError(f"`optimizer_state` does not match optimizer {rule.name!r} on this network: it must be "
                             f"net.optimizer_state_ of an earlier fit with the same optimizer, layer sizes, dtype "
                             f"and backend")

    def _checkpointer(self, path: Any, rule, settings: dict) -> Callable[[train.Outcome], None]:
        """``write(outcome)``: a training checkpoint of this network at ``path``."""
        path = _checks.check_path(path, "checkpoint")

        def write(outcome: train.Outcome) -> None:
            checkpoint.save_training(path, self._spec, outcome, backend=self.backend, device=self.device,
                                     optimizer=rule, settings=settings)

        return write

    def _resumed(self, path: Any, settings: dict) -> train.Outcome:
        """The Outcome a checkpoint left, after checking it was written by this network with these settings."""
        path = _checks.check_path(path, "resume")
        if not path.is_file():
            raise FileNotFoundError(f"`resume`: no checkpoint at {str(path)!r}")
        saved, outcome = checkpoint.read_training(path, self._spec, xp=self._xp, device=self.device)
        differ = {key: (saved.get(key), value) for key, value in settings.items() if saved.get(key) != value}
        if differ:
            raise ValueError(f"`resume`: {str(path)!r} was written by a fit with other settings ("
                             + ", ".join(f"{key} {old!r} there, {new!r} here" for key, (old, new) in differ.items())
                             + "); resume with the same settings, or bpxp.load it and start a new fit")
        outcome.history.interrupted, outcome.history.diverged_at = False, None
        return outcome

    def _validation(self, validation_data: Any) -> tuple | None:
        if validation_data is None:
            return None
        if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
            raise TypeError("`validation_data` must be a pair (X_val, y_val), got "
                            f"{type(validation_data).__name__}")
        X_val = self._features(validation_data[0], name="validation_data[0]")
        Y_val = self._targets(validation_data[1], X_val.shape[0], name="validation_data[1]",
                              rows_of="validation_data[0]")
        return X_val, Y_val

    # -- pickling --------------------------------------------------------------------------------------------
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

    # -- checkpoints ---------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str], *, extra: dict[str, Any] | None = None) -> Path:
        """Write the network to ``path`` (``.npz`` + JSON metadata, atomically); load it with :func:`bpxp.load`.

        The parameters, the configuration and the optimizer state of the last ``fit`` are saved; ``extra`` adds
        JSON-serialisable entries to the metadata. Returns the path.
        """
        return checkpoint.save(path, self._spec, self.weights, self.biases, backend=self.backend, device=self.device,
                               optimizer=getattr(self, "optimizer_", None),
                               state=getattr(self, "optimizer_state_", None), extra=extra)

    # -- predictions ---------------------------------------------------------------------------------------
    def predict(self, X: Any) -> Any:
        """Predictions: class labels for classifiers, outputs for regressors (see the class Notes).

        Parameters
        ----------
        X : array or array-like, shape (n_samples, layer_sizes[0])

        Returns
        -------
        array
            Integer labels, shape (n_samples,) (multi-label: (n_samples, k) of 0/1); for a regressor Ŷ, shape
            (n_samples,) with one output, as scikit-learn, else (n_samples, k). In the network's namespace.
        """
        P = self.forward(X)
        integers = self._xp.__array_namespace_info__().default_dtypes(device=self.device)["integral"]
        xp = array_api_compat.array_namespace(P)  # the network's, or Dask's for a Dask X (lazy labels)
        if self.task == "multiclass":
            return xp.argmax(P, axis=1)
        if self.task == "binary":
            return xp.astype(P[:, 0] > 0.5, integers)
        if self.task == "multilabel":
            return xp.astype(P > 0.5, integers)
        return P[:, 0] if P.shape[1] == 1 else P

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities of a classifier, as scikit-learn's ``predict_proba``.

        Parameters
        ----------
        X : array or array-like, shape (n_samples, layer_sizes[0])

        Returns
        -------
        array, shape (n_samples, n_classes)
            Softmax outputs (rows sum to 1); for one sigmoid unit the columns P(0) = 1 − ŷ and P(1) = ŷ; for
            several sigmoid units under binary cross-entropy (multi-label) each label's probability. In the
            network's namespace.

        Raises
        ------
        ValueError
            For a regressor, and for sigmoid outputs trained under mse (the Iris tutorial), whose outputs are
            scores, not probabilities.
        """
        if self.task == "regression" or (self.task == "multiclass" and self.output != "softmax"):
            raise ValueError(f"predict_proba needs a classifier with probability outputs (softmax, or sigmoid "
                             f"under binary_cross_entropy); this network has output {self.output!r} and loss "
                             f"{self.loss!r}: use predict or forward")
        P = self.forward(X)
        if self.task == "binary":
            xp = array_api_compat.array_namespace(P)
            return xp.concat([1 - P, P], axis=1)
        return P

    def score(self, X: Any, y: Any) -> float:
        """Accuracy for classifiers, R² for regressors (see the class Notes).

        Parameters
        ----------
        X : array or array-like, shape (n_samples, layer_sizes[0])
        y : array or array-like, shape (n_samples,) labels or values, or (n_samples, layer_sizes[-1])

        Returns
        -------
        float
        """
        if chunked.is_dask(X):  # a lazy 0-d Dask array, from the same metrics on Dask's namespace
            X, Y = chunked.targets(self, y, X)
            P, xp = self.forward(X), array_api_compat.array_namespace(X)
            if self.task == "regression":
                return metrics.r2(Y, P, xp=xp)
            return metrics.accuracy(Y, P, task=self.task, xp=xp)
        X = self._features(X)
        return self._score(X, self._targets(y, X.shape[0]))

    def _score(self, X: Any, Y: Any) -> float:
        """:meth:`score` of inputs already checked and on the device."""
        weights, biases = self._parameters
        A, _ = forward_pass(X, weights, biases, self._activations, xp=self._xp)
        if self.task == "regression":
            return float(metrics.r2(Y, A[-1], xp=self._xp))
        return float(metrics.accuracy(Y, A[-1], task=self.task, xp=self._xp))


def _report(history: train.History, *, on_divergence: str, snapshot: bool) -> None:
    """Say how training ended when it did not end normally: raise or warn on divergence, warn on Ctrl-C."""
    kept = "the weights it started with" if history.kept_epoch is None else f"the weights of epoch {history.kept_epoch}"
    if history.diverged_at is not None:
        last = history.loss[-1] if history.loss else None
        if snapshot:
            holds = f"the network keeps {kept}"
        else:
            holds = "the network holds the non-finite weights (snapshot=False keeps no copy)"
        message = (f"training diverged at epoch {history.diverged_at}: the loss or the weights became NaN or "
                   f"infinite (last finite loss: {'none' if last is None else f'{last:.6g}'}); {holds}. Try a "
                   f"smaller learning_rate, clip_norm=..., or standardised inputs")
        if on_divergence == "raise":
            raise TrainingDiverged(message, epoch=history.diverged_at, last_finite_loss=last, history=history)
        warnings.warn(message, DivergenceWarning, stacklevel=4)
    elif history.interrupted:
        holds = kept if snapshot else "the weights of the interrupted step (snapshot=False keeps no copy)"
        warnings.warn(f"training interrupted after {history.epochs} completed epochs; the network keeps {holds}",
                      InterruptedWarning, stacklevel=4)


def _both(first: Callable, second: Callable) -> Callable:
    def both(epoch, history):
        first(epoch, history)
        second(epoch, history)

    return both


def _layer_sizes_of(weights: Sequence[Any]) -> tuple[int, ...]:
    shapes = [_inputs.shape_of(w, name=f"weights[{i}]") for i, w in enumerate(weights)]
    for i, shape in enumerate(shapes):
        if len(shape) != 2:
            raise ValueError(f"`weights[{i}]` must be 2-D (n_in, n_out), got shape {shape}")
    for i in range(1, len(shapes)):
        if shapes[i][0] != shapes[i - 1][1]:
            raise ValueError(f"`weights[{i}]` has {shapes[i][0]} rows but `weights[{i - 1}]` has "
                             f"{shapes[i - 1][1]} columns; consecutive layers must chain (n_in = previous n_out)")
    return (shapes[0][0], *(s[1] for s in shapes))


def _infer_placement(arrays: list[Any], backend: str | None, dtype: str | None, device: Any):
    """Backend, dtype and device of ``from_weights`` from the arrays where the caller named none."""
    found = {_backend.array_backend(a) for a in arrays} - {None}
    if len(found) > 1:
        raise TypeError(f"`weights` and `biases` mix arrays of backends {sorted(found)}; convert them to one "
                        f"(bpxp.to_numpy works for all)")
    source = found.pop() if found else None
    backend = backend or source or "numpy"
    if dtype is None:
        first = arrays[0]
        kind = str(getattr(first, "dtype", ""))
        dtype = "float32" if kind.endswith("float32") else "float64"
    if device is None and source == backend:
        device = array_api_compat.device(arrays[0])
    return backend, dtype, device


def load(path: str | os.PathLike[str], *, backend: str | None = None, device: Any = None,
         dtype: str | None = None) -> MLP:
    """Load a checkpoint as an :class:`~bpxp.MLP`, with its optimizer state.

    Parameters
    ----------
    path : str or path
        A file written by ``MLP.save``.
    backend, device : optional
        Where to put the network; default: the backend and device it was trained on if this machine has them,
        else NumPy.
    dtype : {'float32', 'float64'}, optional
        Default: the dtype it was trained in.

    Returns
    -------
    MLP
        With ``optimizer_``, ``optimizer_state_`` and ``checkpoint_metadata_`` (the JSON metadata).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        A truncated, corrupt or foreign file, or one from a newer format.

    Examples
    --------
    >>> import bpxp, tempfile, os
    >>> net = bpxp.MLP([3, 4, 2], output="softmax", loss="cross_entropy", random_state=0)
    >>> path = net.save(os.path.join(tempfile.mkdtemp(), "model.npz"))
    >>> bpxp.load(path).layer_sizes
    (3, 4, 2)
    """
    saved = checkpoint.read_network(path)
    metadata, spec = saved.metadata, saved.spec
    if backend is None:
        trained_on = metadata.get("backend", "numpy")
        installed = {b.name for b in _backend.backends() if b.installed and b.devices}  # usable here
        backend = trained_on if trained_on in installed else "numpy"
        device = device if device is not None or backend != trained_on else _known_device(backend, metadata)
    net = MLP.from_weights(saved.weights, saved.biases, hidden=spec.hidden, output=spec.output, loss=spec.loss,
                           backend=backend, device=device, dtype=dtype or spec.dtype, precision=spec.precision)
    if saved.optimizer is not None:
        flat = [net.xp.asarray(a, device=net.device) for a in saved.state_arrays]
        net.optimizer_ = saved.optimizer
        net.optimizer_state_ = checkpoint.unflatten(flat, saved.state_structure)
    net.checkpoint_metadata_ = metadata
    return net


def _known_device(backend: str, metadata: dict) -> Any:
    """The device a checkpoint was trained on, if this machine has it; else the backend's default."""
    label = metadata.get("device")
    try:
        return _backend.resolve_device(_backend.namespace(backend), label)
    except (ValueError, TypeError):
        return None
