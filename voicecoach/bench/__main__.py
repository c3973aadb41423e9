"""`python -m voicecoach.bench`: see scripts/bench."""

import sys

from . import main

sys.exit(main())
