"""Project files from the window: new, open, save, save as, recent files, the window title.

Reading and writing happen in the worker thread (controller.open_project / save_project); a
file that cannot be opened is reported with its name and problem, and the current work stays
open untouched.
"""
from __future__ import annotations

import os

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog

from nncore.session import TrainingConfig

from .defaults import default_spec
from .project import FILE_FILTER, SUFFIX


class ProjectFiles(QObject):
    recentChanged = Signal(list)

    def __init__(self, window, state, controller, editor, settings):
        super().__init__(window)
        self.window = window
        self.state = state
        self.controller = controller
        self.editor = editor
        self.settings = settings
        self._restoring = None          # (recovery file, project path, message) being opened
        controller.projectSaved.connect(self._on_controller_project_saved)
        controller.projectOpened.connect(self._on_controller_project_opened)
        state.projectChanged.connect(self._on_state_project_changed)
        self._on_state_project_changed(state.project_path)

    # ---- actions -----------------------------------------------------------------------------
    def new_project(self) -> None:
        """The seed's network with default settings, new weights, no history."""
        self.controller.stop()
        self.editor.reset(default_spec())
        self.state.set_config(TrainingConfig())
        self.controller.reset_weights()
        self.state.set_project_path("")

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open project",
                                              self.settings.last_folder(), FILE_FILTER)
        if path:
            self.open(path)

    def open(self, path: str) -> None:
        self.settings.set_last_folder(os.path.dirname(os.path.abspath(path)))
        self._restoring = None
        self.controller.open_project(path)

    def restore(self, path: str, project_path: str, message: str) -> None:
        """Open the recovery file ``path`` (app.recovery): the session gets back its own
        ``project_path`` ("" for untitled); the recent files stay as they were."""
        self._restoring = (path, project_path, message)
        self.controller.open_project(path)

    def save(self) -> None:
        if self.state.project_path:
            self.save_to(self.state.project_path)
        else:
            self.save_as_dialog()

    def save_as_dialog(self) -> None:
        start = self.state.project_path or os.path.join(self.settings.last_folder(),
                                                        f"untitled{SUFFIX}")
        path, _ = QFileDialog.getSaveFileName(self.window, "Save project", start, FILE_FILTER)
        if path:
            if not os.path.splitext(path)[1]:
                path += SUFFIX
            self.save_to(path)

    def save_to(self, path: str) -> None:
        self.settings.set_last_folder(os.path.dirname(os.path.abspath(path)))
        self.controller.save_project(path)

    def recent(self) -> list[str]:
        return self.settings.recent_files()

    def clear_recent(self) -> None:
        self.settings.clear_recent_files()
        self.recentChanged.emit([])

    # ---- slots -------------------------------------------------------------------------------
    def _on_controller_project_saved(self, path: str) -> None:
        self.recentChanged.emit(self.settings.add_recent_file(path))
        self.window.statusBar().showMessage(f"Saved {path}", 5000)

    def _on_controller_project_opened(self, path: str) -> None:
        self.editor.reset(self.state.spec)
        restoring, self._restoring = self._restoring, None
        if restoring is not None and restoring[0] == path:
            self.state.set_project_path(restoring[1])
            self.window.statusBar().showMessage(restoring[2], 8000)
            return
        self.recentChanged.emit(self.settings.add_recent_file(path))
        self.window.statusBar().showMessage(f"Opened {path}", 5000)

    def _on_state_project_changed(self, path: str) -> None:
        name = os.path.basename(path) if path else "untitled"
        self.window.setWindowTitle(f"{name} — NN Studio")
