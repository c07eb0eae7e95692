"""`python -m workflows.cli`: the `duban` command, as the tests and a checkout without the console script run it."""

import sys

from workflows.cli.main import main

sys.exit(main())
