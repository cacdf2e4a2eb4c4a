"""How an ``MLP`` trains: ``fit`` (backpropagation, in memory or on Dask, through ``bpxp.training.session``) and
``fit_lbfgs`` (full-batch L-BFGS-B).

``Fitting`` is a base class of :class:`bpxp.MLP`, kept apart so that each module stays readable: it uses only what
the network class offers (its description, parameters, input checks and precision context).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import checks, defaults
from .backend import inputs as _inputs
from .backend import namespaces as _backend
from .backend.epochs import DenseBatches
from .dask import chunks as dask_chunks
from .training import checkpoint, session
from .training.config import TrainingConfig, check_callback
from .training.history import History
from .training.progress import shown
from .training.recovery import report


class Fitting:
    """The training methods of :class:`bpxp.MLP` (see there)."""

    def fit(self, X: Any, y: Any, *, epochs: int = defaults.EPOCHS, learning_rate: float | None = None,
            batch_size: int | str | None = "auto", optimizer: Any = "adam", shuffle: bool = True,
            validation_data: tuple | None = None, early_stopping: int | None = None, random_state: Any = None,
            callback: Callable[[int, History], None] | None = None, l2: float = 0.0,
            optimizer_state: Any = None, clip_norm: float | None = None, on_divergence: str = "raise",
            snapshot: bool = True, checkpoint: Any = None, checkpoint_every: int = 1, resume: Any = None,
            verbose: bool = False, learning_rate_schedule: Any = None) -> History:
        """Train by backpropagation; return the per-epoch :class:`~bpxp.training.loop.History`.

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
        optimizer : {'adam', 'sgd', 'momentum', 'nesterov'} or bpxp.optimizers.Optimizer
            Default 'adam'. 'momentum' and 'nesterov' are μ = 0.9; pass ``bpxp.optimizers.Momentum(0.5)`` etc.
            for other settings.
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
        learning_rate_schedule : {'constant', 'invscaling', 'adaptive'} or a schedule, optional
            How η changes between epochs, from ``learning_rate`` (scikit-learn's ``learning_rate`` options):
            'invscaling' η = η₀/(t + 1)^0.5 after t samples; 'adaptive' η ← η/5 after 10 epochs without
            improving the watched loss (the validation loss with validation data, else the training loss) by
            10⁻⁴, ending training (``history.stopped_early`` and ``schedule_ended``) once η ≤ 10⁻⁶. Pass
            ``bpxp.optimizers.InverseScaling(η₀, power_t)`` or ``Adaptive(η₀, tol=..., patience=...)`` for other
            settings. On JAX and with CUDA graphs each new η compiles (or captures) the step anew.

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
        workers (``bpxp.dask.training``).
        """
        config = TrainingConfig.checked(
            epochs=epochs, learning_rate=learning_rate, batch_size=batch_size, optimizer=optimizer, shuffle=shuffle,
            random_state=random_state, l2=l2, clip_norm=clip_norm, early_stopping=early_stopping,
            on_divergence=on_divergence, snapshot=snapshot, checkpoint_every=checkpoint_every,
            learning_rate_schedule=learning_rate_schedule)
        checks.check_bool(verbose, "verbose")
        self._check_optimizer_state(optimizer_state, config.optimizer)
        callback = check_callback(callback)
        start = session.Start(optimizer_state, checkpoint=checkpoint, resume=resume)
        if dask_chunks.is_dask(X):  # per chunk on the Dask workers; called from here, its warnings point at the caller
            from .dask import training as dask_training

            return dask_training.fit(self, X, y, config, start=start, callback=callback, verbose=verbose,
                                     validation_data=validation_data)
        if self._output_from_targets:
            self._choose_output(y)
        X = session.features(self, X)
        Y, validation = session.targets(self, y, X.shape[0]), session.validation_pair(self, validation_data)
        if config.early_stopping is not None and validation is None:
            raise ValueError("`early_stopping` needs `validation_data` to watch: pass "
                             "validation_data=(X_val, y_val)")
        outcome, write = start.outcome(self, config, X.shape[0])
        batches = DenseBatches(X, Y, config.batch_size or X.shape[0], xp=self._xp)
        with shown(callback, config.epochs, verbose) as callback:
            try:
                session.train(self, outcome, batches, config, session.plan(
                    self, config, monitor=config.monitor(), callback=callback, checkpoint=write,
                    validation=None if validation is None else session.validation(self, *validation)))
            finally:
                self._hold(outcome.weights, outcome.biases, optimizer=config.optimizer, optimizer_state=outcome.state)
        report(outcome.history, on_divergence=config.on_divergence, snapshot=config.snapshot, stacklevel=3)
        return outcome.history

    @_backend.follows_precision
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
        bpxp.training.lbfgs.LbfgsResult
            The loss, iterations, evaluations and whether it converged; the network holds the parameters found.
        """
        from .training import lbfgs

        n_rows = int(X.shape[0])
        sparse = hasattr(X, "tocsr") and hasattr(X, "toarray")  # scipy.sparse, checked without importing scipy
        Y = session.targets(self, y, n_rows)
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
                    yield (session.features(self, X[a:b].toarray()), Y[a:b, ...], None if w is None else w[a:b, ...])
        else:
            X = session.features(self, X)

            def blocks():
                return [(X, Y, w)]

        weights, biases = self._parameters
        options = lbfgs.LbfgsOptions(l2=float(l2), max_iter=checks.positive_int(max_iter, "max_iter"),
                                     max_fun=checks.positive_int(max_fun, "max_fun"), tol=float(tol))
        result = lbfgs.minimize(weights, biases, blocks, self._activations, self._loss, xp=self._xp, options=options,
                                callback=callback)
        self._hold(result.weights, result.biases)
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
