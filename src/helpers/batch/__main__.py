"""``python -m helpers.batch``: see :mod:`helpers.batch.cli`."""

import sys

from .cli import main

sys.exit(main())
