"""``python -m streamseg`` is the ``streamseg`` command."""

import sys

from streamseg.cli import main

sys.exit(main())
