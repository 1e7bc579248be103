#!/usr/bin/env bash
# Run the bundled physapp as a user would, with a clean environment: version, studies, a mesh
# made by its own gmsh, info on it, a solve, and a prediction with a shipped surrogate.
# Usage: packaging/smoke.sh dist/physapp
set -euo pipefail
B=$(cd "$1" && pwd)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
run() { env -i HOME="$T" PATH=/usr/bin:/bin "$B/physapp" "$@"; }
run --version
run studies > "$T/studies.txt"; head -3 "$T/studies.txt"  # (a pipe to head: broken pipe)
run solve plate-with-hole --set mesh_size=0.004 --out "$T/plate.vtu" --json > "$T/solve.json"
grep -q '"n_dofs"' "$T/solve.json"
run info "$T/plate.vtu" | head -3
run predict plate-with-hole --set radius=0.03 --out "$T/pred.vtu" > /dev/null
test -s "$T/pred.vtu"
echo "bundle smoke test passed"
