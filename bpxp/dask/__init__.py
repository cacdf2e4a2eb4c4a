"""Training and predicting on Dask arrays: per-chunk sums on the workers, the data kept chunk by chunk.

Imports: ``bpxp.backend``, ``bpxp.math``, ``bpxp.training`` and the description modules. ``bpxp.MLP`` and the
estimators call it for Dask inputs; it never imports ``bpxp.mlp`` or the edges.
"""
