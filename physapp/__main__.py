"""Entry point: ``physapp`` / ``python -m physapp``."""

from __future__ import annotations

import sys


def main() -> int:
    from physapp.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
