"""Entry script of the bundled physapp (PyInstaller): the same ``physapp`` command line."""

import multiprocessing
import sys

if __name__ == "__main__":
    # spawn-started children (solve jobs, sweep workers, training) re-run this executable
    multiprocessing.freeze_support()
    from physapp.__main__ import main

    sys.exit(main())
