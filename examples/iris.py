"""Iris, one backprop step (Sebastian Mantey, "Basics of Deep Learning", part 13), reproduced with bpxp.

Three flowers — the second of each species, raw centimetres — go through a 4-2-3 sigmoid network without
biases; one full-batch step of gradient descent on L = Σ(ŷ − y)² / (2N), N = y.size, with learning rate 0.1.
The weights come from NumPy's legacy stream seeded with 10, as in the tutorial, through ``MLP.from_weights``.

Run:  python examples/iris.py [--csv Iris.csv] [--backend torch] [--dtype float32]
(the three flowers are built in; --csv reads them from the Kaggle/UCI Iris.csv instead)
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

import bpxp

PUBLISHED = {"mse_before": 0.13831126800831411, "mse_after": 0.1379749216970851}
LEARNING_RATE, SEED = 0.1, 10
# Rows Id 2, 52 and 102 of Iris.csv: sepal length, sepal width, petal length, petal width (cm).
FLOWERS = np.array([[4.9, 3.0, 1.4, 0.2], [6.4, 3.2, 4.5, 1.5], [5.8, 2.7, 5.1, 1.9]])
SPECIES = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]


def flowers_from_csv(csv_path: str) -> np.ndarray:
    """The same three rows (Id 2, 52, 102) read from the Kaggle-format Iris.csv."""
    table = np.genfromtxt(csv_path, delimiter=",", names=True, dtype=None, encoding="utf-8")
    rows = table[np.isin(table["Id"], [2, 52, 102])]
    return np.column_stack([rows[c] for c in ("sepal_length", "sepal_width", "petal_length", "petal_width")])


def tutorial_weights() -> list[np.ndarray]:
    """W1 (4, 2) then W2 (2, 3), normal with scale 0.5, from the legacy stream seeded with 10."""
    stream = np.random.RandomState(SEED)
    return [stream.normal(scale=0.5, size=(4, 2)), stream.normal(scale=0.5, size=(2, 3))]


def run(X: np.ndarray = FLOWERS, *, backend: str = "numpy", dtype: str = "float64"):
    """One step; return the network, its gradients before the step, and the loss before and after."""
    y = np.eye(3)  # one-hot, species in alphabetical order
    net = bpxp.MLP.from_weights(tutorial_weights(), hidden="sigmoid", output="sigmoid", loss="mse",
                                backend=backend, dtype=dtype)
    grads = net.backward(X, y)
    history = net.fit(X, y, epochs=1, learning_rate=LEARNING_RATE, optimizer="sgd", batch_size=None)
    return net, grads, history.loss[0], net.loss_value(X, y)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", help="Iris.csv to read the three flowers from (default: built in)")
    parser.add_argument("--backend", default="numpy", choices=[b.name for b in bpxp.backends()])
    parser.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    args = parser.parse_args(argv)
    if args.backend == "jax" and args.dtype == "float64":
        import jax

        jax.config.update("jax_enable_x64", True)
    if args.csv is not None and not os.path.isfile(args.csv):
        print(f"iris.py: error: no file at {args.csv!r}; the three flowers are built in: drop --csv", file=sys.stderr)
        return 2
    X = FLOWERS if args.csv is None else flowers_from_csv(args.csv)
    _net, grads, before, after = run(X, backend=args.backend, dtype=args.dtype)
    print(f"MSE before the step   tutorial {PUBLISHED['mse_before']:.17f}   bpxp {before:.17f}")
    print(f"MSE after the step    tutorial {PUBLISHED['mse_after']:.17f}   bpxp {after:.17f}")
    k = 3
    print("\nThe tutorial's error terms (its δ has no 1/k: bpxp's per-sample δ = ∂ℓᵢ/∂Z is δ_tutorial / k)")
    print("output δ (δ_tutorial):\n", (k * bpxp.to_numpy(grads.deltas[-1])).round(6))
    print("hidden δ (δ_tutorial):\n", (k * bpxp.to_numpy(grads.deltas[0])).round(6))
    return 0


if __name__ == "__main__":
    sys.exit(main())
