"""``bpxp.MLP`` offers what a user calls and nothing else: the methods and properties documented in its reference,
and the attributes a network holds. Plumbing — the steps of a fit, the checks of its inputs — lives in functions of
the floors below (``bpxp.training.session``, ``bpxp.backend.inputs``, ...) and cannot creep back unnoticed.
"""

import pydoc
import re

import numpy as np

import bpxp

METHODS = {
    "from_weights", "from_checkpoint",  # constructors (MLP(...) itself, and bpxp.load's)
    "fit", "fit_lbfgs",  # training
    "predict", "predict_proba", "score",  # what the outputs mean
    "forward", "logits", "backward", "loss_value",  # the math
    "copy_parameters", "set_parameters", "save",  # the parameters, by whole sets; the file
}
PROPERTIES = {"spec", "layer_sizes", "hidden", "output", "loss", "dtype_name", "precision", "task", "xp", "n_layers"}
HELD = {"weights", "biases", "backend", "device", "dtype"}  # every network's
AFTER_FIT = {"optimizer_", "optimizer_state_"}  # the rule and its state that trained the parameters
REMOVED = ("prepare", "prepare_features", "prepare_targets", "prepare_validation", "train_prepared", "score_prepared",
           "resumed_training", "training_checkpointer")


def test_the_class_offers_exactly_the_documented_methods_and_properties():
    public = {name for name in dir(bpxp.MLP) if not name.startswith("_")}
    assert public == METHODS | PROPERTIES
    assert {name for name in public if isinstance(getattr(bpxp.MLP, name), property)} == PROPERTIES
    assert all(getattr(bpxp.MLP, name).__doc__ for name in public)


def test_help_lists_no_plumbing():
    text = pydoc.render_doc(bpxp.MLP, renderer=pydoc.plaintext)
    listed = set(re.findall(r"^ \|  (\w+)\(", text, flags=re.MULTILINE))
    assert listed - {"MLP", "__init__", "__repr__", "__getstate__", "__setstate__"} == METHODS
    assert not any(name in listed for name in REMOVED)


def test_a_network_holds_exactly_its_documented_attributes_before_and_after_fit(backend):
    net = backend.mlp([2, 3, 1], hidden="sigmoid", output="sigmoid", loss="mse", random_state=0)
    assert {name for name in vars(net) if not name.startswith("_")} == HELD
    net.fit(np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([1.0, 0.0]), epochs=1)
    assert {name for name in vars(net) if not name.startswith("_")} == HELD | AFTER_FIT
