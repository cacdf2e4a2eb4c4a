"""The optimizers follow their definitions: SGD exactly, momentum and Adam as torch.optim does."""

import numpy as np
import pytest
from conftest import assert_close

import bpxp
from bpxp.optimizers import Adam, Momentum, Nesterov


def _problem():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 3))
    Y = np.eye(2)[rng.integers(0, 2, size=20)]
    return X, Y


def test_sgd_step_is_exactly_w_minus_eta_gradient(backend):
    X, Y = _problem()
    net = backend.mlp([3, 4, 2], dtype="float64", random_state=0, hidden="sigmoid", output="sigmoid", loss="mse")
    start = [bpxp.to_numpy(w).copy() for w in net.weights]
    grads = [bpxp.to_numpy(g) for g in net.backward(X, Y).weights]
    net.fit(X, Y, epochs=1, learning_rate=0.3, optimizer="sgd", batch_size=None)
    for W, W0, g in zip(net.weights, start, grads):
        # equal up to rounding: XLA fuses the step into multiply-adds under jax.jit
        np.testing.assert_allclose(bpxp.to_numpy(W), W0 - 0.3 * g, rtol=0, atol=1e-15)


@pytest.mark.parametrize("optimizer", ["momentum", "nesterov", "adam", Momentum(0.5), Nesterov(0.5),
                                       Adam(0.8, 0.99, 1e-6)])
def test_matches_torch_optim(backend, optimizer):
    torch = pytest.importorskip("torch")
    X, Y = _problem()
    net = backend.mlp([3, 4, 2], hidden="tanh", output="sigmoid", loss="mse", dtype="float64",
                      random_state=0)
    # the reference runs on torch's CPU, whatever torch's default device is on a GPU machine
    params = [torch.tensor(bpxp.to_numpy(p), requires_grad=True, device="cpu") for p in (*net.weights, *net.biases)]
    rule = bpxp.optimizers.get_optimizer(optimizer)
    if rule.name in ("momentum", "nesterov"):
        reference = torch.optim.SGD(params, lr=0.05, momentum=rule.momentum, nesterov=rule.name == "nesterov")
    else:
        reference = torch.optim.Adam(params, lr=0.05, betas=(rule.beta1, rule.beta2), eps=rule.eps)
    Xt, Yt = torch.tensor(X, device="cpu"), torch.tensor(Y, device="cpu")
    for _ in range(25):
        reference.zero_grad()
        hidden = torch.tanh(Xt @ params[0] + params[2])
        output = torch.sigmoid(hidden @ params[1] + params[3])
        (0.5 * torch.mean((output - Yt) ** 2)).backward()
        reference.step()
    net.fit(X, Y, epochs=25, learning_rate=0.05, optimizer=optimizer, batch_size=None)
    expected = [p.detach().cpu().numpy() for p in params]
    assert_close([*net.weights, *net.biases], expected, dtype="float64", float64_atol=1e-12)


def test_unknown_optimizer_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"`optimizer` must be one of \['sgd', 'momentum', 'nesterov', 'adam'\]"):
        bpxp.optimizers.get_optimizer("rmsprop")
