"""A study's own mesher for mesh-agnostic models (#19).

A mesh-agnostic model trained on a topology-changing study (``Study.fixed_topology = False``, e.g.
the perforated plate) predicts on the mesh of the asked design: :func:`study_mesher` gives the
``model.mesher`` hook (:mod:`physapp.surrogates.models.mesh_agnostic`) that meshes a design with the
study itself (gmsh). Meshes are cached by the values of the geometric parameters, so a slider that
does not change the shape (a load) re-uses the last mesh. No torch here (the app imports it).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from physapp.core.mesh import MeshData

#: meshes kept per mesher (one per recent geometry)
CACHE = 4


class StudyMesher:
    """``mesher(params) -> MeshData``: the study's mesh of the design ``params`` (missing
    parameters take the model's fixed values, then the study's defaults)."""

    def __init__(self, study: Any, fixed: Mapping[str, float] | None = None) -> None:
        self.study = study
        self.fixed = dict(fixed or {})
        params = study.spec.parameters
        self.geometric = (tuple(p.name for p in params if getattr(p, "geometric", False))
                          or tuple(p.name for p in params))
        self._cache: OrderedDict[tuple, MeshData] = OrderedDict()

    def __call__(self, params: Mapping[str, float]) -> MeshData:
        values = {**self.fixed, **{k: float(v) for k, v in params.items()}}
        values = dict(self.study.check(values))  # defaults filled; a misfit design refused
        key = tuple(round(float(values[n]), 12) for n in self.geometric if n in values)
        mesh = self._cache.get(key)
        if mesh is None:
            mesh = self.study.build_mesh(values)
            self._cache[key] = mesh
            while len(self._cache) > CACHE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return mesh


def study_mesher(study_id: str, fixed: Mapping[str, float] | None = None
                 ) -> Callable[[Mapping[str, float]], MeshData] | None:
    """The mesher of a topology-changing study, or None (fixed topology, imported data, a study
    that is not installed)."""
    if not study_id:
        return None
    try:
        from physapp.studies import get_study

        study = get_study(study_id)
    except Exception:  # noqa: BLE001 - imported data ("import:...") or a missing plugin
        return None
    if bool(getattr(study, "fixed_topology", True)):
        return None
    return StudyMesher(study, fixed)


def attach_study_mesher(model: Any) -> bool:
    """Set ``model.mesher`` to its study's mesher when the model is mesh-agnostic (has a
    ``mesher`` attribute), has no mesher yet and its study changes topology. True when set."""
    if not hasattr(model, "mesher") or getattr(model, "mesher", None) is not None:
        return False
    if getattr(model, "coords_model", None) is not None:  # a morphed fixed-topology study
        return False
    mesher = study_mesher(getattr(model, "study_id", ""), getattr(model, "fixed", {}))
    if mesher is None:
        return False
    model.mesher = mesher
    return True
