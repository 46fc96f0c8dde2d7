"""Menus, the toolbar and keyboard shortcuts of the main window.

Actions that would drop unsaved work (New project, Open, a recent file, Reset weights, Quit) ask
first (app.files); Rewind says where it goes. Ctrl+Q quits on every platform (Qt's standard Quit
key is empty on some, Windows among them).
"""
from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMessageBox, QToolBar

from .builder import catalog
from .icons import icon


def quit_shortcuts() -> list:
    """The platform's Quit keys, and Ctrl+Q where it has none."""
    keys = QKeySequence.keyBindings(QKeySequence.Quit)
    if not any(not k.isEmpty() for k in keys):
        keys = [QKeySequence("Ctrl+Q")]
    return keys


def _action(parent, text, slot=None, shortcut=None, tip="", icon_name=None, name=None):
    act = QAction(text, parent)
    if icon_name:
        act.setIcon(icon(icon_name))
    if shortcut:
        if isinstance(shortcut, (list, tuple)):
            act.setShortcuts([s if isinstance(s, QKeySequence) else QKeySequence(s)
                              for s in shortcut])
        else:
            act.setShortcut(QKeySequence(shortcut))
    if tip:
        act.setToolTip(tip)
        act.setStatusTip(tip)
    if name:
        act.setObjectName(name)
    if slot is not None:
        act.triggered.connect(lambda checked=False: slot())
    return act


