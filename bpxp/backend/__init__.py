"""The backend layer: everything that knows which array library it runs on.

Owns backend names → namespaces, devices and dtypes (``namespaces``), what is installed and usable here
(``listing``), MLX's quirks (``on_mlx``), ONNX graphs recorded by ndonnx and tidied (``onnx_graph``), the float32
precision policy (``precision``), usability probes (``usable``), per-backend fast paths beside their portable
twins (``fast``), host-side randomness (``randomness``), the conversion of inputs to a network's namespace
(``inputs``), and how an epoch of training steps is driven per backend: eagerly, as CUDA graphs (``graphs``), as
compiled JAX epochs (``compiled``); how many CPU threads torch gives a fit's small products (``precision`` too).

Imports: nothing of bpxp but ``bpxp._version``. Every floor above may import it.
"""
