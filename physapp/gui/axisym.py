"""Axisymmetric studies in the viewport (#13): r and z on the axes of the r-z section, and a
3D view of the part revolved about its axis (a 270 degree sector or the full revolution) as a
Display option (a study whose section is hard to read, the bottle's thin wall, opens revolved:
its ``axisymmetric_view`` attribute, a key of MODES). The revolved result is made from the shown one on the GUI thread
(:func:`physapp.viz.revolve.revolve`, ~1 ms per thousand nodes); the solved and predicted
results stay 2D (probe, line plot, export and the split view use them)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout

from physapp.viz.revolve import revolve

#: (key, label, angle in degrees; 0 = the r-z section)
MODES = (("section", "r\u2013z section", 0.0), ("sector", "3D, 270\u00b0 sector", 270.0),
         ("full", "3D, full revolution", 360.0))


def is_axisymmetric(study, params=None) -> bool:
    try:
        setup = study.setup(dict(params) if params is not None else study.spec.defaults())
    except Exception:  # noqa: BLE001 - an incomplete set-up: not known to be axisymmetric
        return False
    return getattr(setup, "analysis", "") == "axisymmetric"


class AxisymmetricView:
    """The window's axisymmetric view option and axis labels."""

    def __init__(self, window) -> None:
        self.window = window
        self.active = False
        self.mode = "section"
        self.combo: QComboBox | None = None
        self._labelled: bool | None = None  # the axes show the revolved (True) or r-z labels
        self._last: tuple | None = None  # (input, mode, output) of the last revolve

    @property
    def angle(self) -> float:
        return dict((k, a) for k, _, a in MODES)[self.mode]

    def study_opened(self, study) -> None:
        self.active = is_axisymmetric(study, self.window.model.params)
        # a study may open revolved (the bottle: its wall is a hairline in the r-z section)
        mode = getattr(study, "axisymmetric_view", "section")
        self.mode = mode if mode in dict((k, a) for k, _, a in MODES) else "section"
        self._last = None

    def viewport_created(self, viewport) -> None:
        self._labelled = None
        self.label_axes(viewport)
        viewport.shown_changed.connect(lambda: self.label_axes(viewport))

    def label_axes(self, viewport=None) -> None:
        """r and z on the section's axes; x, y and z (the axis) on a revolved part (as shown:
        a geometry preview stays the section)."""
        vp = viewport or self.window.viewport
        if vp is None or not self.active:
            return
        revolved = vp.result is not None and "revolved" in vp.result.meta
        if revolved == getattr(self, "_labelled", None):
            return
        self._labelled = revolved
        if revolved:
            vp.plotter.add_axes(color="black", xlabel="x", ylabel="y", zlabel="z (axis)")
        else:
            vp.plotter.add_axes(color="black", xlabel="r", ylabel="z", zlabel="")

    def add_display_row(self, form: QFormLayout) -> None:
        self.combo = None
        if not self.active:
            return
        self.combo = QComboBox()
        for key, label, _ in MODES:
            self.combo.addItem(label, key)
        self.combo.setCurrentIndex(self.combo.findData(self.mode))
        self.combo.setToolTip("Axisymmetric: the r\u2013z section that is solved, or the part "
                              "revolved about its axis (z)")
        self.combo.currentIndexChanged.connect(lambda _i: self.set_mode(self.combo.currentData()))
        form.addRow("View", self.combo)

    def derive(self, result):
        """The shown result: revolved in a 3D mode (the same object for the same input)."""
        if not self.active or self.mode == "section" or result is None \
                or result.mesh.dim != 2 or "revolved" in result.meta:
            return result
        last = self._last
        if last is not None and last[1] == self.mode and (result is last[0] or result is last[2]):
            return last[2]
        out = revolve(result, self.angle)
        self._last = (result, self.mode, out)
        return out

    def source(self, shown):
        """The 2D result a (possibly revolved) shown result was made from."""
        last = self._last
        return last[0] if last is not None and shown is last[2] else shown

    def set_mode(self, mode: str) -> None:
        if mode == self.mode:
            return
        self.mode = mode
        vp = self.window.viewport
        if vp is None or vp.result is None:
            return
        original = self.source(vp.result)
        vp.show_result(original, vp.field)  # a new topology: rebuilt, camera fitted
        vp.reset_camera()
        self.window.update_state()
