#!/usr/bin/env bash
# Build the self-contained physapp bundle for Linux (x86_64 or aarch64):
#   dist/physapp/                       the folder (run dist/physapp/physapp)
#   dist/physapp-<version>-linux-<arch>.tar.gz   the archive users download
# The bundle holds Python, physapp, its shipped surrogates and example plugin, gmsh, VTK, Qt and
# the CPU build of torch; it needs no Python, venv or network on the target machine.
# Usage: packaging/build.sh [--no-archive] [--no-smoke]
# PHYSAPP_BUILD_PYTHON=/path/to/python: freeze with that Python (which already has physapp's
# dependencies and PyInstaller) instead of setting up .venv with tools/bootstrap.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
say() { printf '\033[1m[physapp build]\033[0m %s\n' "$*" >&2; }
ARCHIVE=1; SMOKE=1
for a in "$@"; do
  case "$a" in
    --no-archive) ARCHIVE=0 ;;
    --no-smoke) SMOKE=0 ;;
    -h|--help) sed -n 2,9p "$0"; exit 0 ;;
    *) echo "unknown option: $a" >&2; exit 2 ;;
  esac
done

if [ -n "${PHYSAPP_BUILD_PYTHON:-}" ]; then
  PY=$PHYSAPP_BUILD_PYTHON
else
  tools/bootstrap.sh                     # .venv with physapp and (CPU) torch
  PY="$ROOT/.venv/bin/python"
fi
"$PY" -c "import PyInstaller" 2>/dev/null || \
  "$PY" -m pip --disable-pip-version-check -q install "pyinstaller==6.22.3" \
    2> >(grep -v "^WARNING: Location" >&2)
VERSION=$("$PY" -c "import physapp; print(physapp.__version__)")
ARCH=$(uname -m)

say "freezing physapp $VERSION with PyInstaller (several minutes)"
rm -rf dist/physapp build/pyinstaller
"$PY" -m PyInstaller packaging/physapp.spec --noconfirm --log-level WARN \
  --distpath dist --workpath build/pyinstaller
# symbol tables (not needed to run; the dynamic symbols stay): torch's libraries carry ~100 MB,
# VTK's ~60 MB, the other extension modules ~40 MB. A library an auditwheel repair rewrote with
# patchelf (numpy.libs' OpenBLAS) no longer loads once stripped ("ELF load command address/offset
# not page-aligned"), so each one is stripped in a copy and kept only if ldd still loads it.
strip_safely() {
  local f t n=0 k=0
  while IFS= read -r -d '' f; do
    file -b "$f" | grep -q "ELF.*not stripped" || continue
    t="$f.strip-tmp"; cp -p "$f" "$t"
    if strip --strip-unneeded "$t" 2>/dev/null && ldd "$t" >/dev/null 2>&1; then
      mv "$t" "$f"; n=$((n + 1))
    else rm -f "$t"; k=$((k + 1)); fi
  done < <(find "$1" -type f \( -name "*.so" -o -name "*.so.*" \) -print0)
  say "stripped $n libraries; $k would not load stripped and stay as they were"
}
strip_safely dist/physapp/_internal
# torch's compiled modules where the import finds them (see the script)
"$PY" packaging/torch_pycs.py dist/physapp/_internal

# launcher files next to the executable
cp packaging/install.sh packaging/uninstall.sh dist/physapp/
cp packaging/physapp.desktop physapp/resources/icons/physapp.svg dist/physapp/
cp packaging/BUNDLE-README.md dist/physapp/README.md
chmod +x dist/physapp/install.sh dist/physapp/uninstall.sh

if [ "$SMOKE" = 1 ]; then
  say "smoke test of the bundle (no venv, no PYTHONPATH)"
  packaging/smoke.sh dist/physapp
fi
if [ "$ARCHIVE" = 1 ]; then
  NAME="physapp-$VERSION-linux-$ARCH"
  say "archiving dist/$NAME.tar.gz"
  tar -C dist -czf "dist/$NAME.tar.gz" --transform "s,^physapp,$NAME," physapp
  ls -l "dist/$NAME.tar.gz" >&2
fi
say "done: dist/physapp/physapp"
