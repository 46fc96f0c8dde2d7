"""Project files from the window: new, open, save, save as, recent files, the window title;
the network spec exported and imported as JSON; asking before unsaved work is dropped.

Reading and writing projects happen in the worker thread (controller.open_project /
save_project); a file that cannot be opened is reported with its name and problem, and the
current work stays open untouched.

Unsaved work is training since the last save (or open), edits of the network since then (the
undo stack is not at its clean point) and, for New project and Open, changed training settings.
``confirm_discard(what, go)`` runs ``go`` at once when nothing would be lost, else asks: Save
(then ``go`` once the file is written), Discard (``go``) or Cancel. The window title carries the
standard unsaved marker ("name* — NN Studio", QWidget.windowModified) while there is any.

A file that cannot be opened gets details that help: its size, how it begins and what an
NN Studio project begins with (``describe_file``), not nncore's sentence again.
"""
from __future__ import annotations

import json
import os
import string

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from nncore import infer_shapes
from nncore.errors import SpecError
from nncore.io import atomic_write_bytes
from nncore.session import TrainingConfig

from .builder.presets import Preset
from .defaults import default_spec
from .messages import show_error
from .project import FILE_FILTER, SUFFIX

try:
    from nncore.io import MAGIC
except ImportError:                     # pragma: no cover - the signature is part of the format
    MAGIC = b"NNSTUDIO"

SPEC_FILTER = "Network spec (*.json);;All files (*)"

