"""
Vanishing gradients: sigmoid against relu, with depth
=====================================================

σ′ ≤ ¼, so each sigmoid layer that δ crosses on its way back shrinks it: in a deep sigmoid stack the first
layers' gradients are orders of magnitude smaller than the last's, and they barely learn. ReLU's derivative is
1 where a unit is active, and He initialisation keeps the scale. ``fit(record=("gradient_norms",))`` records
each layer's ‖∂L/∂Wˡ‖ per epoch, summed on the device with the loss.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

import bpxp

X, y = load_digits(return_X_y=True)
X = X / 16
figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for ax, hidden in zip(axes, ("sigmoid", "relu")):
    net = bpxp.MLP([64, 32, 32, 32, 32, 32, 10], hidden=hidden, random_state=0)
    history = net.fit(X, y, epochs=15, learning_rate=0.1, optimizer="sgd", batch_size=128, random_state=0,
                      record=("gradient_norms",))
    history.plot_gradient_norms(ax=ax, title=f"{hidden}: 6 weight layers, SGD")
    first, last = history.gradient_norms[-1][0], history.gradient_norms[-1][-1]
    print(f"{hidden}: ‖∂L/∂W¹‖ / ‖∂L/∂W⁶‖ = {first / last:.2g} at the last epoch")
figure.tight_layout()
