"""`python -m voicecoach.bench`: see scripts/bench."""

import sys

from . import main

if __name__ == "__main__":  # not when a spawned recognition worker imports this module
    sys.exit(main())
