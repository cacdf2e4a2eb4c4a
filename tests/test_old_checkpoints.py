"""Checkpoints written before the issue-11 restructure (bpxp at main 4407317, tests/data/pre_i11_*) still load,
predict identically and resume."""

from pathlib import Path

import numpy as np

import bpxp

DATA = Path(__file__).parent / "data"


def expected():
    with np.load(DATA / "pre_i11_expected.npz") as archive:
        return {name: archive[name] for name in archive.files}


def test_pre_restructure_checkpoint_loads_and_predicts_identically():
    net = bpxp.load(DATA / "pre_i11_model.npz", backend="numpy")
    e = expected()
    assert net.layer_sizes == (3, 5, 3) and net.hidden == "tanh" and net.dtype_name == "float64"
    assert net.optimizer_.name == "adam" and net.optimizer_state_ is not None
    np.testing.assert_array_equal(bpxp.to_numpy(net.forward(e["X"])), e["outputs"])
    np.testing.assert_array_equal(bpxp.to_numpy(net.predict(e["X"])), e["labels"])


def test_pre_restructure_training_checkpoint_resumes_to_the_same_weights():
    e = expected()
    net = bpxp.MLP([3, 5, 3], hidden="tanh", dtype="float64", random_state=1)
    net.fit(e["X_train"], e["y_train"], epochs=5, batch_size=16, random_state=2,
            resume=DATA / "pre_i11_training.npz")
    np.testing.assert_array_equal(bpxp.to_numpy(net.forward(e["X"])), e["resumed_outputs"])