#: What each question is about: (title, what the action does), and whether changed training
#: settings count (closing keeps them: the window remembers them).
_QUESTIONS = {
    "new": ("Save before starting a new project?", "A new project starts over with the seed "
            "network and default settings", True),
    "open": ("Save before opening another project?", "Opening a project replaces the network, "
             "the settings and the weights", True),
    "close": ("Save before closing?", "Closing NN Studio ends this session", False),
    "reset": ("Save before resetting the weights?", "Reset weights draws new initial weights "
              "and clears the curves", None),
    "preset": ("Save before applying the preset?", "A preset replaces the network (Undo brings "
               "it back), and the next Train starts a new run with new weights", None),
}


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
        self._after_save = None         # what to do once the file asked for is written
        self.confirm_box = None
        self._trained = False           # trained since the last save or open
        self._opening = None            # the project file being opened, until it opens or fails
        self._saved_config = state.config.to_dict()
        controller.projectSaved.connect(self._on_controller_project_saved)
        controller.projectOpened.connect(self._on_controller_project_opened)
        state.projectChanged.connect(self._on_state_project_changed)
        state.batchTrained.connect(self._on_state_batch_trained)
        # Connected before the window's own slot (the window is built after this object), so
        # a file failure's details are completed before the message shows them.
        state.workerFailed.connect(self._on_state_worker_failed)
        state.configChanged.connect(self._on_state_config_changed)
        editor.undo_stack.cleanChanged.connect(self._on_undo_stack_clean_changed)
        self._on_state_project_changed(state.project_path)

    # ---- unsaved work ------------------------------------------------------------------------
    def mark_saved(self) -> None:
        """What the window holds now is what the file holds."""
        self._trained = False
        self._saved_config = self.state.config.to_dict()
        self.editor.undo_stack.setClean()
        self.update_modified()

    def update_modified(self) -> None:
        """The title's unsaved marker ("*"): training, network edits or changed settings
        since the last save, open or new project."""
        self.window.setWindowModified(bool(self.unsaved("new")))

    def unsaved(self, what: str = "close") -> list[str]:
        """What would be lost: ["329 batches of training", "changes to the network", ...]."""
        out = []
        steps = self.state.history.steps
        if self._trained and steps > 0:
            out.append(f"the training since the last save (now at batch {steps:,})"
                       if self.state.project_path else
                       f"the training ({steps:,} batch{'es' if steps != 1 else ''})")
        settings_count = _QUESTIONS.get(what, ("", "", True))[2]
        if settings_count is None:              # reset, preset: only training is dropped
            return out
        if not self.editor.undo_stack.isClean():
            out.append("changes to the network")
        if settings_count and self.state.config.to_dict() != self._saved_config:
            out.append("changes to the training settings")
        return out

    def confirm_discard(self, what: str, go) -> None:
        """``go()`` now if nothing unsaved would be lost, else after Save or Discard."""
        lost = self.unsaved(what)
        if not lost:
            go()
            return
        if self.confirm_box is not None:
            self.confirm_box.raise_()
            return
        title, action, _ = _QUESTIONS.get(what, _QUESTIONS["close"])
        listed = lost[0] if len(lost) == 1 else ", ".join(lost[:-1]) + " and " + lost[-1]
        box = QMessageBox(QMessageBox.Question, title,
                          f"{action}. {listed[0].upper()}{listed[1:]} "
                          f"{'is' if len(lost) == 1 else 'are'} not saved yet.",
                          QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel,
                          self.window)
        box.setObjectName("unsavedDialog")
        it = "it" if len(lost) == 1 else "them"
        box.setInformativeText(f"Save writes {it} to a project file first; Discard drops "
                               f"{it}; Cancel goes back.")
        box.setDefaultButton(QMessageBox.Save)
        box.setEscapeButton(QMessageBox.Cancel)
        box.button(QMessageBox.Save).setObjectName("saveFirstButton")
        box.button(QMessageBox.Discard).setObjectName("discardButton")
        box.button(QMessageBox.Cancel).setObjectName("cancelButton")
        box.setAttribute(Qt.WA_DeleteOnClose)

        def answered(button):
            self.confirm_box = None
            role = box.standardButton(button)
            if role == QMessageBox.Discard:
                go()
            elif role == QMessageBox.Save:
                self.save(then=go)
        box.buttonClicked.connect(answered)
        box.finished.connect(lambda *_: setattr(self, "confirm_box", None))
        box.setWindowModality(Qt.WindowModal)
        box.open()
        self.confirm_box = box

    # ---- actions -----------------------------------------------------------------------------
    def new_project(self) -> None:
        """The seed's network with default settings, new weights, no history."""
        self.controller.stop()
        self.editor.reset(default_spec())
        self.state.set_config(TrainingConfig())
        self.controller.reset_weights()
        self.state.set_project_path("")
        self.window.training_panel.discard_edits()
        self.mark_saved()

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open project",
                                              self.settings.last_folder(), FILE_FILTER)
        if path:
            self.open(path)

    def open(self, path: str) -> None:
        self.settings.set_last_folder(os.path.dirname(os.path.abspath(path)))
        self._restoring = None
        self._opening = path
        self.controller.open_project(path)

    def restore(self, path: str, project_path: str, message: str) -> None:
        """Open the recovery file ``path`` (app.recovery): the session gets back its own
        ``project_path`` ("" for untitled); the recent files stay as they were."""
        self._restoring = (path, project_path, message)
        self._opening = path
        self.controller.open_project(path)

    def save(self, then=None) -> None:
        """Save to the project's file (or ask for one); ``then()`` once it is written."""
        if self.state.project_path:
            self.save_to(self.state.project_path, then)
        else:
            self.save_as_dialog(then)

    def save_as_dialog(self, then=None) -> None:
        start = self.state.project_path or os.path.join(self.settings.last_folder(),
                                                        f"untitled{SUFFIX}")
        path, _ = QFileDialog.getSaveFileName(self.window, "Save project", start, FILE_FILTER)
        if path:
            if not os.path.splitext(path)[1]:
                path += SUFFIX
            self.save_to(path, then)

    def save_to(self, path: str, then=None) -> None:
        self.settings.set_last_folder(os.path.dirname(os.path.abspath(path)))
        self._after_save = then
        self.controller.save_project(path)

    def open_recent(self, path: str) -> None:
        """File ▸ Open recent: a file that is no longer there is said so at once and leaves
        the list (nothing would be opened, so there is nothing to ask about the current
        work); any other file is opened as File ▸ Open does, asking first if work would be
        lost."""
        if os.path.exists(path):
            self.confirm_discard("open", lambda: self.open(path))
            return
        left = self.forget_recent(path)
        # (the menu is filled again once the action that was chosen has finished)
        QTimer.singleShot(0, lambda: self.recentChanged.emit(left))
        show_error(self.window, "The file no longer exists",
                   f"{os.path.basename(path)} no longer exists at {path}; removed from the "
                   f"recent files.")

    def forget_recent(self, path: str) -> list[str]:
        """Take ``path`` off the recent files; the list that is left."""
        left = [p for p in self.settings.recent_files() if p != path]
        self.settings.clear_recent_files()
        for p in reversed(left):
            self.settings.add_recent_file(p)
        return self.settings.recent_files()

    def recent(self) -> list[str]:
        return self.settings.recent_files()

    def clear_recent(self) -> None:
        self.settings.clear_recent_files()
        self.recentChanged.emit([])

    # ---- the network spec as JSON ------------------------------------------------------------
    def export_spec_dialog(self) -> None:
        base = os.path.splitext(os.path.basename(self.state.project_path))[0] or "network"
        start = os.path.join(self.settings.last_folder(), f"{base}.json")
        path, _ = QFileDialog.getSaveFileName(self.window, "Export network spec", start,
                                              SPEC_FILTER)
        if path:
            if not os.path.splitext(path)[1]:
                path += ".json"
            self.export_spec(path)

    def export_spec(self, path: str) -> bool:
        """Write the network and its training settings as JSON, the format ``nn-train`` reads
        (``nn-train FILE.json`` trains the same network with the same settings)."""
        name = os.path.splitext(os.path.basename(path))[0]
        doc = {"name": name,
               "description": "A network exported from NN Studio: nn-train trains it with "
                              "these settings.",
               "spec": self.state.spec, "training": self.state.config.to_dict()}
        try:
            atomic_write_bytes(path, (json.dumps(doc, indent=2) + "\n").encode("utf-8"))
        except OSError as e:
            show_error(self.window, "The spec cannot be written",
                       f"{path} cannot be written: {e.strerror or e}.", f"File: {path}")
            return False
        self.settings.set_last_folder(os.path.dirname(os.path.abspath(path)))
        self.window.statusBar().showMessage(f"Exported the network to {path}", 6000)
        return True

    def import_spec_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Import network spec",
                                              self.settings.last_folder(), SPEC_FILTER)
        if path:
            self.import_spec(path)

    def import_spec(self, path: str) -> bool:
        """Replace the network by the one in a spec (or preset) JSON file, as one undoable
        edit; its training settings, if it has any, come with it (the data set choice
        stays). A file that is not a valid spec changes nothing and says why."""
        try:
            spec, training = read_spec_json(path)
        except SpecFileError as e:
            show_error(self.window, "The spec cannot be imported", str(e), e.details)
            return False
        if self.editor.locked:
            self.editor.refuse(f"Import {os.path.basename(path)}")
            return False
        name = os.path.splitext(os.path.basename(path))[0]
        preset = Preset(name, "", spec, training)
        self.window.network_panel.apply_preset(preset, text=f"Import {name}")
        self.settings.set_last_folder(os.path.dirname(os.path.abspath(path)))
        self.window.statusBar().showMessage(f"Imported the network of {path}", 6000)
        return True

    # ---- slots -------------------------------------------------------------------------------
    def _on_state_batch_trained(self, event) -> None:
        if not self._trained:
            self._trained = True
            self.update_modified()

    def _on_state_config_changed(self, config) -> None:
        self.update_modified()

    def _on_undo_stack_clean_changed(self, clean: bool) -> None:
        self.update_modified()

    def _on_state_worker_failed(self, failure) -> None:
        if failure.kind == "file":
            self._after_save = None         # the save did not happen: do not go on
            opening, self._opening = self._opening, None
            if opening is not None and os.path.basename(opening) in failure.message:
                failure.details = describe_file(opening)

    def _on_controller_project_saved(self, path: str) -> None:
        self.mark_saved()
        self.recentChanged.emit(self.settings.add_recent_file(path))
        self.window.statusBar().showMessage(f"Saved {path}", 5000)
        then, self._after_save = self._after_save, None
        if then is not None:
            then()

    def _on_controller_project_opened(self, path: str) -> None:
        self._opening = None
        self.editor.reset(self.state.spec)
        self.mark_saved()
        self.window.training_panel.discard_edits()
        restoring, self._restoring = self._restoring, None
        if restoring is not None and restoring[0] == path:
            self.state.set_project_path(restoring[1])
            self._trained = True            # a recovered session is not saved anywhere yet
            self.update_modified()
            self.window.statusBar().showMessage(restoring[2], 8000)
            return
        self.recentChanged.emit(self.settings.add_recent_file(path))
        self.window.statusBar().showMessage(opened_text(path, self.state.history.steps),
                                                 10_000)

    def _on_state_project_changed(self, path: str) -> None:
        name = os.path.basename(path) if path else "untitled"
        self.window.setWindowTitle(f"{name}[*] — NN Studio")


