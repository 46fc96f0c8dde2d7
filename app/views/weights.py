"""Weight views: weights as image tiles, weight and gradient histograms, gradient norms.

All three draw what the worker prepared (``state.views``: histograms and tile mosaics, and
``state.history``'s gradient-norm curves); none of them computes anything from the network.
"""
from __future__ import annotations

import io
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (QComboBox, QGraphicsItem, QGraphicsPathItem, QLabel,
                               QSizePolicy, QWidget)

from nncore.io import atomic_write_bytes

from .plot_panel import (BLUE, LAYER_COLORS, ORANGE, PlotPanel, SteadyAxes, SteadyRange,
                         make_plot, run_span)

#: The one colour map for signed values everywhere in the app (weights, gradients such as dW,
#: saliency, signed activations): negative blue, zero white, positive orange — the plots' own
#: blue and orange, as on the diagram's weight lines; colour-blind friendly, and no red, which
#: the inspection views keep for "wrong". Always with symmetric levels (-m, m), so white is 0.
SIGNED_CMAP = pg.ColorMap([0.0, 0.5, 1.0], [pg.mkColor(BLUE), pg.mkColor(250, 250, 250),
                                            pg.mkColor(ORANGE)])
#: How captions name its colours.
SIGNED_WORDS = "orange +, blue −"
WEIGHT_CMAP = SIGNED_CMAP
#: Width of the gaps between weight tiles on screen (pixels), whatever their size.
GAP_PX = 2




def _csv_bytes(rows, header: str | None = None) -> bytes:
    """``rows`` (a 2-D array) as CSV text, 6 significant digits, an optional header line."""
    text = io.StringIO()
    np.savetxt(text, rows, delimiter=",", fmt="%.6g", header=header or "", comments="")
    return text.getvalue().encode()

def set_choices(combo, choices) -> None:
    """Make ``combo`` list ``choices`` [(layer index, caption)], keeping what is chosen, when
    either the layers or their captions changed (a Conv2D's kernel 3 -> 5 changes only the
    caption: "filters 5×5"). It does not signal the change."""
    current = [(combo.itemData(i), combo.itemText(i)) for i in range(combo.count())]
    if current == [(i, caption) for i, caption in choices]:
        return
    chosen = combo.currentData()
    combo.blockSignals(True)
    combo.clear()
    for i, caption in choices:
        combo.addItem(caption, i)
    combo.setCurrentIndex(max(combo.findData(chosen), 0))
    combo.blockSignals(False)

