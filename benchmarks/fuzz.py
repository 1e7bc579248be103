"""Fuzz every reader physapp has with structure-aware mutations of small real files (#14).

Each reader gets seeds (small valid files made here: Gmsh MSH 2.2/4.1 ASCII and binary, VTU,
legacy VTK, STL ASCII and binary, PLY, OBJ, Abaqus INP, session JSON, plugin manifests, and the
model file and HDF5 sweep data set of ``tests/data/fuzz``). Hypothesis draws a short list of
mutations per input: for text, line deletions/duplications/swaps, numbers replaced by awkward ones
(0, -1, NaN, 1e308, 2**63, 400 digits ...), truncation, inserted bytes; for binary files, bytes
overwritten, 4/8-byte fields set to extreme integers or floats, chunks cut or repeated; for JSON
and TOML, values replaced in the parsed document (wrong types, huge numbers, deep nesting).

Every input is read in a worker process (restarted when it dies) with the reader's own entry point
(``read_mesh(..., isolate=False)``, ``load_session``, ``read_manifest``, ``load_surrogate``,
``Dataset.open`` + training data). An outcome is

* ``read``: accepted (``repair`` when the report lists a repair),
* ``clear``: refused with a PhysappError of one line (what the CLI prints with exit 1),
* ``crash``: any other exception (a would-be exit 70) or the worker killed by a signal,
* ``hang``: no answer within the time limit (10 s), and again none when a fresh worker gets the
  same input with a limit of 60 s (an input that answers then is counted as ``slow``: a busy
  machine starved the worker).

Inputs that crash or hang are written to ``--save DIR`` as soon as they are found; with ``--json``
the table is rewritten after every reader, so a long run stopped early keeps what it found.

Usage::

    python benchmarks/fuzz.py --per-reader 10000           # every reader, prints the table
    python benchmarks/fuzz.py --per-reader 200 --readers msh41-ascii,stl-binary

The short run in the test suite is ``tests/test_fuzz.py``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import struct
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "fuzz"
INTERESTING_NUMBERS = ["0", "-1", "1", "-0", "nan", "inf", "-inf", "1e308", "-1e308", "1e-320",
                       "2147483647", "2147483648", "4294967296", "9223372036854775807",
                       "18446744073709551616", "9" * 400, "0.5", "3", "7", "-2147483649", "1e9"]
INTERESTING_INTS = [0, 1, 2, 3, 0x7F, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
                    2**63 - 1, 2**64 - 1, -1 & 0xFFFFFFFF]
INTERESTING_FLOATS = [0.0, -0.0, 1.0, -1.0, float("nan"), float("inf"), float("-inf"), 1e308,
                      -1e308, 5e-324, 1e-30, 3.4e38]
JSON_VALUES = [None, True, False, 0, -1, 10**400, 1e308, "", "x" * 1000, [], {}, [[[[[]]]]],
               {"a": {"b": {"c": 1}}}, "nan", [1, 2], [0, 0, 0], 0.0, "turbo"]


# -- seeds ----------------------------------------------------------------------------------------
def _cube_tets(n: int = 2):
    """A unit cube split into 6 n^3 tetrahedra, with its boundary triangles tagged by side."""
    g = np.linspace(0.0, 1.0, n + 1)
    x, y, z = np.meshgrid(g, g, g, indexing="ij")
    pts = np.column_stack([x.ravel(), y.ravel(), z.ravel()])
    idx = np.arange(len(pts)).reshape(n + 1, n + 1, n + 1)
    tets = []
    for i in range(n):
        for j in range(n):
            for k in range(n):
                c = [idx[i + a, j + b, k + d] for a, b, d in
                     ((0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1),
                      (0, 1, 1))]
                for t in ((0, 1, 2, 6), (0, 2, 3, 6), (0, 3, 7, 6), (0, 7, 4, 6), (0, 4, 5, 6),
                          (0, 5, 1, 6)):
                    tets.append([c[v] for v in t])
    tets = np.asarray(tets)
    faces = {}
    for t in tets:
        for f in ((0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3)):
            key = tuple(sorted(t[list(f)]))
            faces[key] = faces.get(key, 0) + 1
    tris = np.asarray([k for k, c in faces.items() if c == 1])
    side = np.argmax(np.isclose(pts[tris].mean(axis=1), 0.0) * 1 + np.isclose(
        pts[tris].mean(axis=1), 1.0) * 2, axis=1)
    return pts, tets, tris, side


def _closed_surface():
    pts, _, tris, _ = _cube_tets(1)
    # outward orientation does not matter to the readers; keep it consistent anyway
    return pts * 10.0, tris


def make_seeds(folder: Path) -> dict[str, list[Path]]:
    """Small valid files of every kind, written into ``folder``: reader name -> seed paths."""
    import meshio

    from physapp.io.session import make_session, save_session

    folder.mkdir(parents=True, exist_ok=True)
    pts, tets, tris, side = _cube_tets(2)
    tags = {"gmsh:physical": [np.ones(len(tets), dtype=int), side + 10],
            "gmsh:geometrical": [np.ones(len(tets), dtype=int), side + 10]}
    mesh = meshio.Mesh(pts, [("tetra", tets), ("triangle", tris)], cell_data=tags,
                       field_data={"solid": np.array([1, 3]), "side_a": np.array([10, 2]),
                                   "side_b": np.array([11, 2])})
    plain = meshio.Mesh(pts, [("tetra", tets)])
    seeds: dict[str, list[Path]] = {}

    def add(name: str, path: Path) -> None:
        seeds.setdefault(name, []).append(path)

    for version, binary, name in ((2.2, False, "msh22-ascii"), (2.2, True, "msh22-binary"),
                                  (4.1, False, "msh41-ascii"), (4.1, True, "msh41-binary")):
        p = folder / f"{name}.msh"
        _gmsh_cube(p, version, binary)
        add(name, p)
    p = folder / "meshio-22.msh"
    meshio.write(p, mesh, file_format="gmsh22", binary=False)
    add("msh22-ascii", p)
    p = folder / "cube.vtu"
    meshio.write(p, plain, binary=False)
    add("vtu", p)
    p = folder / "cube-b.vtu"
    meshio.write(p, plain, binary=True, compression=None)
    add("vtu", p)
    for binary in (False, True):
        p = folder / f"cube-{int(binary)}.vtk"
        meshio.write(p, plain, file_format="vtk42", binary=binary)
        add("vtk", p)
    p = folder / "cube.inp"
    meshio.write(p, meshio.Mesh(pts, [("tetra", tets)], cell_sets={"solid": [np.arange(len(
        tets))]}, point_sets={"bottom": np.flatnonzero(pts[:, 2] == 0)}))
    add("inp", p)
    spts, stris = _closed_surface()
    surface = meshio.Mesh(spts, [("triangle", stris)])
    p = folder / "cube-ascii.stl"
    meshio.write(p, surface, binary=False)
    add("stl-ascii", p)
    p = folder / "cube-binary.stl"
    _write_binary_stl(p, spts[stris])
    add("stl-binary", p)
    for binary in (False, True):
        p = folder / f"cube-{int(binary)}.ply"
        meshio.write(p, meshio.Mesh(spts, [("triangle", stris.astype(np.int32))]), binary=binary)
        add("ply", p)
    p = folder / "cube.obj"
    meshio.write(p, surface)
    add("obj", p)
    p = folder / "view.physapp"
    save_session(make_session("plate-with-hole", {"radius": 0.02, "traction": 1e8}, view={
        "field": "von_mises", "colormap": "turbo", "show_edges": False, "warp_scale": 0.0,
        "clim": [0.0, 1e8], "clip": None,
        "camera": {"position": [0.1, 0.1, 1.0], "focal_point": [0.1, 0.1, 0.0],
                   "view_up": [0.0, 1.0, 0.0], "parallel_scale": 0.2,
                   "parallel_projection": True}}), p)
    add("session", p)
    for name, text in _MANIFESTS.items():
        d = folder / "manifests" / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "plugin.toml").write_text(text)
        add("manifest", d / "plugin.toml")
    add("model", DATA / "plate-podgp.pt")
    add("hdf5", DATA / "plate.h5")
    return seeds


def _gmsh_cube(path: Path, version: float, binary: bool) -> None:
    """A coarse tetrahedral box meshed by gmsh with physical groups, as MSH ``version``."""
    import gmsh

    from physapp.geometry.gmsh_session import gmsh_model

    with gmsh_model("fuzz"):
        gmsh.model.occ.addBox(0, 0, 0, 1, 1, 1)
        gmsh.model.occ.synchronize()
        gmsh.model.addPhysicalGroup(3, [1], name="solid")
        gmsh.model.addPhysicalGroup(2, [1], name="left")
        gmsh.model.addPhysicalGroup(2, [2, 3], name="right")
        gmsh.option.setNumber("Mesh.MeshSizeMax", 0.6)
        gmsh.model.mesh.generate(3)
        gmsh.option.setNumber("Mesh.MshFileVersion", version)
        gmsh.option.setNumber("Mesh.Binary", int(binary))
        gmsh.write(str(path))


def _write_binary_stl(path: Path, tri: np.ndarray) -> None:
    with open(path, "wb") as fh:
        fh.write(b"solid made by physapp's fuzzer".ljust(80, b" "))
        fh.write(struct.pack("<I", len(tri)))
        for t in tri:
            n = np.cross(t[1] - t[0], t[2] - t[0])
            fh.write(struct.pack("<12fH", *(n / max(np.linalg.norm(n), 1e-30)), *t.ravel(), 0))


_MANIFESTS = {
    "full": ('[plugin]\nname = "fuzzed"\nversion = "1.0"\napi = 1\ndescription = "x"\n'
             '[[studies]]\nid = "s"\nentry = "fuzzed.study:S"\ntitle = "S"\n'
             '[[models]]\nstudy = "s"\nfile = "m.pt"\n'
             '[[surrogates]]\nid = "m"\nentry = "fuzzed.m:M"\n'
             '[[readers]]\nextensions = [".fz"]\nentry = "fuzzed.r:read"\noverride = false\n'
             '[[writers]]\nextensions = [".fz"]\nentry = "fuzzed.r:write"\n'
             '[[solvers]]\nid = "x"\nentry = "fuzzed.s:solve"\nsetup = "ElasticSetup"\ndim = 2\n'
             '[[panels]]\nid = "p"\ntitle = "P"\nentry = "fuzzed.p:P"\n'),
}

READERS = ("msh22-ascii", "msh22-binary", "msh41-ascii", "msh41-binary", "vtu", "vtk",
           "stl-ascii", "stl-binary", "ply", "obj", "inp", "session", "model", "manifest", "hdf5")
TEXT = {"msh22-ascii", "msh41-ascii", "vtu", "stl-ascii", "obj", "inp"}
STRUCTURED = {"session": "json", "manifest": "toml"}


# -- mutations --------------------------------------------------------------------------------
def mutate(data: bytes, kind: str, ops: list[tuple[int, int, int]]) -> bytes:
    """Apply ``ops`` (each a tuple of three integers drawn by hypothesis) to a seed's bytes."""
    if kind in STRUCTURED:
        return _mutate_structured(data, STRUCTURED[kind], ops)
    text = kind in TEXT or (kind in ("vtk", "ply") and data[:2000].isascii())
    out = bytearray(data)
    for op, a, b in ops:
        if text:
            out = bytearray(_mutate_text(bytes(out), op, a, b))
        else:
            out = bytearray(_mutate_binary(bytes(out), op, a, b))
    return bytes(out)


