"""What the scikit-learn drop-in added to the core: Nesterov's momentum and the learning-rate schedules, the
Poisson loss, sample weights, and L-BFGS-B training (``MLP.fit_lbfgs``) — each on every backend where it runs
on arrays, against hand-computed values, finite differences, or repeated rows."""

import numpy as np
import pytest
from conftest import assert_close

import bpxp
from bpxp.activations import get_activation
from bpxp.losses import get_loss
from bpxp.optimizers import Adaptive, Constant, InverseScaling, Nesterov, ScheduledRate
from bpxp.training import lbfgs, session


def test_nesterov_direction_by_hand():
    """v ← μv + g; d = g + μv: with μ = 0.5 and gradients 1, then 2: v = 1, d = 1.5; v = 2.5, d = 3.25."""
    rule = Nesterov(0.5)
    state = rule.init((np.zeros(1),), xp=np)
    (d,), state = rule.direction((np.ones(1),), state, xp=np)
    assert d[0] == 1.5 and state[0][0] == 1.0
    (d,), state = rule.direction((2 * np.ones(1),), state, xp=np)
    assert d[0] == 3.25 and state[0][0] == 2.5


def test_schedules_follow_scikit_learns_formulas():
    assert InverseScaling(0.1, 0.25).after_epoch(0.1, 8) == 0.1 / 9 ** 0.25
    assert Constant(0.1).after_epoch(0.1, 8) == 0.1 and Constant(0.1).on_plateau(0.1) == (0.1, True)
    rate = ScheduledRate.start(Adaptive(1e-5))
    assert not rate.plateau() and rate.learning_rate == pytest.approx(2e-6)  # η/5 and carry on
    assert not rate.plateau() and rate.learning_rate == pytest.approx(4e-7)
    assert rate.plateau()  # η ≤ 1e-6: stop


def _weighted_problem(seed=0, n=12):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    counts = rng.integers(0, 4, size=n)
    return X, rng.poisson(2.0, size=(n, 2)).astype(float), counts


@pytest.mark.parametrize(("output", "loss"), [("identity", "mse"), ("sigmoid", "binary_cross_entropy"),
                                              ("softmax", "cross_entropy"), ("exp", "poisson")])
def test_weighted_objective_equals_repeated_rows(backend, output, loss):
    """J with integer sample weights is J on the data with each row repeated that many times."""
    X, Y, counts = _weighted_problem()
    if loss != "mse" and loss != "poisson":
        Y = np.eye(2)[np.arange(len(X)) % 2]
    net = backend.mlp([3, 4, 2], hidden="tanh", output=output, loss=loss, dtype="float64", random_state=0)
    xp, layers = net.xp, (get_activation("tanh"), get_activation(output))
    rule = get_loss(loss, output=output)
    weighted = lbfgs.objective(net.weights, net.biases, [(backend.asarray(X), backend.asarray(Y),
                                                          backend.asarray(counts[:, None], "float64"))],
                               layers, rule, xp=xp, l2=0.1)
    rows = np.repeat(np.arange(len(X)), counts)
    repeated = lbfgs.objective(net.weights, net.biases, [(backend.asarray(X[rows]), backend.asarray(Y[rows]), None)],
                               layers, rule, xp=xp, l2=0.1)
    np.testing.assert_allclose(float(weighted[0]), float(repeated[0]), rtol=1e-12)
    for a, b in zip((*weighted[1], *weighted[2]), (*repeated[1], *repeated[2])):
        np.testing.assert_allclose(bpxp.to_numpy(a), bpxp.to_numpy(b), rtol=1e-10, atol=1e-14)


