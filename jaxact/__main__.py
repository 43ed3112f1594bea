"""``python -m jaxact``: print the verification report (see ``--help``)."""

import sys

from jaxact._src.report import main

if __name__ == "__main__":
    sys.exit(main())
