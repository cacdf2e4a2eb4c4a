"""bpxp.onnx.export: the network's own forward pass as an ONNX graph, run by onnxruntime, equals predict.

Every hidden activation × output × loss, float32 and float64, batches of 1, 7 and 1,000 rows; the estimators'
labels (strings included), probabilities and values; a model trained on each backend; the graph's size against
skl2onnx's for the same network; one clear error for an unfitted estimator and for a missing ndonnx.
"""

import sys
import warnings

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("ndonnx")

import bpxp  # noqa: E402
import bpxp.onnx  # noqa: E402
from bpxp.math.activations import HIDDEN_ACTIVATIONS  # noqa: E402

BATCHES = (1, 7, 1000)
# (output, loss, output units): every pairing the losses accept, sigmoid and identity also with one unit
OUTPUTS = [("softmax", "cross_entropy", 3), ("softmax", "mse", 3), ("sigmoid", "binary_cross_entropy", 1),
           ("sigmoid", "binary_cross_entropy", 3), ("sigmoid", "mse", 3), ("identity", "mse", 1),
           ("identity", "mse", 2), ("tanh", "mse", 2), ("relu", "mse", 2), ("leaky_relu", "mse", 2),
           ("exp", "poisson", 2), ("exp", "mse", 1)]
TOLERANCE = {"float32": 1e-6, "float64": 1e-12}  # relative


pytestmark = pytest.mark.numpy_session("exports of host-trained models run in the numpy session", without_backend=True)


def run(model, X):
    """The model's outputs from onnxruntime, by name."""
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, {"X": X})))


def rows(n, n_features=5, dtype="float32", seed=0):
    return np.random.default_rng(seed).normal(size=(n, n_features)).astype(dtype)


def assert_close(actual, expected, dtype):
    # relative to each array's scale: a probability of 1e-9 next to 0.99 is compared at the row's scale
    scale = max(float(np.max(np.abs(expected))), 1e-30)
    np.testing.assert_allclose(actual, expected, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype] * scale)


# every hidden activation in float32; float64 with one of them (ndonnx records ~1 s per layer: the matrix is kept lean)
DTYPES = [(hidden, "float32") for hidden in HIDDEN_ACTIVATIONS] + [("tanh", "float64")]


@pytest.mark.parametrize("output,loss,units", OUTPUTS, ids=[f"{o}-{loss}-{k}" for o, loss, k in OUTPUTS])
@pytest.mark.parametrize("hidden,dtype", DTYPES, ids=[f"{h}-{d}" for h, d in DTYPES])
def test_onnxruntime_equals_predict_for_every_activation_output_and_loss(hidden, dtype, output, loss, units):
    net = bpxp.MLP([5, 8, units], hidden=hidden, output=output, loss=loss, dtype=dtype, random_state=1)
    model = bpxp.onnx.export(net)
    for n in BATCHES:
        X = rows(n, dtype=dtype, seed=n)
        got = run(model, X)
        if net.task == "regression":
            assert_close(got["variable"], np.asarray(net.predict(X)), dtype)
            continue
        np.testing.assert_array_equal(got["label"], np.asarray(net.predict(X)))
        if output == "sigmoid" and loss == "mse" and units > 1:  # scores, not probabilities: no such output
            assert "probabilities" not in got
        else:
            assert_close(got["probabilities"], np.asarray(net.predict_proba(X)), dtype)


def test_the_model_has_a_dynamic_batch_its_weights_as_initializers_and_no_large_constants():
    net = bpxp.MLP([5, 16, 3], random_state=0)
    model = bpxp.onnx.export(net)
    (X,) = model.graph.input
    assert X.name == "X" and X.type.tensor_type.shape.dim[0].dim_param == "N"
    assert X.type.tensor_type.shape.dim[1].dim_value == 5
    sizes = sorted(int(np.prod(t.dims)) for t in model.graph.initializer)
    assert sizes[-4:] == [3, 16, 48, 80]  # b², b¹, W², W¹
    assert not [n for n in model.graph.node if n.op_type in ("Constant", "If", "Identity", "IsNaN")]


def test_export_writes_the_model_when_given_a_path(tmp_path):
    import onnx

    net = bpxp.MLP([5, 4, 2], output="identity", loss="mse", random_state=0)
    returned = bpxp.onnx.export(net, tmp_path / "net.onnx")
    assert onnx.load(tmp_path / "net.onnx") == returned


