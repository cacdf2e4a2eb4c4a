"""Full-batch training by L-BFGS-B: ``scipy.optimize.minimize`` on the flat parameter vector θ.

θ = (vec W¹, …, vec Wᴸ, b¹, …, bᴸ) is scikit-learn's packing. SciPy works on the host in float64; each
evaluation moves θ to the network's device once, computes the objective and its gradient there with bpxp's own
forward and backward pass, and brings the gradient back once:

    J(θ) = Σᵢ wᵢ·ℓᵢ / Σᵢ wᵢ  +  (α / 2Σᵢ wᵢ)·Σₗ ‖Wˡ‖²        ∂J/∂Wˡ = (Σᵢ wᵢ·∂ℓᵢ/∂Wˡ + α·Wˡ) / Σᵢ wᵢ

(wᵢ = 1 without sample weights, so Σᵢ wᵢ = m). The data come as blocks of rows, summed: a block can be densified
from a sparse matrix when it is used and dropped after, so no dense copy of all of X need exist.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import checks
from ..backend import inputs as _inputs
from ..backend.namespaces import to_numpy
from ..math.activations import Activation
from ..math.backprop import Terms, batch_gradients
from ..math.losses import Loss, l2_penalty
from . import session


@dataclass(frozen=True)
class LbfgsResult:
    """How an L-BFGS-B fit ended.

    Attributes
    ----------
    weights, biases : tuples of arrays
        The parameters found, on the network's device (biases None for a network without them).
    loss : float
        J at those parameters.
    n_iter : int
        Iterations run (at most ``max_iter``).
    n_evaluations : int
        Evaluations of J and its gradient (at most about ``max_fun``).
    converged : bool
        Whether SciPy reported convergence (projected gradient below ``tol``, or the relative change of J).
    message : str
        SciPy's reason for stopping.
    """

    weights: tuple
    biases: tuple | None
    loss: float
    n_iter: int
    n_evaluations: int
    converged: bool
    message: str


def pack(weights, biases) -> np.ndarray:
    """θ as a float64 host vector: the weights row by row, then the biases."""
    arrays = [*weights, *(biases or ())]
    return np.concatenate([to_numpy(a).astype(np.float64).ravel() for a in arrays])


def unpack(theta: Any, shapes: list[tuple[int, ...]], *, xp: Any, dtype: Any, device: Any) -> list[Any]:
    """The parameter arrays of θ, on the device: one transfer of the whole vector, then views of it."""
    flat = xp.asarray(theta, dtype=dtype, device=device)
    arrays, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        arrays.append(xp.reshape(flat[start:start + size], shape))
        start += size
    return arrays


def objective(weights, biases, blocks: Iterable[tuple[Any, Any, Any]], activations: tuple[Activation, ...],
              loss: Loss, *, xp: Any, l2: float = 0.0):
    """J and its gradients (dW list, db list or None), summed over blocks (X, Y, w or None) of rows."""
    total, weight_sum, dW, db = None, 0.0, None, None
    for X, Y, w in blocks:
        block_total, block_dW, block_db, _, _ = batch_gradients(X, Y, weights, biases, activations, loss, xp=xp,
                                                                terms=Terms(sample_weight=w))
        weight_sum += float(X.shape[0]) if w is None else float(xp.sum(w))
        total = block_total if total is None else total + block_total
        dW = block_dW if dW is None else [a + b for a, b in zip(dW, block_dW)]
        if biases is not None:
            db = block_db if db is None else [a + b for a, b in zip(db, block_db)]
    if l2:
        total = total + l2 * l2_penalty(weights, xp=xp)
        dW = [d + l2 * W for d, W in zip(dW, weights)]
    scale = 1.0 / weight_sum
    return total * scale, [d * scale for d in dW], None if db is None else [d * scale for d in db]


@dataclass(frozen=True)
class LbfgsOptions:
    """The settings of one L-BFGS-B fit (:func:`minimize`).

    Attributes
    ----------
    l2 : float
        α, the L2 penalty on the weights.
    max_iter, max_fun, tol
        SciPy's ``maxiter``, ``maxfun`` and ``gtol``: at most ``max_iter`` iterations and about ``max_fun``
        evaluations; stop when the projected gradient falls below ``tol``.
    """

    l2: float = 0.0
    max_iter: int = 200
    max_fun: int = 15000
    tol: float = 1e-4

    @classmethod
    def checked(cls, *, l2: Any, max_iter: Any, max_fun: Any, tol: Any) -> LbfgsOptions:
        """The options of ``MLP.fit_lbfgs``, checked (``bpxp.checks``): errors name the option."""
        return cls(l2=float(l2), max_iter=checks.positive_int(max_iter, "max_iter"),
                   max_fun=checks.positive_int(max_fun, "max_fun"), tol=float(tol))


def minimize(weights, biases, blocks: Callable[[], Iterable[tuple[Any, Any, Any]]],
             activations: tuple[Activation, ...], loss: Loss, *, xp: Any, options: LbfgsOptions = LbfgsOptions(),
             callback: Callable[[int, float], None] | None = None) -> LbfgsResult:
    """Minimise J (module docstring) from the given parameters with ``scipy.optimize.minimize(method='L-BFGS-B')``.

    Parameters
    ----------
    weights, biases : sequences of arrays
        The starting point, on the network's device (biases None for a network without them).
    blocks : callable
        ``blocks()`` yields (X, Y, w) blocks of rows on the device (w of shape (m, 1), or None), afresh for each
        evaluation.
    activations, loss
        The network's.
    xp : namespace
    options : LbfgsOptions
        α and SciPy's limits.
    callback : callable(iteration, loss), optional
        Called after each iteration.
    """
    first = weights[0]
    dtype, device = first.dtype, _device(first)
    shapes = [tuple(a.shape) for a in (*weights, *(biases or ()))]
    n_layers = len(weights)

    def split(theta):
        arrays = unpack(theta, shapes, xp=xp, dtype=dtype, device=device)
        return arrays[:n_layers], (None if biases is None else arrays[n_layers:])

    def value_and_gradient(theta):
        W, b = split(theta)
        value, dW, db = objective(W, b, blocks(), activations, loss, xp=xp, l2=options.l2)
        flat = xp.concat([xp.reshape(g, (-1,)) for g in (*dW, *(db or ()))])
        return float(value), to_numpy(flat).astype(np.float64, copy=False)  # one transfer back per evaluation

    iterations = [0]

    def each_iteration(intermediate_result):
        iterations[0] += 1
        if callback is not None:
            callback(iterations[0], float(intermediate_result.fun))

    from scipy.optimize import minimize as scipy_minimize  # SciPy, an optional dependency: imported when used

    result = scipy_minimize(value_and_gradient, pack(weights, biases), method="L-BFGS-B", jac=True,
                            callback=each_iteration,
                            options={"maxiter": int(options.max_iter), "maxfun": int(options.max_fun),
                                     "gtol": float(options.tol)})
    W, b = split(result.x)
    return LbfgsResult(tuple(W), None if b is None else tuple(b), float(result.fun),
                       min(int(result.nit), options.max_iter),
                       int(result.nfev), bool(result.success), str(result.message))


def blocks_of(net: Any, X: Any, y: Any, *, sample_weight: Any = None,
              block_rows: int = 4096) -> Callable[[], Iterable[tuple[Any, Any, Any]]]:
    """``MLP.fit_lbfgs``'s blocks of rows (:func:`minimize`) for a network (``bpxp.training.session``): y and the
    sample weights (as w of shape (m, 1)) checked and moved once; X too, or, for a scipy.sparse X, densified on the
    device ``block_rows`` rows at a time in every evaluation."""
    n_rows = int(X.shape[0])
    sparse = hasattr(X, "tocsr") and hasattr(X, "toarray")  # scipy.sparse, checked without importing scipy
    Y = session.targets(net, y, n_rows)
    w = None
    if sample_weight is not None:
        w = _inputs.to_network(sample_weight, name="sample_weight", xp=net.xp, device=net.device, dtype=net.dtype,
                               float_name=net.spec.dtype)
        if tuple(w.shape) != (n_rows,):
            raise ValueError(f"`sample_weight` must have shape ({n_rows},), got {tuple(w.shape)}")
        w = net.xp.reshape(w, (n_rows, 1))
    if not sparse:
        X = session.features(net, X)
        return lambda: [(X, Y, w)]
    X = X.tocsr()
    bounds = [(a, min(a + block_rows, n_rows)) for a in range(0, n_rows, block_rows)]

    def densified():
        for a, b in bounds:
            yield session.features(net, X[a:b].toarray()), Y[a:b, ...], None if w is None else w[a:b, ...]

    return densified


def _device(x):
    from ..backend.namespaces import device_of as device

    return device(x)
