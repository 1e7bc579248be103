#!/usr/bin/env bash
# Install everything needed (first run only) and start physapp; arguments go to `physapp`.
set -euo pipefail
cd "$(dirname "$0")"
tools/bootstrap.sh
# without arguments: the demo, straight on the plate-with-hole study (`physapp` alone would show
# the study gallery first)
[ $# -gt 0 ] || set -- gui --study plate-with-hole
exec .venv/bin/physapp "$@"
