"""Built-in parametric studies and the study registry."""

from __future__ import annotations

from physapp.core.errors import PhysappError
from physapp.core.study import Study
from physapp.studies.heat_sink import HeatSinkStudy
from physapp.studies.l_bracket import LBracketStudy
from physapp.studies.plate_with_hole import PlateWithHoleStudy
from physapp.studies.thick_cylinder import ThickCylinderStudy

_STUDIES: dict[str, type] = {
    cls.spec.id: cls
    for cls in (PlateWithHoleStudy, LBracketStudy, HeatSinkStudy, ThickCylinderStudy)
}


def list_studies() -> list[Study]:
    """All registered studies, in registration order."""
    return [cls() for cls in _STUDIES.values()]


def get_study(study_id: str) -> Study:
    """The study registered under ``study_id``; a clear error names the known ones otherwise."""
    try:
        return _STUDIES[study_id]()
    except KeyError:
        known = ", ".join(_STUDIES)
        raise PhysappError(f"Unknown study '{study_id}'. Built-in studies: {known}.") from None


def register_study(cls: type) -> None:
    """Register a study class (used by plugins); a duplicate id is an error."""
    if cls.spec.id in _STUDIES and _STUDIES[cls.spec.id] is not cls:
        raise PhysappError(f"A study with id '{cls.spec.id}' is already registered.")
    _STUDIES[cls.spec.id] = cls
