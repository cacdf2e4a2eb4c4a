"""
Learning-rate schedules compared
================================

η can stay constant, fall as η₀/(t + 1)^0.5 after t samples (``'invscaling'``, scikit-learn's), or be divided
by 5 whenever the validation loss stops improving for 10 epochs (``'adaptive'``). The same network and seed
under each, plain SGD with momentum.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import bpxp

X, y = load_wine(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(StandardScaler().fit_transform(X), y, random_state=0)
figure, ax = plt.subplots(figsize=(7, 4))
for schedule in ("constant", "invscaling", "adaptive"):
    net = bpxp.MLP([13, 32, 3], hidden="relu", random_state=0)
    history = net.fit(X_train, y_train, epochs=120, learning_rate=0.5, optimizer="momentum", batch_size=16,
                      random_state=0, validation_data=(X_val, y_val), learning_rate_schedule=schedule)
    ax.plot(history.val_loss, label=f"{schedule} (ends at {history.val_loss[-1]:.3f})")
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("validation loss")
ax.set_title("wine 13-32-3, momentum, η₀ = 0.5")
ax.legend()
figure.tight_layout()
