"""
The two seed tutorials, reproduced
==================================

bpxp grew out of two classic NumPy backprop tutorials; both are plain gradient descent on half the mean squared
error, and bpxp reproduces them digit for digit in float64.

**Iris, one step** (Sebastian Mantey, "Basics of Deep Learning", part 13): three flowers through a 4-2-3
sigmoid network without biases, one full-batch step with η = 0.1, weights from ``numpy.random.seed(10)``.

**Graduate-school admissions** (Udacity, "Implementing backpropagation"): a 6-2-1 sigmoid network, 900 epochs
of full-batch gradient descent with η = 0.005. Its data is not bundled: this example reads ``binary.csv`` from
the folder in ``BPXP_DATA``, else from ``../shared/data`` beside the clone, and skips that half without it.
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import bpxp

# %%
# Iris: the tutorial's three flowers, its weights, one step
flowers = np.array([[4.9, 3.0, 1.4, 0.2], [6.4, 3.2, 4.5, 1.5], [5.8, 2.7, 5.1, 1.9]])
targets = np.eye(3)
stream = np.random.RandomState(10)
weights = [stream.normal(scale=0.5, size=(4, 2)), stream.normal(scale=0.5, size=(2, 3))]
net = bpxp.MLP.from_weights(weights, hidden="sigmoid", output="sigmoid", loss="mse")
before = net.loss_value(flowers, targets)
net.fit(flowers, targets, epochs=1, learning_rate=0.1, optimizer="sgd", batch_size=None)
after = net.loss_value(flowers, targets)
print(f"MSE before the step  tutorial 0.13831126800831411  bpxp {before!r}")
print(f"MSE after the step   tutorial 0.1379749216970851   bpxp {after!r}")

# %%
# Admissions: the tutorial's preparation (one-hot rank, standardised gre/gpa, a seeded 360/40 split)


def admissions_csv():
    here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
    for folder in (os.environ.get("BPXP_DATA"), here.parents[2] / "shared" / "data"):
        if folder and (Path(folder) / "binary.csv").exists():
            return Path(folder) / "binary.csv"
    return None


path = admissions_csv()
figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
left.bar(["before", "after"], [before, after], color=["tab:grey", "tab:blue"])
left.set_ylim(0.1375, 0.1385)
left.set_title("Iris: MSE around the one step")
if path is None:
    print("binary.csv not found (set BPXP_DATA to the folder holding it): the admissions half is left out")
    right.text(0.5, 0.5, "admissions data not found\n(set BPXP_DATA)", ha="center", va="center")
    right.set_axis_off()
else:
    table = np.genfromtxt(path, delimiter=",", names=True)
    rank = table["rank"].astype(int)
    columns = [(table[c] - table[c].mean()) / table[c].std(ddof=1) for c in ("gre", "gpa")]
    X = np.column_stack(columns + [(rank == r).astype(float) for r in (1, 2, 3, 4)])
    y = table["admit"]
    train = np.random.RandomState(21).choice(len(y), size=360, replace=False)
    test = np.setdiff1d(np.arange(len(y)), train)
    stream = np.random.RandomState(21)
    W_ih = stream.normal(scale=1 / 6**0.5, size=(6, 2))
    w_ho = stream.normal(scale=1 / 6**0.5, size=2).reshape(2, 1)
    net = bpxp.MLP.from_weights([W_ih, w_ho], hidden="sigmoid", output="sigmoid", loss="mse")
    history = net.fit(X[train], y[train], epochs=900, learning_rate=0.005, optimizer="sgd", batch_size=None)
    accuracy = np.mean((bpxp.to_numpy(net.forward(X[test]))[:, 0] > 0.5) == y[test])
    print(f"test accuracy        tutorial 0.725  bpxp {accuracy}")
    right.plot(history.loss)
    right.set_xlabel("epoch")
    right.set_ylabel("training MSE (½·mean)")
    right.set_title(f"Admissions: 900 epochs, test accuracy {accuracy:.3f}")
figure.tight_layout()
