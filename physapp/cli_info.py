"""`physapp info` (what physapp understands of a mesh or CAD file: format, nodes, cells, regions,
unit, repairs) and `physapp plugins` (what was found, contributions, errors)."""

from __future__ import annotations

import argparse
import json

from physapp.cli import EXIT_OK
from physapp.core.errors import PhysappError


def add_info_parser(sub: argparse._SubParsersAction) -> None:
    info = sub.add_parser(
        "info", help="show what physapp understands of a mesh or CAD file",
        description="Read a mesh (Gmsh MSH, VTU, VTK, XDMF, Abaqus INP, MED, Nastran, Medit, SU2) "
        "or CAD/surface file (STEP, IGES, BREP, closed STL/OBJ/PLY, meshed with gmsh) and print "
        "its format, nodes, cells by type, regions with their sizes, bounding box, unit and any "
        "repair made; or the error the app would show (exit status 1).",
    )
    info.add_argument("file", help="the file to inspect")
    info.add_argument("--unit", default=None, metavar="UNIT",
                      help="length unit of the file: m, mm, cm, um, in, ft (default: mm for "
                      "CAD and surfaces, m for meshes)")
    info.add_argument("--size", type=float, default=None, metavar="M",
                      help="element size in metres for CAD and surfaces")
    info.add_argument("--json", action="store_true", help="machine-readable output")


def add_plugins_parser(sub: argparse._SubParsersAction) -> None:
    plugins = sub.add_parser(
        "plugins", help="list plugins, their contributions and load errors",
        description="List the plugins found (repository plugins/, ~/.local/share/physapp/plugins, "
        "$PHYSAPP_PLUGIN_PATH, the 'physapp.plugins' entry points) with their version, "
        "contributions and any error; enable or disable one for the next start.",
    )
    plugins.add_argument("--enable", metavar="NAME", help="enable a plugin")
    plugins.add_argument("--disable", metavar="NAME", help="disable a plugin")
    plugins.add_argument("--json", action="store_true", help="machine-readable output")


def cmd_plugins(args: argparse.Namespace) -> int:
    from physapp.plugins import builtin_plugin, discover, set_enabled
    from physapp.studies import list_studies, plugin_problems

    if args.enable or args.disable:
        set_enabled(args.enable or args.disable, bool(args.enable))
    from physapp.plugins import check_contributions, load_problems, refresh

    refresh()
    infos = [builtin_plugin(), *discover()]
    list_studies()  # import study code so load errors show up
    problems = {**load_problems(), **check_contributions(), **plugin_problems()}
    rows = []
    for info in infos:
        error = info.error or problems.get(info.name, "")
        rows.append({"name": info.name, "version": info.version, "source": info.source,
                     "enabled": info.enabled, "path": info.path, "error": error,
                     "contributions": [f"{c.kind}:{c.id}" for c in info.contributions]})
    if args.json:
        print(json.dumps({"plugins": rows}, indent=2))
        return EXIT_OK
    for r in rows:
        state = "error" if r["error"] else ("enabled" if r["enabled"] else "disabled")
        print(f"{r['name']} {r['version']} ({r['source']}, {state})")
        for c in r["contributions"]:
            print(f"    {c}")
        if r["error"]:
            print(f"    error: {r['error']}")
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    import math

    from physapp.io.readers import read_mesh

    if args.size is not None and not (math.isfinite(args.size) and args.size > 0):
        raise PhysappError(f"--size must be a positive element size in metres (got {args.size}).")

    mesh, report = read_mesh(args.file, length_unit=args.unit, size=args.size)
    from physapp.cli_parts import regions

    text, rows = regions(mesh, args.file)
    if args.json:
        print(json.dumps({**report.as_dict(), "regions": rows}, indent=2))
    else:
        print(report.text())
        print(text)
    return EXIT_OK
