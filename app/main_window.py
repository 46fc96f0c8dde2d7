"""The main window: it composes the panels around one StudioState, and does nothing else.

    state       the model every panel binds to (app.state)
    controller  training commands -> worker thread; worker reports -> state (app.training)
    editor      network edits with undo/redo, shape checking (app.builder.editor)
    field_guard the input fields of every panel: while one is invalid, training cannot start

Closing the window (its close button, File > Quit, Ctrl+Q) asks before unsaved work is dropped;
a close by the program itself (tests, the application quitting) does not ask.
"""
from __future__ import annotations

import gc
import traceback

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QScrollArea
from pyqtgraph.util.garbage_collector import GarbageCollector

from . import inspect as app_inspect
from .builder.diagram import NetworkDiagram
from .builder.editor import NetworkEditor
from .builder.palette import LayerPalette
from .builder.panel import NetworkPanel
from .builder.properties import PropertyForm
from .defaults import default_spec
from .files import ProjectFiles
from .icons import icon
from .layout import DockLayout, fitted_size, inspection_group
from .memory_guard import MemoryGuard
from .plugins import Plugins
from .menus import Menus
from .messages import show_error, show_failure
from .recovery import Recovery
from .settings import AppSettings
from .state import StudioState
from .status import StudioStatusBar
from .training.controller import TrainingController
from .training.panel import TrainingPanel
from .views.curves import AccuracyView, LossView
from .views.pacing import DrawPacer
from .views.weights import GradNormView, HistogramView, WeightTilesView
from .widgets.fields import FieldGuard