def _mutate_text(data: bytes, op: int, a: int, b: int) -> bytes:
    lines = data.split(b"\n")
    n = max(len(lines), 1)
    op %= 9
    if op == 0:  # delete a line
        del lines[a % n]
    elif op == 1:  # duplicate a line
        lines.insert(a % n, lines[b % n])
    elif op == 2:  # swap two lines
        i, j = a % n, b % n
        lines[i], lines[j] = lines[j], lines[i]
    elif op == 3 or op == 4:  # a number replaced by an awkward one
        i = a % n
        words = lines[i].split(b" ")
        nums = [k for k, w in enumerate(words) if w[:1].isdigit() or w[:1] in b"-+."]
        if nums:
            words[nums[b % len(nums)]] = INTERESTING_NUMBERS[(a // n + b) %
                                                             len(INTERESTING_NUMBERS)].encode()
            lines[i] = b" ".join(words)
    elif op == 5:  # truncate
        return data[: a % max(len(data), 1)]
    elif op == 6:  # insert random bytes
        pos = a % max(len(data), 1)
        rnd = np.random.default_rng(b).integers(0, 256, 1 + b % 16, dtype=np.uint8).tobytes()
        return data[:pos] + rnd + data[pos:]
    elif op == 7:  # a word deleted (lines with too few values)
        i = a % n
        words = lines[i].split()
        if words:
            del words[b % len(words)]
            lines[i] = b" ".join(words)
    else:  # a block of lines repeated (counts that no longer match)
        i = a % n
        lines[i:i] = lines[i: i + 1 + b % 8]
    return b"\n".join(lines)


def _mutate_binary(data: bytes, op: int, a: int, b: int) -> bytes:
    n = max(len(data), 1)
    pos = a % n
    out = bytearray(data)
    op %= 7
    if op == 0:  # one byte
        out[pos] = b & 0xFF
    elif op == 1:  # a 4-byte integer field
        out[pos: pos + 4] = struct.pack("<I", INTERESTING_INTS[b % len(INTERESTING_INTS)]
                                        & 0xFFFFFFFF)
    elif op == 2:  # an 8-byte field
        out[pos: pos + 8] = struct.pack("<Q", INTERESTING_INTS[b % len(INTERESTING_INTS)]
                                        & 0xFFFFFFFFFFFFFFFF)
    elif op == 3:  # a float
        out[pos: pos + 8] = struct.pack("<d", INTERESTING_FLOATS[b % len(INTERESTING_FLOATS)])
    elif op == 4:  # truncate
        return bytes(out[:pos])
    elif op == 5:  # a chunk cut out
        return bytes(out[:pos] + out[pos + 1 + b % 256:])
    else:  # a chunk repeated
        chunk = out[pos: pos + 1 + b % 256]
        return bytes(out[:pos] + chunk + out[pos:])
    return bytes(out[:len(data) + 8])


def _paths(doc, prefix=()):
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


def _mutate_structured(data: bytes, kind: str, ops) -> bytes:
    import tomllib

    doc = json.loads(data) if kind == "json" else tomllib.loads(data.decode())
    for op, a, b in ops:
        paths = list(_paths(doc))
        if not paths:
            break
        path = paths[a % len(paths)]
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        kind_op = op % 4
        if kind_op == 0:  # a value of another type or size
            parent[key] = JSON_VALUES[b % len(JSON_VALUES)]
        elif kind_op == 1 and isinstance(parent, dict):  # a key removed
            del parent[key]
        elif kind_op == 2:  # a value nested deep
            v = parent[key]
            for _ in range(1 + b % 3000):
                v = [v]
            parent[key] = v
        else:  # a number scaled to the extremes
            v = parent[key]
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                parent[key] = [v * 1e300, -v, v * 10**300, 0][b % 4]
    if kind == "json":
        return json.dumps(doc, allow_nan=True).encode()
    return _toml_dumps(doc).encode()


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v) if v == v and abs(v) != float("inf") else "nan"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(x)}" for k, x in v.items()) \
            + "}"
    return '""'


