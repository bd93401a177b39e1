"""``python -m recforge``: the ``recforge`` command (``python -m recforge demo``)."""

import sys

from .cli import main

sys.exit(main())
