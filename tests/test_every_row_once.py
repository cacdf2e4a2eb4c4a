"""Every row of the training set is seen exactly once per epoch — shuffled or not, whatever the batch size.

The observation needs no hook in the library: a linear network (identity output, MSE, no bias) on inputs
X = I (row i has a single 1, in column i) keeps the rows apart. Row i reaches only weight Wᵢ, so a step on a
batch of m rows holding row i does, with k = 1 output,

    ∂L/∂Wᵢ = (Wᵢ − yᵢ)/m,    Wᵢ ← Wᵢ + (η/m)·(yᵢ − Wᵢ)

and leaves the other rows' weights alone. From W = 0, after one epoch in which row i was seen once, in a batch
of m rows, Wᵢ = η·yᵢ/m: the weight tells whether the row was seen (0 if skipped), how often (a second visit
gives another value) and the size of its batch. Over E epochs the residual is (yᵢ − Wᵢ)/yᵢ = Πₑ (1 − η/mₑ).
"""

import numpy as np
import pytest

N_ROWS = 10
ETA = 0.5
Y = 1.0 + np.arange(N_ROWS) / N_ROWS  # distinct, nonzero targets: 1.0, 1.1, …, 1.9


def _fit_linear_probe(backend, *, epochs, batch_size, shuffle, random_state=None):
    """Train W = 0 on X = I; return (W as a NumPy vector, History)."""
    import bpxp

    net = backend.from_weights([np.zeros((N_ROWS, 1))], None, output="identity", loss="mse", dtype="float64")
    history = net.fit(np.eye(N_ROWS), Y[:, None], epochs=epochs, learning_rate=ETA, batch_size=batch_size,
                      shuffle=shuffle, random_state=random_state, optimizer="sgd")
    return bpxp.to_numpy(net.weights[0])[:, 0], history


def _batch_sizes(batch_size):
    """The sizes of an epoch's batches: full ones, then the ragged rest."""
    batch = N_ROWS if batch_size is None else min(batch_size, N_ROWS)
    return [min(batch, N_ROWS - start) for start in range(0, N_ROWS, batch)]


BATCH_SIZES = [None, N_ROWS, 25, 5, 4, 3, 1]  # full batch (three ways), even mini-batches, ragged (4, 3), one row
SHUFFLE = [pytest.param(False, id="in-order"), pytest.param(True, id="shuffled")]


@pytest.mark.parametrize("shuffle", SHUFFLE)
@pytest.mark.parametrize("batch_size", BATCH_SIZES, ids=lambda b: f"batch={b}")
def test_every_row_is_seen_exactly_once_in_one_epoch(backend, batch_size, shuffle):
    W, _ = _fit_linear_probe(backend, epochs=1, batch_size=batch_size, shuffle=shuffle, random_state=7)
    sizes = _batch_sizes(batch_size)
    # Wᵢ = η·yᵢ/m for the m of row i's batch: read m back for every row
    seen_in = ETA * Y / W
    assert np.all(np.isfinite(seen_in)), f"rows never seen: {np.flatnonzero(W == 0).tolist()}"
    rounded = np.rint(seen_in)
    np.testing.assert_allclose(seen_in, rounded, rtol=1e-12, err_msg="a row was seen more than once")
    # each batch size m holds m rows (a batch of m rows counted m times): the batches partition the rows
    counts = {int(m): int(np.sum(rounded == m)) for m in np.unique(rounded)}
    expected = {}
    for m in sizes:
        expected[m] = expected.get(m, 0) + m
    assert counts == expected


@pytest.mark.parametrize("batch_size", [4, 3], ids=lambda b: f"batch={b}")
def test_in_order_batches_take_consecutive_rows_with_the_ragged_rest_last(backend, batch_size):
    W, _ = _fit_linear_probe(backend, epochs=1, batch_size=batch_size, shuffle=False)
    seen_in = np.concatenate([np.full(m, m) for m in _batch_sizes(batch_size)])
    np.testing.assert_allclose(W, ETA * Y / seen_in, rtol=1e-12)


@pytest.mark.parametrize("shuffle", SHUFFLE)
@pytest.mark.parametrize("batch_size", [None, 5, 1], ids=lambda b: f"batch={b}")
def test_every_row_is_seen_once_in_each_of_several_epochs(backend, batch_size, shuffle):
    epochs = 3
    W, history = _fit_linear_probe(backend, epochs=epochs, batch_size=batch_size, shuffle=shuffle,
                                   random_state=3)
    m = _batch_sizes(batch_size)[0]  # batches all of one size here
    np.testing.assert_allclose((Y - W) / Y, (1 - ETA / m) ** epochs, rtol=1e-12)
    assert history.epochs == epochs


@pytest.mark.parametrize("random_state", [0, 1, 2])
def test_shuffled_ragged_epochs_each_visit_every_row_once(backend, random_state):
    """Batches of 4, 4, 2: over 3 epochs row i lands in the short batch cᵢ times, Σᵢ cᵢ = 3·2."""
    epochs, full, short = 3, 4, 2
    W, _ = _fit_linear_probe(backend, epochs=epochs, batch_size=full, shuffle=True, random_state=random_state)
    residual = (Y - W) / Y
    possible = np.array([(1 - ETA / full) ** (epochs - c) * (1 - ETA / short) ** c for c in range(epochs + 1)])
    c = np.argmin(np.abs(residual[:, None] - possible[None, :]), axis=1)
    np.testing.assert_allclose(residual, possible[c], rtol=1e-12)
    assert c.sum() == epochs * short


@pytest.mark.parametrize("shuffle", SHUFFLE)
def test_history_loss_is_the_mean_over_samples_not_over_batches(backend, shuffle):
    # Each row's loss before its own update is ½yᵢ² (W = 0 there, and no other row's step reaches it)
    _, history = _fit_linear_probe(backend, epochs=1, batch_size=4, shuffle=shuffle, random_state=5)
    per_row = 0.5 * Y**2
    assert history.loss[0] == pytest.approx(per_row.mean(), rel=1e-12)
    if not shuffle:  # batches 4, 4, 2: the mean of batch means would differ
        batch_means = [per_row[0:4].mean(), per_row[4:8].mean(), per_row[8:10].mean()]
        assert abs(np.mean(batch_means) - per_row.mean()) > 1e-3
