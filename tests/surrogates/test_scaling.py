"""Declared physical scaling: exact for load and stiffness, kept through save/load."""

import numpy as np
import pytest

from physapp.compute.sweep import run_sweep
from physapp.surrogates.dataset import Dataset
from physapp.surrogates.storage import load_surrogate, save_surrogate
from physapp.surrogates.training import train_surrogate


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("scaling") / "plate.h5"
    ds = Dataset.create(path, "plate-with-hole", 10, "lhs", 0, 0.3,
                        vary=["traction", "youngs_modulus"], fixed={"mesh_size": 0.02}, order=1,
                        bounds={"traction": (-200e6, 300e6), "youngs_modulus": (50e9, 300e9)})
    run_sweep(ds, 1)
    return Dataset.open(path).training_data()


def test_scaling_makes_a_linear_problem_exact_and_survives_save_load(data, tmp_path):
    raw = train_surrogate("linear", data, field_scaling={})
    scaled = train_surrogate("linear", data)  # the study declares traction / E scaling
    for field in ("displacement", "von_mises", "sigma_xx"):
        assert scaled.metrics["fields"][field]["rel_l2"] < 1e-4, field
    assert raw.metrics["fields"]["displacement"]["rel_l2"] > 100 * scaled.metrics[
        "fields"]["displacement"]["rel_l2"]
    path = save_surrogate(scaled, tmp_path / "m.pt")
    back = load_surrogate(path, study_id="plate-with-hole")
    params = {"traction": -150e6, "youngs_modulus": 70e9}
    a, b = scaled.predict(params), back.predict(params)
    np.testing.assert_allclose(a.point_data["von_mises"], b.point_data["von_mises"], rtol=1e-6)
    assert np.all(b.point_data["von_mises"] >= -1e-3 * np.abs(b.point_data["von_mises"]).max())


def test_gp_uncertainty_scales_with_the_load(data):
    gp = train_surrogate("pod-gp", data)
    lo = gp.predict({"traction": 20e6, "youngs_modulus": 200e9}).point_data
    hi = gp.predict({"traction": 200e6, "youngs_modulus": 200e9}).point_data
    assert np.allclose(hi["sigma_xx"], 10 * lo["sigma_xx"], rtol=1e-3, atol=1e-3 * abs(
        hi["sigma_xx"]).max())
    # the scaled field's own std still depends a little on where in the range the load is
    # (7 training designs: the GP's length scale along the load is finite)
    big = lo["sigma_xx_std"] > 1e-6 * lo["sigma_xx_std"].max()
    ratio = hi["sigma_xx_std"][big] / (10 * lo["sigma_xx_std"][big])
    assert abs(np.median(ratio) - 1) < 0.05 and np.all(np.abs(ratio - 1) < 0.2), ratio
