import numpy as np
import pytest

from physapp.core import CellBlock, FieldResult, MeshData, ParameterError, ParameterSpec
from physapp.core.params import validate_params


def test_parameter_bounds_and_messages():
    p = ParameterSpec("radius", "Hole radius", "m", 0.001, 0.1, 0.01)
    assert p.validate("0.05") == 0.05
    with pytest.raises(ParameterError, match=r"outside its range \[0.001, 0.1\] m"):
        p.validate(0.2)
    with pytest.raises(ParameterError, match="not a number"):
        p.validate("abc")
    with pytest.raises(ParameterError, match="finite"):
        p.validate(float("nan"))


def test_validate_params_fills_defaults_and_rejects_unknown():
    specs = (ParameterSpec("a", "A", "m", 0, 1, 0.5), ParameterSpec("b", "B", "Pa", 1, 2, 1.5))
    assert validate_params(specs, {"a": 0.1}) == {"a": 0.1, "b": 1.5}
    with pytest.raises(ParameterError, match="Unknown parameter.*zz.*this study has: a, b"):
        validate_params(specs, {"zz": 1})


def test_meshdata_is_frozen_and_pickles():
    import pickle

    mesh = MeshData(np.array([[0, 0], [1, 0], [0, 1.0]]), (CellBlock("triangle", [[0, 1, 2]]),),
                    boundaries={"left": np.array([[0, 2]])})
    assert mesh.points.shape == (3, 3) and mesh.dim == 2
    with pytest.raises(ValueError):
        mesh.points[0, 0] = 5
    res = FieldResult(mesh, {"t": np.arange(3.0), "u": np.ones((3, 3))}, "test")
    assert res.point_data["t"].dtype == np.float32
    back = pickle.loads(pickle.dumps(res))
    assert np.array_equal(back.point_data["u"], res.point_data["u"])
    assert np.array_equal(back.mesh.boundaries["left"], [[0, 2]])
    np.testing.assert_allclose(back.scalar("u"), np.sqrt(3))
    np.testing.assert_allclose(back.scalar("u[1]"), 1.0)
    with pytest.raises(ValueError, match="3 points"):
        FieldResult(mesh, {"bad": np.zeros(4)}, "test")


def test_choice_parameter_takes_names_or_indices():
    p = ParameterSpec("model", "Model", "", 0, 1, 0, choices=("potential", "navier-stokes"))
    assert p.validate("navier-stokes") == 1.0 and p.validate(0) == 0.0 and p.validate("1") == 1.0
    assert p.choice(1.0) == "navier-stokes"
    with pytest.raises(ParameterError, match=r"not one of: potential \(0\), navier-stokes \(1\)"):
        p.validate("euler")
    with pytest.raises(ParameterError, match="not one of"):
        p.validate(0.5)
    with pytest.raises(ValueError):
        ParameterSpec("m", "M", "", 0, 2, 0, choices=("a", "b"))
