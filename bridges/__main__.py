"""`python -m bridges`: the same as `baton-bridge`."""

import sys

from bridges.cli import main

sys.exit(main())
