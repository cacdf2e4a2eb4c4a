"""Learning-rate schedules in ``MLP.fit`` (``learning_rate_schedule``): the η of every epoch as scikit-learn's
formulas give it, the adaptive schedule's plateaus and its end, resume, and the option's errors."""

import numpy as np
import pytest

import bpxp
from bpxp.optimizers import Adaptive, InverseScaling

SEED_SETTINGS = dict(hidden="sigmoid", output="sigmoid", loss="mse")


def _problem(n=24, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, :1] - 0.5 * X[:, 1:2] > 0).astype(float)


def _net(backend):
    return bpxp.MLP([3, 4, 1], **SEED_SETTINGS, backend=backend.name, device=backend.device, dtype="float64",
                    random_state=0)


@pytest.mark.parametrize("batch_size", [None, 10], ids=["full-batch", "batch-10"])
def test_invscaling_trains_each_epoch_at_eta0_over_samples_seen_to_the_power_t(backend, batch_size):
    """η of epoch e (0-based) is η₀ / (e·n + 1)^p: the same weights as one fit per epoch at that η."""
    X, y = _problem()
    scheduled, by_hand = _net(backend), _net(backend)
    history = scheduled.fit(X, y, epochs=4, optimizer="sgd", batch_size=batch_size, shuffle=False,
                            learning_rate=0.5, learning_rate_schedule=InverseScaling(0.5, power_t=0.25))
    losses = []
    for epoch in range(4):
        eta = 0.5 / (epoch * len(X) + 1) ** 0.25
        losses += by_hand.fit(X, y, epochs=1, optimizer="sgd", batch_size=batch_size, shuffle=False,
                              learning_rate=eta).loss
    np.testing.assert_allclose(history.loss, losses, rtol=1e-12)
    for a, b in zip([*scheduled.weights, *scheduled.biases], [*by_hand.weights, *by_hand.biases]):
        np.testing.assert_allclose(bpxp.to_numpy(a), bpxp.to_numpy(b), rtol=1e-12, atol=1e-15)


def test_a_new_eta_each_epoch_builds_and_compiles_no_new_step(backend):
    """η is the step's argument: an invscaling fit of 6 epochs (6 values of η) builds its four steps once — and on
    JAX its compiled epochs once (with η a constant of the step, each epoch compiled anew: 0.4 s an epoch)."""
    from bpxp.backend import compiled
    from bpxp.training.step import make_step

    X, y = _problem()
    net = _net(backend)
    make_step.cache_clear()
    compiled._jax_epochs.cache_clear()
    net.fit(X, y, epochs=6, optimizer="sgd", batch_size=10, learning_rate=0.5,
            learning_rate_schedule=InverseScaling(0.5, power_t=0.25), random_state=0)
    assert make_step.cache_info().misses <= 4  # (first step of an epoch or not) × (last step or not)
    assert compiled._jax_epochs.cache_info().misses <= 1  # JAX: one pair of compiled epoch functions, η traced


def test_constant_schedule_is_a_fixed_learning_rate(backend):
    X, y = _problem()
    named, plain = _net(backend), _net(backend)
    named.fit(X, y, epochs=3, optimizer="sgd", batch_size=8, learning_rate=0.3, learning_rate_schedule="constant",
              random_state=1)
    plain.fit(X, y, epochs=3, optimizer="sgd", batch_size=8, learning_rate=0.3, random_state=1)
    for a, b in zip(named.weights, plain.weights):
        np.testing.assert_array_equal(bpxp.to_numpy(a), bpxp.to_numpy(b))


def test_adaptive_divides_eta_by_5_at_each_plateau_and_ends_at_its_floor(backend):
    """η₀ = 10⁻⁵ barely moves the loss: the first epoch sets the best, every later one fails to improve it by
    tol. With a patience of 2: η → 2·10⁻⁶ after epoch 3, 4·10⁻⁷ after epoch 5, and at the third plateau
    (η ≤ 10⁻⁶) training ends: 7 epochs, stopped early."""
    X, y = _problem()
    net = _net(backend)
    schedule = Adaptive(1e-5, tol=1e-3, patience=2)
    history = net.fit(X, y, epochs=50, optimizer="sgd", batch_size=None, learning_rate_schedule=schedule)
    assert history.epochs == 7 and history.stopped_early and history.diverged_at is None
    assert history.schedule_ended  # the schedule, not early stopping, ended it
    by_hand = _net(backend)
    for eta in (1e-5, 1e-5, 1e-5, 2e-6, 2e-6, 4e-7, 4e-7):
        by_hand.fit(X, y, epochs=1, optimizer="sgd", batch_size=None, learning_rate=eta)
    for a, b in zip(net.weights, by_hand.weights):
        np.testing.assert_allclose(bpxp.to_numpy(a), bpxp.to_numpy(b), rtol=1e-12, atol=1e-15)


def test_adaptive_watches_the_validation_loss_when_there_is_one(backend):
    X, y = _problem()
    X_val, y_val = _problem(seed=1)
    net = _net(backend)
    history = net.fit(X, y, epochs=40, optimizer="sgd", batch_size=None, validation_data=(X_val, y_val),
                      learning_rate_schedule=Adaptive(1e-5, tol=1.0, patience=1))
    assert history.epochs == 4 and history.stopped_early and len(history.val_loss) == 4


def test_a_resumed_scheduled_fit_ends_as_an_uninterrupted_one(backend, tmp_path):
    X, y = _problem()
    options = dict(optimizer="sgd", batch_size=8, random_state=2, learning_rate_schedule=Adaptive(1e-5, patience=2))
    whole = _net(backend)
    whole.fit(X, y, epochs=9, **options)
    first, resumed = _net(backend), _net(backend)
    first.fit(X, y, epochs=3, checkpoint=tmp_path / "run.npz", **options)
    history = resumed.fit(X, y, epochs=9, resume=tmp_path / "run.npz", **options)
    assert history.epochs == 7 and history.stopped_early  # η and the plateau count carried across the resume
    for a, b in zip(whole.weights, resumed.weights):
        np.testing.assert_array_equal(bpxp.to_numpy(a), bpxp.to_numpy(b))


@pytest.mark.parametrize("saved, given", [("invscaling", None), (None, "invscaling"), ("invscaling", "adaptive")],
                         ids=["saved-not-given", "given-not-saved", "another"])
def test_a_checkpoint_resumes_only_with_the_schedule_it_was_written_with(saved, given, tmp_path):
    X, y = _problem()
    options = dict(optimizer="sgd", batch_size=8, learning_rate=1e-3)
    bpxp.MLP([3, 4, 1], random_state=0).fit(X, y, epochs=2, checkpoint=tmp_path / "run.npz",
                                           learning_rate_schedule=saved, **options)
    with pytest.raises(ValueError, match=r"`resume`: .* other settings \(learning_rate_schedule "):
        bpxp.MLP([3, 4, 1], random_state=0).fit(X, y, epochs=4, resume=tmp_path / "run.npz",
                                               learning_rate_schedule=given, **options)


@pytest.mark.parametrize("schedule, match", [
    ("cosine", r"`learning_rate_schedule` must be None, one of \['constant', 'invscaling', 'adaptive'\]"),
    (InverseScaling(0.1), r"`learning_rate` 0.2 differs from the initial η of `learning_rate_schedule`"),
])
def test_bad_schedules_are_named(schedule, match):
    X, y = _problem()
    with pytest.raises(ValueError, match=match):
        bpxp.MLP([3, 4, 1]).fit(X, y, learning_rate=0.2, learning_rate_schedule=schedule)
