"""scikit-learn estimators on any bpxp backend: ``MLPClassifier`` and ``MLPRegressor``.

An edge: it drives ``bpxp.MLP`` and the floors below; nothing in bpxp imports it.
"""

from .estimators import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