DEFAULT_SIZE = (1400, 900)


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings | None = None, start: bool = True):
        super().__init__()
        self.setObjectName("mainWindow")
        self.setAnimated(False)          # docks move at once (no animation on every re-layout)
        self.setWindowIcon(icon("nn-studio"))
        self.settings = settings or AppSettings()
        self.state = StudioState(self)
        self.state.spec = default_spec()
        self.state.config = self.settings.training_config() or self.state.config
        self.controller = TrainingController(self.state, self)
        self.editor = NetworkEditor(self.state, self)
        self.field_guard = FieldGuard(self)
        self.files = ProjectFiles(self, self.state, self.controller, self.editor, self.settings)
        self.plugins = Plugins(self)
        self.plugins.load()             # before the palette: their layers are listed too
        self.recovery = Recovery(self)
        self.memory_guard = MemoryGuard(self)
        self.controller.before_start = self._before_start     # fields first, then memory
        self._build_panels()
        self.training_panel.ask_before_reset = lambda go: self.files.confirm_discard("reset", go)
        self.network_panel.confirm_discard = self.files.confirm_discard
        self.network_panel.presetApplied.connect(self._on_network_panel_preset_applied)
        self.editor.editRefused.connect(self._on_editor_edit_refused)
        self.editor.edited.connect(self._on_editor_layer_added)    # every edit says what it did
        self.editor.currentChanged.connect(self._on_editor_current_changed)
        self.menus = Menus(self)
        self.menus.fill_view_menu(self.layout_.docks.values())
        self.setStatusBar(StudioStatusBar(self.state, self))
        self.statusBar().explain_when_disabled(self.menus.actions["train"],
                                               self.training_panel.why_not)
        self.state.workerFailed.connect(self._on_state_worker_failed)
        self._saved_dock_state = self._place_on_screen()
        self.failure_box = None
        self._closed = False
        self._close_confirmed = False
        # quitting the application (not only closing the window) also ends and joins training
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._on_app_about_to_quit)
        # Python's cyclic garbage collector runs in whichever thread happens to allocate; if
        # that is the worker, Qt objects would be destroyed outside the GUI thread. So while
        # the window is open, garbage is collected on a timer, in the GUI thread.
        self._gc = GarbageCollector(interval=1.0)
        if start:
            self.controller.start()
            QTimer.singleShot(0, self.recovery.offer)   # a session left by a crash?
            QTimer.singleShot(0, self.plugins.report_failures)
        # The inspection panels come right after the window is first shown (they take a
        # quarter of a second to build): the window appears sooner.
        QTimer.singleShot(0, self._add_inspection_panels)

    # ---- composition -------------------------------------------------------------------------
    def _build_panels(self) -> None:
        s, c, e = self.state, self.controller, self.editor
        L = self.layout_ = DockLayout(self)
        self.palette = LayerPalette(e)
        self.network_panel = NetworkPanel(e, icon)
        self.properties = PropertyForm(e, self.field_guard)
        self.training_panel = TrainingPanel(c, icon, self.field_guard)
        self.loss_view = LossView(s, icon)
        self.accuracy_view = AccuracyView(s, icon)
        self.weights_view = WeightTilesView(s, c, icon)
        self.histogram_view = HistogramView(s, icon)
        self.grad_norm_view = GradNormView(s, icon)
        self.diagram = NetworkDiagram(s)
        self.pacer = DrawPacer(s, self)
        for view in (self.loss_view, self.accuracy_view, self.weights_view,
                     self.histogram_view, self.grad_norm_view):
            self.pacer.slowdownChanged.connect(view.set_slowdown)
        self.pacer.slowdownChanged.connect(c.set_update_slowdown)
        self.histogram_view.shownChanged.connect(c.set_histograms_wanted)
        L.add("palette", "Layers", self.palette)
        L.add("network", "Network", self.network_panel)
        L.add("properties", "Layer properties", _scrollable(self.properties))
        L.add("training", "Training", self.training_panel)
        L.add("loss", "Loss", self.loss_view)
        L.add("accuracy", "Accuracy", self.accuracy_view)
        L.add("weights", "Weights", self.weights_view, group="bottom")
        L.add("histograms", "Histograms", self.histogram_view, group="bottom")
        L.add("gradnorms", "Gradients", self.grad_norm_view, group="bottom")
        L.add("diagram", "Diagram", self.diagram, group="bottom")

    def _add_inspection_panels(self) -> None:
        if self._closed or getattr(self, "inspection_docks", None) is not None:
            return
        self.inspection_docks = []
        for i, (title, widget, name) in enumerate(self._inspection_panels()):
            if name:
                widget.setObjectName(name)
            dock = self.layout_.add(f"inspect{i}", title, _scrollable(widget),
                                    group=inspection_group(name))
            self.layout_.place(dock)
            self.inspection_docks.append(dock)
        self.menus.fill_view_menu(self.layout_.docks.values())
        if self._saved_dock_state is not None:
            self.restoreState(self._saved_dock_state)
        self.layout_.polish_tabs()

    def _inspection_panels(self) -> list:
        """The inspection panels (app.inspect); a broken one must not take the window down."""
        try:
            return list(app_inspect.create_panels(self.state, self.controller))
        except Exception:  # noqa: BLE001
            label = QLabel("The inspection panels could not be created:\n\n"
                           + traceback.format_exc())
            label.setWordWrap(True)
            return [("Inspection", label, "inspectionError")]

    def _available(self):
        screen = self.screen() or QGuiApplication.primaryScreen()
        return screen.availableGeometry() if screen is not None else None

    def _place_on_screen(self):
        """Size and place the window for the screen it is on; the dock state to restore once
        the inspection panels exist (None: the default layout, sized for this window).

        The window is never larger than the screen's available area (a 1366x768 laptop gets a
        window that fits, with the Train button in view). A saved layout is restored only when
        the window gets the size it was saved at: a layout made for a larger window, squeezed
        into a smaller one, cut off the Training panel."""
        avail = self._available()
        geometry, dock_state = self.settings.window_state()
        saved_size = self.settings.window_size()
        self.resize(*fitted_size(DEFAULT_SIZE, avail))
        self.layout_.apply_default()
        if geometry is not None and self.restoreGeometry(geometry):
            if avail is not None and (self.width() > avail.width()
                                      or self.height() > avail.height()):
                self.resize(*fitted_size((self.width(), self.height()), avail))
                self.move(avail.topLeft())
            if saved_size is not None and not self.isMaximized() and (
                    self.width() < saved_size[0] - 2 or self.height() < saved_size[1] - 2):
                dock_state = None           # made for a larger window: not squeezed in
            if dock_state is None:
                self.layout_.apply_default()
        else:
            dock_state = None
            if avail is not None:           # first launch: centred on the screen
                frame = self.frameGeometry()
                frame.moveCenter(avail.center())
                self.move(frame.topLeft())
        return dock_state

    def reset_layout(self) -> None:
        """The docks where they start, sized for the window as it is (a maximised or enlarged
        window keeps its size)."""
        self.layout_.apply_default()

    # ---- messages ----------------------------------------------------------------------------
    def _on_state_worker_failed(self, failure) -> None:
        if self.failure_box is not None:
            self.failure_box.close()
        self.failure_box = show_failure(self, failure, on_rewind=self._rewind_to_good_state)
        self.failure_box.destroyed.connect(self._on_failure_box_destroyed)
        self.statusBar().showMessage(failure.title, 8000)

    def _rewind_to_good_state(self) -> None:
        self.controller.rewind(True)
        self.statusBar().showMessage("Rewound to the last good state: set a smaller learning "
                                     "rate before training on.", 8000)

    def _on_failure_box_destroyed(self, *args) -> None:
        self.failure_box = None

    def show_message(self, title: str, text: str, details: str = "") -> None:
        show_error(self, title, text, details)

    def _on_network_panel_preset_applied(self, message: str) -> None:
        self.statusBar().showMessage(message, 10_000)

    def _on_editor_edit_refused(self, message: str) -> None:
        self.statusBar().showMessage(message, 6000)

    def _on_editor_current_changed(self, _row: int) -> None:
        QTimer.singleShot(0, self.layout_.fit_left_rows)    # once the form shows the layer

    def _on_editor_layer_added(self, message: str) -> None:
        self.statusBar().showMessage(message, 10_000)

    # ---- training may start? -----------------------------------------------------------------
    def _before_start(self, go) -> None:
        """Before Train, Step batch or Step epoch: no invalid field, then enough memory."""
        why = self.training_panel.why_not()
        if why is not None:
            self.statusBar().showMessage(f"Training did not start. {why}", 8000)
            return
        self.memory_guard.check(go)

    # ---- closing -----------------------------------------------------------------------------
    def _on_app_about_to_quit(self) -> None:
        self._close_confirmed = True        # the application is ending: nothing to ask
        self.close()

    def request_close(self) -> None:
        """File > Quit, Ctrl+Q, the window's close button: ask about unsaved work, then close."""
        if self._closed:
            return
        self.files.confirm_discard("close", self._close_now)

    def _close_now(self) -> None:
        self._close_confirmed = True
        self.close()

    def closeEvent(self, event) -> None:
        """Remember the layout and settings, stop training after the current batch, join."""
        if not self._closed and event.spontaneous() and not self._close_confirmed \
                and self.files.unsaved("close"):
            event.ignore()                  # the close button: ask first
            self.request_close()
            return
        if not self._closed:
            self._closed = True
            if self.files.confirm_box is not None:
                self.files.confirm_box.close()
            self.settings.set_window_state(self.saveGeometry(), self.saveState(),
                                           (self.width(), self.height()))
            self.settings.set_training_config(self.state.config)
            self.settings.sync()
            self.controller.shutdown()
            self.recovery.finish()          # a clean exit: no session to recover
            self._gc.timer.stop()
            gc.enable()
            # the window is going away: nothing may react to its parts being destroyed
            for obj in (self.state, self.editor, self.editor.undo_stack, self.controller):
                obj.blockSignals(True)
        super().closeEvent(event)


def _scrollable(widget):
    """``widget`` in a scroll area, so a panel's minimum size never forces the window larger."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.NoFrame)
    return area


def first_show_hint(window: MainWindow) -> None:
    """Select nothing and show a short hint in the status bar once the window is up."""
    QTimer.singleShot(0, lambda: window.statusBar().showMessage(
        "Press Space to train. Double-click a layer on the left to add it.", 8000))
