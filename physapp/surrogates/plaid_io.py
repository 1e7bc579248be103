"""PLAID data sets both ways (the physics-ML data model of MMGP's authors; package ``pyplaid``).

A PLAID data set on disk (the ``cgns`` storage backend of ``plaid.storage.save_to_disk``) is a
folder with ``infos.yaml``, ``problem_definitions/<name>.yaml`` (input and output features) and
``data/<split>/sample_<9 digits>/meshes/mesh_<9 digits>.cgns``: one CGNS tree per sample with
the mesh (nodes, elements), vertex fields and, in the base ``Global``, scalars.

:func:`write_plaid` writes :class:`~physapp.surrogates.samples.MeshSamples` so (splits ``train``
and ``test``; parameters as global scalars, key quantities too; a problem definition ``physapp``
declares parameters and input fields as inputs, output fields and key quantities as outputs).
:func:`read_plaid` reads such a folder back: the problem definition (or the caller's names)
says which vertex fields are inputs and outputs and which scalars are parameters; split names
containing "test" are held out. Only ``plaid.containers`` is used (pyplaid with pyCGNS and
pydantic); the other storage backends (``hf_datasets``, ``zarr``) need pyplaid's full install
and are read through ``plaid.storage`` when it imports.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from physapp.core.errors import PhysappError
from physapp.core.mesh import CELL_INFO, CellBlock, MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.surrogates.samples import MeshSample, MeshSamples

#: meshio cell type -> CGNS element type (node orders agree for these)
CGNS_ELEMENTS = {"line": "BAR_2", "line3": "BAR_3", "triangle": "TRI_3", "triangle6": "TRI_6",
                 "quad": "QUAD_4", "quad8": "QUAD_8", "quad9": "QUAD_9", "tetra": "TETRA_4",
                 "tetra10": "TETRA_10", "hexahedron": "HEXA_8", "hexahedron20": "HEXA_20",
                 "wedge": "PENTA_6", "pyramid": "PYRA_5"}
MESHIO_CELLS = {v: k for k, v in CGNS_ELEMENTS.items()}
PROBLEM = "physapp"
INSTALL = "pip install 'pyplaid>=1.0,<2'"


def _plaid():
    """Import pyplaid without letting it configure the root logger (it calls basicConfig)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import plaid  # noqa: F401
        from plaid import Sample  # noqa: F401
    except ImportError as exc:
        raise PhysappError(f"PLAID data sets need the pyplaid package ({exc}): {INSTALL}.") \
            from None
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    return plaid


def is_plaid_folder(folder: str | os.PathLike) -> bool:
    """Does ``folder`` look like a PLAID data set (``infos.yaml`` and ``data/``)?"""
    folder = Path(folder)
    return (folder / "infos.yaml").is_file() and (folder / "data").is_dir()


# -- writing ---------------------------------------------------------------------------------