class SignedLegend(QWidget):
    """A small key to SIGNED_CMAP, for a panel's header: "− [blue → white → orange] +"."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("signedLegend")
        self.setToolTip("Signed values: blue negative, white 0, orange positive (the same "
                        "colours for weights, gradients and saliency everywhere)")
        self.setFixedSize(96, 18)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        h = self.height()
        fm = p.fontMetrics()
        minus, plus = "−", "+"
        left = fm.horizontalAdvance(minus) + 4
        right = fm.horizontalAdvance(plus) + 4
        bar = QRectF(left, h / 2 - 5, self.width() - left - right, 10)
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        for at in (0.0, 0.5, 1.0):
            gradient.setColorAt(at, SIGNED_CMAP.map(at, mode="qcolor"))
        p.fillRect(bar, gradient)
        p.setPen(QPen(QColor(170, 170, 170), 1))
        p.drawRect(bar)
        p.setPen(self.palette().text().color())
        p.drawText(QRectF(0, 0, left, h), Qt.AlignmentFlag.AlignCenter, minus)
        p.drawText(QRectF(self.width() - right, 0, right, h), Qt.AlignmentFlag.AlignCenter, plus)
        p.end()


class WeightTilesView(PlotPanel):
    """The weights of one layer as tiles: one 28x28 image per unit of the first Dense layer,
    one kernel per Conv2D filter. Orange is positive, blue negative (SIGNED_CMAP)."""

    def __init__(self, state, controller, icons):
        self.state = state
        self.controller = controller
        self.layer_combo = QComboBox()
        self.layer_combo.setObjectName("tileLayerCombo")
        self.layer_combo.setToolTip("Which layer's weights to show")
        self.layer_combo.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.layer_combo.activated.connect(self._on_layer_combo_activated)
        self.signed_legend = SignedLegend()
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setObjectName("weightsView")
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(WEIGHT_CMAP)
        self.view.addItem(self.image)
        # the gaps between tiles drawn 2 screen pixels wide whatever the zoom: the mosaic's
        # one-pixel gaps vanished when the tiles were drawn smaller than 28 px (stripes)
        self.gaps = QGraphicsPathItem()
        self._gap_colour = (self.graphics.backgroundBrush().color()
                            if self.graphics.backgroundBrush().style() != Qt.NoBrush
                            else QColor("white"))
        gap_pen = QPen(self._gap_colour, GAP_PX)
        gap_pen.setCosmetic(True)
        self.gaps.setPen(gap_pen)
        self.gaps.setZValue(1)
        self.view.addItem(self.gaps)
        self._gap_grid = None
        self.graphics.nextRow()
        self.note = QLabel("")
        self.note.setObjectName("weightsCaption")
        self.note.setAlignment(Qt.AlignCenter)
        self.note.setWordWrap(True)
        super().__init__(self.graphics, icons,
                         extra_widgets=(self.signed_legend, self.layer_combo))
        self.layout().addWidget(self.note)
        state.viewsChanged.connect(self._on_state_views_changed)
        for signal in (state.dataChanged, state.specChecked, state.workerFailed):
            signal.connect(self._on_state_changed_while_empty)
        self.redraw_when_training_stops(state)
        self._on_state_changed_while_empty()
        # the tiles are laid out (by the worker) to fill the panel's shape: told after resizing
        self._sent_aspect = 2.0
        self._aspect_timer = QTimer(self, singleShot=True, interval=250)
        self._aspect_timer.timeout.connect(self._send_aspect)
        self.graphics.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.graphics and event.type() == QEvent.Type.Resize:
            self._aspect_timer.start()
        return super().eventFilter(obj, event)

    def panel_aspect(self) -> float:
        """The panel's width / height, in steps of a quarter octave from 1/2 to 8 (a small
        resize does not lay the tiles out again)."""
        w, h = self.graphics.width(), self.graphics.height()
        if w <= 0 or h <= 0:
            return self._sent_aspect
        step = round(math.log2(w / h) * 4) / 4
        return round(2 ** min(max(step, -1.0), 3.0), 3)

    def _send_aspect(self) -> None:
        aspect = self.panel_aspect()
        if aspect != self._sent_aspect:
            self._sent_aspect = aspect
            self.controller.set_tile_aspect(aspect)

    def empty_note(self) -> str:
        """Why there are no weights to show yet, and what brings them."""
        s = self.state
        if s.failure is not None and s.snapshot is None:
            return f"No weights to show: {s.failure.title.rstrip('.')}."
        if not s.spec_check.ok:
            return "No weights yet: the network has an error (see the Network panel)."
        if s.data is None:
            name = getattr(s.config, "dataset", "") or "the data set"
            return (f"Loading {name.upper() if name == 'mnist' else name}… the weights "
                    f"appear once the network is built on it.")
        return "Building the network… its weights appear in a moment."

    def _on_state_changed_while_empty(self, *_args) -> None:
        if self.state.views is None:
            self.note.setText(self.empty_note())

    def _on_state_views_changed(self, views) -> None:
        self.request_redraw()

    def export_csv(self, path: str) -> list[str]:
        """The mosaic as drawn (tiles scaled to their own range; gaps empty): [path]."""
        tiles = self.state.views.tiles if self.state.views is not None else None
        if tiles is None:
            raise ValueError("no weights to export yet")
        atomic_write_bytes(path, _csv_bytes(tiles.image))
        return [str(path)]

    def redraw(self) -> None:
        views = self.state.views
        if views is None:
            return
        set_choices(self.layer_combo, views.tile_layers)
        tiles = views.tiles
        if tiles is None:
            self.image.clear()
            self.gaps.setPath(QPainterPath())
            self._gap_grid = None
            self.note.setText("This network has no layer whose weights can be drawn as images "
                              "(a Dense layer right after Flatten, or a Conv2D layer).")
            return
        self.layer_combo.blockSignals(True)
        self.layer_combo.setCurrentIndex(max(self.layer_combo.findData(tiles.layer), 0))
        self.layer_combo.blockSignals(False)
        self.image.setImage(tiles.image, levels=(-tiles.vmax, tiles.vmax), autoLevels=False)
        self._draw_gaps(tiles)
        caption = f"{tiles.caption} · each tile scaled to its own range"
        if self.note.text() != caption:
            self.note.setText(caption)

    def _draw_gaps(self, tiles) -> None:
        """Lines over the mosaic's gap rows and columns (once per layout of the tiles)."""
        key = (tiles.grid, tiles.tile_shape, tiles.grouped, tiles.tiles)
        if key == self._gap_grid:
            return
        self._gap_grid = key
        # a filter's block of kernels has white gaps inside: its frame is grey, so that the
        # filters stand apart from their kernels
        pen = self.gaps.pen()
        pen.setColor(QColor("#9ca3af") if tiles.grouped else self._gap_colour)
        self.gaps.setPen(pen)
        (rows, cols), (th, tw) = tiles.grid, tiles.tile_shape
        height, width = rows * (th + 1) - 1, cols * (tw + 1) - 1
        # the last row may be partly empty: a line between two columns goes down into it
        # only where a tile is beside it
        in_last = tiles.tiles - (rows - 1) * cols
        path = QPainterPath()
        for c in range(1, cols):
            x = c * (tw + 1) - 0.5
            path.moveTo(x, 0)
            path.lineTo(x, height if c <= in_last else (rows - 1) * (th + 1) - 1)
        for r in range(1, rows):
            y = r * (th + 1) - 0.5
            path.moveTo(0, y)
            path.lineTo(width, y)
        self.gaps.setPath(path)

    def _on_layer_combo_activated(self, index: int) -> None:
        self.controller.set_tile_layer(self.layer_combo.itemData(index))


