"""
A gradient check
================

``bpxp.gradcheck`` compares backpropagation's ∂L/∂Wˡ and ∂L/∂bˡ with central finite differences
(L(θ + ε) − L(θ − ε))/2ε in float64, layer by layer. The difference quotient's error is O(ε²) from truncation
plus O(u/ε) from rounding (u ≈ 1e-16): the agreement is best near ε ≈ 1e-5, as the picture shows.
"""

import matplotlib.pyplot as plt
import numpy as np

import bpxp

rng = np.random.default_rng(0)
X, y = rng.normal(size=(10, 4)), rng.integers(0, 3, size=10)
net = bpxp.MLP([4, 6, 5, 3], hidden="tanh", output="softmax", random_state=0)
report = bpxp.gradcheck(net, X, y)
print(report)

# %%
# The largest absolute error of each layer's weights as ε varies
steps = np.logspace(-10, -1, 19)
errors = np.array([[check.max_abs_error for check in bpxp.gradcheck(net, X, y, eps=float(eps)).checks
                    if check.param == "W"] for eps in steps])
figure, ax = plt.subplots(figsize=(7, 4))
for layer in range(errors.shape[1]):
    ax.loglog(steps, errors[:, layer], marker="o", markersize=3, label=f"W{'¹²³'[layer]}")
ax.set_xlabel("ε")
ax.set_ylabel("max |backprop − finite difference|")
ax.set_title("rounding (left) against truncation (right)")
ax.legend()
figure.tight_layout()
