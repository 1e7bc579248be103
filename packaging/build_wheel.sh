#!/usr/bin/env bash
# Build the wheel and sdist (dist/physapp-<version>-py3-none-any.whl, dist/physapp-<version>.tar.gz)
# and check them: each is installed into a fresh virtual environment (CPU torch first) and runs
# `physapp --version`, a solve and a prediction with the shipped surrogate; then `pipx install`
# of the wheel must give the `physapp` command (when pipx is on PATH).
# Usage: packaging/build_wheel.sh [--no-check]
# PHYSAPP_BUILD_PYTHON=/path/to/python: build with that Python instead of .venv (see build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m[physapp wheel]\033[0m %s\n' "$*" >&2; }
if [ -n "${PHYSAPP_BUILD_PYTHON:-}" ]; then
  PY=$PHYSAPP_BUILD_PYTHON
else
  tools/bootstrap.sh
  PY=.venv/bin/python
fi
"$PY" -m pip --disable-pip-version-check -q install "build==1.6.1" \
  2> >(grep -v "^WARNING: Location" >&2)
VERSION=$("$PY" -c "import physapp; print(physapp.__version__)")
WHEEL="dist/physapp-$VERSION-py3-none-any.whl"; SDIST="dist/physapp-$VERSION.tar.gz"
rm -f "$WHEEL" "$SDIST"
"$PY" -m build --outdir dist . >/dev/null
ls -l "$WHEEL" "$SDIST" >&2
[ "${1:-}" = "--no-check" ] && exit 0
unset PYTHONPATH  # the fresh venvs must see only what was installed into them
for file in "$WHEEL" "$SDIST"; do
  kind=${file##*/}
  T=$(mktemp -d)
  say "installing the $kind into a fresh venv ($T)"
  python3 -m venv "$T/venv"
  "$T/venv/bin/pip" --disable-pip-version-check -q install "torch==2.13.0" \
    2> >(grep -v "^WARNING: Location" >&2)
  "$T/venv/bin/pip" --disable-pip-version-check -q install "$file" \
    2> >(grep -v "^WARNING: Location" >&2)
  (cd "$T" && HOME="$T" venv/bin/physapp --version \
    && HOME="$T" venv/bin/physapp solve plate-with-hole --set mesh_size=0.004 --out p.vtu >/dev/null \
    && HOME="$T" venv/bin/physapp predict plate-with-hole --out q.vtu >/dev/null \
    && HOME="$T" venv/bin/physapp studies | grep -q "pressure_vessel/vessel" \
    && echo "$kind: installed physapp solves, predicts with its shipped surrogate, sees the example plugin")
  rm -rf "$T"
done
if command -v pipx >/dev/null 2>&1; then PIPX=(pipx)
else say "pipx not found: pipx check skipped"; exit 0; fi
T=$(mktemp -d)
say "pipx install of the wheel ($T)"
PIPX_HOME="$T/pipx" PIPX_BIN_DIR="$T/bin" PIPX_MAN_DIR="$T/man" "${PIPX[@]}" install \
  --preinstall "torch==2.13.0" "$WHEEL" >/dev/null
(cd "$T" && HOME="$T" bin/physapp --version \
  && HOME="$T" bin/physapp predict plate-with-hole --out q.vtu >/dev/null \
  && echo "pipx: the physapp command works and predicts with the shipped surrogate")
rm -rf "$T"
