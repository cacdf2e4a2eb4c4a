"""fit(..., record=("gradient_norms",)): each layer's ‖∂L/∂Wˡ‖ per epoch, the mean over the epoch's steps, summed
on the device and read with the epoch's loss; it changes nothing else about training."""

import numpy as np
import pytest

import bpxp

RECORD = ("gradient_norms",)


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    return X, (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)


def _net(backend, hidden="tanh"):
    return backend.mlp([3, 5, 4, 2], hidden=hidden, output="softmax", dtype="float64", random_state=1)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_full_batch_epoch_records_the_norms_of_the_gradients_it_started_from(backend, optimizer):
    X, y = _data()
    net = _net(backend)
    expected = [float(np.linalg.norm(bpxp.to_numpy(g))) for g in net.backward(X, y).weights]
    history = net.fit(X, y, epochs=1, batch_size=None, optimizer=optimizer, learning_rate=0.1, record=RECORD)
    np.testing.assert_allclose(history.gradient_norms, [expected], rtol=1e-12)


def test_mini_batch_epochs_record_the_mean_over_their_steps(backend):
    """Replayed by hand: plain SGD in row order, batches of 8 (the last of 6 rows), two epochs."""
    X, y = _data()
    net, replay = _net(backend), _net(backend)
    history = net.fit(X, y, epochs=2, batch_size=8, optimizer="sgd", learning_rate=0.5, shuffle=False,
                      record=RECORD)
    weights, biases = ([bpxp.to_numpy(a) for a in arrays] for arrays in (replay.weights, replay.biases))
    expected = []
    for _ in range(2):
        per_step = []
        for start in range(0, 30, 8):
            g = backend.from_weights(weights, biases, hidden="tanh", output="softmax", loss="cross_entropy",
                                     dtype="float64").backward(X[start:start + 8], y[start:start + 8])
            per_step.append([float(np.linalg.norm(bpxp.to_numpy(dW))) for dW in g.weights])
            weights = [w - 0.5 * bpxp.to_numpy(dW) for w, dW in zip(weights, g.weights)]
            biases = [b - 0.5 * bpxp.to_numpy(db) for b, db in zip(biases, g.biases)]
        expected.append(np.mean(per_step, axis=0).tolist())
    np.testing.assert_allclose(history.gradient_norms, expected, rtol=1e-10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_recording_changes_nothing_else(backend, dtype):
    X, y = _data()
    plain, recorded = (backend.mlp([3, 5, 2], hidden="relu", dtype=dtype, random_state=2) for _ in range(2))
    options = dict(epochs=6, batch_size=7, learning_rate=0.05, random_state=3)
    a, b = plain.fit(X, y, **options), recorded.fit(X, y, record=RECORD, **options)
    assert a.gradient_norms == [] and len(b.gradient_norms) == 6
    assert all(len(norms) == 2 and all(np.isfinite(norms)) for norms in b.gradient_norms)
    # equal, but for float32 on JAX: unrecorded, its epochs compile several to a call, summed in another order
    rtol = 1e-6 if dtype == "float32" and backend.name == "jax" else 0
    np.testing.assert_allclose(a.loss, b.loss, rtol=rtol)
    for w, v in zip(plain.weights, recorded.weights):
        np.testing.assert_allclose(bpxp.to_numpy(w), bpxp.to_numpy(v), rtol=rtol, atol=0)


def test_with_early_stopping_every_settled_epoch_has_its_norms(backend):
    X, y = _data()
    history = _net(backend).fit(X[:20], y[:20], epochs=40, learning_rate=0.5, optimizer="sgd", early_stopping=2,
                                validation_data=(X[20:], y[20:]), record=RECORD)
    assert len(history.gradient_norms) == history.epochs


def test_a_sigmoid_stack_shows_vanishing_gradients_and_relu_does_not():
    X, y = _data()
    ratios = {}
    for hidden in ("sigmoid", "relu"):
        net = bpxp.MLP([3, 16, 16, 16, 16, 2], hidden=hidden, output="softmax", dtype="float64", random_state=0)
        norms = net.fit(X, y, epochs=2, optimizer="sgd", learning_rate=0.01, record=RECORD).gradient_norms[-1]
        ratios[hidden] = norms[0] / norms[-1]
    assert ratios["sigmoid"] < 0.1 < ratios["relu"]


def test_the_norms_survive_a_checkpoint_and_resume(tmp_path):
    X, y = _data()
    path = tmp_path / "run.npz"
    whole = _net_numpy().fit(X, y, epochs=4, random_state=0, record=RECORD)
    _net_numpy().fit(X, y, epochs=2, random_state=0, record=RECORD, checkpoint=path)
    resumed = _net_numpy().fit(X, y, epochs=4, random_state=0, record=RECORD, checkpoint=path, resume=path)
    np.testing.assert_allclose(resumed.gradient_norms, whole.gradient_norms, rtol=1e-12)


def _net_numpy():
    return bpxp.MLP([3, 4, 2], dtype="float64", random_state=0)


def test_the_plot_draws_one_curve_per_layer(tmp_path):
    pytest.importorskip("matplotlib")
    X, y = _data()
    history = _net_numpy().fit(X, y, epochs=3, record=RECORD)
    ax = history.plot_gradient_norms(tmp_path / "norms.png")
    assert (tmp_path / "norms.png").stat().st_size > 0
    assert [line.get_label() for line in ax.get_lines()] == ["layer 1", "layer 2 (output)"]
    with pytest.raises(ValueError, match="record=\\('gradient_norms',\\)"):
        bpxp.History(loss=[1.0]).plot_gradient_norms()


@pytest.mark.parametrize("record", [("norms",), 3, ("gradient_norms", None)], ids=["unknown", "number", "none"])
def test_a_bad_record_names_the_argument(record):
    X, y = _data()
    with pytest.raises(ValueError, match="`record` must be a tuple of names from \\['gradient_norms'\\]"):
        _net_numpy().fit(X, y, epochs=1, record=record)


def test_dask_arrays_refuse_to_record():
    da = pytest.importorskip("dask.array")
    X, y = _data()
    with pytest.raises(ValueError, match=r"`record`.*not available on Dask arrays"):
        _net_numpy().fit(da.from_array(X, chunks=10), da.from_array(y, chunks=10), epochs=1, record=RECORD)
