#!/usr/bin/env bash
# Install everything needed (first run only) and run the whole test suite headless.
# GUI tests start their own Xvfb (pytest-xvfb); extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
tools/bootstrap.sh
exec .venv/bin/python -m pytest "$@"
