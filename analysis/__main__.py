"""``python -m analysis <command>``: see :mod:`analysis.book.cli`."""

import sys

from analysis.book.cli import main

if __name__ == "__main__":
    sys.exit(main())
