"""Training: the epoch loop and what it needs — configuration, divergence and interrupt handling, checkpoints,
progress, L-BFGS.

Imports: ``bpxp.backend``, ``bpxp.math`` and the description modules (``bpxp.spec``, ``bpxp.checks``,
``bpxp.defaults``). Never ``bpxp.mlp`` or the edges.
"""
