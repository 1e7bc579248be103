"""Heat and flow set-up symbols (#13): where the arrows and discs sit and which way they point."""

from pathlib import Path

import numpy as np

from physapp.core.flow_setup import NavierStokesSetup, VelocityBC
from physapp.core.study import Convection, FixedTemperature, HeatFlux, HeatSetup
from physapp.io.readers import read_mesh
from physapp.viz.symbols import setup_symbols

MESHES = Path(__file__).parents[1] / "data" / "meshes"


def _groups(mesh, setup):
    sym = setup_symbols(mesh, setup)
    return sym, {name: poly for name, poly, _ in sym.extra}


def test_heat_symbols_on_a_unit_cube():
    """box.msh: front z = 1, back z = 0, top y = 1."""
    mesh = read_mesh(MESHES / "box.msh", isolate=False)[0]
    setup = HeatSetup("3d", 50.0, fixed=(FixedTemperature("back", 20.0),),
                      fluxes=(HeatFlux("front", 1e3),), convections=(Convection("top", 10.0, 20.0),))
    sym, g = _groups(mesh, setup)
    assert sym.n_supports == sym.n_loads == 0 and set(g) == {"fixed_temperature", "heat_flux",
                                                             "convection"}
    # discs flat on z = 0 (thin along z), arrows into the front (below z = 1 + arrow, tips at 1)
    b = g["fixed_temperature"].bounds
    assert abs(b[4]) < 0.01 and abs(b[5]) < 0.01 and b[1] - b[0] > 0.5
    b = g["heat_flux"].bounds
    assert b[4] > 0.99 and b[5] > 1.1  # outside the part, ending on its face
    # convection leaves the top face outwards: y from 1 up
    b = g["convection"].bounds
    assert b[2] > 0.99 and b[3] > 1.05
    # a negative flux (heat out) flips the arrows; h = 0: nothing drawn
    out = HeatSetup("3d", 50.0, fluxes=(HeatFlux("front", -1e3),),
                    convections=(Convection("top", 0.0, 20.0),))
    _, g2 = _groups(mesh, out)
    assert set(g2) == {"heat_flux"}
    np.testing.assert_allclose(g2["heat_flux"].bounds, g["heat_flux"].bounds, atol=0.02)


def test_flow_symbols_on_a_square():
    """square.msh (2D, 1 x 1): inflow at the left, a lid on top, walls on the right."""
    mesh = read_mesh(MESHES / "square.msh", isolate=False)[0]
    setup = NavierStokesSetup(nu=1e-3, velocity=(VelocityBC("left", (1.0, 0.0)),),
                              walls=("right", "top"))
    sym, g = _groups(mesh, setup)
    assert set(g) == {"inflow", "walls"} and sym.n_supports == 0
    b = g["inflow"].bounds  # arrows from outside (x < 0) ending on x = 0
    assert b[0] < -0.05 and abs(b[1]) < 0.02
    b = g["walls"].bounds  # flat discs on the right and top edges, none on the left
    assert b[1] > 0.99 and b[3] > 0.99 and b[0] > 0.02 and b[2] > -0.05
    assert abs(b[1] - 1.0) < 0.01  # thin across the wall
