"""`python -m netscope` is the `netscope` command."""

import sys

from netscope.cli.main import main

sys.exit(main())
