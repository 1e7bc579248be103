"""Set-up symbols in the viewport (#13): cones for fixed components, arrows for pressures,
tractions and forces; discs for fixed temperatures, arrows for heat fluxes and convection;
arrows for inflow velocities and outlets, discs on no-slip walls (:mod:`physapp.viz.symbols`),
for every study whose set-up names its boundary conditions (built-in studies, imported parts).

Drawn on the GUI thread after the viewport shows a mesh or a result, and again when the set-up
changes (a part's set-up panel, a load slider that flips a sign). The geometry is rebuilt only
when the mesh's size, its bounds or the set-up's regions and directions change, so streamed
surrogate frames cost a comparison. "Show supports and loads" in the Display box hides them.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv
from PySide6.QtWidgets import QCheckBox, QFormLayout

from physapp.viz.symbols import LOAD_COLOR, SUPPORT_COLOR, cell_index, setup_symbols

SUPPORTS = "setup_supports"  # actor names in the plotter
LOADS = "setup_loads"
_EMPTY = pv.PolyData()
#: actor names of the heat and flow groups (:func:`physapp.viz.symbols.heat_symbols`, ...)
EXTRA = tuple(f"setup_{n}" for n in ("fixed_temperature", "heat_flux", "convection", "inflow",
                                      "walls", "outlet"))


def _signature(setup) -> tuple:
    """What the symbols depend on: regions, fixed components, signs and directions."""
    if setup is None:
        return ()
    out = []
    for s in getattr(setup, "supports", ()):
        out.append(("s", s.region, tuple(s.components), bool(s.symmetry)))
    for p in getattr(setup, "pressures", ()):
        out.append(("p", p.region, float(np.sign(p.value))))
    for t in (*getattr(setup, "tractions", ()), *getattr(setup, "nodal_forces", ())):
        v = np.asarray(t.vector, dtype=float)
        n = float(np.linalg.norm(v))
        out.append(("t", t.region, tuple(np.round(v / n, 6)) if n else ()))
    for f in getattr(setup, "fixed", ()):
        out.append(("T", f.region))
    for q in getattr(setup, "fluxes", ()):
        out.append(("q", q.region, float(np.sign(q.value))))
    for c in getattr(setup, "convections", ()):
        out.append(("h", c.region, c.h > 0))
    for bc in getattr(setup, "velocity", ()):
        v = np.asarray(bc.value, dtype=float)
        n = float(np.linalg.norm(v))
        out.append(("v", bc.region, tuple(np.round(v / n, 6)) if n else ()))
    for w in getattr(setup, "walls", ()):
        out.append(("w", w))
    return tuple(out)


class SetupSymbols:
    """Keeps the symbols of the open study's set-up on the window's viewport."""

    def __init__(self, window) -> None:
        self.window = window
        self.visible = True
        self.check: QCheckBox | None = None
        self.viewport = None
        self._key = None
        self._cells = (None, None)  # (mesh, cell_index) of the last mesh
        self._bounds = (None, None)  # (mesh, rounded bounds): a slider frame pays nothing
        self.n_supports = self.n_loads = 0
        self.groups: dict[str, int] = {}  # heat / flow group actor name -> points drawn

    def viewport_created(self, viewport) -> None:
        self.viewport = viewport
        self._key = "redraw"
        viewport.clip_also |= {SUPPORTS, LOADS, *EXTRA}  # a section cuts them with the part
        viewport.shown_changed.connect(self.refresh)

    def add_display_row(self, form: QFormLayout) -> None:
        """"Show supports and loads" for studies whose set-up has any."""
        self.check = None
        if not _signature(self._setup()):
            return
        self.check = QCheckBox("Show supports and loads")
        self.check.setChecked(self.visible)
        self.check.setToolTip("Cones: fixed displacement components; arrows: pressures, "
                              "tractions, forces, heat fluxes, convection (out), inflow and "
                              "outflow; discs: fixed temperatures and no-slip walls")
        self.check.toggled.connect(self.set_visible)
        form.addRow("", self.check)

    def set_visible(self, on: bool) -> None:
        self.visible = bool(on)
        self._key = "redraw"
        self.refresh()

    def _setup(self):
        model = self.window.model
        study = model.study
        try:
            return study.setup(model.params) if study is not None else None
        except Exception:  # noqa: BLE001 - an incomplete set-up (a part being set up): none
            return None

    def _mesh(self):
        vp = self.viewport
        if vp is None or vp.grid is None:
            return None
        return vp.result.mesh if vp.result is not None else getattr(vp, "mesh", None)

    def refresh(self, *_args) -> None:
        """Draw the symbols of the current set-up on the shown mesh (when anything changed)."""
        vp = self.viewport
        if vp is None or self.window.closing:
            return
        mesh = self._mesh()
        setup = self._setup() if mesh is not None and self.visible else None
        sig = _signature(setup)
        key = None
        if sig and mesh is not None:
            if self._bounds[0] is not mesh:
                lo, hi = mesh.bounds()
                self._bounds = (mesh, tuple(np.round(np.r_[lo, hi], 9)))
            key = (mesh.n_points, self._bounds[1], sig)
        if key == self._key:
            return
        self._key = key
        plotter = vp.plotter
        if key is None:
            removed = False
            for name in (SUPPORTS, LOADS, *EXTRA):
                removed = plotter.remove_actor(name, render=False) or removed
            self.n_supports = self.n_loads = 0
            self.groups = {}
            if removed:
                plotter.render()
            return
        if self._cells[0] is not mesh:
            self._cells = (mesh, cell_index(mesh))
        sym = setup_symbols(mesh, setup, cells=self._cells[1])
        self.n_supports, self.n_loads = sym.n_supports, sym.n_loads
        self.groups = {f"setup_{n}": poly.n_points for n, poly, _ in sym.extra}
        groups = {f"setup_{n}": (poly, color) for n, poly, color in sym.extra}
        for name, poly, color in ((SUPPORTS, sym.supports, SUPPORT_COLOR),
                                  (LOADS, sym.loads, LOAD_COLOR),
                                  *((n, *groups.get(n, (_EMPTY, ""))) for n in EXTRA)):
            if poly.n_points:
                plotter.add_mesh(poly, color=color, name=name, pickable=False, render=False,
                                 reset_camera=False, show_scalar_bar=False, smooth_shading=True)
            else:
                plotter.remove_actor(name, render=False)
        vp._apply_clip()  # the section plane, if any, cuts them too
        plotter.render()  # a paint request: merged with the one of the change shown