def test_an_older_opset_is_honoured():
    net = bpxp.MLP([5, 4, 3], random_state=0)
    model = bpxp.onnx.export(net, opset=18)
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [18]
    X = rows(7)
    np.testing.assert_allclose(run(model, X)["probabilities"], np.asarray(net.predict_proba(X)), rtol=1e-6)


def test_an_empty_batch_runs():
    got = run(bpxp.onnx.export(bpxp.MLP([5, 4, 3], random_state=0)), rows(0))
    assert got["label"].shape == (0,) and got["probabilities"].shape == (0, 3)


def test_a_model_trained_on_any_backend_exports(backend):
    X, y = rows(40, dtype="float32"), np.arange(40) % 3
    net = backend.mlp([5, 8, 3], dtype="float32", random_state=0)
    net.fit(backend.asarray(X, dtype="float32"), backend.asarray(y), epochs=3)
    got = run(bpxp.onnx.export(net), X)
    np.testing.assert_array_equal(got["label"], bpxp.to_numpy(net.predict(backend.asarray(X, dtype="float32"))))
    assert_close(got["probabilities"], bpxp.to_numpy(net.predict_proba(backend.asarray(X, dtype="float32"))),
                 "float32")


# -- the estimators -------------------------------------------------------------------------------------------------
sklearn = pytest.importorskip("sklearn")
from bpxp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

LABELS = {"strings": np.array(["cat", "dog", "emu"]), "integers": np.array([3, 7, 11]),
          "two strings": np.array(["no", "yes"]), "one class": np.array(["only"])}