class StepHistogram:
    """A histogram in a plot as pyqtgraph's ``stepMode="center", fillLevel=0`` curve draws it
    (a filled area under a stepped outline that goes down to 0 at both ends), but made of two
    ``QGraphicsPathItem``s: Qt paints them without calling back into Python. (A PlotDataItem's
    paint runs in Python, and while training runs each call back can wait for the interpreter
    lock.) The paths are built once per new histogram, in ``set_histogram``."""

    def __init__(self, plot, brush, pen_colour):
        self.fill = QGraphicsPathItem()
        self.fill.setPen(QPen(Qt.PenStyle.NoPen))
        self.fill.setBrush(brush)
        self.outline = QGraphicsPathItem()
        self.outline.setPen(pg.mkPen(pen_colour))          # cosmetic, 1 pixel
        self.outline.setBrush(Qt.BrushStyle.NoBrush)
        for item in (self.fill, self.outline):
            plot.addItem(item, ignoreBounds=True)           # ranges are set (SteadyRange)
        self.histogram = None

    def set_histogram(self, h) -> None:
        self.histogram = h
        if h is None or len(h.counts) == 0:
            self.fill.setPath(QPainterPath())
            self.outline.setPath(QPainterPath())
            return
        edges = np.asarray(h.edges, dtype=np.float64)
        counts = np.asarray(h.counts, dtype=np.float64)
        x = np.repeat(edges, 2)                             # e0 e0 e1 e1 ... eN eN
        y = np.zeros_like(x)
        y[1:-1] = np.repeat(counts, 2)                      # 0 c0 c0 c1 ... c(N-1) 0
        path = pg.arrayToQPath(x, y)
        self.outline.setPath(path)
        filled = QPainterPath(path)
        filled.closeSubpath()
        self.fill.setPath(filled)


