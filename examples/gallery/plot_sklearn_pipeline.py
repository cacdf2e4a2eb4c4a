"""
The scikit-learn estimator in a Pipeline
========================================

``bpxp.sklearn.MLPClassifier`` takes scikit-learn's parameters and works wherever an estimator does: here after
a ``ColumnTransformer`` that scales the numeric columns and one-hot encodes a categorical one, inside a
``Pipeline``, cross-validated.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from bpxp.sklearn import MLPClassifier

rng = np.random.default_rng(0)
n = 400
frame = pd.DataFrame({"age": rng.normal(40, 12, n), "income": rng.lognormal(10, 0.5, n),
                      "city": rng.choice(["Lyon", "Oslo", "Quito"], n)})
y = ((frame["age"] > 40) ^ (frame["city"] == "Oslo")).astype(int)

model = make_pipeline(
    ColumnTransformer([("numbers", StandardScaler(), ["age", "income"]),
                       ("city", OneHotEncoder(), ["city"])]),
    MLPClassifier((16,), max_iter=150, learning_rate_init=0.01, random_state=0),
)
print(f"cross-validated accuracy {cross_val_score(model, frame, y, cv=3).mean():.3f}")
model.fit(frame, y)
classifier = model[-1]
figure, ax = plt.subplots(figsize=(7, 4))
ax.plot(classifier.loss_curve_)
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.set_title(f"MLPClassifier in a Pipeline: {classifier.n_iter_} epochs")
figure.tight_layout()
