"""``python -m planner``: the same as the ``planner`` console script."""

import sys

from .cli import main

sys.exit(main())
