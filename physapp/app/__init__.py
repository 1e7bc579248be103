"""The Qt-free application model of the desktop app (see :mod:`physapp.app.model`)."""

from physapp.app.model import (
    AppModel,
    DesignModel,
    PartModel,
    PlaybackModel,
    SessionModel,
    SolveModel,
    SourceModel,
    ViewModel,
)
from physapp.app.view_settings import COLORMAPS, ViewSettings

__all__ = ["COLORMAPS", "AppModel", "DesignModel", "PartModel", "PlaybackModel", "SessionModel", "SolveModel",
           "SourceModel", "ViewModel", "ViewSettings"]
