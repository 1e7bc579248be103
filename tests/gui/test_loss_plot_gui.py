"""The training loss curve (#13): a log axis that follows the epochs done."""

from __future__ import annotations

import pytest

from physapp.gui.train_dialog import LossPlot

pytestmark = pytest.mark.gui


def test_loss_axis_is_logarithmic_and_follows_the_epochs_done(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.total = 3000  # the run's last epoch: not where the axis ends
    for epoch in range(1, 51):
        plot.add(epoch, 1e3 * 0.8 ** epoch, None)  # a spike at the start, then a decay
    x0, x1, log = plot.axes()
    assert (x0, x1) == (1, 50) and log
    plot.add(51, 0.5, 0.7)
    assert plot.axes()[:2] == (1, 51)
    plot.resize(400, 200)
    plot.show()
    plot.repaint()  # paints without error on the log axis
    linear = LossPlot()
    qtbot.addWidget(linear)
    for epoch, loss in ((1, -2.0), (2, -3.0)):  # a negative log-likelihood: linear axis
        linear.add(epoch, loss, None)
    assert linear.axes() == (1, 2, False)