def write_plaid(data: MeshSamples, folder: str | os.PathLike, *, overwrite: bool = False,
                description: str = "", progress: ProgressFn = no_progress,
                cancel: CancelToken = NEVER) -> Path:
    """Write ``data`` as a PLAID data set (cgns backend) in ``folder``; returns the folder."""
    _plaid()
    import CGNS.PAT.cgnskeywords as CGK
    import CGNS.PAT.cgnslib as CGL
    from plaid import Sample
    from plaid.infos import Infos
    from plaid.problem_definition import ProblemDefinition

    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        if not overwrite:
            raise PhysappError(f"{folder} exists and is not empty: choose another folder or "
                               "overwrite it.")
        shutil.rmtree(folder)
    kq_names = sorted({k for s in data.samples for k in s.key_quantities})
    splits = {"train": [], "test": []}
    for i, held_out in enumerate(data.is_test):
        splits["test" if held_out else "train"].append(i)
    base = ""
    for split, indices in splits.items():
        out = folder / "data" / split
        out.mkdir(parents=True, exist_ok=True)
        for k, i in enumerate(indices):
            cancel.check()
            progress(i / len(data), f"Writing sample {i + 1}/{len(data)}")
            s = data.samples[i]
            mesh = s.mesh
            dim = mesh.dim
            base = f"Base_{dim}_{dim}"
            sample = Sample()
            sample.init_base(dim, dim, base)
            zone = sample.init_zone(np.array([[mesh.n_points, mesh.n_cells, 0]]), zone="Zone",
                                    base=base)
            sample.set_nodes(np.ascontiguousarray(mesh.points[:, :dim]), zone="Zone", base=base)
            start = 1
            for block in mesh.cells:
                name = CGNS_ELEMENTS.get(block.type)
                if name is None:
                    raise PhysappError(f"{s.name or i}: cells of type {block.type} have no "
                                       "CGNS equivalent physapp writes.")
                conn = (block.connectivity + 1).astype(np.int32)
                CGL.newElements(zone, f"Elements_{name}", getattr(CGK, name),
                                np.array([start, start + len(conn) - 1]), conn.ravel())
                start += len(conn)
            for name in (*data.output_names, *data.input_names):
                arr = np.asarray((s.outputs | s.inputs)[name], dtype=np.float64)
                if arr.ndim == 1:
                    sample.add_field(name, arr, zone="Zone", base=base)
                else:  # vector fields: one field per component, name_0, name_1 ...
                    for c in range(arr.shape[1]):
                        sample.add_field(f"{name}_{c}", np.ascontiguousarray(arr[:, c]),
                                         zone="Zone", base=base)
            for name in data.param_names:
                sample.add_global(name, np.array([s.params[name]]))
            for name in kq_names:
                sample.add_global(name, np.array([s.key_quantities.get(name, math.nan)]))
            sample.save_to_dir(out / f"sample_{k:09d}")
    counts = {k: len(v) for k, v in splits.items()}
    Infos(owner="physapp", license="unknown",
          data_description=description or f"physapp samples of {data.study_id or 'imports'}",
          num_samples=counts, storage_backend="cgns").save_to_file(folder / "infos.yaml")
    ins = [f"Global/{p}" for p in data.param_names] + [
        f"{base}/Zone/VertexFields/{f}" for f in _components(data, data.input_names)]
    outs = [f"{base}/Zone/VertexFields/{f}" for f in _components(data, data.output_names)] + [
        f"Global/{k}" for k in kq_names]
    if ins and outs:
        (folder / "problem_definitions").mkdir(exist_ok=True)
        ProblemDefinition(input_features=ins, output_features=outs,
                          train_split={"train": "all"}, test_split={"test": "all"}
                          ).save_to_file(folder / "problem_definitions" / PROBLEM)
    progress(1.0, f"Wrote {len(data)} PLAID samples to {folder.name}")
    return folder


def _components(data: MeshSamples, names: Sequence[str]) -> list[str]:
    s = data.samples[0]
    out = []
    for name in names:
        arr = (s.outputs | s.inputs)[name]
        out += [name] if np.ndim(arr) == 1 else [f"{name}_{c}" for c in range(arr.shape[1])]
    return out


# -- reading ---------------------------------------------------------------------------------


def _problem(folder: Path):
    from plaid.problem_definition import ProblemDefinition

    pdir = folder / "problem_definitions"
    files = sorted(pdir.glob("*.yaml")) if pdir.is_dir() else []
    if not files:
        return None
    chosen = next((f for f in files if f.stem == PROBLEM), files[0])
    return ProblemDefinition.from_path(chosen)


