"""What a controller may use of the window it belongs to: this protocol, not the main window
module (controllers never import it; ``main_window`` imports them). Everything named here is
public; state itself is in ``app`` (the :class:`~physapp.app.AppModel`)."""

from __future__ import annotations

from typing import Any, Protocol

from physapp.app import AppModel, DesignModel


class WindowServices(Protocol):
    """The window's public services for its controllers (see the module docstring)."""

    app: AppModel  # all state
    model: DesignModel  # = app.design
    actions: Any  # physapp.gui.actions.ActionRegistry
    central_layout: Any  # message bar, toolbars, viewport(s)
    viewport: Any  # physapp.gui.viewport.Viewport of the open study
    message_bar: Any
    info_label: Any
    state_label: Any
    device_label: Any
    solve_button: Any
    solve_action: Any
    settings: Any  # physapp.gui.settings.AppSettings
    settings_store: Any
    runner: Any  # physapp.gui.qt_job_runner.QtJobRunner
    preview_relay: Any  # physapp.gui.relay.ThreadRelay of geometry previews
    previews: Any  # physapp.gui.preview_controller.PreviewController
    status: Any  # physapp.gui.window_status.WindowStatus
    study_dock: Any  # the left dock: the study's panel (physapp.gui.study_view)
    results_dock: Any  # the dock below it: Solve, progress, key quantities
    result: Any  # the reference solve on screen (FieldResult) or None
    closing: bool
    auto_solve: bool
    # the other controllers
    parts: Any
    surrogates: Any
    compare: Any
    view_tools: Any
    flow: Any  # physapp.gui.flow_view.FlowView
    sessions: Any
    exports: Any
    solves: Any
    playback: Any  # physapp.gui.playback.PlaybackController (a history on screen, #18)
    safety: Any  # physapp.gui.safety.SafetyController (yield strength, safety factor, #13)
    close_guard: Any  # physapp.gui.close_guard.CloseGuard (asks to save a part set-up, #13)

    @property
    def spec(self) -> Any: ...

    @property
    def field(self) -> tuple[str, str, str]: ...

    @property
    def is_stale(self) -> bool: ...

    def show_message(self, text: str, level: str = "error", tag: str = "") -> None: ...

    def solve(self) -> None: ...

    def set_study(self, study: Any) -> None: ...

    def update_study(self, study: Any) -> None: ...

    def update_state(self, *_args: Any) -> None: ...

    def show_device(self) -> None: ...

    def show_reference_view(self) -> None: ...

    def note_shown_version(self, version: int) -> None: ...

    def show_key_quantities(self, result: Any) -> None: ...

    def statusBar(self) -> Any: ...  # noqa: N802 - Qt API

    def addDockWidget(self, *args: Any) -> None: ...  # noqa: N802 - Qt API
