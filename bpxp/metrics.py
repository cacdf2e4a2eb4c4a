"""The public path of :mod:`bpxp.math.metrics`: ``from bpxp.metrics import ...`` works as for the other math modules."""

from .math.metrics import accuracy, classified_right, r2, r2_of_sums, score

__all__ = ["accuracy", "classified_right", "r2", "r2_of_sums", "score"]
