"""Put the bundle's compiled torch modules where Python looks for them (run by build.sh).

PyInstaller's torch hook keeps torch's .py sources (torch reads some of them at import, e.g.
torch.utils._config_module reads its config modules' source), and without the PYZ archive
(noarchive=True) it writes each module's .pyc beside its .py. Python's path finder then takes the
.py and compiles it at every start (the bundle writes no __pycache__), and the .pyc is never read.
This script moves the .pyc of every torch module physapp imports (found by importing all of
physapp, an optimizer step and a save/load round trip in a child Python) to
``__pycache__/<name>.cpython-3XY.pyc``, marked as a hash-based pyc of its source (PEP 552), so
the import reads it; the other ~1200 torch modules (torch.compile's code generators, ONNX export,
...) keep only their source and are compiled if something imports them. Saves ~29 MB and the
compile time of ~1000 modules at each start.

Usage: python packaging/torch_pycs.py DIST/_internal   (with the Python that froze the bundle)
"""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

_PROBE = r"""
import importlib, io, json, pkgutil, sys
import physapp
for m in pkgutil.walk_packages(physapp.__path__, "physapp."):
    try:
        importlib.import_module(m.name)
    except Exception:  # an optional dependency missing: its modules are not in the bundle either
        pass
import torch, torch._dynamo
p = torch.nn.Parameter(torch.zeros(2))
opt = torch.optim.Adam([p]); (p * 2).sum().backward(); opt.step()
buf = io.BytesIO(); torch.save({"p": p.detach()}, buf); buf.seek(0); torch.load(buf)
print(json.dumps(sorted(k for k in sys.modules if k == "torch" or k.startswith("torch."))))
"""


def imported_torch_modules(root: Path) -> set[str]:
    env_path = str(root)
    out = subprocess.run([sys.executable, "-c", _PROBE], check=True, capture_output=True,
                         text=True, env={"PYTHONPATH": env_path, "OMP_NUM_THREADS": "1",
                                         "QT_QPA_PLATFORM": "offscreen", "HOME": str(Path.home()),
                                         "PATH": "/usr/bin:/bin"}).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def main(internal: Path, root: Path) -> None:
    used = imported_torch_modules(root)
    tag = sys.implementation.cache_tag  # e.g. cpython-311
    moved = dropped = 0
    for pyc in sorted((internal / "torch").rglob("*.pyc")):
        if "__pycache__" in pyc.parts:
            continue
        src = pyc.with_suffix(".py")
        if not src.exists():  # sourceless module: Python loads the .pyc itself
            continue
        rel = pyc.relative_to(internal).with_suffix("").as_posix().replace("/", ".")
        name = rel.removesuffix(".__init__")
        if name not in used:
            pyc.unlink()
            dropped += 1
            continue
        data = bytearray(pyc.read_bytes())
        if data[:4] != importlib.util.MAGIC_NUMBER:
            raise SystemExit(f"{pyc}: not compiled by this Python ({sys.version.split()[0]})")
        data[4:8] = (1).to_bytes(4, "little")  # hash-based, source not checked at import
        data[8:16] = importlib.util.source_hash(src.read_bytes())
        cache = pyc.parent / "__pycache__"
        cache.mkdir(exist_ok=True)
        (cache / f"{pyc.stem}.{tag}.pyc").write_bytes(bytes(data))
        pyc.unlink()
        moved += 1
    print(f"torch: {moved} compiled modules moved to __pycache__, {dropped} unused ones left "
          f"as source only")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(__file__).resolve().parent.parent)
