"""The bottle top-load study in the main window (#22): a solve shows the last load step, revolved,
and its steps were streamed to the window's history file."""


from physapp.gui.main_window import MainWindow
from physapp.studies import get_study


def test_bottle_study_solves_in_the_window(qtbot, shared_runner):
    win = MainWindow(get_study("bottle-top-load-2v"), auto_solve=False, runner=shared_runner)
    qtbot.addWidget(win)
    win.model.set_value("mesh_size", 3e-3)
    win.model.set_value("n_steps", 5)
    win.model.set_value("top_displacement", 0.5e-3)
    win.solve()
    qtbot.waitUntil(lambda: win.result is not None and not win.runner.busy, timeout=60000)
    hist = win.result.meta["history"]
    grid = [k * 0.1e-3 for k in range(6)]  # uniform steps (a cut step adds states between)
    assert all(abs(hist.times - g).min() < 1e-12 for g in grid)
    assert hist.complete and "reaction_force" in hist.curves
    # it opens revolved (the wall is a hairline in the r-z section): the shown result is the
    # solved section swept about the axis
    assert win.axisym.mode == "sector" and "revolved" in win.viewport.result.meta
    assert win.axisym.source(win.viewport.result).mesh.n_points == win.result.mesh.n_points
    assert win.viewport.n_points > win.result.mesh.n_points
    # the steps were streamed to the window's history file as they came (kept on a cancel)
    from physapp.io.history import read_history

    streamed = read_history(win.solves._history_path)
    assert streamed.complete and streamed.n_steps == hist.n_steps
    # the load steps play like a transient history: the time slider spans every step
    assert win.app.playback.n_steps == hist.n_steps
    assert win.playback.bar.slider.maximum() == hist.n_steps - 1