class Menus:
    """Builds the actions once; keeps them enabled according to the state."""

    def __init__(self, window):
        self.window = window
        w = window
        c, e, f = w.controller, w.editor, w.files
        a = self.actions = {}
        a["new"] = _action(w, "&New project",
                           lambda: f.confirm_discard("new", f.new_project), QKeySequence.New,
                           "Start over with the seed network", "new", "newAction")
        a["open"] = _action(w, "&Open…", lambda: f.confirm_discard("open", f.open_dialog),
                            QKeySequence.Open, "Open a project or model file", "open",
                            "openAction")
        a["save"] = _action(w, "&Save", f.save, QKeySequence.Save,
                            "Save network, settings, weights and history", "save", "saveAction")
        a["save_as"] = _action(w, "Save &as…", f.save_as_dialog, "Ctrl+Shift+S",
                               "Save the project under a new name", name="saveAsAction")
        a["quit"] = _action(w, "&Quit", w.request_close, quit_shortcuts(),
                            "Close NN Studio (asks first if work is not saved)",
                            name="quitAction")
        a["export_spec"] = _action(w, "&Export spec…", f.export_spec_dialog, None,
                                   "Save the network and its training settings as JSON, "
                                   "the file nn-train reads", name="exportSpecAction")
        a["import_spec"] = _action(w, "&Import spec…", f.import_spec_dialog, None,
                                   "Replace the network by the one in a JSON spec file "
                                   "(undoable)", name="importSpecAction")
        a["undo"] = _action(w, "&Undo", e.undo, QKeySequence.Undo, "Undo the last network edit",
                            "undo", "undoAction")
        a["redo"] = _action(w, "&Redo", e.redo, ["Ctrl+Shift+Z", "Ctrl+Y"],
                            "Redo the network edit", "redo", "redoAction")
        a["duplicate"] = _action(w, "&Duplicate layer",
                                 lambda: e.duplicate_layer(e.current), "Ctrl+D",
                                 "Duplicate the selected layer", "duplicate")
        a["delete"] = _action(w, "De&lete layer", lambda: e.remove_layer(e.current), None,
                              "Delete the selected layer (Del in the network list)", "delete")
        a["move_up"] = _action(w, "Move layer &up",
                               lambda: e.move_layer(e.current, e.current - 1), "Alt+Up")
        a["move_down"] = _action(w, "Move layer do&wn",
                                 lambda: e.move_layer(e.current, e.current + 1), "Alt+Down")
        a["train"] = _action(w, "&Train / Pause", c.toggle, Qt.Key_Space,
                             "Start training, or pause it after the current batch", "play",
                             "trainAction")
        a["step_batch"] = _action(w, "Step &batch", c.step_batch, "F10",
                                  "Train exactly one batch, then pause", "step-batch",
                                  "stepBatchAction")
        a["step_epoch"] = _action(w, "Step &epoch", c.step_epoch, "F11",
                                  "Train to the end of the epoch, then pause", "step-epoch",
                                  "stepEpochAction")
        a["stop"] = _action(w, "&Stop", c.stop, "Shift+F5",
                            "End the run after the current batch", "stop", "stopAction")
        a["rewind"] = _action(w, "Re&wind to pause", lambda: w.training_panel.rewind(),
                              "Ctrl+Backspace", "Back to where training was last paused",
                              "rewind", "rewindAction")
        a["reset"] = _action(w, "&Reset weights", lambda: w.training_panel.reset_weights(),
                             "Ctrl+Shift+R", "New initial weights, empty history", "reset",
                             "resetAction")
        a["reset_layout"] = _action(w, "Reset &layout", w.reset_layout, None,
                                    "Put every panel back where it started", "layout",
                                    "resetLayoutAction")
        a["reload_plugins"] = _action(w, "Reload &plugins", w.plugins.reload, None,
                                      f"Load the layers, losses and optimizers in "
                                      f"{w.plugins.folder} again", name="reloadPluginsAction")
        a["about"] = _action(w, "&About NN Studio", self._about)
        for act in a.values():
            act.setShortcutContext(Qt.WindowShortcut)
        self._menus()
        self._toolbar()
        w.state.runStateChanged.connect(self._on_state_run_state_changed)
        w.state.specChecked.connect(self._on_state_spec_checked)
        w.state.progressChanged.connect(self._on_state_progress_changed)
        w.field_guard.changed.connect(self._update)
        e.undo_stack.canUndoChanged.connect(self._update)
        e.undo_stack.canRedoChanged.connect(self._update)
        e.undo_stack.undoTextChanged.connect(self._update)
        e.undo_stack.redoTextChanged.connect(self._update)
        e.currentChanged.connect(self._update)
        f.recentChanged.connect(self._fill_recent)
        self._update()

    # ---- building ----------------------------------------------------------------------------
    def _menus(self) -> None:
        mb, a = self.window.menuBar(), self.actions
        m = mb.addMenu("&File")
        m.addActions([a["new"], a["open"]])
        self.recent_menu = m.addMenu("Open &recent")
        self.recent_menu.setObjectName("recentMenu")
        self._fill_recent(self.window.files.recent())
        m.addSeparator()
        m.addActions([a["save"], a["save_as"]])
        m.addSeparator()
        m.addAction(a["quit"])
        m = mb.addMenu("&Edit")
        m.addActions([a["undo"], a["redo"]])
        m.addSeparator()
        m.addActions([a["duplicate"], a["delete"], a["move_up"], a["move_down"]])
        m = mb.addMenu("&Network")
        self.add_menu = m.addMenu("&Add layer")
        self.add_menu.aboutToShow.connect(self._fill_add_menu)
        presets = m.addMenu("&Presets")
        panel = self.window.network_panel
        presets.aboutToShow.connect(lambda: self._fill_presets(presets, panel))
        m.addSeparator()
        m.addActions([a["export_spec"], a["import_spec"]])
        m.addSeparator()
        m.addAction(a["reload_plugins"])
        m = mb.addMenu("&Training")
        m.addActions([a["train"], a["step_batch"], a["step_epoch"], a["stop"]])
        m.addSeparator()
        m.addActions([a["rewind"], a["reset"]])
        self.view_menu = mb.addMenu("&View")
        m = mb.addMenu("&Help")
        m.addAction(a["about"])

    def fill_view_menu(self, docks) -> None:
        self.view_menu.clear()
        for dock in docks:
            self.view_menu.addAction(dock.toggleViewAction())
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.actions["reset_layout"])

    def _toolbar(self) -> None:
        tb = QToolBar("Main", self.window)
        tb.setObjectName("mainToolBar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        a = self.actions
        for key in ("new", "open", "save"):
            tb.addAction(a[key])
        tb.addSeparator()
        tb.addActions([a["undo"], a["redo"]])
        self.window.addToolBar(Qt.TopToolBarArea, tb)
        self.toolbar = tb

    def _fill_recent(self, files) -> None:
        self.recent_menu.clear()
        for path in files:
            act = self.recent_menu.addAction(os.path.basename(path))
            act.setToolTip(path)
            act.setStatusTip(path)
            act.triggered.connect(lambda checked=False, p=path: self._open_recent(p))
        if not files:
            self.recent_menu.addAction("(none)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", self.window.files.clear_recent)

    def _open_recent(self, path: str) -> None:
        self.window.files.open_recent(path)

    def _fill_add_menu(self) -> None:
        self.add_menu.clear()
        group, sub = None, None
        for lt in catalog.layer_types():
            if lt.group != group:
                group = lt.group
                sub = self.add_menu.addMenu(group)
                sub.setToolTipsVisible(True)
            act = sub.addAction(lt.name)
            act.setToolTip(lt.description)
            act.setStatusTip(lt.description)
            act.triggered.connect(lambda checked=False, n=lt.name: self.window.editor.add_layer(n))

    def _fill_presets(self, menu: QMenu, panel) -> None:
        panel._on_presets_menu_about_to_show()
        menu.clear()
        menu.addActions(panel.presets_menu.actions())

    def _about(self) -> None:
        QMessageBox.about(self.window, "About NN Studio",
                          "<b>NN Studio</b><br>Build a neural network, train it live and see "
                          "what every step does.<br><br>The network library (nncore) is "
                          "written from scratch in NumPy; the window uses PySide6 and "
                          "pyqtgraph.<br>Built-in data: MNIST (LeCun, Cortes, Burges; CC BY-SA "
                          "3.0).")

    # ---- enabling ----------------------------------------------------------------------------
    def _on_state_run_state_changed(self, run_state) -> None:
        self._update()

    def _on_state_spec_checked(self, check) -> None:
        self._update()

    def _on_state_progress_changed(self, p) -> None:
        if self.window.state.run_state != "running":
            self._update_rewind()

    def _update_rewind(self) -> None:
        target = self.window.training_panel.rewind_target()
        act = self.actions["rewind"]
        act.setEnabled(target is not None)
        text = f"Re&wind to batch {target:,}" if target is not None else "Re&wind to pause"
        if act.text() != text:
            act.setText(text)

    def _update(self, *args) -> None:
        a, w = self.actions, self.window
        rs = w.state.run_state
        running = rs == "running"
        can = w.training_panel.why_not() is None
        stack = w.editor.undo_stack
        a["undo"].setEnabled(stack.canUndo() and not running)
        a["redo"].setEnabled(stack.canRedo() and not running)
        a["undo"].setText(f"&Undo {stack.undoText()}".rstrip())
        a["redo"].setText(f"&Redo {stack.redoText()}".rstrip())
        row = w.editor.current
        n = len(w.editor.layers)
        for key in ("duplicate", "delete"):
            a[key].setEnabled(not running and row >= 0)
        a["move_up"].setEnabled(not running and row > 0)
        a["move_down"].setEnabled(not running and 0 <= row < n - 1)
        a["train"].setEnabled(can or running)
        a["train"].setText("&Pause" if running else "&Train")
        a["train"].setIcon(icon("pause" if running else "play"))
        a["step_batch"].setEnabled(can and not running)
        a["step_epoch"].setEnabled(can and not running)
        a["stop"].setEnabled(rs in ("running", "paused"))
        self._update_rewind()
        a["reset"].setEnabled(not running)
        a["open"].setEnabled(not running)
        a["new"].setEnabled(not running)
