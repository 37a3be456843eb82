"""``python -m costlib.cli``: the same command line as the ``costlib`` script."""

import sys

from costlib.cli import main

sys.exit(main())
