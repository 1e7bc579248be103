#!/usr/bin/env bash
# Remove what install.sh added (the command link, the menu entry, the icon). The bundle folder
# itself and your data (~/.local/share/physapp, ~/.config/physapp) are left alone.
set -euo pipefail
BIN=${XDG_BIN_HOME:-$HOME/.local/bin}
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
rm -f "$BIN/physapp" "$DATA/applications/physapp.desktop" \
  "$DATA/icons/hicolor/scalable/apps/physapp.svg"
command -v update-desktop-database >/dev/null 2>&1 && \
  update-desktop-database -q "$DATA/applications" || true
echo "physapp uninstalled (the bundle folder and your data were kept)"
