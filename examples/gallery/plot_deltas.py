"""
δ of every layer, for one batch
===============================

``MLP.backward`` runs one forward and one backward pass and keeps everything the equations name: the
activations Aˡ, the per-sample error terms δˡ = ∂ℓᵢ/∂Zˡ, the gradients ∂L/∂Wˡ = Aˡ⁻¹ᵀ·δˡ/m and ∂L/∂X. Here they
are as pictures for a batch of 16 Iris flowers through a 4-8-6-3 network: one row per flower, one column per
unit.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_iris

import bpxp

X, y = load_iris(return_X_y=True)
X = (X - X.mean(axis=0)) / X.std(axis=0)
batch = np.random.default_rng(0).choice(len(y), size=16, replace=False)
batch = batch[np.argsort(y[batch])]  # flowers grouped by species
net = bpxp.MLP([4, 8, 6, 3], hidden="tanh", output="softmax", dtype="float64", random_state=0)
net.fit(X, y, epochs=5, learning_rate=0.05, random_state=0)
grads = net.backward(X[batch], y[batch])

# %%
# δᴸ = Ŷ − Y at the output (softmax with cross-entropy), carried back as δˡ = (δˡ⁺¹·Wˡ⁺¹ᵀ) ⊙ f′(Zˡ), and
# finally ∂L/∂X = δ¹·W¹ᵀ/m: which inputs the loss is most sensitive to, flower by flower.
panels = [("∂L/∂X · m  (δ⁰)", bpxp.to_numpy(grads.inputs) * len(batch))]
panels += [(f"δ{'¹²³'[layer]}  (layer {layer + 1})", bpxp.to_numpy(delta)) for layer, delta in
           enumerate(grads.deltas)]
figure, axes = plt.subplots(1, len(panels), figsize=(10, 4), sharey=True)
for ax, (title, values) in zip(axes, panels):
    limit = np.abs(values).max()
    image = ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_title(title)
    ax.set_xlabel("unit")
    figure.colorbar(image, ax=ax, shrink=0.8)
axes[0].set_ylabel("flower (setosa, versicolor, virginica)")
figure.tight_layout()

# %%
# The gradients are the batch means of the per-sample terms:
A0, delta1 = bpxp.to_numpy(grads.activations[0]), bpxp.to_numpy(grads.deltas[0])
print(np.allclose(bpxp.to_numpy(grads.weights[0]), A0.T @ delta1 / len(batch)))
