"""The ``bpxp`` command: ``train``, ``predict``, ``evaluate``, ``check``, ``info``, ``export``,
``backends``.

An edge: it uses ``bpxp.MLP``, ``bpxp.load`` and the floors below; nothing imports it.
"""

from .main import main

__all__ = ["main"]
