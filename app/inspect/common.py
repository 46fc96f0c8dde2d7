"""Pieces the inspection panels share: the off-GUI-thread job runner, rebuilding the network in
a worker, and small display widgets (probability bars, an image pane, image conversion).

The GUI thread never runs numerics: every forward or backward pass goes through a ``JobRunner``,
which runs a plain function in superqt's thread pool and hands its result back as a signal.
"""
from __future__ import annotations

import math
import traceback

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage
from PySide6.QtWidgets import (QDockWidget, QLabel, QSizePolicy, QSplitter, QStyle,
                               QToolButton, QVBoxLayout, QWidget)
from superqt.utils import create_worker

from ..views.seen import WhenSeen  # noqa: F401  (the panels' drawing waits until they are seen)
from ..views.weights import SIGNED_CMAP, SIGNED_WORDS  # noqa: F401  (signed values: one map)

#: Colours used across the inspection views.
GOOD = QColor(46, 160, 67)        # correct / passed
BAD = QColor(214, 69, 65)         # wrong / failed
NEUTRAL = QColor(90, 120, 170)


class JobRunner(QObject):
    """Runs one function at a time in a worker thread; the newest request wins.

    ``submit(fn, *args)`` starts ``fn(*args)`` in superqt's thread pool, or, if a job is still
    running, keeps it as the one to run next (replacing any request already waiting): a flood of
    requests (a pen moving over the pad) never queues up. ``done`` carries the result, ``failed``
    a one-line message (and the traceback is kept in ``last_error``)."""

    done = Signal(object)
    failed = Signal(str)
    idle = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._worker = None
        self._pending = None
        self.last_error = ""

    @property
    def busy(self) -> bool:
        return self._worker is not None or self._pending is not None

    def submit(self, fn, *args) -> None:
        if self._worker is not None:
            self._pending = (fn, args)
            return
        self._start(fn, args)

    def _start(self, fn, args):
        worker = create_worker(fn, *args, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(self._on_worker_returned)
        worker.errored.connect(self._on_worker_errored)
        worker.finished.connect(self._on_worker_finished)
        self._worker = worker
        worker.start()

    def _on_worker_returned(self, result):
        if self._pending is None:          # a newer request makes this result stale
            self.done.emit(result)

    def _on_worker_errored(self, exc):
        self.last_error = "".join(traceback.format_exception(exc))
        self.failed.emit(f"{type(exc).__name__}: {exc}")

    def _on_worker_finished(self):
        self._worker = None
        if self._pending is not None:
            fn, args = self._pending
            self._pending = None
            self._start(fn, args)
        else:
            self.idle.emit()


# ---- the network, rebuilt in a worker -------------------------------------------------------
def network_source(state):
    """What a worker needs to rebuild the current network: (snapshot, spec, seed). Plain data,
    read in the GUI thread, so the worker never touches the state object."""
    seed = getattr(state.config, "seed", 0)
    return state.snapshot, dict(state.spec) if state.spec else {}, seed


def build_network(source, dtype: str | None = None):
    """A fresh nncore Network from ``network_source`` output (call in a worker)."""
    from nncore import Network, SpecError
    snapshot, spec, seed = source
    if snapshot is not None:
        net = Network.from_spec(snapshot.spec, dtype=dtype or snapshot.dtype)
        net.set_weights({k: np.asarray(v, dtype=net.dtype) for k, v in snapshot.weights.items()})
        return net
    if not spec:
        raise SpecError("there is no network yet: build one in the builder first")
    return Network.from_spec(spec, seed=seed, dtype=dtype or "float32")


def source_step(source) -> int:
    snapshot = source[0]
    return snapshot.step if snapshot is not None else 0


def make_loss(config):
    """The loss object named in a TrainingConfig."""
    from nncore.registry import get
    loss = getattr(config, "loss", None) or {"type": "CrossEntropyLoss", "config": {}}
    return get("loss", loss["type"])(**loss.get("config", {}))


# ---- images ----------------------------------------------------------------------------------
def grey_qimage(image: np.ndarray) -> QImage:
    """A QImage (owning its pixels) from a (H, W) or (1, H, W) uint8 image; 3 channels → RGB."""
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3 and a.shape[0] == 3:
        rgb = np.ascontiguousarray(np.moveaxis(a, 0, -1).astype(np.uint8))
        h, w, _ = rgb.shape
        return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    a = np.ascontiguousarray(a.astype(np.uint8))
    h, w = a.shape
    return QImage(a.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


def mosaic(values: np.ndarray, max_cols: int = 32) -> np.ndarray:
    """Arrange a layer's output for display: (C, H, W) feature maps as a grid of tiles, a
    (K,) vector as rows of at most ``max_cols`` cells. NaN marks the gaps between tiles."""
    v = np.asarray(values, dtype=np.float32)
    if v.ndim == 3:
        c, h, w = v.shape
        cols = math.ceil(math.sqrt(c))
        rows = math.ceil(c / cols)
        # each tile with a NaN row and column after it, the tiles laid out row by row
        tiles = np.full((rows * cols, h + 1, w + 1), np.nan, dtype=np.float32)
        tiles[:c, :h, :w] = v
        out = tiles.reshape(rows, cols, h + 1, w + 1).transpose(0, 2, 1, 3)
        return np.ascontiguousarray(out.reshape(rows * (h + 1), cols * (w + 1))[:-1, :-1])
    flat = v.ravel()
    cols = min(max_cols, max(len(flat), 1))
    rows = math.ceil(len(flat) / cols)
    out = np.full(rows * cols, np.nan, dtype=np.float32)
    out[:len(flat)] = flat
    return out.reshape(rows, cols)


class ImagePane(pg.GraphicsLayoutWidget):
    """One image (greyscale or with a colour map: a pyqtgraph name or a ColorMap, such as
    SIGNED_CMAP), pixels square, row 0 at the top."""

    def __init__(self, title: str = "", cmap=None, parent=None, size: int = 160,
                 hint: int | None = None):
        super().__init__(parent)
        self.setBackground("w")
        self.view = self.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.view.setMenuEnabled(False)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.item)
        self.cmap = pg.colormap.get(cmap) if isinstance(cmap, str) else cmap
        if self.cmap is not None:
            self.item.setColorMap(self.cmap)
        if title:
            self.ci.addLabel(title, row=1, col=0, color="k", size="9pt")
        self.setMinimumSize(size, size)
        self._hint = QSize(hint or size, hint or size)     # (``size`` is the minimum)
        self.image = None

    def sizeHint(self):
        # fixed (a graphics view's own hint follows its scene, and grew to 480 px once an
        # image was set: a layout asking for it grew the whole panel)
        return self._hint

    def set_image(self, image, levels=None):
        self.image = np.asarray(image)
        if levels is None:
            finite = self.image[np.isfinite(self.image)] if self.image.dtype.kind == "f" \
                else self.image
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
            levels = (lo, hi if hi > lo else lo + 1.0)
        self.item.setImage(self.image, levels=levels, autoLevels=False)
        self.item.setVisible(True)
        # auto range (not a fixed range): a pane filled while still hidden, at zero size,
        # fits its image once it is shown
        self.view.enableAutoRange(pg.ViewBox.XYAxes, True)
        self.view.autoRange(padding=0.02)

    def clear_image(self):
        """Show nothing (the item is hidden, not emptied: an emptied ImageItem loses its
        geometry and the next image lands outside the view)."""
        self.image = None
        self.item.setVisible(False)


class ProbabilityBars(pg.PlotWidget):
    """Softmax output as bars, one per class; the true class green (and a green ▲ at its foot,
    seen even when its probability is ~0), a wrong top choice red."""

    def __init__(self, class_names=None, parent=None, compact: bool = False):
        super().__init__(parent, background="w")
        self.class_names = list(class_names or [str(i) for i in range(10)])
        self.values = np.zeros(len(self.class_names))
        self.bars = pg.BarGraphItem(x=np.arange(len(self.values)), height=self.values, width=0.7,
                                    brush=NEUTRAL)
        self.addItem(self.bars)
        # the true class marked even when its bar is too short to see (a confident mistake)
        self.true_mark = pg.ScatterPlotItem(symbol="t1", size=10, brush=GOOD, pen=None)
        self.addItem(self.true_mark)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.setMenuEnabled(False)
        self.setYRange(0, 1, padding=0.02)
        self.getAxis("left").setTicks([[(0, "0"), (0.5, ".5"), (1, "1")]])
        self.setMinimumHeight(70 if compact else 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._hint = QSize(240, 70 if compact else 120)
        self._set_ticks()

    def sizeHint(self):
        return self._hint           # fixed: not the plot's, which follows its scene

    def _set_ticks(self):
        self.getAxis("bottom").setTicks([list(enumerate(self.class_names))])
        self.setXRange(-0.6, len(self.class_names) - 0.4, padding=0)

    def set_class_names(self, names):
        self.class_names = list(names)
        self._set_ticks()
        self.set_probabilities(np.zeros(len(self.class_names)))

    def set_probabilities(self, p, true: int | None = None):
        self.values = np.asarray(p, dtype=np.float64).ravel()
        top = int(np.argmax(self.values)) if len(self.values) else -1
        brushes = []
        for k in range(len(self.values)):
            if k == true:
                brushes.append(GOOD)
            elif k == top and true is not None:
                brushes.append(BAD)
            else:
                brushes.append(NEUTRAL)
        self.bars.setOpts(x=np.arange(len(self.values)), height=self.values, brushes=brushes)
        if true is not None and 0 <= true < len(self.values):
            self.true_mark.setData([true], [0.07])
            self.setToolTip(f"Softmax output, a bar per class: green (and ▲) the true class, "
                            f"{self.class_names[true]}; red a wrong top choice")
        else:
            self.true_mark.setData([], [])
            self.setToolTip("Softmax output")


class FittedSplitter(QSplitter):
    """A splitter whose sizes ``fit()`` chooses — after each ``refit()`` (call it from the
    panel's resizeEvent), once the layout has given the splitter its size — until the learner
    drags its handle: from then on their sizes stay. Neither side can be collapsed."""

    def __init__(self, orientation, widgets, fit):
        super().__init__(orientation)
        for w in widgets:
            self.addWidget(w)
            self.setStretchFactor(self.count() - 1, 1)
        self.setChildrenCollapsible(False)
        self.by_hand = False
        self._fit = fit
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._apply)
        self.splitterMoved.connect(self._on_moved)

    def refit(self) -> None:
        self._timer.start()

    def _apply(self) -> None:
        if not self.by_hand:
            self._fit()

    def _on_moved(self, _pos, _index) -> None:
        self.by_hand = True


def reveal(widget: QWidget) -> None:
    """Bring the dock holding ``widget`` into view: opened again if the learner closed it,
    its tab picked if it is tabbed behind another, its window raised if it floats. A widget
    in no dock (on its own, in a test or a script) is shown."""
    dock = widget.parentWidget()
    while dock is not None and not isinstance(dock, QDockWidget):
        dock = dock.parentWidget()
    if dock is None:
        widget.window().show()
        return
    if dock.isHidden():
        dock.show()
    dock.raise_()


def heading(text: str, size: int = 10, bold: bool = True) -> QLabel:
    label = QLabel(text)
    f = QFont(label.font())
    f.setPointSize(size)
    f.setBold(bold)
    label.setFont(f)
    return label


class LinesLabel(QLabel):
    """A word-wrapped label exactly ``lines`` lines tall, whatever its text and width.

    A word-wrapped QLabel has a height-for-width, and so has every layout holding one; a
    QScrollArea (each dock's panel sits in one) then gives the panel its *preferred* height
    for its width — every child at its size hint — instead of the room there is. That grew the
    drawing pad from 300 to over 1,000 px after its first prediction. This label's height does
    not depend on its width (and its size hint asks for little width), so a panel's layout
    stays as its dock makes it. Text longer than ``lines`` lines is cut; the tooltip has it
    all."""

    def __init__(self, text: str = "", lines: int = 2, parent=None):
        super().__init__(text, parent)
        self.lines = lines
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setToolTip(text)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text if text else "")

    def _height(self) -> int:
        m = self.contentsMargins()
        return QFontMetrics(self.font()).lineSpacing() * self.lines + m.top() + m.bottom() + 2

    def hasHeightForWidth(self) -> bool:
        return False

    def sizeHint(self):
        return QSize(80, self._height())

    def minimumSizeHint(self):
        return QSize(40, self._height())