def test_poisson_gradient_matches_finite_differences(backend):
    X, Y, _ = _weighted_problem(1)
    net = backend.mlp([3, 4, 2], hidden="tanh", output="exp", loss="poisson", dtype="float64", random_state=0)
    analytic = bpxp.to_numpy(net.backward(X, Y).weights[0])
    W = bpxp.to_numpy(net.weights[0])
    numeric = np.zeros_like(W)
    for index in np.ndindex(W.shape):
        values = []
        for step in (1e-6, -1e-6):
            shifted = W.copy()
            shifted[index] += step
            probe = bpxp.MLP.from_weights([shifted, bpxp.to_numpy(net.weights[1])],
                                          [bpxp.to_numpy(b) for b in net.biases], hidden="tanh", output="exp",
                                          loss="poisson", backend="numpy", dtype="float64")
            values.append(probe.loss_value(X, Y))
        numeric[index] = (values[0] - values[1]) / 2e-6
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_lbfgs_gradient_matches_finite_differences():
    """The flat gradient SciPy receives is ∂J/∂θ of the flat vector (biases and penalty included)."""
    X, _, _ = _weighted_problem(2)
    Y = np.eye(3)[np.arange(len(X)) % 3]
    net = bpxp.MLP([3, 5, 3], hidden="relu", output="softmax", loss="cross_entropy", dtype="float64",
                   random_state=0)
    layers, rule = (get_activation("relu"), get_activation("softmax")), get_loss("cross_entropy", output="softmax")
    shapes = [w.shape for w in (*net.weights, *net.biases)]

    def J(theta):
        arrays = lbfgs.unpack(theta, shapes, xp=np, dtype=np.float64, device="cpu")
        value, dW, db = lbfgs.objective(arrays[:2], arrays[2:], [(X, Y, None)], layers, rule, xp=np, l2=0.3)
        return float(value), np.concatenate([g.ravel() for g in (*dW, *db)])

    theta = lbfgs.pack(net.weights, net.biases)
    _, gradient = J(theta)
    steps = np.eye(theta.size) * 1e-6
    numeric = np.array([(J(theta + e)[0] - J(theta - e)[0]) / 2e-6 for e in steps])
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-8)


def test_fit_lbfgs_converges_alike_on_every_backend(backend):
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    results = []
    for make in (lambda: bpxp.MLP([4, 8, 3], hidden="tanh", output="softmax", loss="cross_entropy",
                                  dtype="float64", random_state=0), lambda: backend.mlp(
            [4, 8, 3], hidden="tanh", output="softmax", loss="cross_entropy", dtype="float64", random_state=0)):
        net = make()
        result = net.fit_lbfgs(backend.asarray(X) if len(results) else X, backend.asarray(y) if len(results) else y,
                               max_iter=50, l2=1e-3)
        results.append((result, [bpxp.to_numpy(w) for w in net.weights]))
        assert result.n_iter <= 50 and net.score(X if len(results) == 1 else backend.asarray(X),
                                                 y if len(results) == 1 else backend.asarray(y)) > 0.95
    (reference, W_ref), (ours, W) = results
    assert ours.loss == pytest.approx(reference.loss, rel=1e-6)
    for a, b in zip(W, W_ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_fit_lbfgs_on_a_sparse_matrix_equals_dense():
    sparse = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 6)) * (rng.random((30, 6)) < 0.3)
    y = rng.normal(size=30)
    dense = bpxp.MLP([6, 4, 1], hidden="tanh", output="identity", dtype="float64", random_state=0, loss="mse")
    blocked = bpxp.MLP([6, 4, 1], hidden="tanh", output="identity", dtype="float64", random_state=0, loss="mse")
    a = dense.fit_lbfgs(X, y, max_iter=30)
    b = blocked.fit_lbfgs(sparse.csr_array(X), y, max_iter=30, block_rows=7)  # 5 blocks densified per evaluation
    assert a.loss == pytest.approx(b.loss, rel=1e-9)


