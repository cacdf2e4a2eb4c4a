"""bpxp's networks as ONNX models (an edge: it uses the MLP's and the estimators' public attributes).

:func:`export` runs the network's own forward pass on ndonnx arrays, which record ONNX operators, and returns the
model (``bpxp.backend.onnx_graph`` tidies what ndonnx records); :func:`register_skl2onnx` teaches skl2onnx to
convert bpxp's estimators, alone or inside a Pipeline. Both need the ``onnx`` extra: ``pip install '.[onnx]'``.
"""

from .export import export
from .registration import register_skl2onnx

__all__ = ["export", "register_skl2onnx"]
