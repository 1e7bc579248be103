"""Entry script of the bundled physapp (PyInstaller): the same ``physapp`` command line."""

import multiprocessing
import os
import sys

if __name__ == "__main__":
    # spawn-started children (solve jobs, sweep workers, training) re-run this executable
    multiprocessing.freeze_support()
    # physapp starts some children as `sys.executable -c CODE ...` (isolated file readers, the
    # CUDA probe); here sys.executable is this program, so run CODE as a Python would (without
    # this the child would take "-c" for the GUI's arguments and open a window)
    if len(sys.argv) > 2 and sys.argv[1] == "-c":
        code, sys.argv = sys.argv[2], ["-c", *sys.argv[3:]]
        exec(compile(code, "<string>", "exec"), {"__name__": "__main__"})
        sys.exit(0)
    # a desktop launcher may start us in the C locale; Qt wants UTF-8 and would say so on stderr
    if "UTF-8" not in (os.environ.get("LC_ALL") or os.environ.get("LC_CTYPE")
                       or os.environ.get("LANG") or "").upper().replace("UTF8", "UTF-8"):
        os.environ["LC_CTYPE"] = "C.UTF-8"
    from physapp.__main__ import main

    sys.exit(main())
