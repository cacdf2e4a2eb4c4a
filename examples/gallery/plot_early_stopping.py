"""
Loss and validation curves, early stopping's kept epoch
=======================================================

``fit(validation_data=..., early_stopping=k)`` scores the network after every epoch and stops after k epochs
without improvement, keeping the best epoch's weights. ``History.plot`` draws both curves and marks that epoch.
"""

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import bpxp

X, y = load_digits(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(X / 16, y, test_size=0.3, random_state=0)
net = bpxp.MLP([64, 64, 10], hidden="relu", random_state=0)
history = net.fit(X_train, y_train, epochs=200, learning_rate=0.01, batch_size=64, random_state=0,
                  validation_data=(X_val, y_val), early_stopping=8)
print(f"stopped after {history.epochs} epochs; the network holds epoch {history.kept_epoch} "
      f"(validation loss {min(history.val_loss):.4f}), accuracy {net.score(X_val, y_val):.3f}")
history.plot(title="digits 64-64-10: training and validation loss")
