"""Keep ``physapp.studies()`` and ``physapp.plugins()`` callable once their subpackages load.

``physapp.studies`` and ``physapp.plugins`` are both scripting-API functions (loaded lazily by
``physapp.__getattr__``) and subpackages. Importing a subpackage binds its module to the package
attribute, so after any solve ``physapp.studies()`` used to raise "'module' object is not callable".
Each of the two subpackages makes its module callable: calling it calls the API function of the
same name; attribute access still reaches the module.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _ApiModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from physapp import api

        return getattr(api, self.__name__.rsplit(".", 1)[1])(*args, **kwargs)


def make_callable(module_name: str) -> None:
    """Let the module ``module_name`` (``physapp.studies`` or ``physapp.plugins``) be called like
    the API function of the same name."""
    sys.modules[module_name].__class__ = _ApiModule