def _samples_of(folder: Path):
    """(split, sample dir name, plaid Sample) of every sample (cgns backend: straight from the
    folders; others through plaid.storage, which needs pyplaid's full install)."""
    from plaid import Sample
    from plaid.infos import Infos

    try:
        infos = Infos.from_path(folder / "infos.yaml")
        backend = infos.storage_backend or "cgns"
    except Exception as exc:  # noqa: BLE001 - pydantic/yaml errors: one clear line
        raise PhysappError(f"'{folder.name}/infos.yaml' is not a valid PLAID infos file: "
                           f"{str(exc).splitlines()[0]}") from None
    if backend == "cgns":
        for split_dir in sorted(p for p in (folder / "data").iterdir() if p.is_dir()):
            for sdir in sorted(p for p in split_dir.iterdir()
                               if p.is_dir() and p.name.startswith("sample_")):
                try:
                    yield split_dir.name, sdir.name, Sample.load_from_dir(sdir)
                except Exception as exc:  # noqa: BLE001 - a damaged sample is one problem
                    yield split_dir.name, sdir.name, f"cannot be read: {exc}"
        return
    try:
        from plaid.storage import init_from_disk
    except ImportError as exc:
        raise PhysappError(
            f"This PLAID data set uses the '{backend}' storage backend, which needs pyplaid's "
            f"full installation ({exc}): pip install 'pyplaid[all]' or pip install pyplaid "
            "with its dependencies. physapp reads the 'cgns' backend with pyplaid alone.") \
            from None
    datasets, converters = init_from_disk(folder)
    for split, ds in datasets.items():
        for k in range(len(ds)):
            yield str(split), f"sample_{k:09d}", converters[split].to_plaid(ds, k)


def read_plaid_samples(folder: str, inputs: Sequence[str] | None = None,
                       outputs: Sequence[str] | None = None,
                       params: Sequence[str] | None = None,
                       progress: ProgressFn = no_progress) -> tuple[MeshSamples | None, list]:
    """Read a PLAID folder: (MeshSamples or None, [(sample, problem), ...]).

    Names not given come from the problem definition: its ``Global/<x>`` inputs are the
    parameters, its vertex-field inputs the input fields, its vertex-field outputs the outputs
    (``Global`` outputs become key quantities)."""
    _plaid()
    folder = Path(folder)
    pb = _problem(folder)
    kq_names: list[str] = []
    if pb is not None:
        def leaf(path):
            return path.rsplit("/", 1)[-1]

        g_in = [leaf(p) for p in pb.input_features if p.startswith("Global/")]
        f_in = [leaf(p) for p in pb.input_features if "/VertexFields/" in p]
        f_out = [leaf(p) for p in pb.output_features if "/VertexFields/" in p]
        kq_names = [leaf(p) for p in pb.output_features if p.startswith("Global/")]
        params = list(params) if params is not None else g_in
        inputs = list(inputs) if inputs is not None else _regroup(f_in)
        outputs = list(outputs) if outputs else _regroup(f_out)
    if not outputs:
        raise PhysappError(f"'{folder.name}' has no problem definition naming its outputs: name "
                           "the output fields (--outputs).")
    inputs, params = list(inputs or []), list(params or [])
    samples, problems = [], []
    for count, (split, name, s) in enumerate(_samples_of(folder)):
        progress(min(0.99, count / max(1, count + 1)), f"Reading {split}/{name}")
        label = f"{split}/{name}"
        if isinstance(s, str):
            problems.append((label, s))
            continue
        try:
            sample, issues = _to_mesh_sample(s, label, inputs, outputs, params, kq_names)
        except Exception as exc:  # noqa: BLE001 - an unexpected tree: one problem per sample
            sample, issues = None, [f"cannot be converted: {type(exc).__name__}: {exc}"]
        if issues:
            problems.append((label, "; ".join(issues)))
        else:
            samples.append((split, sample))
    if not samples:
        return None, problems
    is_test = np.array(["test" in split.lower() for split, _ in samples])
    data = MeshSamples([s for _, s in samples], tuple(params), tuple(outputs), tuple(inputs),
                       is_test=is_test, study_id=f"plaid:{folder.name}")
    return data, problems


