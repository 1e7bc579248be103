#!/usr/bin/env bash
# Build the bundle, copy it to a fresh folder and run it as a user on another machine would: an
# empty environment (env -i with only HOME, PATH=/usr/bin:/bin and DISPLAY), the command line
# headless, then the GUI under Xvfb until the first field is shown. Prints the bundle's size and
# its start-up time beside the clone's (.venv), alternating the two (PHYSAPP_TIMING_RUNS each, 3).
# Usage: packaging/test_bundle.sh [--no-build]
# (PHYSAPP_BUILD_PYTHON, see build.sh, is also the clone's Python when set.)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CLONE_PY=${PHYSAPP_BUILD_PYTHON:-$ROOT/.venv/bin/python}
if [ -z "${DISPLAY:-}" ]; then  # the GUI part needs a display: run it all under Xvfb
  exec xvfb-run -a -s "-screen 0 1280x800x24" "$0" "$@"
fi
[ "${1:-}" = "--no-build" ] || packaging/build.sh --no-smoke
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cp -a dist/physapp "$W/physapp"
B="$W/physapp/physapp"
H="$W/home"; mkdir -p "$H"
clean() { env -i HOME="$H" PATH=/usr/bin:/bin ${DISPLAY:+DISPLAY=$DISPLAY} \
  ${XAUTHORITY:+XAUTHORITY=$XAUTHORITY} "$@"; }
echo "== headless, empty environment"
clean "$B" --version
clean "$B" solve plate-with-hole --out "$W/x.vtu" --quiet >/dev/null && echo "solve: $(stat -c %s "$W/x.vtu") bytes"
clean "$B" predict plate-with-hole --out "$W/y.vtu" >/dev/null && echo "predict: $(stat -c %s "$W/y.vtu") bytes"
echo "== without a display"
env -i HOME="$H" PATH=/usr/bin:/bin "$B" gui --study plate-with-hole || true
echo "== GUI until the first field (Xvfb $DISPLAY, 1280x800)"
first_field() {  # seconds from launch to the first field's screenshot ("failed" without one)
  local t0; t0=$(date +%s.%N)
  "$@" gui --study plate-with-hole --screenshot "$W/shot.png" >"$W/gui.log" 2>&1 || true
  if [ -s "$W/shot.png" ]; then echo "$(date +%s.%N) - $t0" | bc; rm -f "$W/shot.png"
  else echo "GUI failed: $(tail -1 "$W/gui.log")" >&2; echo nan; fi
}
clone() { clean PYTHONPATH="$ROOT" "$CLONE_PY" -m physapp "$@"; }
# bundle and clone alternate, so a change of the machine's load hits both alike
RUNS=${PHYSAPP_TIMING_RUNS:-3}; b=(); c=()
for i in $(seq "$RUNS"); do b+=("$(first_field clean "$B")"); c+=("$(first_field clone)"); done
printf "%-28s" ""; for i in $(seq "$RUNS"); do printf " %8s" "run $i s"; done; printf " %8s\n" "median"
row() { local name=$1; shift; printf "%-28s" "$name"; printf " %8.2f" "$@"
  printf " %8.2f\n" "$(printf "%s\n" "$@" | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}')"; }
row "bundle, start to 1st field" "${b[@]}"
row "clone (.venv), same" "${c[@]}"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== size"
printf "bundle unpacked: %.1f MB of files (du --bytes), %.1f MB on disk (du -B1)\n" \
  "$(du -s --bytes "$W/physapp" | awk '{print $1 / 1e6}')" "$(du -s -B1 "$W/physapp" | awk '{print $1 / 1e6}')"
ls -l dist/physapp-*-linux-*.tar.gz 2>/dev/null | awk '{printf "archive: %.0f MB\n", $5/1e6}'
