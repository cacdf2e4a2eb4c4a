"""Graduate-school admissions (Udacity, "Implementing backpropagation"), reproduced with bpxp.

A 6-2-1 sigmoid network without biases, trained for 900 epochs of full-batch gradient descent with learning
rate 0.005 on half the mean squared error. The tutorial loops over records, accumulates Δw with the weights held
fixed and then applies ``w += η·Δw/m``: that is exactly one full-batch step ``W ← W − η·∂L/∂W``.

The tutorial drew its weights and its split from NumPy's legacy global stream; this example draws the same
numbers with ``numpy.random.RandomState(21)`` and hands them to ``bpxp.MLP.from_weights``.

Run:  python examples/admissions.py --csv binary.csv [--backend torch] [--dtype float32]
(binary.csv is not bundled: download it from UCLA IDRE, https://stats.idre.ucla.edu/stat/data/binary.csv)
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

import bpxp

# The admissions data (binary.csv: admit, gre, gpa, rank; 400 rows) is UCLA IDRE's hypothetical data from 'R Data
# Analysis Examples: Logit Regression', also in udacity/deep-learning as student-admissions/student_data.csv.
DATA_URL = "https://stats.idre.ucla.edu/stat/data/binary.csv"
GET_THE_DATA = (f"download binary.csv (admit, gre, gpa, rank; 400 rows; UCLA IDRE) from {DATA_URL} and pass its "
                f"path: --csv PATH/binary.csv")
PUBLISHED = {
    "test_accuracy": 0.725,
    "first_train_loss": 0.2513572524259881,
    "last_train_loss": 0.24040067932493334,
    "W_ih": [[-0.00861759, -0.05224194], [0.43097904, -0.51537768], [0.30291159, -0.69765802],
             [-0.0944845, -0.08976088], [0.44647535, 0.00335014], [-0.2590384, 0.56549046]],
    "w_ho": [0.53108541, -0.41577125],
}
EPOCHS, LEARNING_RATE, SEED = 900, 0.005, 21


def load(csv_path: str):
    """The tutorial's data preparation: one-hot rank, standardised gre/gpa (ddof=1), a seeded 360/40 split."""
    table = np.genfromtxt(csv_path, delimiter=",", names=True)
    rank = table["rank"].astype(int)
    columns = [(table[name] - table[name].mean()) / table[name].std(ddof=1) for name in ("gre", "gpa")]
    columns += [(rank == r).astype(float) for r in (1, 2, 3, 4)]
    features, target = np.column_stack(columns), table["admit"]
    train_rows = np.random.RandomState(SEED).choice(len(target), size=360, replace=False)
    test_rows = np.setdiff1d(np.arange(len(target)), train_rows)  # ascending, as DataFrame.drop leaves them
    return features[train_rows], target[train_rows], features[test_rows], target[test_rows]


def tutorial_weights() -> list[np.ndarray]:
    """W_ih (6, 2) then w_ho (2,) from the legacy stream seeded with 21, scale 1/√6."""
    stream = np.random.RandomState(SEED)
    W_ih = stream.normal(scale=1 / 6**0.5, size=(6, 2))
    w_ho = stream.normal(scale=1 / 6**0.5, size=2)
    return [W_ih, w_ho.reshape(2, 1)]


def run(csv_path: str, *, backend: str = "numpy", dtype: str = "float64", report=print):
    """Train as the tutorial did; return the network, the test accuracy and the tutorial's loss figures."""
    X_train, y_train, X_test, y_test = load(csv_path)
    net = bpxp.MLP.from_weights(tutorial_weights(), hidden="sigmoid", output="sigmoid", loss="mse",
                                backend=backend, dtype=dtype)
    tutorial_losses = []
    done = 0
    for checkpoint in range(0, EPOCHS, EPOCHS // 10):  # the tutorial printed after epochs 0, 90, …, 810
        net.fit(X_train, y_train, epochs=checkpoint + 1 - done, learning_rate=LEARNING_RATE,
                optimizer="sgd", batch_size=None)
        done = checkpoint + 1
        # The tutorial's "Train loss" compares the output for the *last* training record with every target.
        last_output = bpxp.to_numpy(net.forward(X_train[-1:]))[0, 0]
        tutorial_losses.append(float(np.mean((last_output - y_train) ** 2)))
        true_mse = net.loss_value(X_train, y_train)
        report(f"epoch {checkpoint:3d}  tutorial's 'Train loss' {tutorial_losses[-1]:.16f}   "
               f"bpxp loss ½·mean((ŷ−y)²) {true_mse:.6f}")
    net.fit(X_train, y_train, epochs=EPOCHS - done, learning_rate=LEARNING_RATE, optimizer="sgd", batch_size=None)
    accuracy = net.score(X_test, y_test)
    return net, accuracy, tutorial_losses


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", help="path to binary.csv (admit, gre, gpa, rank)")
    parser.add_argument("--backend", default="numpy", choices=[b.name for b in bpxp.backends()])
    parser.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    args = parser.parse_args(argv)
    if args.csv is None or not os.path.isfile(args.csv):
        missing = "the admissions data is not bundled" if args.csv is None else f"no file at {args.csv!r}"
        print(f"admissions.py: error: {missing}; {GET_THE_DATA}", file=sys.stderr)
        return 2
    if args.backend == "jax" and args.dtype == "float64":
        import jax

        jax.config.update("jax_enable_x64", True)
    net, accuracy, losses = run(args.csv, backend=args.backend, dtype=args.dtype)
    print(f"\nfirst 'Train loss'   tutorial {PUBLISHED['first_train_loss']:.16f}   bpxp {losses[0]:.16f}")
    print(f"last 'Train loss'    tutorial {PUBLISHED['last_train_loss']:.16f}   bpxp {losses[-1]:.16f}")
    print(f"test accuracy        tutorial {PUBLISHED['test_accuracy']:.3f}                bpxp {accuracy:.3f}")
    W_ih, w_ho = (bpxp.to_numpy(w) for w in net.weights)
    print("W_ih  tutorial", np.array(PUBLISHED["W_ih"]).round(8).tolist())
    print("      bpxp    ", W_ih.round(8).tolist())
    print("w_ho  tutorial", PUBLISHED["w_ho"], "\n      bpxp    ", w_ho[:, 0].round(8).tolist())
    return 0


if __name__ == "__main__":
    sys.exit(main())