def _toml_dumps(doc: dict) -> str:
    """Enough TOML for manifests: [tables], [[arrays of tables]], inline values."""
    out = []
    for key, value in doc.items():
        if isinstance(value, dict):
            out.append(f"[{json.dumps(str(key))}]")
            out += [f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items()]
        elif isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
            for item in value:
                out.append(f"[[{json.dumps(str(key))}]]")
                out += [f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in item.items()]
        else:
            out.insert(0, f"{json.dumps(str(key))} = {_toml_value(value)}")
    return "\n".join(out) + "\n"


# -- the worker: read one input with the reader's own entry point --------------------------------
SUFFIX = {"msh22-ascii": ".msh", "msh22-binary": ".msh", "msh41-ascii": ".msh",
          "msh41-binary": ".msh", "vtu": ".vtu", "vtk": ".vtk", "stl-ascii": ".stl",
          "stl-binary": ".stl", "ply": ".ply", "obj": ".obj", "inp": ".inp",
          "session": ".physapp", "model": ".pt", "manifest": ".toml", "hdf5": ".h5"}


def read_one(kind: str, path: Path) -> str:
    """The outcome of reading ``path`` as ``kind`` in this process: read, repair or clear;
    anything else raises (the caller calls that a crash)."""
    from physapp.core.errors import PhysappError

    try:
        if kind in ("session",):
            from physapp.io.session import load_session

            load_session(path)
            return "read"
        if kind == "manifest":
            from physapp.plugins import read_manifest

            info = read_manifest(path)
            if info.error:
                _one_line(info.error)
                return "clear"
            return "read"
        if kind == "model":
            from physapp.surrogates.storage import load_surrogate

            model = load_surrogate(path, device="cpu")
            model.predict({})
            return "read"
        if kind == "hdf5":
            from physapp.cli_models import read_training_data

            # in this worker process: the runner's time limit stops a hang and restarts the
            # worker (the CLI reads in a child process of its own for the same reason)
            read_training_data(str(path), isolate=False)
            return "read"
        from physapp.io.readers import read_mesh

        size = 3.0 if kind in ("stl-ascii", "stl-binary", "ply", "obj") else None
        _, report = read_mesh(path, size=size, length_unit="mm" if size else None,
                              isolate=False)
        return "repair" if report.repairs else "read"
    except PhysappError as exc:
        _one_line(str(exc))
        return "clear"


