"""
One network, every installed backend
====================================

The same lines of math run on NumPy, array-api-strict, PyTorch, JAX and CuPy. Here one network, from the same
seed, trains on every backend usable on this machine; the decision boundaries agree.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons

import bpxp

X, y = make_moons(200, noise=0.2, random_state=0)
usable = [info.name for info in bpxp.backends() if info.installed and info.devices]
print("usable here:", usable)

grid = np.stack(np.meshgrid(np.linspace(-1.5, 2.5, 120), np.linspace(-1, 1.5, 100)), axis=-1).reshape(-1, 2)
figure, axes = plt.subplots(1, len(usable), figsize=(3.2 * len(usable), 3), sharey=True, squeeze=False)
for ax, backend in zip(axes[0], usable):
    net = bpxp.MLP([2, 16, 16, 2], hidden="tanh", output="softmax", backend=backend, dtype="float64",
                   random_state=0)
    net.fit(X, y, epochs=150, learning_rate=0.02, batch_size=None)  # full batch: Adam, 150 steps
    P = bpxp.to_numpy(net.predict_proba(grid))[:, 1].reshape(100, 120)
    ax.contourf(P, levels=20, cmap="RdBu_r", extent=(-1.5, 2.5, -1, 1.5), alpha=0.8)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", edgecolors="k", linewidths=0.4, s=18)
    ax.set_title(f"{backend}: accuracy {net.score(X, y):.3f}")
figure.tight_layout()
