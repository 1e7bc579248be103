"""physapp.studies() and physapp.plugins() keep working after their subpackages are imported
(#12: the first API call used to replace them with the modules)."""

import subprocess
import sys


def test_studies_and_plugins_stay_callable_after_other_calls():
    code = ("import physapp\n"
            "a = physapp.studies()\n"
            "physapp.get_study('plate-with-hole')\n"  # imports physapp.studies, physapp.plugins
            "import physapp.studies, physapp.plugins\n"
            "b = physapp.studies()\n"
            "names = [p.name for p in physapp.plugins()]\n"
            "assert a == b and 'plate-with-hole' in b, (a, b)\n"
            "assert 'physapp' in names, names\n"
            "assert callable(physapp.studies.get_study)\n"  # the module is still a module
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_predict_and_solve_fill_unset_parameters_from_the_same_defaults():
    import physapp
    from physapp.studies import get_study

    model = physapp.load_model("plate-with-hole")
    result = physapp.predict(model)
    defaults = get_study("plate-with-hole").spec.defaults()
    used = result.meta["params"]
    inside = [n for (n, (lo, hi)) in zip(model.param_names, model.bounds, strict=True)
              if lo <= defaults[n] <= hi]
    assert inside, "the shipped model should cover some of the study's defaults"
    for name in inside:
        assert used[name] == defaults[name], name
