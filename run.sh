#!/usr/bin/env bash
# Install everything needed (first run only) and start physapp; arguments go to `physapp`.
set -euo pipefail
cd "$(dirname "$0")"
tools/bootstrap.sh
exec .venv/bin/physapp "$@"
