"""Each update rule gives the numbers worked out by hand from its definition — no other library needed.

A fixed gradient g makes the rules' arithmetic short enough to do on paper:

- SGD, one step:        θ₁ = θ₀ − η·g
- momentum (v ← μv + g): v₁ = g, v₂ = (1 + μ)·g, so θ₂ = θ₀ − η·(2 + μ)·g and θ₃ = θ₀ − η·(3 + 2μ + μ²)·g
  (the "dampened" variant v ← μv + (1 − μ)g would give v₁ = (1 − μ)·g)
- Adam: m̂₁ = g and v̂₁ = g², so the first step moves every parameter by η·g/(|g| + ε) ≈ η·sign(g); with a
  constant g bias correction keeps every later step at η·sign(g) too (without it the first step is
  η·(1 − β₁)/√(1 − β₂) ≈ 3.16·η long). With g₁ then g₂ the second step is worked out below.

Run on every backend, float64 and float32, through the optimizers' own ``init`` and ``update``.
"""

import math

import numpy as np
import pytest
from conftest import assert_close

from bpxp.optimizers import SGD, Adam, Momentum

G = np.array([[0.5, -2.0, 3.0], [-0.25, 1.0, -4.0]])  # a fixed gradient for W, mixed signs and sizes
G_BIAS = np.array([1.5, -0.75, 0.125])  # and for b
W0 = np.array([[0.1, 0.2, -0.3], [0.4, -0.5, 0.6]])
B0 = np.array([0.01, -0.02, 0.03])
ETA = 0.1
DTYPES = ["float64", "float32"]


def _run(backend, rule, gradients, dtype, learning_rate=ETA):
    """θ after one ``update`` per (g_W, g_b) in ``gradients``, from (W0, B0); returned as NumPy arrays."""
    xp = backend.xp
    params = (backend.asarray(W0, dtype), backend.asarray(B0, dtype))
    state = rule.init(params, xp=xp)
    for g_w, g_b in gradients:
        grads = (backend.asarray(g_w, dtype), backend.asarray(g_b, dtype))
        params, state = rule.update(params, grads, state, learning_rate, xp=xp)
    return list(params), state


@pytest.mark.parametrize("dtype", DTYPES)
def test_sgd_step_is_theta_minus_eta_g(backend, dtype):
    params, _ = _run(backend, SGD(), [(G, G_BIAS)], dtype)
    assert_close(params, [W0 - ETA * G, B0 - ETA * G_BIAS], dtype=dtype, float64_atol=1e-15)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mu", [0.9, 0.5])
def test_momentum_first_step_is_plain_sgd(backend, dtype, mu):
    params, (velocity_w, velocity_b) = _run(backend, Momentum(mu), [(G, G_BIAS)], dtype)
    assert_close(params, [W0 - ETA * G, B0 - ETA * G_BIAS], dtype=dtype, float64_atol=1e-15)
    assert_close([velocity_w, velocity_b], [G, G_BIAS], dtype=dtype, float64_atol=0.0)  # v₁ = g, undamped


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mu", [0.9, 0.5])
def test_momentum_two_steps_on_a_fixed_gradient_move_eta_times_two_plus_mu(backend, dtype, mu):
    params, (velocity_w, _) = _run(backend, Momentum(mu), [(G, G_BIAS)] * 2, dtype)
    assert_close(params, [W0 - ETA * (2 + mu) * G, B0 - ETA * (2 + mu) * G_BIAS], dtype=dtype,
                 float64_atol=1e-15)
    assert_close(velocity_w, (1 + mu) * G, dtype=dtype, float64_atol=1e-15)


