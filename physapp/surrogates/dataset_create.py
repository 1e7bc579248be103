"""Creating a data set file (:class:`~physapp.surrogates.dataset.Dataset`): the plan of a
study's samples (design of experiments over the varied parameters, fixed values, the range the
reference mesh can be morphed over) with every sample pending, or a data set of samples on their
own meshes (``from_mesh_samples``). A mixin of ``Dataset`` (class methods)."""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from physapp.core.errors import ParameterError, PhysappError
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress, scaled
from physapp.core.study import Study
from physapp.surrogates import doe
from physapp.surrogates.dataset_format import (
    DONE,
    FORMAT,
    MESSAGE_BYTES,
    VERSION,
    _fmt,
    _h5py,
    _write_mesh,
)
from physapp.surrogates.samples import MeshSamples

if TYPE_CHECKING:
    from physapp.surrogates.dataset import Dataset

class DatasetCreateMixin:
    """Dataset's creation of files (see the module docstring)."""

    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        study: Study | str,
        n: int,
        method: str = "lhs",
        seed: int = 0,
        test_fraction: float = 0.2,
        vary: Sequence[str] | None = None,
        fixed: Mapping[str, float] | None = None,
        bounds: Mapping[str, tuple[float, float]] | None = None,
        order: int = 2,
        *,
        reference: Mapping[str, float] | None = None,
        overwrite: bool = False,
        check_morph: bool = True,
        history_frames: int | None = None,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER,
    ) -> Dataset:
        """Plan a dataset and write the plan (no solve yet).

        Parameters
        ----------
        path : the HDF5 file to write.
        study : a study or its id.
        n : number of samples.
        method : ``"lhs"`` (Latin hypercube) or ``"sobol"`` (scrambled Sobol).
        seed : seed of the sampler and of the train/test split.
        test_fraction : fraction of samples held out for testing.
        vary : parameters to vary (default: all design parameters not in ``fixed``).
        fixed : values of parameters held fixed (the rest keep their defaults).
        bounds : narrower bounds (name -> (lower, upper)) for varied parameters.
        order : element order of the reference solver (1 or 2).
        reference : values of the reference geometry (default: the study defaults, or the
            middle of the bounds when a default lies outside them).
        overwrite : replace an existing file.
        check_morph : find the range of each varied geometric parameter over which the
            reference mesh can be morphed (:func:`~physapp.geometry.morph.valid_range`); default
            bounds are narrowed to it (see :attr:`notes`), explicit bounds beyond it are refused.
            Since the ranges hold one parameter at a time, a combination of values can still be
            refused: such a sample is then replaced during the sweep by the first morphable of
            up to 8 other points drawn for it (:meth:`alternates`, reproducible); ``replaced``
            marks them and ``X_planned`` keeps the original plan.
        history_frames : frames kept per sample of a study whose solve is a history (default
            :func:`~physapp.surrogates.history_data.default_frames`).

        Rows the study refuses (e.g. a hole too large for the plate) are replaced by further
        draws of the sampler, so that every planned sample can be built.
        """
        from physapp.geometry.morph import Morpher, valid_range
        from physapp.studies import get_study

        path = Path(path)
        if isinstance(study, str):
            study = get_study(study)
        if order not in (1, 2):
            raise ParameterError(f"The element order must be 1 or 2 (got {order}).")
        if path.exists() and not overwrite:
            raise PhysappError(
                f"{path} already exists: choose another file, resume it, or overwrite it."
            )
        if n < 3:
            raise ParameterError(f"A dataset needs at least 3 samples (got {n}).")
        from physapp.surrogates.history_data import DEFAULT_FRAMES

        frames = DEFAULT_FRAMES if history_frames is None else int(history_frames)
        if not 2 <= frames <= 100_000:
            raise ParameterError(f"history_frames must be between 2 and 100000 (got {frames}).")
        is_test = doe.split(n, test_fraction, seed)
        doe.check_method(method)
        design = doe.resolve_design(study, vary, fixed, bounds)
        fixed_topology = bool(getattr(study, "fixed_topology", True))
        if not fixed_topology:
            check_morph = False  # every sample is meshed afresh: nothing is morphed
        user_bounds = set(bounds or {})
        spec_bounds = np.array([[study.spec.parameter(p).lower, study.spec.parameter(p).upper]
                                for p in design.names])
        ref = dict(design.fixed)
        for name, (lo, hi) in zip(design.names, design.bounds, strict=True):
            default = study.spec.parameter(name).default
            ref[name] = default if lo <= default <= hi else 0.5 * (lo + hi)
        for name, value in (reference or {}).items():
            if name not in design.names:
                raise ParameterError(f"reference: {name} is not a varied parameter.")
            ref[name] = float(value)
        ref = study.check(ref)
        if history_frames is None:  # the study may ask for more (a fast periodic flow)
            from physapp.surrogates.history_data import default_frames

            frames = default_frames(study, ref)
        cancel.check()
        progress(0.0, "Meshing the reference geometry")
        mesh = study.build_mesh(ref, progress=scaled(progress, 0.0, 0.1), cancel=cancel)
        notes: list[str] = []
        ranges: dict[str, tuple[float, float]] = {}
        geometric = [nm for nm in design.names if study.spec.parameter(nm).geometric]
        box = design.bounds.copy()
        if check_morph and geometric:
            morpher = Morpher(study, ref, mesh)
            for i, name in enumerate(geometric):
                k = design.names.index(name)
                lo, hi = box[k]
                sub = scaled(progress, 0.1 + 0.85 * i / len(geometric),
                             0.1 + 0.85 * (i + 1) / len(geometric))
                a, b = valid_range(study, ref, name, morpher=morpher, lower=lo, upper=hi,
                                   progress=sub, cancel=cancel)
                ranges[name] = (a, b)
                if (a, b) == (lo, hi):
                    continue
                span = (f"[{_fmt(study, name, a)}, {_fmt(study, name, b)}]")
                if name in user_bounds:
                    raise ParameterError(
                        f"The reference mesh can be morphed only for {name} within {span} "
                        f"(others at the reference); narrow its bounds "
                        f"[{_fmt(study, name, lo)}, {_fmt(study, name, hi)}] to that range."
                    )
                box[k] = (a, b)
                notes.append(
                    f"{name}: range [{_fmt(study, name, lo)}, {_fmt(study, name, hi)}] narrowed "
                    f"to {span}, where the study can build it and the reference mesh can be "
                    "morphed to it (others at the reference)"
                )
        design = doe.Design(design.names, box, design.fixed)
        progress(0.95, "Sampling")
        rows, rejected = doe.sample_feasible(box, n, method, seed, doe.feasibility(study, design),
                                             integers=doe.integer_mask(study, design.names))
        if rejected:
            notes.append(f"{rejected} sampled point(s) the study cannot build were replaced by "
                         "further draws")
        tmp = path.with_name(path.name + ".tmp")
        h5py = _h5py()
        try:
            with h5py.File(tmp, "w") as f:
                a = f.attrs
                a["format"], a["version"] = FORMAT, VERSION
                a["fixed_topology"] = fixed_topology
                a["history_frames"] = frames
                a["study_id"], a["order"] = study.spec.id, order
                a["method"], a["seed"], a["test_fraction"] = method, seed, test_fraction
                a["created"] = datetime.datetime.now().isoformat(timespec="seconds")
                from physapp import __version__

                a["physapp_version"] = __version__
                plan = f.create_group("plan")
                plan.create_dataset("X", data=rows)
                plan.create_dataset("X_planned", data=rows)
                plan.attrs["replace_unmorphable"] = bool(check_morph)
                plan.create_dataset("is_test", data=is_test)
                plan.create_dataset("param_names", data=list(design.names),
                                    dtype=h5py.string_dtype())
                plan.create_dataset("bounds", data=box)
                plan.create_dataset("range_bounds", data=spec_bounds)
                plan.attrs["fixed"] = json.dumps(design.fixed)
                plan.attrs["reference_values"] = json.dumps(ref)
                plan.attrs["valid_ranges"] = json.dumps(ranges)
                plan.attrs["notes"] = json.dumps(notes)
                _write_mesh(f.create_group("reference"), mesh)
                s = f.create_group("samples")
                s.create_dataset("status", data=np.zeros(n, dtype=np.int8))
                s.create_dataset("message", data=np.zeros(n, dtype=f"S{MESSAGE_BYTES}"))
                s.create_dataset("elapsed", data=np.full(n, np.nan))
                s.create_dataset("replaced", data=np.zeros(n, dtype=np.int8))
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        progress(1.0, f"Planned {n} samples")
        return cls(path)

    @classmethod
    def from_mesh_samples(cls, path: str | os.PathLike, data: MeshSamples, *,
                          overwrite: bool = False, notes: Sequence[str] = (),
                          source: str = "") -> Dataset:
        """Write samples that each have their own mesh (e.g. imported result files) as a
        complete data set (every sample done); ``source`` is stored as the study id when the
        samples name none."""
        path = Path(path)
        if path.exists() and not overwrite:
            raise PhysappError(f"{path} already exists: choose another file or overwrite it.")
        n = len(data)
        names = tuple(data.param_names)
        all_fields = [*data.output_names, *data.input_names]
        units = {k: data.units.get(k, "") for k in all_fields}
        kq_names = sorted({k for s in data.samples for k in s.key_quantities})
        h5py = _h5py()
        tmp = path.with_name(path.name + ".tmp")
        try:
            with h5py.File(tmp, "w") as f:
                a = f.attrs
                a["format"], a["version"], a["fixed_topology"] = FORMAT, VERSION, False
                a["study_id"], a["order"] = data.study_id or source, 0
                a["method"], a["seed"] = "import", 0
                a["test_fraction"] = float(np.mean(data.is_test))
                a["created"] = datetime.datetime.now().isoformat(timespec="seconds")
                from physapp import __version__

                a["physapp_version"] = __version__
                plan = f.create_group("plan")
                X = data.X
                plan.create_dataset("X", data=X)
                plan.create_dataset("X_planned", data=X)
                plan.create_dataset("is_test", data=data.is_test)
                plan.create_dataset("param_names", data=list(names), dtype=h5py.string_dtype())
                plan.create_dataset("bounds", data=data.bounds)
                plan.create_dataset("range_bounds", data=data.bounds)
                plan.attrs["replace_unmorphable"] = False
                plan.attrs["fixed"] = json.dumps(dict(data.fixed))
                plan.attrs["reference_values"] = json.dumps({})
                plan.attrs["valid_ranges"] = json.dumps({})
                plan.attrs["notes"] = json.dumps(list(notes))
                plan.attrs["param_units"] = json.dumps({k: data.units.get(k, "") for k in names})
                plan.attrs["input_names"] = json.dumps(list(data.input_names))
                plan.attrs["output_names"] = json.dumps(list(data.output_names))
                plan.attrs["sample_names"] = json.dumps([smp.name for smp in data.samples])
                _write_mesh(f.create_group("reference"), data.samples[0].mesh)
                s = f.create_group("samples")
                s.create_dataset("status", data=np.full(n, DONE, dtype=np.int8))
                s.create_dataset("message", data=np.zeros(n, dtype=f"S{MESSAGE_BYTES}"))
                s.create_dataset("elapsed", data=np.full(n, np.nan))
                s.create_dataset("replaced", data=np.zeros(n, dtype=np.int8))
                s.attrs["field_units"] = json.dumps(units)
                kq = s.create_group("key_quantities")
                for k in kq_names:
                    kq.create_dataset(k, data=np.array(
                        [smp.key_quantities.get(k, np.nan) for smp in data.samples]))
                meshes = s.create_group("meshes")
                for i, smp in enumerate(data.samples):
                    g = meshes.create_group(str(i))
                    m = smp.mesh
                    g.create_dataset("points", data=m.points[:, : max(m.dim, 2)])
                    cg = g.create_group("cells")
                    for k, block in enumerate(m.cells):
                        c = cg.create_dataset(str(k), data=block.connectivity)
                        c.attrs["type"] = block.type
                    b = g.create_group("boundaries")
                    for name, facets in m.boundaries.items():
                        b.create_dataset(name, data=facets)
                    fg = g.create_group("fields")
                    for name in data.output_names:
                        fg.create_dataset(name, data=smp.outputs[name])
                    ig = g.create_group("inputs")
                    for name in data.input_names:
                        ig.create_dataset(name, data=smp.inputs[name])
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return cls(path)
