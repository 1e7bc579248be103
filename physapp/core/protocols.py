"""The contracts between layers: solvers and surrogates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.results import FieldResult
from physapp.core.study import Study


class Solver(Protocol):
    """A reference solver: meshes the study at ``params`` and returns its fields."""

    id: str

    def solve(
        self,
        study: Study,
        params: Mapping[str, float],
        *,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER,
    ) -> FieldResult: ...


class Surrogate(Protocol):
    """A fast model of a study; may add uncertainty fields (``<name>_std``)."""

    id: str

    def predict(self, params: Mapping[str, float]) -> FieldResult: ...
