"""``python -m jaxact``: the verification report; ``python -m jaxact plot``: the pictures;
``python -m jaxact verify MODULE:FUNCTION MODULE:REFERENCE``: check your own activation."""

import sys

from jaxact._src.report import main


def _main() -> int:
    if sys.argv[1:2] == ["plot"]:
        from jaxact._src.plot import main as plot_main

        return plot_main(sys.argv[2:])
    if sys.argv[1:2] == ["verify"]:
        from jaxact._src.verify_cli import main as verify_main

        return verify_main(sys.argv[2:])
    return main()


if __name__ == "__main__":
    sys.exit(_main())
