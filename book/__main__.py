"""`python -m book`: the command line."""

import sys

from .cli import main

# The guard matters: worker processes started by `spawn` or `forkserver` import the main
# module again, and must not run the command line when they do.
if __name__ == "__main__":
    sys.exit(main())