@pytest.mark.parametrize("dtype", DTYPES)
def test_momentum_three_steps_sum_the_geometric_series(backend, dtype):
    mu = 0.9
    params, _ = _run(backend, Momentum(mu), [(G, G_BIAS)] * 3, dtype)
    factor = 3 + 2 * mu + mu * mu  # v₁ + v₂ + v₃ = g + (1 + μ)g + (1 + μ + μ²)g
    assert_close(params, [W0 - ETA * factor * G, B0 - ETA * factor * G_BIAS], dtype=dtype, float64_atol=1e-15)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rule", [Adam(), Adam(0.8, 0.99, 1e-8)], ids=["defaults", "beta1=0.8,beta2=0.99"])
def test_adam_first_step_moves_each_parameter_by_eta_times_sign_of_g(backend, dtype, rule):
    params, _ = _run(backend, rule, [(G, G_BIAS)], dtype)
    # exactly η·g/(|g| + ε); ε/|g| ≤ 4e-8 here, so η·sign(g) within 1e-8
    assert_close(params, [W0 - ETA * np.sign(G), B0 - ETA * np.sign(G_BIAS)], dtype=dtype, float64_atol=1e-8)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_steps_on_a_constant_gradient_stay_eta_times_sign_of_g(backend, dtype):
    # m_t = (1 − β₁ᵗ)·g and v_t = (1 − β₂ᵗ)·g²: bias correction recovers g and g² at every step t
    params, _ = _run(backend, Adam(), [(G, G_BIAS)] * 5, dtype)
    assert_close(params, [W0 - 5 * ETA * np.sign(G), B0 - 5 * ETA * np.sign(G_BIAS)], dtype=dtype,
                 float64_atol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_second_step_uses_the_bias_corrected_moments(backend, dtype):
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    g1, g2 = 1.0, 3.0  # every gradient entry is g1 at step 1, g2 at step 2; signs flipped per entry below
    signs_w, signs_b = np.sign(G), np.sign(G_BIAS)
    # step 1: m̂ = g1, v̂ = g1²: a move of η·g1/(|g1| + ε)
    step1 = g1 / (abs(g1) + eps)
    # step 2, by hand: m₂ = β₁(1 − β₁)g1 + (1 − β₁)g2, v₂ = β₂(1 − β₂)g1² + (1 − β₂)g2²
    m2 = beta1 * (1 - beta1) * g1 + (1 - beta1) * g2  # 0.09 + 0.3 = 0.39
    v2 = beta2 * (1 - beta2) * g1**2 + (1 - beta2) * g2**2  # 0.000999 + 0.009 = 0.009999
    m2_hat, v2_hat = m2 / (1 - beta1**2), v2 / (1 - beta2**2)  # 2.052632 and 5.002001
    step2 = m2_hat / (math.sqrt(v2_hat) + eps)
    assert step2 == pytest.approx(0.917781, abs=1e-6)  # the hand arithmetic itself, to six places
    gradients = [(g1 * signs_w, g1 * signs_b), (g2 * signs_w, g2 * signs_b)]
    params, (_, _, beta1_power, beta2_power) = _run(backend, Adam(beta1, beta2, eps), gradients, dtype)
    moved = ETA * (step1 + step2)
    assert_close(params, [W0 - moved * signs_w, B0 - moved * signs_b], dtype=dtype, float64_atol=1e-12)
    assert_close([beta1_power, beta2_power], [np.asarray(beta1**2), np.asarray(beta2**2)], dtype=dtype,
                 float64_atol=1e-15)


@pytest.mark.parametrize("rule", [SGD(), Momentum(), Adam()], ids=["sgd", "momentum", "adam"])
def test_update_leaves_its_arguments_untouched(backend, rule):
    xp = backend.xp
    params = (backend.asarray(W0), backend.asarray(B0))
    grads = (backend.asarray(G), backend.asarray(G_BIAS))
    state = rule.init(params, xp=xp)
    rule.update(params, grads, state, ETA, xp=xp)
    assert_close(list(params), [W0, B0], dtype="float64", float64_atol=0.0)
    assert_close(list(grads), [G, G_BIAS], dtype="float64", float64_atol=0.0)
