#!/usr/bin/env bash
# Install this unpacked physapp bundle for the current user (no root needed):
#   ~/.local/bin/physapp                         the command (a link to this folder's executable)
#   ~/.local/share/applications/physapp.desktop  the menu entry
#   ~/.local/share/icons/hicolor/scalable/apps/physapp.svg
# The bundle stays where it is; move it first if you want it elsewhere. Undo with uninstall.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${XDG_BIN_HOME:-$HOME/.local/bin}
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
mkdir -p "$BIN" "$DATA/applications" "$DATA/icons/hicolor/scalable/apps"
ln -sf "$HERE/physapp" "$BIN/physapp"
cp "$HERE/physapp.svg" "$DATA/icons/hicolor/scalable/apps/physapp.svg"
sed -e "s|^Exec=.*|Exec=\"$HERE/physapp\" gui %f|" -e "s|^Icon=.*|Icon=physapp|" \
  "$HERE/physapp.desktop" > "$DATA/applications/physapp.desktop"
command -v update-desktop-database >/dev/null 2>&1 && \
  update-desktop-database -q "$DATA/applications" || true
echo "physapp installed: menu entry added, command at $BIN/physapp"
case ":$PATH:" in *":$BIN:"*) ;; *) echo "note: add $BIN to your PATH to type 'physapp'";; esac
