"""Training on Dask arrays gives the in-memory answer, survives a lost worker and data larger than memory.

The chunks are the backend's arrays: NumPy here, CuPy in the CuPy session on a GPU machine. The cluster is a
LocalCluster of worker processes on the loopback interface.
"""

import itertools
import os
import signal
import threading

import numpy as np
import pytest

import bpxp
from bpxp.dask import chunks as dask_chunks
from bpxp.dask import store as dask_store

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


pytestmark = pytest.mark.usefixtures("dask_session")


@pytest.fixture
def chunks_of(backend):
    """Host data → a Dask array whose chunks are this backend's arrays (NumPy or CuPy)."""
    if backend.name not in ("numpy", "cupy"):
        pytest.skip("Dask chunks are NumPy or CuPy arrays")

    def make(host, rows):
        data = backend.asarray(host, dtype=np.asarray(host).dtype)
        chunks = (rows, *np.shape(host)[1:])
        return da.from_array(data, chunks=chunks, asarray=False)

    return make


def _data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.8).astype(int)


def _network(**options):
    return bpxp.MLP([5, 7, 3], hidden="tanh", output="softmax", loss="cross_entropy", dtype="float64",
                    random_state=0, **options)


def _assert_weights_close(actual, expected, atol=1e-10):
    for a, e in zip([*actual.weights, *actual.biases], [*expected.weights, *expected.biases], strict=True):
        np.testing.assert_allclose(bpxp.to_numpy(a), bpxp.to_numpy(e), rtol=0, atol=atol)


TRAININGS = {
    "20 full-batch epochs": dict(epochs=20, learning_rate=0.5, optimizer="sgd", batch_size=None),
    "2 mini-batch epochs": dict(epochs=2, learning_rate=0.1, batch_size=64, shuffle=False, optimizer="sgd"),
    "adam across chunk edges": dict(epochs=2, learning_rate=0.01, batch_size=100, shuffle=False, optimizer="adam"),
    "shuffled, l2, clipped": dict(epochs=2, learning_rate=0.1, batch_size=50, random_state=0, l2=0.1,
                                  clip_norm=0.5, optimizer="momentum"),
}


@pytest.mark.parametrize("training", TRAININGS, ids=list(TRAININGS))
@pytest.mark.parametrize("scheduler", ["local processes", "default"])
def test_training_on_dask_equals_training_in_memory(chunks_of, client, training, scheduler):
    X, y = _data()
    in_memory, chunked = _network(), _network()
    expected = in_memory.fit(X, y, **TRAININGS[training])
    if scheduler == "local processes":
        with client.as_current():
            history = chunked.fit(chunks_of(X, 70), chunks_of(y, 70), **TRAININGS[training])
    else:
        history = chunked.fit(chunks_of(X, 70), chunks_of(y, 70), **TRAININGS[training])
    _assert_weights_close(chunked, in_memory)
    np.testing.assert_allclose(history.loss, expected.loss, rtol=1e-12)


def test_a_dataframe_trains_through_to_dask_array(client):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, y = _data()
    frame = dd.from_pandas(pd.DataFrame(X, columns=list("abcde")).assign(target=y), npartitions=4)
    features, target = frame[list("abcde")].to_dask_array(lengths=True), frame["target"].to_dask_array(lengths=True)
    chunked, in_memory = _network(), _network()
    with client.as_current():
        chunked.fit(features, target, epochs=3, learning_rate=0.2, batch_size=128, shuffle=False, optimizer="sgd")
    in_memory.fit(X, y, epochs=3, learning_rate=0.2, batch_size=128, shuffle=False, optimizer="sgd")
    _assert_weights_close(chunked, in_memory)


def test_unknown_chunk_sizes_train_full_batch_and_ask_for_sizes_for_mini_batches():
    X, y = _data()
    X_dask, y_dask = da.from_array(X, chunks=(100, 5)), da.from_array(y, chunks=100)
    unknown_X, unknown_y = X_dask[X_dask[:, 0] > -10], y_dask[X_dask[:, 0] > -10]  # all rows, sizes unknown
    assert np.isnan(unknown_X.shape[0])
    chunked, in_memory = _network(), _network()
    chunked.fit(unknown_X, unknown_y, epochs=3, learning_rate=0.5, optimizer="sgd", batch_size=None)
    in_memory.fit(X, y, epochs=3, learning_rate=0.5, optimizer="sgd", batch_size=None)
    _assert_weights_close(chunked, in_memory)
    with pytest.raises(ValueError, match=r"`batch_size` needs the row count of each chunk.*compute_chunk_sizes"):
        chunked.fit(unknown_X, unknown_y, epochs=1, learning_rate=0.1, batch_size=32, optimizer="sgd")


