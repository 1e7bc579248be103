"""Help > Plugins...: the plugins found, their contributions, versions, errors, enable/disable."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from physapp.plugins import builtin_plugin, discover, set_enabled

SINGULAR = {"studies": "study", "solvers": "solver", "surrogates": "surrogate",
            "models": "model", "readers": "reader", "writers": "writer", "panels": "panel"}


class PluginsDialog(QDialog):
    """Lists every plugin (built-in first); unticking one disables it from the next start."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Plugins - physapp")
        self.resize(760, 420)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(
            "Plugins are found in the repository's plugins/ folder, ~/.local/share/physapp/plugins,"
            " $PHYSAPP_PLUGIN_PATH and installed packages. Changes apply at the next start."))
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Plugin / contribution", "Version", "Source", "State"])
        self.tree.setColumnWidth(0, 330)
        layout.addWidget(self.tree)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
        self._filling = False
        self.tree.itemChanged.connect(self._toggled)
        self.refresh()

    def refresh(self) -> None:
        from physapp.plugins import load_problems
        from physapp.studies import plugin_problems

        problems = {**load_problems(), **plugin_problems()}  # + readers, writers, panels, models
        self._filling = True
        self.tree.clear()
        for info in [builtin_plugin(), *discover()]:
            error = info.error or problems.get(info.name, "")
            state = "error" if error else ("enabled" if info.enabled else "disabled (next start)")
            item = QTreeWidgetItem([info.name, info.version, info.source, state])
            item.setToolTip(0, info.description or info.path)
            if info.source != "built-in":
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(0, Qt.CheckState.Checked if info.enabled
                                   else Qt.CheckState.Unchecked)
            item.setData(0, Qt.ItemDataRole.UserRole, info.name)
            if error:
                item.setForeground(3, QColor("#b00020"))
                err = QTreeWidgetItem([f"error: {error}", "", "", ""])
                err.setForeground(0, QColor("#b00020"))
                err.setToolTip(0, error)
                item.addChild(err)
            for c in info.contributions:
                kind = SINGULAR.get(c.kind, c.kind)
                item.addChild(QTreeWidgetItem([f"{kind}: {c.id}", "", "", ""]))
            self.tree.addTopLevelItem(item)
            item.setExpanded(True)
        self._filling = False

    def _toggled(self, item: QTreeWidgetItem, column: int) -> None:
        name = item.data(0, Qt.ItemDataRole.UserRole)
        if self._filling or column != 0 or not name:
            return
        set_enabled(name, item.checkState(0) == Qt.CheckState.Checked)
        self.refresh()

    def names(self) -> list[str]:
        return [self.tree.topLevelItem(i).text(0) for i in range(self.tree.topLevelItemCount())]