def _one_line(message: str) -> None:
    if "\n" in message.strip() or "Traceback" in message or not message.strip():
        raise AssertionError(f"unclear message: {message[:300]!r}")


def _worker(conn) -> None:
    import signal

    from physapp.core.lifetime import die_with_parent

    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    null = os.open(os.devnull, os.O_WRONLY)  # readers' own printing is not the outcome
    os.dup2(null, 1)
    os.dup2(null, 2)
    tmp = Path(tempfile.mkdtemp(prefix="physapp-fuzz-"))
    while True:
        try:
            item = conn.recv()
        except EOFError:
            return
        if item is None:
            return
        kind, data = item
        if kind == "manifest":
            path = tmp / "plug" / "plugin.toml"
            path.parent.mkdir(exist_ok=True)
        else:
            path = tmp / f"input{SUFFIX[kind]}"
        path.write_bytes(data)
        try:
            outcome, detail = read_one(kind, path), ""
        except BaseException as exc:  # noqa: BLE001 - a would-be exit 70
            outcome = "crash"
            detail = f"{type(exc).__name__}: {str(exc)[:200]} @ " + \
                traceback.format_exc(limit=-1).strip().splitlines()[-3].strip()[:200]
        conn.send((outcome, detail))


class Runner:
    """A worker process that reads inputs one at a time; restarted after a crash or a hang."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self.ctx = mp.get_context("spawn")
        self.proc = None

    def _start(self) -> None:
        self.warm: set[str] = set()  # kinds this worker has imported the readers of
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child,), daemon=True)
        self.proc.start()
        child.close()

    def run(self, kind: str, data: bytes, limit: float | None = None) -> tuple[str, str]:
        if self.proc is None or not self.proc.is_alive():
            self._start()
        self.conn.send((kind, data))
        t0 = time.monotonic()
        # the first input of a kind imports its libraries (torch, h5py, gmsh): not a hang
        if limit is None:
            limit = self.timeout if kind in self.warm else max(self.timeout, 120.0)
        while time.monotonic() - t0 < limit:
            if self.conn.poll(0.05):
                try:
                    answer = self.conn.recv()
                    self.warm.add(kind)
                    return answer
                except EOFError:
                    break
            if not self.proc.is_alive():
                break
        if self.proc.is_alive():
            self.stop()
            return "hang", f"no answer within {limit:g} s"
        code = self.proc.exitcode
        self.proc = None
        return "crash", f"worker died (exit code {code})"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.join(5)
            self.proc = None


OUTCOMES = ("read", "repair", "clear", "crash", "hang")


def fuzz_reader(kind: str, seeds: list[Path], n: int, runner: Runner, *, seed: int = 0,
                examples: list | None = None, save: Path | None = None,
                recheck: bool = True) -> Counter:
    """Feed ``n`` hypothesis-drawn mutations of ``seeds`` to the reader ``kind``; ``recheck``:
    give an input that hangs a second, long chance before it counts as a hang."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    blobs = [p.read_bytes() for p in seeds]
    counts: Counter = Counter()
    op = st.tuples(st.integers(0, 2**16), st.integers(0, 2**31), st.integers(0, 2**31))

    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), derandomize=False)
    @given(which=st.integers(0, len(blobs) - 1), ops=st.lists(op, min_size=1, max_size=4))
    def one(which, ops):
        try:
            data = mutate(blobs[which], kind, ops)
        except (ValueError, TypeError, RecursionError, KeyError, IndexError, OverflowError):
            data = blobs[which][: len(blobs[which]) // 2]
        outcome, detail = runner.run(kind, data)
        if outcome == "hang" and recheck:
            # a busy machine can starve the worker past the limit: a fresh worker gets the
            # same input once more with a long limit before it counts as a hang
            outcome, detail = runner.run(kind, data, limit=max(60.0, 6 * runner.timeout))
            if outcome != "hang":
                counts["slow"] += 1
        counts[outcome] += 1
        if outcome in ("crash", "hang") and examples is not None:
            examples.append((kind, outcome, detail, data))
            if save is not None:  # at once: a long run stopped early keeps what it found
                save.mkdir(parents=True, exist_ok=True)
                (save / f"{len(examples) - 1:03d}-{kind}-{outcome}{SUFFIX[kind]}").write_bytes(
                    data)

    import random

    random.seed(seed)
    one()
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-reader", type=int, default=500, metavar="N",
                        help="inputs per reader (default: %(default)s)")
    parser.add_argument("--readers", default=",".join(READERS),
                        help=f"comma-separated readers (default: all: {', '.join(READERS)})")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per input")
    parser.add_argument("--json", metavar="FILE", help="also write the table as JSON")
    parser.add_argument("--save", metavar="DIR", help="write the inputs that crash or hang there")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.readers.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(READERS))
    if unknown:
        parser.error(f"unknown reader(s) {', '.join(unknown)}")
    seeds = make_seeds(Path(tempfile.mkdtemp(prefix="physapp-fuzz-seeds-")))
    runner = Runner(args.timeout)
    rows, examples = {}, []
    print(f"{'reader':<14} {'inputs':>7} {'read':>6} {'repair':>6} {'clear':>6} {'crash':>6} "
          f"{'hang':>5} {'s/input':>8} {'slow':>5}", flush=True)
    try:
        for kind in kinds:
            t0 = time.monotonic()
            c = fuzz_reader(kind, seeds[kind], args.per_reader, runner, examples=examples,
                            save=Path(args.save) if args.save else None)
            dt = (time.monotonic() - t0) / max(sum(c[o] for o in OUTCOMES), 1)
            rows[kind] = {**{o: c[o] for o in OUTCOMES}, "slow": c["slow"],
                          "inputs": sum(c[o] for o in OUTCOMES),
                          "s_per_input": round(dt, 4)}
            print(f"{kind:<14} {rows[kind]['inputs']:>7} {c['read']:>6} {c['repair']:>6} "
                  f"{c['clear']:>6} {c['crash']:>6} {c['hang']:>5} {dt:>8.3f} {c['slow']:>5}",
                  flush=True)
            if args.json:  # after every reader: a long run stopped early keeps its rows
                Path(args.json).write_text(json.dumps({"readers": rows}, indent=2))
    finally:
        runner.stop()
    total = {o: sum(r[o] for r in rows.values()) for o in (*OUTCOMES, "inputs")}
    print(f"{'total':<14} {total['inputs']:>7} {total['read']:>6} {total['repair']:>6} "
          f"{total['clear']:>6} {total['crash']:>6} {total['hang']:>5}")
    for i, (kind, outcome, detail, data) in enumerate(examples):
        if i < 20:
            print(f"  {outcome} in {kind}: {detail} (input starts {data[:60]!r})")
    if args.json:
        Path(args.json).write_text(json.dumps({"readers": rows, "total": total,
                                               "examples": [e[:3] for e in examples[:50]]},
                                              indent=2))
    return 1 if total["crash"] or total["hang"] else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