def test_predict_on_dask_arrays_is_lazy_and_chunk_wise_and_the_score_a_float(chunks_of):
    X, y = _data()
    net = _network()
    net.fit(X, y, epochs=5, learning_rate=0.5, optimizer="sgd", batch_size=None)
    X_dask, y_dask = chunks_of(X, 70), chunks_of(y, 70)
    labels, outputs, score = net.predict(X_dask), net.forward(X_dask), net.score(X_dask, y_dask)
    assert all(isinstance(a, da.Array) for a in (labels, outputs)) and type(score) is float
    assert labels.chunks[0] == X_dask.chunks[0]
    np.testing.assert_array_equal(bpxp.to_numpy(labels.compute()), net.predict(X))
    np.testing.assert_allclose(bpxp.to_numpy(outputs.compute()), net.forward(X), rtol=0, atol=1e-12)
    assert score == pytest.approx(net.score(X, y), abs=1e-12)


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_the_validation_score_added_up_chunk_by_chunk_equals_the_score_of_the_whole(backend, task):
    """Accuracy, or R² with a constant output column, from the chunks' sums (an empty chunk among them)."""
    if backend.name not in ("numpy", "cupy"):
        pytest.skip("Dask chunks are NumPy or CuPy arrays")
    X, labels = _data()
    if task == "multiclass":
        net, Y, y = _network(), np.eye(3)[labels], labels
    else:
        net = bpxp.MLP([5, 7, 2], hidden="tanh", output="identity", loss="mse", dtype="float64", random_state=0)
        Y = y = np.stack([X[:, 0] - X[:, 1], np.full(len(X), 2.0)], axis=1)  # R² of a constant column: 0
    weights, biases = [bpxp.to_numpy(w) for w in net.weights], [bpxp.to_numpy(b) for b in net.biases]
    bounds = [0, 70, 70, 250, 600]
    vectors = [dask_chunks.piece_score(backend.asarray(X[a:b], dtype=X.dtype), backend.asarray(Y[a:b], dtype=Y.dtype),
                                       weights, biases, net.spec) for a, b in itertools.pairwise(bounds)]
    assert dask_chunks.score_of(vectors, net.spec) == pytest.approx(net.score(X, y), rel=1e-12)


def test_bad_dask_input_gets_a_clear_error(client):
    X, y = _data()
    net = _network()
    X_dask = da.from_array(X, chunks=(100, 5))
    with pytest.raises(ValueError, match=r"`X` has 4 columns but the network's input layer has 5"):
        net.fit(X_dask[:, :4], y, epochs=1, learning_rate=0.1, optimizer="sgd", batch_size=None)
    with pytest.raises(ValueError, match=r"`y` has 599 rows but `X` has 600"):
        net.fit(X_dask, da.from_array(y[:-1], chunks=100), epochs=1, learning_rate=0.1, optimizer="sgd",
                batch_size=None)
    with pytest.raises(ValueError, match=r"`early_stopping` needs `validation_data`"):
        net.fit(X_dask, y, epochs=1, learning_rate=0.1, early_stopping=2, optimizer="sgd", batch_size=None)
    with pytest.raises(ValueError, match=r"`validation_data\[0\]` has 4 columns but the network's input layer"):
        net.fit(X_dask, y, epochs=1, learning_rate=0.1, validation_data=(X_dask[:, :4], y),
                optimizer="sgd", batch_size=None)
    X_nan = X.copy()
    X_nan[5, 2] = np.nan
    with pytest.raises(ValueError, match=r"`X` contains NaN"):
        net.fit(da.from_array(X_nan, chunks=(100, 5)), y, epochs=1, learning_rate=0.1, optimizer="sgd", batch_size=None)
    with client.as_current(), pytest.raises(ValueError, match=r"`X` contains NaN"):  # mini-batch: chunks kept
        net.fit(da.from_array(X_nan, chunks=(100, 5)), y, epochs=1, learning_rate=0.1, batch_size=32, optimizer="sgd")


def test_divergence_on_dask_is_caught_like_in_memory():
    X, _ = _data()
    regression = X @ np.arange(1.0, 6.0)
    net = bpxp.MLP([5, 8, 1], hidden="relu", output="identity", dtype="float64", random_state=0, loss="mse")
    with pytest.raises(bpxp.TrainingDiverged, match=r"diverged at epoch \d+") as caught:
        net.fit(da.from_array(X, chunks=(100, 5)), regression, epochs=500, learning_rate=5.0,
                optimizer="sgd", batch_size=None)
    assert all(np.isfinite(w).all() for w in net.weights) and caught.value.epoch > 0


