"""``physapp dataset import``: a folder of result files physapp did not make -> a data set (#19).

Kept out of cli.py (which only registers it); the heavy modules are imported when it runs.
"""

from __future__ import annotations

import argparse
import json
import sys

EPILOG = """Examples:
  physapp dataset import runs/ --inputs k --outputs u --params runs/params.csv --out darcy.h5
  physapp dataset import runs/ --outputs temperature,heat_flux --params power,h --out heat.h5
  physapp dataset import plaid_set/ --out set.h5      a PLAID data set (infos.yaml + data/)
  physapp dataset export holes.h5 --out holes_plaid/  any data set -> PLAID (cgns backend)

The parameter table has one row per file and a column 'file' naming it; the other columns are
the parameters. A FOLDER holding a PLAID data set (pyplaid) is read as such: its problem
definition names inputs, outputs and parameters unless given. Units may follow a name in brackets, e.g. 'T [K]' or 'power (W)'. Without
--params the scalars of each file's field data (VTU) that every file has are the parameters.
A file with a problem (unreadable, an array missing, NaN values, another unit than the other
files, no or a bad parameter row) is listed and left out; --strict refuses the import instead.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dataset", help="import result files made elsewhere as a training data set",
        description="Data sets for mesh-agnostic surrogates from data physapp did not make.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    dsub = p.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    imp = dsub.add_parser(
        "import", help="read a folder of VTU/VTK/XDMF/MSH files, one per sample",
        description="Read every VTU, legacy VTK, XDMF and Gmsh MSH file of FOLDER as one sample "
        "(meshes may differ), with the point arrays named by --inputs and --outputs and the "
        "scalar parameters of --params, and write them as an HDF5 data set for `physapp train` "
        "with a mesh-agnostic model. Each file is read in an isolated child process.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    imp.add_argument("folder", metavar="FOLDER", help="folder of result files")
    imp.add_argument("--outputs", default="", metavar="A,B",
                     help="point arrays to learn (comma-separated, without units; required "
                     "unless a PLAID problem definition names them)")
    imp.add_argument("--inputs", default="", metavar="A,B",
                     help="point arrays given to the model as input fields (e.g. a "
                     "permeability field)")
    imp.add_argument("--params", default=None, metavar="PARAMS.csv|A,B",
                     help="a CSV table (a 'file' column and one column per parameter), or the "
                     "names of scalars in each file's field data (default: the field-data "
                     "scalars every file has)")
    imp.add_argument("--out", required=True, metavar="DATA.h5", help="data set file to write")
    imp.add_argument("--length-unit", default="m", metavar="UNIT",
                     help="unit of the coordinates in the files: m, mm, cm, um, in, ft "
                     "(default: %(default)s)")
    imp.add_argument("--test-fraction", type=float, default=0.2, metavar="F",
                     help="fraction of samples held out for testing (default: %(default)s)")
    imp.add_argument("--seed", type=int, default=0, help="seed of the split (default: 0)")
    imp.add_argument("--strict", action="store_true",
                     help="refuse the import when any file has a problem (default: list the "
                     "problems and import the other files)")
    imp.add_argument("--overwrite", action="store_true", help="replace an existing data set")
    imp.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    imp.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    exp = dsub.add_parser(
        "export", help="write a data set as a PLAID data set (needs pyplaid)",
        description="Write the finished samples of a data set (a sweep or an import) as a "
        "PLAID data set with the cgns storage backend: infos.yaml, a problem definition "
        "(parameters and input fields in, output fields and key quantities out) and one CGNS "
        "file per sample in data/train and data/test. Needs the pyplaid package.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    exp.add_argument("data", metavar="DATA.h5", help="data set (HDF5) to export")
    exp.add_argument("--out", required=True, metavar="FOLDER", help="PLAID folder to write")
    exp.add_argument("--overwrite", action="store_true", help="replace a non-empty folder")
    exp.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    exp.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def _names(text: str) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def cmd_dataset(args: argparse.Namespace, progress) -> int:
    if args.dataset_command == "export":
        return _cmd_export(args, progress)
    return _cmd_import(args, progress)


def _cmd_export(args: argparse.Namespace, progress) -> int:
    from physapp.surrogates.dataset import Dataset
    from physapp.surrogates.plaid_io import write_plaid

    data = Dataset.open(args.data).mesh_samples()
    folder = write_plaid(data, args.out, overwrite=args.overwrite, progress=progress)
    if not args.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    n_test = int(data.is_test.sum())
    if args.json:
        print(json.dumps({"output": str(folder), "n_samples": len(data), "n_test": n_test},
                         indent=2))
    else:
        print(f"Wrote {folder}: {len(data)} PLAID samples ({len(data) - n_test} train, "
              f"{n_test} test)")
    return 0


def _cmd_import(args: argparse.Namespace, progress) -> int:
    from physapp.core.errors import PhysappError
    from physapp.surrogates.external import import_to_dataset

    if not 0 <= args.test_fraction < 1:
        raise PhysappError(f"--test-fraction must be in [0, 1) (got {args.test_fraction}).")
    params = args.params
    if params is not None and not params.lower().endswith(".csv"):
        params = _names(params)
    result, out = import_to_dataset(
        args.folder, args.out, overwrite=args.overwrite, inputs=_names(args.inputs),
        outputs=_names(args.outputs), params=params, length_unit=args.length_unit,
        strict=args.strict, test_fraction=args.test_fraction, seed=args.seed,
        progress=progress)
    if not args.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    for problem in result.problems:
        print(f"physapp: warning: {problem}", file=sys.stderr)
    data = result.samples
    if args.json:
        print(json.dumps({
            "output": str(out), "imported": result.files, "n_test": int(data.is_test.sum()),
            "parameters": list(data.param_names), "inputs": list(data.input_names),
            "outputs": list(data.output_names), "units": data.units,
            "problems": [{"file": p.file, "problem": p.problem} for p in result.problems],
        }, indent=2))
    else:
        print(f"Wrote {out}: {result.summary()}; {int(data.is_test.sum())} held out; "
              f"parameters {', '.join(data.param_names) or 'none'}")
    return 0
