"""The shipped surrogates of the flow studies load, predict the study's fields on the morphed
reference mesh, and carry their held-out errors (shown in the app)."""

from pathlib import Path

import numpy as np
import pytest

from physapp.studies import get_study

ROOT = Path(__file__).resolve().parents[2]
FLOW = ("cylinder-in-channel", "airfoil", "lid-driven-cavity")


@pytest.mark.parametrize("study_id", FLOW)
def test_shipped_flow_surrogate_predicts_the_fields(study_id):
    path = ROOT / "physapp" / "resources" / "surrogates" / study_id / "pod-gp.pt"
    assert path.exists(), f"the shipped surrogate of {study_id} is missing"
    from physapp.surrogates.storage import load_surrogate

    model = load_surrogate(path)
    study = get_study(study_id)
    params = {k: v for k, v in study.spec.defaults().items() if k in model.param_names}
    res = model.predict(params)
    for name in ("velocity", "pressure", "vorticity", "stream_function"):
        assert np.all(np.isfinite(res.point_data[name])), name
    fields = model.metrics["fields"]
    # measured on held-out samples when the model was trained (tools/train_builtin.py)
    assert fields["velocity"]["rel_l2"] < 0.05
    assert set(model.metrics.get("key_quantities", {})) <= set(study.spec.key_quantities) | {
        "vortex_psi"}