def _worker_pids(client):
    return set(client.run(os.getpid).values())


KILLED_DURING = {
    "plain mini-batch epochs": dict(),
    "epochs with validation and early stopping": dict(validation=True, early_stopping=5),
}


@pytest.mark.parametrize("during", KILLED_DURING, ids=list(KILLED_DURING))
def test_a_worker_killed_mid_epoch_changes_nothing(client, during, monkeypatch):
    X, y = _data(n=3000)
    X_dask, y_dask = da.from_array(X, chunks=(100, 5)), da.from_array(y, chunks=100)
    options = dict(epochs=2, learning_rate=0.1, batch_size=250, shuffle=False, optimizer="sgd")
    extra = dict(KILLED_DURING[during])
    if extra.pop("validation", False):
        X_val, y_val = _data(n=400, seed=1)
        extra["validation_data"] = (da.from_array(X_val, chunks=(150, 5)), da.from_array(y_val, chunks=150))
    with client.as_current():
        undisturbed = _network()
        expected = undisturbed.fit(X_dask, y_dask, **options, **extra)
        victim = sorted(_worker_pids(client))[0]
        steps, killer = [], threading.Thread(target=os.kill, args=(victim, signal.SIGKILL))
        step = dask_store.WorkerChunks.sums

        def sums_killing_a_worker_in_the_middle_of_the_second_epoch(store, *args):
            steps.append(None)
            if len(steps) == 12 + 6:  # 12 steps an epoch: the kill races this step's calls to the workers
                killer.start()
            elif len(steps) == 12 + 7:
                killer.join()  # by the next step, the worker is gone
            return step(store, *args)

        monkeypatch.setattr(dask_store.WorkerChunks, "sums", sums_killing_a_worker_in_the_middle_of_the_second_epoch)
        disturbed = _network()
        history = disturbed.fit(X_dask, y_dask, **options, **extra)
        assert len(steps) == 24 and not killer.is_alive()
        client.wait_for_workers(2, timeout=60)
        assert victim not in _worker_pids(client)  # the nanny started a fresh worker in its place
    for a, e in zip([*disturbed.weights, *disturbed.biases], [*undisturbed.weights, *undisturbed.biases], strict=True):
        np.testing.assert_array_equal(a, e)
    assert history.loss == expected.loss and history.val_loss == expected.val_loss


def test_a_dataset_three_times_the_cluster_memory_trains_an_epoch(request):
    """20 million rows × 16 float64 features (2.6 GB) on two workers limited to 400 MB each (0.8 GB).

    A soak of NumPy chunks (about 25 s on a busy 2-core machine), so it runs in the numpy session only: the CuPy
    session's Dask tests are those whose chunks are the backend's arrays."""
    if "numpy" not in request.config.bpxp_backends:
        pytest.skip("the 3×-memory soak runs in the numpy session (its chunks are NumPy arrays)")
    from distributed.diagnostics import MemorySampler

    rows, features, limit = 20_000_000, 16, 400 * 2**20
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit=limit,
                                  dashboard_address=":0", host="127.0.0.1") as cluster, \
            distributed.Client(cluster, set_as_default=False) as client, client.as_current():
        X = da.random.default_rng(0).standard_normal((rows, features), chunks=(250_000, features))
        y = (X[:, 0] + X[:, 1] > 0).astype("int64")
        assert X.nbytes >= 3 * 2 * limit
        pids = _worker_pids(client)
        sampler = MemorySampler()
        net = bpxp.MLP([features, 8, 1], dtype="float64", random_state=0,
                       hidden="sigmoid", output="sigmoid", loss="mse")
        with sampler.sample("epoch", client=client, measure="process", interval=0.2):
            history = net.fit(X, y, epochs=1, learning_rate=0.5, optimizer="sgd", batch_size=None)
        peak = sampler.to_pandas()["epoch"].max()
        assert _worker_pids(client) == pids, "a worker was killed (or restarted) during the epoch"
    assert np.isfinite(history.loss[0])
    print(f"\n{X.nbytes / 2**30:.2f} GiB of data, 2 workers × {limit / 2**20:.0f} MiB; "
          f"peak memory of the cluster's processes {peak / 2**20:.0f} MiB")
