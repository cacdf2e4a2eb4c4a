"""``bpxp.gradcheck``: every layer's ∂L/∂Wˡ and ∂L/∂bˡ from backpropagation checked against central finite
differences of the loss, in float64 on the network's own backend and device (as ``torch.autograd.gradcheck``).

For every parameter θ (one element of some Wˡ or bˡ):

    ∂L/∂θ ≈ (L(θ + ε) − L(θ − ε)) / 2ε                  error O(ε²) plus rounding O(u/ε), u ≈ 1e-16

and backpropagation passes where every element agrees: ``|g − ĝ| ≤ atol + rtol·|ĝ|``, g from ``MLP.backward``
and ĝ the difference quotient. A learner who writes a new activation or loss checks its derivative here; a
mistake in any f′ or δᴸ shows as the layers it touches failing.

The check uses the network's public methods only (``from_weights``, ``backward``, ``loss_value``): it runs two
loss evaluations per parameter, so it is meant for small networks and batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .backend.namespaces import to_numpy
from .mlp import MLP


@dataclass(frozen=True)
class ParameterCheck:
    """The check of one parameter array: ``param`` is 'W' or 'b' of layer ``layer`` (1-based, as Wˡ)."""

    layer: int
    param: str
    max_abs_error: float
    max_rel_error: float
    passed: bool

    def __str__(self) -> str:
        verdict = "ok" if self.passed else "FAILED"
        return (f"layer {self.layer}  {self.param}  max abs error {self.max_abs_error:.3e}  "
                f"max rel error {self.max_rel_error:.3e}  {verdict}")


@dataclass(frozen=True)
class GradcheckReport:
    """Per-layer results of :func:`gradcheck`: truthy when every parameter agrees, and says where not.

    Attributes
    ----------
    checks : tuple of ParameterCheck
        One per parameter array, in the order W¹, b¹, W², b², …
    eps, rtol, atol : float
        The settings the check ran with.
    """

    checks: tuple[ParameterCheck, ...]
    eps: float
    rtol: float
    atol: float

    @property
    def failures(self) -> tuple[ParameterCheck, ...]:
        """The parameter arrays whose backpropagated gradient disagrees with the finite differences."""
        return tuple(check for check in self.checks if not check.passed)

    def __bool__(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        head = (f"gradient check (float64, central differences, eps={self.eps:g}, rtol={self.rtol:g}, "
                f"atol={self.atol:g}): {'passed' if self else f'{len(self.failures)} FAILED'}")
        return "\n".join([head, *(f"  {check}" for check in self.checks)])

    def __repr__(self) -> str:
        return str(self)


def gradcheck(net: MLP, X: Any, y: Any, *, eps: float = 1e-6, rtol: float = 1e-4,
              atol: float = 1e-7) -> GradcheckReport:
    """Check backpropagation's ∂L/∂Wˡ and ∂L/∂bˡ against central finite differences of L, in float64.

    Parameters
    ----------
    net : MLP
        The network to check; it is not modified (a float64 copy on its backend and device is checked).
    X : array or array-like, shape (n_samples, layer_sizes[0])
    y : array or array-like, shape (n_samples, layer_sizes[-1]), or (n_samples,)
    eps : float
        ε, the step of the central difference (L(θ + ε) − L(θ − ε)) / 2ε.
    rtol, atol : float
        An element passes when ``|g − ĝ| ≤ atol + rtol·|ĝ|`` (g backpropagated, ĝ the difference quotient).

    Returns
    -------
    GradcheckReport
        Truthy when every element agrees; ``str(report)`` lists each layer's W and b with its largest absolute
        error and its largest relative error (among the elements with ``|ĝ| > atol``).

    Notes
    -----
    float64 on JAX needs 64-bit mode (``jax.config.update('jax_enable_x64', True)``) before any array exists.

    Examples
    --------
    >>> import bpxp, numpy as np
    >>> net = bpxp.MLP([4, 3, 2], hidden="tanh", output="softmax", random_state=0)
    >>> X, y = np.random.default_rng(0).normal(size=(5, 4)), np.array([0, 1, 1, 0, 1])
    >>> report = bpxp.gradcheck(net, X, y)
    >>> bool(report), len(report.checks)
    (True, 4)
    """
    for value, name in ((eps, "eps"), (rtol, "rtol"), (atol, "atol")):
        if not isinstance(value, int | float) or isinstance(value, bool) or not value >= 0 or value == float("inf"):
            raise ValueError(f"`{name}` must be a finite number ≥ 0, got {value!r}")
    if eps == 0:
        raise ValueError("`eps` must be a finite number > 0, got 0")
    host = _host_parameters(net)
    net64 = MLP.from_weights(host[0], host[1], hidden=net.hidden, output=net.output, loss=net.loss,
                             backend=net.backend, device=net.device, dtype="float64")
    analytic = net64.backward(X, y)
    checks = []
    for layer in range(net64.n_layers):
        named = [("W", 0, analytic.weights)] + ([("b", 1, analytic.biases)] if host[1] is not None else [])
        for param, which, gradients in named:
            numeric = _difference_quotients(net64, host, (which, layer), X, y, eps)
            checks.append(_compared(layer + 1, param, to_numpy(gradients[layer]), numeric, rtol=rtol, atol=atol))
    return GradcheckReport(tuple(checks), eps, rtol, atol)


def _host_parameters(net: MLP) -> tuple[list, list | None]:
    as_host = lambda arrays: None if arrays is None else [to_numpy(a).astype(np.float64) for a in arrays]  # noqa: E731
    return as_host(net.weights), as_host(net.biases)


def _difference_quotients(net64: MLP, host: tuple, where: tuple[int, int], X: Any, y: Any,
                          eps: float) -> np.ndarray:
    """(L(θ + ε) − L(θ − ε)) / 2ε for every element θ of the parameter array at ``where`` (0: weights, 1: biases;
    the layer), each loss evaluated on the network's backend and device."""
    which, layer = where
    array = host[which][layer]
    quotients = np.empty_like(array)
    for index in np.ndindex(array.shape):
        losses = []
        for sign in (1.0, -1.0):
            shifted = array.copy()
            shifted[index] += sign * eps
            parameters = [list(host[0]), None if host[1] is None else list(host[1])]
            parameters[which][layer] = shifted
            net64.set_parameters(*(None if group is None else [net64.xp.asarray(a, device=net64.device)
                                                                for a in group] for group in parameters))
            losses.append(net64.loss_value(X, y))
        quotients[index] = (losses[0] - losses[1]) / (2 * eps)
    return quotients


def _compared(layer: int, param: str, analytic: np.ndarray, numeric: np.ndarray, *, rtol: float,
              atol: float) -> ParameterCheck:
    error = np.abs(analytic - numeric)
    sizeable = np.abs(numeric) > atol  # relative errors of gradients near 0 say nothing
    relative = np.where(sizeable, error / np.where(sizeable, np.abs(numeric), 1.0), 0.0)
    passed = bool(np.all(error <= atol + rtol * np.abs(numeric)))
    return ParameterCheck(layer, param, float(error.max(initial=0.0)), float(relative.max(initial=0.0)), passed)
