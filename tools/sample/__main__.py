"""``python -m tools.sample``: write the bundled sample and its answer key (see ``--help``)."""

from __future__ import annotations

import sys

from tools.sample.generate import main

if __name__ == "__main__":
    sys.exit(main())
