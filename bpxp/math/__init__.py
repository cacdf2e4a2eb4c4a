"""The math of backpropagation, written once against the Array API: pure functions that take ``xp``.

Owns the activations f and f′ (``activations``), the losses and the output error δᴸ (``losses``), the forward
pass, δ of every layer and the gradients (``backprop``), the update rules and learning-rate schedules
(``optimizers``), the scores (``metrics``) and what outputs mean for a task: labels and probabilities
(``predictions``). Notation: the docstring of ``bpxp.math.backprop``.

Imports: ``bpxp.backend`` only (its fast paths). Never an array library, never a backend branch.
"""
