"""The GUI's model of the current design: a study and its parameter values (SI units).

Widgets never keep their own copy of a parameter: sliders write here and listen to ``changed``.
Every change bumps ``version`` so results computed for an older design can be recognised.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QObject, Signal

from physapp.core.study import Study


class StudyModel(QObject):
    """Parameter values of one study; validation of single values happens here.

    Cross-parameter checks (does the hole fit?) need the geometry module and run in the meshing
    worker, which reports them as errors.
    """

    changed = Signal(str, float)  # parameter name, new SI value

    def __init__(self, study: Study, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.study = study
        self.spec = study.spec
        self._values: dict[str, float] = self.spec.defaults()
        self.version = 0

    @property
    def params(self) -> dict[str, float]:
        """A copy of the current values (safe to hand to a worker)."""
        return dict(self._values)

    def value(self, name: str) -> float:
        return self._values[name]

    def set_value(self, name: str, value: float) -> None:
        """Set one parameter (SI units); raises ParameterError outside its bounds."""
        value = self.spec.parameter(name).validate(value)
        if value == self._values[name]:
            return
        self._values[name] = value
        self.version += 1
        self.changed.emit(name, value)

    def set_values(self, values: Mapping[str, float]) -> None:
        """Set several parameters; all are validated before any is changed."""
        checked = {n: self.spec.parameter(n).validate(v) for n, v in values.items()}
        for name, value in checked.items():
            self.set_value(name, value)

    def geometry(self, params: Mapping[str, float] | None = None) -> tuple[float, ...]:
        """The geometric parameter values (a key: equal tuples give the same mesh)."""
        params = self._values if params is None else params
        return tuple(params[p.name] for p in self.spec.parameters if p.geometric)