class HistogramView(PlotPanel):
    """Distribution of one layer's weights and of their gradients, updating while training.
    ``shownChanged(bool)``: whether the panel can be seen (the worker makes histograms only
    then): its dock shown and its tab the one picked."""

    shownChanged = Signal(bool)

    def __init__(self, state, icons):
        self.state = state
        self.layer_combo = QComboBox()
        self.layer_combo.setObjectName("histogramLayerCombo")
        self.layer_combo.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.layer_combo.setToolTip("Which layer's weights and gradients to show")
        self.layer_combo.activated.connect(self._on_layer_combo_activated)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setObjectName("histogramView")
        # the titles stay as they are (a new title lays the plots out again); what changes,
        # the share of exact zeros, is said in the header
        self.w_plot = self.graphics.addPlot(title="weights W (central 99%)")
        self.graphics.nextRow()
        self.g_plot = self.graphics.addPlot(title="gradients dL/dW (central 99%)")
        for plot in (self.w_plot, self.g_plot):
            plot.titleLabel.setText(plot.titleLabel.text, size="9pt")
        for plot, color in ((self.w_plot, BLUE), (self.g_plot, ORANGE)):
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.setLabel("left", "count")
            plot.disableAutoRange()             # steady ranges instead (see _fit)
            for name in ("left", "bottom"):     # axes and grid kept as pixmaps between changes
                plot.getAxis(name).setCacheMode(QGraphicsItem.DeviceCoordinateCache)
            # room for "count" beside five-digit ticks (at 52 px it was printed over them);
            # a fixed width: wider or narrower labels, no re-layout
            plot.getAxis("left").setWidth(66)
        # the gradients narrow fast while a network learns: ranges follow them only when the
        # histogram has shrunk to a quarter of its range
        self.ranges = {id(p): (SteadyRange(fill=0.25, margin=0.15), SteadyRange(fill=0.25))
                       for p in (self.w_plot, self.g_plot)}
        self.w_curve = StepHistogram(self.w_plot, pg.mkBrush(47, 109, 181, 110), BLUE)
        self.g_curve = StepHistogram(self.g_plot, pg.mkBrush(224, 112, 26, 110), ORANGE)
        self.layer = None
        super().__init__(self.graphics, icons, extra_widgets=(self.layer_combo,))
        self.legend.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # no re-layout
        self.when_seen.seenChanged.connect(self.shownChanged)   # its tab picked or not
        state.viewsChanged.connect(self._on_state_views_changed)
        self.redraw_when_training_stops(state)

    def _on_state_views_changed(self, views) -> None:
        self.request_redraw()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        # (once the dock layout has placed it: a tab behind another is "visible" too)
        QTimer.singleShot(0, self._report_shown)

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.shownChanged.emit(False)

    def _report_shown(self) -> None:
        self.shownChanged.emit(self.when_seen.seen())

    def redraw(self) -> None:
        views = self.state.views
        if views is None or views.weight_hists is None:
            return                      # (made while hidden: the new ones are on their way)
        layers = sorted(views.weight_hists)
        set_choices(self.layer_combo,
                    [(i, f"{i + 1}. {views.layer_names.get(i, '')}") for i in layers])
        if self.layer not in layers:
            self.layer = layers[0] if layers else None
        self.layer_combo.blockSignals(True)
        self.layer_combo.setCurrentIndex(max(self.layer_combo.findData(self.layer), 0))
        self.layer_combo.blockSignals(False)
        self._draw(views)

    def _draw(self, views) -> None:
        zeros = []
        for curve, plot, name, hists in (
                (self.w_curve, self.w_plot, "W", views.weight_hists),
                (self.g_curve, self.g_plot, "dL/dW", views.grad_hists)):
            h = hists.get(self.layer)
            curve.set_histogram(h)
            if h is None:
                continue
            self._fit(plot, h)
            if h.zero_fraction >= 0.005:
                zeros.append(f"{h.zero_fraction:.0%} of {name}")
        # the numbers first: the label is as wide as the panel leaves it, and is cut
        notes = [f"{z} = 0 (not drawn)" for z in zeros]
        if not views.grad_hists:
            notes.append("no dL/dW yet: train a batch")
        text = "; ".join(notes)
        if self.legend.text() != text:
            self.legend.setText(text)
            self.legend.setToolTip(
                text + ("\nExact zeros are counted apart from the bars (for gradients: "
                        "inputs that are always 0, like MNIST's border pixels, and units that "
                        "did not fire)." if zeros else ""))

    def export_csv(self, path: str) -> list[str]:
        """One CSV per histogram (``<name>-1.csv`` the weights, ``-2`` the gradients): the left
        and right edge of each bin and its count. The files written."""
        base = str(path)[:-4] if str(path).lower().endswith(".csv") else str(path)
        hists = [c.histogram for c in (self.w_curve, self.g_curve)]
        if all(h is None for h in hists):
            raise ValueError("no histograms to export yet")
        written = []
        for i, h in enumerate(hists):
            if h is not None:
                rows = np.column_stack([h.edges[:-1], h.edges[1:], h.counts])
                written.append(f"{base}-{i + 1}.csv")
                atomic_write_bytes(written[-1], _csv_bytes(rows, header="left,right,count"))
        return written

    def _fit(self, plot, h) -> None:
        """Ranges that change only when the histogram outgrows them or shrinks well inside."""
        x_range, y_range = self.ranges[id(plot)]
        x = x_range.fit(float(h.edges[0]), float(h.edges[-1]))
        if x is not None:
            plot.setXRange(*x, padding=0)
        y = y_range.fit(0.0, float(h.counts.max()) if h.counts.size else 1.0)
        if y is not None:
            plot.setYRange(*y, padding=0)

    def _on_layer_combo_activated(self, index: int) -> None:
        self.layer = self.layer_combo.itemData(index)
        for ranges in self.ranges.values():
            for r in ranges:
                r.reset()
        if self.state.views is not None and self.state.views.weight_hists is not None:
            self._draw(self.state.views)


