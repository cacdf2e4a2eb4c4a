"""``python -m bpxp.cli``: the ``bpxp`` command."""

import sys

from .main import main

sys.exit(main())