def opened_text(path: str, steps: int) -> str:
    """"Opened proj.nnproj: step 2,814." for the status bar."""
    return f"Opened {os.path.basename(path)}: step {steps:,}" + \
        ("." if steps else " (not trained yet).")


def describe_file(path: str) -> str:
    """What a file that would not open is: its size, how it begins, and what an NN Studio
    project begins with. For the details of the "cannot be opened" message."""
    lines = [f"File: {path}"]
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as e:
        lines.append(f"It cannot be read: {e.strerror or e}.")
        return "\n".join(lines)
    lines.append(f"Size: {size:,} byte{'s' if size != 1 else ''}.")
    if head:
        shown = "".join(chr(b) if chr(b) in string.printable[:95] else "." for b in head)
        lines.append(f"Begins with: {head.hex(' ')}  ({shown!r})")
    lines.append(f"Expected: an NN Studio file begins with the {len(MAGIC)}-byte signature "
                 f"{MAGIC.decode()}, then the format version, a header and the arrays, and "
                 f"ends with a 32-byte checksum of all of it.")
    if not head:
        found = "nothing: the file is empty (0 bytes), so there is no project in it."
    elif head.startswith(MAGIC):
        found = ("the signature is there, so the file was written by NN Studio but its "
                 "content or checksum is damaged (cut short or changed since).")
    elif MAGIC.startswith(head):
        found = (f"only the first {len(head)} byte{'s' if len(head) != 1 else ''} of the "
                 f"signature: the file is cut short.")
    else:
        found = "no NN Studio signature: this is another kind of file."
    lines.append(f"Found: {found}")
    return "\n".join(lines)