def placeholder(text: str) -> QWidget:
    """A centred grey hint shown while a view has nothing to show yet."""
    w = QWidget()
    lay = QVBoxLayout(w)
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    label.setStyleSheet("color: #777;")
    lay.addWidget(label)
    return w


def probability_text(p: float) -> str:
    """"81%", ">99%", "<1%": whole percent, and never 100% or 0% for what is not (the
    gallery, an image's detail and the drawing pad say a probability the same way)."""
    if p >= 0.995:
        return "100%" if p >= 1 else ">99%"
    if 0 < p < 0.005:
        return "<1%"
    return f"{p:.0%}"


class EnlargeButton(QToolButton):
    """Shows its panel larger: the panel's dock floats, as a window of its own, over most of
    the main window (``SHARE`` of its size, centred); pressed again, the dock goes back where
    it was. For panels with much to read (the backward pass at 1366x768 showed 6 of its 18
    rows) — and for showing them on a projector."""

    SHARE = 0.85

    def __init__(self, panel: QWidget):
        super().__init__(panel)
        self.panel = panel
        self.setObjectName("enlargeButton")
        self.setCheckable(True)
        self.setAutoRaise(True)
        self.setIcon(self.style().standardIcon(QStyle.SP_TitleBarMaxButton))
        self.setToolTip("Show this panel larger, in a window of its own over the main window "
                        "(press again to put it back)")
        self.toggled.connect(self._on_toggled)
        self._dock = None

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.dock()                 # follows its dock from now on (floated by its title bar)

    def dock(self) -> QDockWidget | None:
        w = self.panel.parentWidget()
        while w is not None and not isinstance(w, QDockWidget):
            w = w.parentWidget()
        if w is not None and w is not self._dock:
            self._dock = w
            w.topLevelChanged.connect(self._on_dock_top_level_changed)
        return w

    def _on_toggled(self, larger: bool) -> None:
        dock = self.dock()
        if dock is None:
            return
        if not larger:
            dock.setFloating(False)
            return
        main = dock.parentWidget()
        dock.setFloating(True)
        if main is not None:
            size = main.size() * self.SHARE
            top_left = main.geometry().center() - QPoint(size.width() // 2, size.height() // 2)
            dock.setGeometry(QRect(top_left, size))
        dock.raise_()

    def _on_dock_top_level_changed(self, floating: bool) -> None:
        if self.isChecked() != floating:        # floated or docked by other means
            self.blockSignals(True)
            self.setChecked(floating)
            self.blockSignals(False)
