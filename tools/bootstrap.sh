#!/usr/bin/env bash
# Install what physapp needs on Debian/Ubuntu: system packages, a virtual environment in .venv,
# torch (CPU build 2.13.0 when no NVIDIA GPU is present) and physapp itself (editable, with the
# test extras). Re-running is fast: every step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"
say() { printf '\033[1m[physapp setup]\033[0m %s\n' "$*" >&2; }

# 1. System packages (Qt/VTK/gmsh runtime libraries and Xvfb for headless tests)
APT_PKGS=(python3 python3-venv python3-pip xvfb xauth libgl1 libegl1 libglu1-mesa libxrender1
  libxcursor1 libxft2 libxinerama1 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
  libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxcb-randr0
  libfontconfig1 libdbus-1-3)
if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    say "installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
else
  say "not a Debian/Ubuntu system: install the Qt/OpenGL/X11 libraries and Xvfb yourself"
fi

# 2. Virtual environment
PY=${PHYSAPP_PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtual environment in .venv"
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

# 3. torch: keep users' range open (torch>=2.4) but avoid the multi-GB CUDA wheel on CPU machines
if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    say "NVIDIA GPU found: installing the default (CUDA) torch build"
    "${PIP[@]}" install "torch>=2.4"
  else
    say "no NVIDIA GPU: installing torch 2.13.0 (CPU)"
    if [ -n "${PHYSAPP_TORCH_INDEX:-}" ]; then
      "${PIP[@]}" install "torch==2.13.0" --index-url "$PHYSAPP_TORCH_INDEX"
    else
      "${PIP[@]}" install "torch==2.13.0"
    fi
  fi
fi

# 4. physapp itself, re-installed only when pyproject.toml changed
STAMP="$VENV/.physapp-installed"
HASH=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$HASH" ]; then
  say "installing physapp and its dependencies into .venv"
  "${PIP[@]}" install -e ".[test]" 2> >(grep -v "^WARNING: Location" >&2)
  # PLAID data sets: pyplaid's cgns containers only (its datasets/pyarrow/zarr stack is not used)
  "${PIP[@]}" install --no-deps "pyplaid==1.0.0"
  echo "$HASH" > "$STAMP"
fi