def _regroup(names: Sequence[str]) -> list[str]:
    """Component fields ``u_0, u_1, ...`` (all of 0..k-1 present) back to the vector ``u``."""
    out: list[str] = []
    for n in names:
        stem, _, idx = n.rpartition("_")
        if stem and idx.isdigit():
            k = sum(1 for m in names if m.rpartition("_")[0] == stem
                    and m.rpartition("_")[2].isdigit())
            if all(f"{stem}_{c}" in names for c in range(k)) and stem not in names:
                if stem not in out:
                    out.append(stem)
                continue
        out.append(n)
    return out


def _to_mesh_sample(s, label, inputs, outputs, params, kq_names):
    bases = [b for b in s.get_base_names() if b != "Global"]
    if not bases:
        return None, ["no mesh (only global scalars)"]
    base = bases[0]
    zone = s.get_zone_names(base=base)[0]
    nodes = np.asarray(s.get_nodes(zone=zone, base=base), dtype=np.float64)
    blocks = []
    for cname, conn in s.get_elements(zone=zone, base=base).items():
        mtype = MESHIO_CELLS.get(cname)
        if mtype is None:
            return None, [f"elements {cname} that physapp cannot use"]
        blocks.append(CellBlock(mtype, np.asarray(conn, dtype=np.int64)))
    if not blocks:
        return None, ["no elements"]
    dim = max(CELL_INFO[b.type][1] for b in blocks)
    blocks = [b for b in blocks if CELL_INFO[b.type][1] == dim]
    mesh = MeshData(nodes, tuple(blocks), dim=dim)
    names = set(s.get_field_names(zone=zone, base=base))
    issues, values = [], {}
    for n in [*inputs, *outputs]:
        comps = sorted((f for f in names if f.startswith(f"{n}_") and f[len(n) + 1:].isdigit()),
                       key=lambda f: int(f[len(n) + 1:]))
        if n in names:
            arr = np.asarray(s.get_field(n, zone=zone, base=base), dtype=np.float64)
        elif comps:
            arr = np.column_stack([np.asarray(s.get_field(f, zone=zone, base=base),
                                              dtype=np.float64) for f in comps])
        else:
            issues.append(f"no vertex field '{n}'")
            continue
        bad = int((~np.isfinite(arr)).sum())
        if bad:
            issues.append(f"'{n}' has {bad} NaN or infinite value(s)")
        values[n] = arr
    globals_ = set(s.get_global_names())
    pvals = {}
    for p in params:
        v = s.get_global(p) if p in globals_ else None
        v = float(np.asarray(v).reshape(-1)[0]) if v is not None else math.nan
        if not math.isfinite(v):
            issues.append(f"no finite scalar '{p}'")
        pvals[p] = v
    kq = {}
    for k in kq_names:
        if k in globals_:
            kq[k] = float(np.asarray(s.get_global(k)).reshape(-1)[0])
    if issues:
        return None, issues
    return MeshSample(mesh, pvals, {n: values[n] for n in outputs},
                      {n: values[n] for n in inputs}, kq, name=label), []


def read_plaid(folder: str | os.PathLike, inputs: Sequence[str] | None = None,
               outputs: Sequence[str] | None = None, params: Sequence[str] | None = None, *,
               isolate: bool = True, progress: ProgressFn = no_progress,
               cancel: CancelToken = NEVER) -> tuple[MeshSamples | None, list]:
    """:func:`read_plaid_samples` (in an isolated child unless ``isolate=False``: pyCGNS and
    HDF5 read a user's files)."""
    if not isolate:
        return read_plaid_samples(str(folder), inputs, outputs, params, progress=progress)
    from physapp.core.isolate import run_isolated

    return run_isolated(read_plaid_samples, str(folder), inputs, outputs, params,
                        timeout=float(os.environ.get("PHYSAPP_READ_TIMEOUT", "") or 900.0),
                        what=f"Reading the PLAID data set '{Path(folder).name}'",
                        progress=progress, cancel=cancel)
