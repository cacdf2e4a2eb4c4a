"""bpxp.onnx.register_skl2onnx: skl2onnx converts bpxp's estimators inside a Pipeline; onnxruntime agrees."""

import warnings

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("ndonnx")
skl2onnx = pytest.importorskip("skl2onnx")
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import bpxp.onnx  # noqa: E402
from bpxp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

pytestmark = pytest.mark.numpy_session("host estimators: the numpy session")


@pytest.fixture(scope="module", autouse=True)
def registered():
    bpxp.onnx.register_skl2onnx()
    bpxp.onnx.register_skl2onnx()  # twice changes nothing


def rows(n, seed=0):
    return (np.random.default_rng(seed).normal(size=(n, 4)) * 5 + 3).astype(np.float32)


def pipeline(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after a few epochs
        return Pipeline([("scale", StandardScaler()), ("mlp", estimator)]).fit(X, y)


def run(model, X):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})


CLASSES = {"strings": np.array(["cat", "dog", "emu"]), "integers": np.array([3, 7, 11]),
           "two": np.array(["no", "yes"]), "floats": np.array([0.0, 1.0, 2.0])}


@pytest.mark.parametrize("hidden", ["relu", "logistic", "leaky_relu"])
@pytest.mark.parametrize("classes", CLASSES, ids=list(CLASSES))
def test_a_pipeline_with_a_classifier_converts(classes, hidden):
    X = rows(90)
    y = CLASSES[classes][np.arange(90) % len(CLASSES[classes])]
    model = pipeline(MLPClassifier((8,), activation=hidden, max_iter=5, random_state=0), X, y)
    onnx_model = skl2onnx.to_onnx(model, X[:1], options={"zipmap": False})
    Xn = rows(1000, seed=1)
    label, probabilities = run(onnx_model, Xn)
    np.testing.assert_array_equal(label, model.predict(Xn))
    np.testing.assert_allclose(probabilities, model.predict_proba(Xn), rtol=1e-5, atol=1e-6)


def test_the_default_zipmap_gives_a_dictionary_per_row():
    X, y = rows(60), np.array(["a", "b", "c"])[np.arange(60) % 3]
    model = pipeline(MLPClassifier((8,), max_iter=5, random_state=0), X, y)
    label, probabilities = run(skl2onnx.to_onnx(model, X[:1]), X[:2])
    assert list(label) == list(model.predict(X[:2]))
    assert probabilities[0] == pytest.approx(dict(zip("abc", model.predict_proba(X[:1])[0])), rel=1e-5)


@pytest.mark.parametrize("features", ["float32", "float64"])
def test_a_classifier_trained_on_float64_data_converts_as_scikit_learns_does(features):
    """Probabilities come in the incoming features' float type, as skl2onnx's own classifiers give them: float32
    features take the default ZipMap (float32 only) though the network computes in float64."""
    X, y = rows(60).astype(np.float64), np.array(["a", "b", "c"])[np.arange(60) % 3]
    model = pipeline(MLPClassifier((8,), max_iter=5, random_state=0), X, y)
    assert model[-1].network_.dtype_name == "float64"
    options = None if features == "float32" else {"zipmap": False}  # skl2onnx's ZipMap takes no float64
    label, probabilities = run(skl2onnx.to_onnx(model, X[:1].astype(features), options=options), X.astype(features))
    np.testing.assert_array_equal(label, model.predict(X))
    expected = model.predict_proba(X)
    if features == "float32":
        assert probabilities[0] == pytest.approx(dict(zip("abc", expected[0])), rel=1e-5)
    else:
        assert probabilities.dtype == np.float64
        np.testing.assert_allclose(probabilities, expected, rtol=1e-12, atol=1e-15)


def test_a_multilabel_classifier_converts():
    X = rows(60)
    Y = np.stack([np.arange(60) % 2, (np.arange(60) // 2) % 2], axis=1)
    model = pipeline(MLPClassifier((8,), max_iter=5, random_state=0), X, Y)
    label, probabilities = run(skl2onnx.to_onnx(model, X[:1], options={"zipmap": False}), X)
    np.testing.assert_array_equal(label, model.predict(X))
    np.testing.assert_allclose(probabilities, model.predict_proba(X), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("targets", ["1-d", 2])
def test_a_pipeline_with_a_regressor_converts(targets):
    X = rows(60)
    y = X[:, 0] if targets == "1-d" else X[:, :targets]
    model = pipeline(MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0), X, y)
    (values,) = run(skl2onnx.to_onnx(model, X[:1]), rows(7, seed=2))
    expected = model.predict(rows(7, seed=2))
    np.testing.assert_allclose(values, expected.reshape(7, -1), rtol=1e-5, atol=1e-6)  # (N, 1) as skl2onnx's


def test_a_float64_network_behind_float32_features_casts_them():
    X, y = rows(60), np.arange(60) % 3
    model = pipeline(MLPClassifier((8,), max_iter=5, random_state=0, dtype="float64"), X, y)
    label, probabilities = run(skl2onnx.to_onnx(model, X[:1], options={"zipmap": False}), X)
    np.testing.assert_array_equal(label, model.predict(X))
    np.testing.assert_allclose(probabilities, model.predict_proba(X), rtol=1e-5, atol=1e-6)