def fitted(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after a few epochs
        return estimator.fit(X, y)


@pytest.mark.parametrize("labels", LABELS, ids=list(LABELS))
def test_a_classifier_exports_its_labels_and_probabilities(labels):
    X = rows(60)
    y = LABELS[labels][np.arange(60) % len(LABELS[labels])]
    clf = fitted(MLPClassifier((8,), max_iter=5, random_state=0), X, y)
    model = bpxp.onnx.export(clf)
    for n in BATCHES:
        Xn = rows(n, seed=n)
        got = run(model, Xn)
        np.testing.assert_array_equal(got["label"], clf.predict(Xn))
        assert_close(got["probabilities"], clf.predict_proba(Xn), "float32")


def test_a_multilabel_classifier_exports_its_indicator_matrix():
    X = rows(60)
    Y = np.stack([np.arange(60) % 2, (np.arange(60) // 2) % 2, np.arange(60) % 3 == 0], axis=1).astype(int)
    clf = fitted(MLPClassifier((8,), max_iter=5, random_state=0), X, Y)
    got = run(bpxp.onnx.export(clf), rows(1000, seed=3))
    np.testing.assert_array_equal(got["label"], clf.predict(rows(1000, seed=3)))
    assert_close(got["probabilities"], clf.predict_proba(rows(1000, seed=3)), "float32")


@pytest.mark.parametrize("targets", [1, 2, "1-d"])
def test_a_regressor_exports_its_values_in_predicts_shape(targets):
    X = rows(60)
    y = X[:, 0] if targets == "1-d" else X[:, :targets]
    reg = fitted(MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0), X, y)
    for n in BATCHES:
        Xn = rows(n, seed=n)
        got = run(bpxp.onnx.export(reg), Xn)["variable"]
        assert got.shape == reg.predict(Xn).shape
        assert_close(got, reg.predict(Xn), "float32")


def test_a_float64_estimator_takes_float64_rows():
    X = rows(60, dtype="float64")
    clf = fitted(MLPClassifier((8,), max_iter=5, random_state=0, dtype="float64"), X, np.arange(60) % 3)
    got = run(bpxp.onnx.export(clf), X)
    assert_close(got["probabilities"], clf.predict_proba(X), "float64")


@pytest.mark.parametrize("units", [1, 3], ids=["binary", "multiclass"])
def test_scaling_runs_inside_the_graph_and_classes_name_the_labels(units):
    """With ``scaling`` the model takes the features before standardising; with ``classes`` an MLP's labels are
    those values: ONNX on X equals predict on (X − mean)/scale, its indices mapped to the classes."""
    output, loss = ("sigmoid", "binary_cross_entropy") if units == 1 else ("softmax", "cross_entropy")
    net = bpxp.MLP([5, 8, units], hidden="relu", output=output, loss=loss, dtype="float32", random_state=2)
    mean, scale = np.linspace(-2.0, 3.0, 5), np.linspace(0.5, 4.0, 5)
    classes = ["no", "yes"] if units == 1 else ["setosa", "versicolor", "virginica"]
    X = rows(50, seed=3) * 3.0 + 1.0
    got = run(bpxp.onnx.export(net, scaling=(mean, scale), classes=classes), X)
    standardised = ((X - mean) / scale).astype("float32")
    assert got["label"].tolist() == np.asarray(classes)[bpxp.to_numpy(net.predict(standardised))].tolist()
    assert_close(got["probabilities"], bpxp.to_numpy(net.predict_proba(standardised)), "float32")


@pytest.mark.parametrize("options,message", [
    (dict(scaling=([0.0] * 4, [1.0] * 5)), r"`scaling` must hold a mean and a scale per input feature, shapes "
                                           r"\(5,\) each, got \(4,\) and \(5,\)"),
    (dict(scaling=("mean", "scale")), r"`scaling` must be a pair \(mean, scale\) of numbers per input feature"),
    (dict(classes=["a", "b"]), r"`classes` must name each class of a classifier \(3 for this network's multiclass "
                               r"outputs\), got 2"),
    (dict(classes="abc"), r"`classes` must be a sequence of class values, got 'abc'"),
], ids=["scaling-of-another-width", "scaling-not-numbers", "classes-too-few", "classes-a-string"])
def test_a_bad_scaling_or_classes_is_one_clear_error(options, message):
    with pytest.raises(ValueError, match=message):
        bpxp.onnx.export(bpxp.MLP([5, 4, 3], output="softmax", loss="cross_entropy", random_state=0), **options)


def test_classes_are_for_an_mlp_an_estimators_are_its_own():
    from bpxp.sklearn import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier((3,), max_iter=2, random_state=0).fit(rows(20), np.arange(20) % 2)
    with pytest.raises(ValueError, match=r"`classes` is for a bpxp.MLP: an estimator's labels are its `classes_`"):
        bpxp.onnx.export(clf, classes=[0, 1])


def test_an_unfitted_estimator_is_one_clear_error():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match=r"MLPClassifier.*not fitted"):
        bpxp.onnx.export(MLPClassifier())


def test_anything_else_is_one_clear_error():
    with pytest.raises(TypeError, match=r"`model` must be a bpxp\.MLP or a fitted bpxp\.sklearn estimator, got str"):
        bpxp.onnx.export("net.npz")


def test_a_missing_ndonnx_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ndonnx", None)  # import ndonnx now raises ImportError
    with pytest.raises(ImportError, match=r"needs ndonnx and onnx; install them with: .*\.\[onnx\]"):
        bpxp.onnx.export(bpxp.MLP([5, 4, 3], random_state=0))


# -- the graph's size next to skl2onnx's --------------------------------------------------------------------------
SKL2ONNX_ACTIVATIONS = {"relu": "relu", "logistic": "sigmoid", "tanh": "tanh", "identity": "identity"}


@pytest.mark.parametrize("task", ["multiclass", "binary", "regression"])
@pytest.mark.parametrize("activation", SKL2ONNX_ACTIVATIONS)
def test_the_graph_has_at_most_three_nodes_more_than_skl2onnxs(activation, task):
    pytest.importorskip("skl2onnx")
    from skl2onnx import to_onnx
    from sklearn.neural_network import MLPClassifier as SklearnClassifier
    from sklearn.neural_network import MLPRegressor as SklearnRegressor

    X, y = rows(60), np.arange(60) % (2 if task == "binary" else 3)
    theirs = SklearnRegressor if task == "regression" else SklearnClassifier
    ours = MLPRegressor if task == "regression" else MLPClassifier
    options = {} if task == "regression" else {"zipmap": False}  # both give labels and a probability matrix
    reference = fitted(theirs(hidden_layer_sizes=(8, 8), activation=activation, max_iter=5), X, y)
    estimator = fitted(ours(hidden_layer_sizes=(8, 8), activation=SKL2ONNX_ACTIVATIONS[activation], max_iter=5), X, y)
    skl2onnx_nodes = len(to_onnx(reference, X[:1], options=options).graph.node)
    assert len(bpxp.onnx.export(estimator).graph.node) <= skl2onnx_nodes + 3
