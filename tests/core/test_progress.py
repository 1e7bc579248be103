"""core.progress.sigint_cancels: the Ctrl-C handling of `physapp sweep` and `train --online`."""

from __future__ import annotations

import os
import signal

import pytest

from physapp.core.errors import Cancelled
from physapp.core.progress import sigint_cancels


def test_first_ctrl_c_cancels_second_interrupts_and_the_handler_comes_back():
    before = signal.getsignal(signal.SIGINT)
    with sigint_cancels() as token:
        assert not token.cancelled
        os.kill(os.getpid(), signal.SIGINT)  # handled in the main thread before kill returns
        assert token.cancelled
        with pytest.raises(Cancelled):
            token.check()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before


def test_the_handler_comes_back_when_the_work_raises():
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(ValueError), sigint_cancels():
        raise ValueError("a failed sweep")
    assert signal.getsignal(signal.SIGINT) is before
