"""Predicted histories in the app (#18 item 4, #22 item 2): a history model on the sliders plays
its whole history, and an F5 solve of the same design is compared with it step by step.

:class:`HistoryPredictionController` (``window.history_predictions``) follows the surrogate
controller: whenever the selected model is a history model (``pod-history``, ``curve-gp``: it
has ``predict_history``) and a prediction of a design arrives (the panel shows the model's last
frame as for any model), the whole history of that design is predicted on a latest-wins worker
thread (:class:`~physapp.compute.latest.LatestWinsWorker`; a newer slider value replaces a
request still waiting) and handed to the playback (:mod:`physapp.gui.playback`: time slider,
play, the Over-time chart with the curve's +-2 std band), keeping the step on screen.

When a reference solve of the same design goes on screen (F5; a transient solve's history, or a
load-stepped result's ``meta["history"]``), the chart overlays the predicted curve on the solved
one and plots their difference against time with the shown field's relative L2 error per
predicted frame (:func:`field_error_history`, on a worker), and the split view (F6) follows the time slider:
the surrogate pane shows the predicted frame nearest in time to the solved step shown, the
reference pane that step, the difference pane and metrics their difference. The GUI thread
never calls into the model.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from physapp.compute.latest import LatestWinsWorker
from physapp.core.history import FieldHistory
from physapp.gui.relay import ThreadRelay


def is_history_model(model: Any) -> bool:
    return callable(getattr(model, "predict_history", None))


def field_error_history(pred: FieldHistory, ref: FieldHistory, name: str
                        ) -> tuple[str, np.ndarray, np.ndarray]:
    """(field, times, relative L2 error) of the predicted history against the solved one of
    field ``name`` (all its components): at every predicted frame, against the solved step
    nearest in time, on the solved mesh (the prediction interpolated to its nodes with the
    shape functions of the predicted mesh, located once). Plain numpy: any thread."""
    from physapp.gui.prediction import load_library

    load_library(("physapp.solvers.interpolate",))
    from physapp.solvers.interpolate import MeshInterpolator, same_mesh

    base = name.partition("[")[0]
    interp = loc = None
    if not same_mesh(pred.mesh, ref.mesh):
        interp = MeshInterpolator(pred.mesh)
        loc = interp.locate(ref.mesh.points)
    times, errors = [], []
    for j in range(pred.n_steps):
        k = ref.nearest_step(float(pred.times[j]))
        s = np.asarray(pred.point_data[base][j], dtype=np.float64)
        if interp is not None:
            s = interp.evaluate(s, loc)
        r = np.asarray(ref.point_data[base][k], dtype=np.float64)
        den = float(np.linalg.norm(r))
        times.append(float(ref.times[k]))
        errors.append(float(np.linalg.norm(s - r)) / den if den > 0 else float("nan"))
    return base, np.asarray(times), np.asarray(errors)


def same_design(a: dict, b: dict, names) -> bool:
    for n in names:
        x, y = a.get(n, np.nan), b.get(n, np.nan)
        if not abs(x - y) <= 1e-9 * max(abs(y), 1e-30):
            return False
    return True


class HistoryPredictionController(QObject):
    """See the module docstring. ``predicted`` (FieldHistory) is the newest predicted history
    applied, ``reference`` the solved history it is compared with (None: none matches)."""

    history_predicted = Signal(object)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.predicted: FieldHistory | None = None
        self.reference: FieldHistory | None = None
        self.applied = 0  # predicted histories put on screen (tests)
        self.latest = 0
        self._params: dict | None = None  # design of the newest request
        self._closed = False
        self._relay = ThreadRelay(self)
        queued = Qt.ConnectionType.QueuedConnection
        self._relay.result.connect(self._on_history, queued)
        self._relay.error.connect(self._on_error, queued)
        self._worker = LatestWinsWorker(self._predict, self._relay.send_result,
                                        self._relay.send_error)
        self._err_relay = ThreadRelay(self)
        self._err_relay.result.connect(self._on_field_error, queued)
        self._err_relay.error.connect(lambda *_: None, queued)  # the curves still compare
        self._err_worker = LatestWinsWorker(lambda job: field_error_history(*job),
                                            self._err_relay.send_result,
                                            self._err_relay.send_error)
        self.error_job = 0
        window.app.view.events.field.connect(lambda *_: self._start_field_error())
        window.surrogates.predictor.predicted.connect(self._on_field_prediction)
        window.app.solve.events.count.connect(self._on_solved)
        window.playback.step_shown.connect(self._on_step)

    # -- helpers ------------------------------------------------------------------------------
    def _model(self) -> Any:
        cur = self.window.surrogates.current
        return None if cur is None else cur.loaded.model

    def _names(self) -> tuple[str, ...]:
        cur = self.window.surrogates.current
        return () if cur is None else tuple(cur.loaded.summary.param_names)

    @property
    def active(self) -> bool:
        return is_history_model(self._model())

    # -- predictions --------------------------------------------------------------------------
    def _on_field_prediction(self, p) -> None:
        """The panel applied a (last-frame) prediction: predict the history of that design."""
        model = self._model()
        if self._closed or not is_history_model(model) or p.key != (
                self.window.surrogates.current.key):
            return
        params = dict(p.result.meta.get("params", {}))
        if (self.predicted is not None and self._params is not None
                and self.predicted.meta.get("surrogate_id") == p.result.meta.get("surrogate_id")
                and same_design(params, self.predicted.meta.get("params", {}), self._names())):
            # the same design again (the complete frame after a drag): show the step again
            QTimer.singleShot(0, self._reshow)
            return
        self._params = params
        self.latest = self._worker.submit((model, params))

    def _predict(self, request: tuple) -> FieldHistory:  # worker thread
        model, params = request
        return model.predict_history(params)

    def _reshow(self) -> None:
        """The panel drew the last frame (and the split view took it): back to the step."""
        pb = self.window.playback
        h = pb.history
        if not self._closed and h is not None and (h is self.predicted or h is self.reference):
            pb._on_step(pb.model.step)

    def _on_history(self, request_id: int, history: FieldHistory) -> None:
        if self._closed or request_id < self.latest or not self.active:
            return
        w = self.window
        if history.meta.get("surrogate_id") != self._model().id:
            return
        self.predicted = history
        self.applied += 1
        pb = w.playback
        step = None
        if pb.history is not None and pb.model.n_steps:  # keep the time on screen
            step = history.nearest_step(float(pb.history.times[min(pb.model.step,
                                                                   pb.history.n_steps - 1)]))
        self.reference = None
        w.history_chart.overlay = None
        if w.surrogates.showing or pb.history is None or pb.history.source.startswith(
                "surrogate"):
            pb.set_history(history, step)
        self._match_reference()
        self.history_predicted.emit(history)

    def _on_error(self, request_id: int, message: str) -> None:
        if request_id >= self.latest and not self._closed:
            self.window.show_message(f"The history prediction failed: {message}", "error",
                                     "surrogate")

    # -- reference solves ---------------------------------------------------------------------
    def _on_solved(self, *_args) -> None:
        QTimer.singleShot(0, self._match_reference)  # after the window shows the solve

    def _solved_history(self) -> FieldHistory | None:
        w = self.window
        pb = w.playback
        if pb.history is not None and not pb.history.source.startswith("surrogate"):
            return pb.history
        res = w.result
        h = res.meta.get("history") if res is not None else None
        return h if isinstance(h, FieldHistory) else None

    def _match_reference(self) -> None:
        """A solved history of the predicted design: overlay and compare (else none)."""
        if self._closed:
            return
        w = self.window
        pred, ref = self.predicted, self._solved_history()
        if (pred is None or ref is None or not self.active or not same_design(
                pred.meta.get("params", {}), ref.meta.get("params", {}), self._names())):
            self.reference = None
            w.history_chart.overlay = None
            w.history_chart.redraw()
            return
        self.reference = ref
        w.history_chart.field_error = None  # the new pair's comes from the worker
        if w.playback.history is not ref:
            w.playback.set_history(ref)
        w.history_chart.overlay = pred
        w.history_chart.redraw()
        self._start_field_error()
        self._on_step(w.playback.model.step)

    def _start_field_error(self) -> None:
        """The shown field's error against time (on the worker; the chart draws it)."""
        if self._closed or self.reference is None or self.predicted is None:
            return
        name = self.window.field[0]
        if name.partition("[")[0] not in self.predicted.point_data:
            return
        self.error_job = self._err_worker.submit((self.predicted, self.reference, name))

    def _on_field_error(self, job_id: int, payload: tuple) -> None:
        chart = self.window.history_chart
        if (self._closed or job_id != self.error_job or self.reference is None
                or chart.overlay is not self.predicted):
            return
        label = {f.name: f.label for f in self.window.spec.fields}.get(payload[0], payload[0])
        chart.field_error = (label, payload[1], payload[2])
        chart.redraw()

    def frames_at(self, step: int) -> tuple[Any, Any] | None:
        """(predicted frame, reference frame) at the reference's ``step`` (nearest in time)."""
        pred, ref = self.predicted, self.reference
        if pred is None or ref is None or not 0 <= step < ref.n_steps:
            return None
        t = float(ref.times[step])
        return pred.frame(pred.nearest_step(t)), ref.frame(step)

    def _on_step(self, step: int) -> None:
        """The time slider moved: the split view shows both histories at that time."""
        w = self.window
        if self._closed or self.reference is None or w.playback.history is not self.reference:
            return
        if not w.compare.is_split:
            return
        frames = self.frames_at(step)
        if frames is None:
            return
        pred_frame, ref_frame = frames
        cur = w.surrogates.current
        old = w.compare.prediction
        if old is not None and old.key == cur.key:
            p = replace(old, result=pred_frame)
        else:
            from physapp.gui.prediction import Prediction

            p = Prediction(0, cur.key, pred_frame, time.perf_counter())
        w.compare.prediction = p
        w.solves.result = ref_frame  # the reference on screen is the step shown
        w.compare.reference_changed()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        return self._worker.wait_idle(timeout) and self._err_worker.wait_idle(timeout)

    def shutdown(self) -> None:
        self._closed = True
        self._relay.closed = self._err_relay.closed = True
        self._worker.close()
        self._err_worker.close()