class SpecFileError(Exception):
    """A spec file that cannot be used: ``str()`` says why in a sentence, ``details`` more."""

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details


def read_spec_json(path: str) -> tuple[dict, dict]:
    """(spec, training settings) of a spec or preset JSON file, checked; SpecFileError."""
    name = os.path.basename(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise SpecFileError(f"{name} cannot be read: {e.strerror or e}.",
                            f"File: {path}") from None
    if raw.startswith(b"NNSTUDIO"):
        raise SpecFileError(f"{name} is a project or model file, not a JSON spec: open it "
                            f"with File > Open.", f"File: {path}")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SpecFileError(f"{name} is not a text file: expected a JSON network spec.",
                            f"File: {path}") from None
    except json.JSONDecodeError as e:
        raise SpecFileError(f"{name} is not valid JSON (line {e.lineno}, column {e.colno}: "
                            f"{e.msg}).", f"File: {path}") from None
    if not isinstance(doc, dict):
        raise SpecFileError(f"{name}: expected a JSON object (a network spec), received "
                            f"{type(doc).__name__}.", f"File: {path}")
    spec, training = (doc["spec"], doc.get("training") or {}) if "spec" in doc else (doc, {})
    if not isinstance(training, dict):
        training = {}
    try:
        if not isinstance(spec, dict):
            raise SpecError(f"expected an object with input_shape and layers, received "
                            f"{type(spec).__name__}")
        infer_shapes(spec)
    except SpecError as e:
        raise SpecFileError(f"{name} does not describe a valid network: {e}",
                            f"File: {path}\nnncore: {e}") from None
    return spec, training