class GradNormView(PlotPanel):
    """‖dL/dW‖ of every layer over time, log scale: vanishing or exploding gradients show."""

    def __init__(self, state, icons):
        self.state = state
        self.plot = make_plot("gradNormPlot", "‖dL/dW‖", log_y=True)
        self.plot.getPlotItem().setLogMode(y=True)
        self.curves: dict[int, pg.PlotDataItem] = {}
        super().__init__(self.plot, icons, redraw_ms=300)
        self.axes = SteadyAxes(self.plot.getPlotItem(), log_y=True)
        state.batchTrained.connect(self._on_state_batch_trained)
        state.historyReset.connect(self._on_state_history_reset)
        self.redraw_when_training_stops(state)

    def _name(self, layer: int) -> str:
        name = f"{layer + 1}"
        layers = self.state.spec.get("layers") or []
        if layer < len(layers) and isinstance(layers[layer], dict):
            name += f". {layers[layer].get('type', '')}"
        return name

    def _curve(self, layer: int):
        curve = self.curves.get(layer)
        if curve is None:
            color = LAYER_COLORS[sorted(list(self.curves) + [layer]).index(layer)
                                 % len(LAYER_COLORS)]
            curve = self.plot.plot(name=self._name(layer), pen=pg.mkPen(color, width=1))
            self.curves[layer] = curve
        return curve

    def redraw(self) -> None:
        norms = self.state.history.grad_norms
        self.set_legend([(LAYER_COLORS[i % len(LAYER_COLORS)], self._name(layer), "line")
                         for i, layer in enumerate(sorted(norms))])
        for layer in list(self.curves):
            if layer not in norms:
                self.plot.removeItem(self.curves.pop(layer))
        lo, hi = np.inf, 0.0
        for layer, series in sorted(norms.items()):
            y = np.maximum(series.y, 1e-12)
            self._curve(layer).setData(series.x.copy(), y)
            real = y[y > 1e-12]                 # (an exact 0 is not a scale to show)
            if len(real):
                lo, hi = min(lo, float(real.min())), max(hi, float(real.max()))
        self.axes.update(self.state.history.steps, lo if hi > 0 else None, hi or None,
                         span=run_span(self.state.progress))

    def _on_state_batch_trained(self, event) -> None:
        self.request_redraw()

    def _on_state_history_reset(self) -> None:
        for curve in self.curves.values():
            self.plot.removeItem(curve)
        self.curves.clear()
        self.axes.reset()
        self.request_redraw()
