"""What the app remembers between launches (QSettings): window layout, last training settings,
recent files. Values are versioned; anything unreadable is ignored, never fatal.

Set the environment variable ``NN_STUDIO_SETTINGS`` to an .ini path to keep the settings
there instead of the user's (tests and scripts do, so they never touch a real profile).
"""
from __future__ import annotations

import json
import os

from PySide6.QtCore import QByteArray, QSettings

from nncore.errors import SpecError
from nncore.session import TrainingConfig

VERSION = 1
MAX_RECENT = 8


class AppSettings:
    def __init__(self):
        path = os.environ.get("NN_STUDIO_SETTINGS")
        if path:
            self.q = QSettings(path, QSettings.IniFormat)
        else:
            self.q = QSettings("NN Studio", "nn-studio")
        if self.q.value("version") not in (None, VERSION, str(VERSION)):
            self.q.clear()           # an other version's layout: start afresh
        self.q.setValue("version", VERSION)

    # ---- window ------------------------------------------------------------------------------
    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        geo, state = self.q.value("window/geometry"), self.q.value("window/state")
        return (geo if isinstance(geo, QByteArray) else None,
                state if isinstance(state, QByteArray) else None)

    def set_window_state(self, geometry: QByteArray, state: QByteArray,
                         size: tuple[int, int] | None = None) -> None:
        self.q.setValue("window/geometry", geometry)
        self.q.setValue("window/state", state)
        if size is not None:
            self.q.setValue("window/size", [int(size[0]), int(size[1])])

    def window_size(self) -> tuple[int, int] | None:
        """The window's size (without its frame) when its layout was saved."""
        raw = self.q.value("window/size")
        try:
            w, h = (int(v) for v in raw)
        except (TypeError, ValueError):
            return None
        return (w, h) if w > 0 and h > 0 else None

    # ---- training settings -------------------------------------------------------------------
    def training_config(self) -> TrainingConfig | None:
        raw = self.q.value("training/config")
        if not isinstance(raw, str):
            return None
        try:
            return TrainingConfig.from_dict(json.loads(raw))
        except (ValueError, TypeError, SpecError):
            return None

    def set_training_config(self, config: TrainingConfig) -> None:
        self.q.setValue("training/config", json.dumps(config.to_dict()))

    # ---- files -------------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        raw = self.q.value("files/recent")
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list):
            return []
        return [p for p in raw if isinstance(p, str)][:MAX_RECENT]

    def add_recent_file(self, path: str) -> list[str]:
        path = os.path.abspath(path)
        files = [path] + [p for p in self.recent_files() if p != path]
        self.q.setValue("files/recent", files[:MAX_RECENT])
        return files[:MAX_RECENT]

    def clear_recent_files(self) -> None:
        self.q.setValue("files/recent", [])

    def last_folder(self) -> str:
        v = self.q.value("files/lastFolder")
        return v if isinstance(v, str) and os.path.isdir(v) else os.path.expanduser("~")

    def set_last_folder(self, folder: str) -> None:
        self.q.setValue("files/lastFolder", folder)

    def sync(self) -> None:
        self.q.sync()