@pytest.mark.numpy_session("estimator checks on host data run in the numpy session")
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_estimator_sample_weight_equals_repeated_rows(solver):
    """Full-batch training on integer weights follows the same path as on the repeated rows."""
    from bpxp.sklearn import MLPRegressor

    X, Y, counts = _weighted_problem(4, n=20)
    y = Y[:, 0]
    rows = np.repeat(np.arange(len(X)), counts)
    settings = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=30, tol=0, n_iter_no_change=100,
                    random_state=0, batch_size=200)
    with pytest.warns(Warning):  # ConvergenceWarning (30 iterations), and for sgd/adam the batch-size warning
        weighted = MLPRegressor(**settings).fit(X, y, sample_weight=counts)
    with pytest.warns(Warning):
        repeated = MLPRegressor(**settings).fit(X[rows], y[rows])
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("shuffle", [False, True], ids=["in-order", "shuffled"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_a_sparse_x_trains_as_the_same_x_dense(backend, weighted, shuffle):
    """A sparse X's mini-batches — densified as their steps come, Y and its weights checked and moved once, each
    batch's targets gathered on the device — train the network as the same X dense does, on every backend."""
    sparse = pytest.importorskip("scipy.sparse")
    from sklearn.exceptions import ConvergenceWarning

    from bpxp.sklearn import MLPRegressor

    X, Y, counts = _weighted_problem(6, n=23)
    X = X * (np.random.default_rng(7).random(X.shape) < 0.5)
    settings = dict(hidden_layer_sizes=(5,), max_iter=3, tol=0, n_iter_no_change=100, random_state=0, batch_size=5,
                    shuffle=shuffle, backend=backend.name, device=backend.device)
    fits = []
    for features in (X, sparse.csr_array(X)):
        with pytest.warns(ConvergenceWarning):
            fits.append(MLPRegressor(**settings).fit(features, Y, sample_weight=counts + 1 if weighted else None))
    dense, from_sparse = fits
    dtype = dense.network_.dtype_name
    assert_close(np.asarray(from_sparse.loss_curve_), np.asarray(dense.loss_curve_), dtype=dtype, float64_atol=1e-12)
    assert_close([*from_sparse.coefs_, *from_sparse.intercepts_], [*dense.coefs_, *dense.intercepts_], dtype=dtype,
                 float64_atol=1e-12)


@pytest.mark.numpy_session("estimator checks on host data run in the numpy session")
def test_estimator_conventions_as_scikit_learn():
    from bpxp.sklearn import MLPClassifier, MLPRegressor

    X = np.random.default_rng(5).normal(size=(30, 4))
    binary = MLPClassifier((3,), max_iter=5, verbose=0, random_state=0)
    with pytest.warns(Warning):
        binary.fit(X, np.arange(30) % 2)
    assert binary.n_outputs_ == 1 and binary.coefs_[-1].shape == (3, 1) and binary.out_activation_ == "logistic"
    assert binary.n_layers_ == 3 and binary.best_validation_score_ is None and binary.loss_ == binary.loss_curve_[-1]
    three = MLPClassifier((3,), max_iter=5, random_state=0)
    with pytest.warns(Warning):
        three.fit(X, np.arange(30) % 3)
    assert three.n_outputs_ == 3 and three.out_activation_ == "softmax" and three.t_ == 5 * 30
    assert issubclass(bpxp.TrainingDiverged, ValueError) and issubclass(bpxp.TrainingDiverged, ArithmeticError)
    poisson = MLPRegressor("poisson", (3,), solver="lbfgs", random_state=0).fit(X, np.arange(30) % 4)
    assert poisson.out_activation_ == "exp" and (poisson.predict(X) > 0).all()


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_weighted_scores_equal_scikit_learns(backend, task):
    from sklearn.metrics import accuracy_score, r2_score

    rng = np.random.default_rng(3)
    X, w = rng.normal(size=(40, 3)), rng.uniform(0.1, 3.0, size=40)
    if task == "classification":
        y = rng.integers(0, 3, size=40)
        net = bpxp.MLP([3, 4, 3], output="softmax", loss="cross_entropy", backend=backend.name,
                       device=backend.device, dtype="float64", random_state=0)
        expected = accuracy_score(y, np.argmax(bpxp.to_numpy(net.predict_proba(X)), axis=1), sample_weight=w)
    else:
        y = rng.normal(size=(40, 2))
        net = bpxp.MLP([3, 4, 2], output="identity", loss="mse", backend=backend.name, device=backend.device,
                       dtype="float64", random_state=0)
        expected = r2_score(y, bpxp.to_numpy(net.predict(X)), sample_weight=w)
    X_dev = session.features(net, X)
    Y_dev = session.targets(net, y, X_dev.shape[0])
    parameters = (net.weights, net.biases)
    weighted = session.validation(net, X_dev, Y_dev, sample_weight=backend.asarray(w))
    assert weighted.score(*parameters) == pytest.approx(expected, rel=1e-12)
    assert session.validation(net, X_dev, Y_dev).score(*parameters) == pytest.approx(net.score(X, y), rel=1e-12)


def test_early_stopping_scores_the_validation_split_with_its_sample_weights(monkeypatch):
    from sklearn.exceptions import ConvergenceWarning

    from bpxp.sklearn import MLPClassifier
    from bpxp.training.loop import Validation

    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(60, 4)), rng.integers(0, 2, size=60), rng.uniform(0.5, 2.0, size=60)
    seen = []
    validation = session.validation

    def recorded(net, X_val, Y_val, sample_weight=None):
        watched = validation(net, X_val, Y_val, sample_weight=sample_weight)

        def score(weights, biases):  # each epoch's score, with the rows and weights it was computed on
            seen.append((bpxp.to_numpy(X_val), None if sample_weight is None else bpxp.to_numpy(sample_weight)))
            return watched.score(weights, biases)

        return Validation(watched.loss, score)

    monkeypatch.setattr(session, "validation", recorded)
    with pytest.warns(ConvergenceWarning):
        MLPClassifier(hidden_layer_sizes=(5,), early_stopping=True, validation_fraction=0.25, max_iter=2,
                      random_state=0).fit(X, y, sample_weight=w)
    assert len(seen) == 2
    X_val, weights = seen[0]
    rows = [int(np.flatnonzero(np.all(np.isclose(X, row), axis=1))[0]) for row in X_val]
    np.testing.assert_allclose(weights, w[rows], rtol=1e-12)
