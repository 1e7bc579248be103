"""physapp: interactive design exploration with a reference FE solver and fast surrogates.

The scripting API (:mod:`physapp.api`) is available from the package, loaded on first use so that
``import physapp`` stays light (no solver, VTK or torch)::

    import physapp
    result = physapp.solve("plate-with-hole", {"radius": 0.01})
"""

from __future__ import annotations

import os as _os
from typing import Any

# idle OpenMP/OpenBLAS threads sleep instead of spinning; set here, before numpy or torch load
# them, and never over the user's choice (physapp.core.threads.ENV_DEFAULTS, #16)
for _k, _v in (("OMP_WAIT_POLICY", "PASSIVE"), ("KMP_BLOCKTIME", "0"),
               ("OPENBLAS_THREAD_TIMEOUT", "4")):
    _os.environ.setdefault(_k, _v)

__version__ = "0.1.0"
# one line on what physapp is: the About box and the menu entry (packaging/physapp.desktop Comment)
DESCRIPTION = "Explore designs with a finite-element solver and fast surrogates"

_API = ("studies", "get_study", "solve", "sweep", "open_dataset", "train", "load_model",
        "predict", "export", "read_mesh", "plugins")
__all__ = ["__version__", "PhysappError", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        from physapp import api

        return getattr(api, name)
    if name == "PhysappError":
        from physapp.core.errors import PhysappError

        return PhysappError
    raise AttributeError(f"module 'physapp' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API, "PhysappError"])
