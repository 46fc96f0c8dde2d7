"""Confusion-matrix panel: which classes the network tells apart worst, epoch by epoch.

A heatmap (rows: true class, columns: predicted class) with counts or row percentages, a slider
over the evaluations so far, an "Evaluate now" button, per-class precision/recall/F1/support in a
sortable table, the most-confused pairs, and each class's accuracy over the epochs. Clicking a
cell (or a pair) selects it in the InspectModel, which the misclassified gallery shows.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import (QAbstractTableModel, QModelIndex, QPointF, QRectF,
                            QSortFilterProxyModel, Qt, Signal)
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPen
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QSlider, QStyle,
                               QTableView, QTabWidget, QVBoxLayout, QWidget)

from nncore.inspect import normalise_rows, per_class_accuracy
from nncore.metrics import most_confused, per_class_report

from .common import (FittedSplitter, JobRunner, LinesLabel, WhenSeen, build_network, make_loss,
                     network_source, source_step)

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
_DIAG = np.array([46, 160, 67], dtype=np.float64)     # correct: green
_OFF = np.array([214, 69, 65], dtype=np.float64)      # confused: red


def matrix_colours(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(K, K, 3) uint8 colours and (K, K) intensities in [0, 1] for a confusion matrix.

    The colour is the cell's share of its row (of the true class's samples): the diagonal in
    green on a linear scale, errors in red on a square-root scale, so that a 1 % confusion is
    still visible next to a 98 % diagonal."""
    share = normalise_rows(cm)
    k = len(cm)
    t = np.sqrt(share)
    t[np.diag_indices(k)] = np.diag(share)
    base = np.where(np.eye(k, dtype=bool)[..., None], _DIAG, _OFF)
    rgb = 255.0 * (1 - t[..., None]) + base * t[..., None]
    return np.clip(rgb, 0, 255).astype(np.uint8), t


class MatrixItem(pg.ImageItem):
    """The heatmap image: reports a left click on a cell as (row, column) = (true, predicted);
    a cell's tooltip is made when the mouse is over it."""
    sigCellClicked = Signal(int, int)

    def __init__(self):
        super().__init__(axisOrder="row-major")
        self.k = 0
        self.cm = None
        self.names: list[str] = []

    def tooltip(self, cell) -> str:
        if self.cm is None or max(cell) >= len(self.cm):
            return ""
        i, j = cell
        row = int(self.cm[i].sum())
        share = self.cm[i, j] / row if row else 0.0
        return (f"true {self.names[i]} → predicted {self.names[j]}: {int(self.cm[i, j]):,} "
                f"({share:.1%} of the {row:,} {self.names[i]}s)")

    def cell_at(self, pos) -> tuple[int, int] | None:
        i, j = int(np.floor(pos.y())), int(np.floor(pos.x()))
        return (i, j) if 0 <= i < self.k and 0 <= j < self.k else None

    def mouseClickEvent(self, ev):
        if ev.button() == Qt.MouseButton.LeftButton:
            cell = self.cell_at(ev.pos())
            if cell is not None:
                ev.accept()
                self.sigCellClicked.emit(*cell)
                return
        super().mouseClickEvent(ev)

    def hoverEvent(self, ev):
        if ev.isExit():
            self.setToolTip("")
            return
        cell = self.cell_at(ev.pos())
        self.setToolTip(self.tooltip(cell) if cell else "")


class CellLabels(pg.GraphicsObject):
    """The numbers in the heatmap's cells, as one item that paints them all.

    One font size for every cell, measured so that the widest number fits its cell when
    narrowed to FIT_SQUEEZE of its width (at most MAX_PX or 60% of the cell's height, at least
    MIN_PX): a diagonal count in the thousands does not shrink the small counts off the
    diagonal, the confusions a learner looks for. A number too wide for its cell is drawn
    narrowed to fit, down to MIN_SQUEEZE of its width; only what cannot fit even so is left
    out (the tooltip still tells), and nothing when the cells are too low for MIN_PX. One item instead of one TextItem per cell: a new
    matrix costs a repaint, not K² text layouts."""

    MIN_PX, MAX_PX = 7.0, 13.0          # readable font sizes, in pixels
    FIT_SQUEEZE = 0.8                   # the widest number may be narrowed this much ...
    MIN_SQUEEZE = 0.7                   # ... and any, when MIN_PX is still too large, this much
    _REF_PX = 100                       # text widths are measured at this size, then scaled

    def __init__(self):
        super().__init__()
        self.texts = np.zeros((0, 0), dtype=object)
        self.light = np.zeros((0, 0), dtype=bool)     # white text on a dark cell
        self.widths = np.zeros((0, 0))                # each text's width at _REF_PX
        self.font = QFont()
        self.drawn = 0                  # texts drawn by the last paint (for tests)
        self.drawn_px = 0.0             # ... at this font size

    def set_cells(self, texts: np.ndarray, light: np.ndarray) -> None:
        if texts.shape != self.texts.shape:
            self.prepareGeometryChange()
        self.texts, self.light = texts, light
        ref = QFont(self.font)
        ref.setPixelSize(self._REF_PX)
        fm = QFontMetricsF(ref)
        cache: dict[str, float] = {}
        self.widths = np.array([[cache[t] if t in cache else cache.setdefault(
            t, fm.horizontalAdvance(t) if t else 0.0) for t in row] for row in texts],
            dtype=np.float64).reshape(texts.shape)
        self.update()

    def boundingRect(self) -> QRectF:
        k = len(self.texts)
        return QRectF(0, 0, k, k)

    @staticmethod
    def room(cell_w: float) -> float:
        """The width a number may take in a cell ``cell_w`` pixels wide."""
        return cell_w - 2.0

    def font_px(self, cell_w: float, cell_h: float) -> float:
        """Font size in pixels for cells ``cell_w`` x ``cell_h``: the widest number fits
        (narrowed to FIT_SQUEEZE), no larger than MAX_PX or 60% of the cell's height, no
        smaller than MIN_PX; 0.0 when the cells are too low for MIN_PX (nothing is drawn)."""
        high = min(self.MAX_PX, cell_h * 0.6)
        if high < self.MIN_PX:
            return 0.0
        widest = float(self.widths.max()) if self.widths.size else 0.0
        fit = (self.room(cell_w) * self._REF_PX / (widest * self.FIT_SQUEEZE)
               if widest > 0 else high)
        return max(self.MIN_PX, min(high, fit))

    def paint(self, painter, *args) -> None:
        self.drawn, self.drawn_px = 0, 0.0
        k = len(self.texts)
        if not k:
            return
        tr = painter.transform()
        cell = tr.mapRect(QRectF(0, 0, 1, 1))
        px = self.font_px(cell.width(), cell.height())
        if px <= 0:
            return
        room = self.room(cell.width())
        painter.save()
        painter.resetTransform()           # text upright in screen pixels (the y axis is inverted)
        self.font.setPixelSize(max(int(px), 1))
        painter.setFont(self.font)
        # widths at the pixel size used (whole pixels), from those measured at _REF_PX
        widths = self.widths * (max(int(px), 1) / self._REF_PX)
        pens = (QPen(QColor(20, 20, 20)), QPen(QColor(255, 255, 255)))
        align = Qt.AlignmentFlag.AlignCenter
        drawn = 0
        for i in range(k):
            for j in range(k):
                text = self.texts[i, j]
                if not text:
                    continue
                rect = tr.mapRect(QRectF(j, i, 1, 1))
                squeeze = room / widths[i, j] if widths[i, j] > room else 1.0
                if squeeze < self.MIN_SQUEEZE:
                    continue                # too wide even narrowed: the tooltip tells
                painter.setPen(pens[int(self.light[i, j])])
                if squeeze < 1.0:           # narrowed about the cell's centre
                    painter.save()
                    painter.translate(rect.center())
                    painter.scale(squeeze, 1.0)
                    w, h = rect.width() / squeeze, rect.height()
                    painter.drawText(QRectF(-w / 2, -h / 2, w, h), align, text)
                    painter.restore()
                else:
                    painter.drawText(rect, align, text)
                drawn += 1
        painter.restore()
        self.drawn, self.drawn_px = drawn, float(max(int(px), 1))


class ReportModel(QAbstractTableModel):
    """Per-class precision, recall, F1 and support for the sortable table (one reset per
    matrix, no item objects)."""
    HEADERS = ["class", "precision", "recall", "F1", "support"]
    #: in a narrow panel (the matrix first): shorter headers, the long ones in their tooltips
    SHORT_HEADERS = ["class", "prec.", "recall", "F1", "n"]
    TIPS = ["the true class",
            "precision: of the images predicted as this class, the share that are it",
            "recall: of the images of this class, the share predicted as it",
            "F1: the harmonic mean of precision and recall",
            "support: how many images of this class were evaluated"]
    SAMPLES = ["00", "0.000", "0.000", "0.000", "00,000"]       # the widest values

    def __init__(self, parent=None):
        super().__init__(parent)
        self.names: list[str] = []
        self.values = np.zeros((0, 4))
        self.short = False

    def headers(self) -> list[str]:
        return self.SHORT_HEADERS if self.short else self.HEADERS

    def set_short(self, short: bool) -> None:
        if short != self.short:
            self.short = short
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self.HEADERS) - 1)

    def set_report(self, names, report) -> None:
        self.beginResetModel()
        self.names = list(names)
        self.values = np.stack([np.asarray(report[key], dtype=np.float64)
                                for key in ("precision", "recall", "f1", "support")], axis=1) \
            if len(self.names) else np.zeros((0, 4))
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.names)

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers()[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return self.TIPS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if role == SORT_ROLE:
            return r if c == 0 else float(self.values[r, c - 1])
        if role == Qt.ItemDataRole.DisplayRole:
            if c == 0:
                return self.names[r]
            v = self.values[r, c - 1]
            return f"{int(v):,}" if c == 4 else f"{v:.3f}"
        if role == Qt.ItemDataRole.TextAlignmentRole and c > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class ConfusionPanel(QWidget):
    def __init__(self, state, model, parent=None):
        super().__init__(parent)
        self.state, self.model = state, model
        self.cm = None
        self.runner = JobRunner(self)
        self.runner.done.connect(self._on_runner_done)
        self.runner.failed.connect(self._on_runner_failed)

        # controls
        self.mode = QComboBox()
        self.mode.addItems(["counts", "row %"])
        self.mode.setToolTip("Counts, or each row as a percentage of the true class's samples")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.slider.setToolTip("The confusion matrix after each epoch")
        self.slider_label = QLabel("no evaluation yet")
        self.slider_label.setMinimumWidth(150)
        self.evaluate_button = QPushButton("Evaluate now")
        self.evaluate_button.setToolTip("Evaluate the current network on the evaluation set")
        self.status = LinesLabel("", lines=1)        # its text never widens the panel
        self.status.setStyleSheet("color: #666;")
        top = QHBoxLayout()
        top.addWidget(QLabel("Show"))
        top.addWidget(self.mode)
        top.addSpacing(12)
        top.addWidget(self.slider, 1)
        top.addWidget(self.slider_label)
        top.addWidget(self.evaluate_button)

        # heatmap
        self.plot_widget = pg.GraphicsLayoutWidget()
        self.plot_widget.setBackground("w")
        self.plot = self.plot_widget.addPlot()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.plot.setLabel("bottom", "predicted")
        self.plot.setLabel("left", "true")
        for side in ("bottom", "left"):         # no tick marks: the room goes to the cells
            self.plot.getAxis(side).setStyle(tickLength=0, tickTextOffset=4)
        self.image = MatrixItem()
        self.plot.addItem(self.image)
        self.labels = CellLabels()
        self.plot.addItem(self.labels)
        self.selection = pg.QtWidgets.QGraphicsRectItem(0, 0, 1, 1)
        self.selection.setPen(pg.mkPen((20, 20, 20), width=2.5))
        self.selection.setVisible(False)
        self.plot.addItem(self.selection)
        self.plot_widget.setMinimumSize(220, 220)
        self._axes_for = None               # (k, names) the axes are labelled for

        # table, pairs, curves
        self.table_model = ReportModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.table_model)
        self.proxy.setSortRole(SORT_ROLE)
        self._column_widths = [0] * len(ReportModel.HEADERS)      # (see _fit_columns)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self._fit_columns()
        self.table.verticalHeader().setVisible(False)
        # every column as wide as its header and numbers ("precision", "support" whole; see
        # _fit_columns), the rest of the width to the last; rows of one line: ten classes fit
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)     # the class names
        header.sortIndicatorChanged.connect(self._on_header_sort_indicator_changed)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 4)
        self.table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.pairs = QListWidget()
        self.pairs.setToolTip("Click a pair to see its images")
        self.curves = pg.PlotWidget(background="w")
        self.curves.setLabel("bottom", "epoch")
        self.curves.setLabel("left", "accuracy on the class")
        self.curves.showGrid(x=True, y=True, alpha=0.2)
        self.curves.getAxis("left").enableAutoSIPrefix(False)
        self.curves.addLegend(offset=(-5, -5), labelTextColor="k", colCount=5)
        self.class_curves: list[pg.PlotDataItem] = []
        self.tabs = QTabWidget()
        self.tabs.addTab(self.table, "Per class")
        self.tabs.addTab(self.pairs, "Most confused")
        self.tabs.addTab(self.curves, "Per epoch")
        # all three titles in view at any width: short, and shortened further with "…" when
        # the panel is narrow rather than scrolled out of sight behind arrows (1366x768)
        self.tabs.setElideMode(Qt.TextElideMode.ElideRight)
        self.tabs.setUsesScrollButtons(False)
        for i, tip in enumerate(("Precision, recall, F1 and support of each class",
                                 "The pairs of classes most often confused",
                                 "Accuracy of each class, epoch by epoch")):
            self.tabs.setTabToolTip(i, tip)

        split = self.split = FittedSplitter(Qt.Orientation.Horizontal,
                                            (self.plot_widget, self.tabs), self._fit_split)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        lay.addWidget(self.status)
        self.tabs.setMinimumWidth(240)
        self.setMinimumSize(480, 280)
        self.when_seen = WhenSeen(self)

        self.mode.currentIndexChanged.connect(self._on_mode_changed)
        self.slider.valueChanged.connect(self._on_slider_value_changed)
        self.evaluate_button.clicked.connect(self._on_evaluate_clicked)
        self.image.sigCellClicked.connect(self._on_image_cell_clicked)
        self.pairs.itemClicked.connect(self._on_pairs_item_clicked)
        model.entriesChanged.connect(self._on_model_entries_changed)
        model.currentChanged.connect(self._on_model_current_changed)
        model.cellSelected.connect(self._on_model_cell_selected)
        self._on_model_entries_changed()
        self._on_model_current_changed(model.current)

    # ---- model -> view -----------------------------------------------------------------------
    def _class_names(self, k):
        data = self.state.data
        names = list(data.class_names) if data is not None else []
        return names if len(names) == k else [str(i) for i in range(k)]

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.split.refit()

    def _table_width(self) -> int:
        """The width the table needs for every column whole."""
        return (sum(self._column_widths)
                + self.table.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
                + 2 * self.table.frameWidth() + 8)

    def _fit_split(self):
        """The matrix square (as wide as it is tall, with its axes), the table the rest; when
        both do not fit, the table's headers get shorter ("prec.", "n") before the matrix
        gets smaller: its numbers must stay readable (1366x768)."""
        total = self.split.width() - self.split.handleWidth()
        side = self.split.height() + 4          # the left axis as wide as the bottom one is tall
        self._set_short_headers(False)
        if side + max(self._table_width(), self.tabs.minimumWidth()) > total:
            self._set_short_headers(True)
        left = max(min(side, total - max(self._table_width(), self.tabs.minimumWidth())),
                   self.plot_widget.minimumWidth())
        self.split.setSizes([left, max(total - left, 0)])

    def _set_short_headers(self, short: bool) -> None:
        if short != self.table_model.short:
            self.table_model.set_short(short)
            self._fit_columns()

    def _fit_columns(self):
        """Each column as wide as its header or its widest number, whichever is wider, and
        the sorted column room for its arrow too (not the arrow's room in every column, as
        QHeaderView's ResizeToContents gives: that made the table wider than its dock)."""
        header = self.table.horizontalHeader()
        fm = header.fontMetrics()
        sorted_column = header.sortIndicatorSection()
        samples = list(ReportModel.SAMPLES)
        samples[0] = max(self.table_model.names + [samples[0]], key=len)
        for c, text in enumerate(self.table_model.headers()):
            width = max(fm.horizontalAdvance(text), self.table.fontMetrics().horizontalAdvance(
                samples[c])) + 12
            if c == sorted_column:
                width += fm.height()
            self._column_widths[c] = width
            if c:                           # (the class column takes what is left)
                header.resizeSection(c, width)
        # ... but no less than the narrowest column (squeezed, it showed "las")
        header.setMinimumSectionSize(min(self._column_widths))

    def _on_header_sort_indicator_changed(self, _column, _order):
        self._fit_columns()

    def showEvent(self, event):
        super().showEvent(event)
        self.split.refit()
        self.when_seen.catch_up_soon()

    def _on_model_entries_changed(self):
        n = len(self.model.entries)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(n - 1, 0))
        self.slider.setEnabled(n > 1)
        self.slider.blockSignals(False)
        self.when_seen.request(self._draw_curves)

    def _on_model_current_changed(self, index):
        self.slider.blockSignals(True)
        self.slider.setValue(max(index, 0))
        self.slider.blockSignals(False)
        entry = self.model.entry
        self.cm = np.asarray(entry.confusion) if entry is not None else None
        if entry is None:
            self.slider_label.setText("no evaluation yet")
        else:
            self.slider_label.setText(f"{entry.label}  ({index + 1}/{len(self.model.entries)})")
        self.when_seen.request(self._show_entry)

    def _show_entry(self):
        """The shown entry's matrix, table, pairs and summary line."""
        entry = self.model.entry
        if entry is None:
            self.image.setVisible(False)
            self.selection.setVisible(False)
            self.labels.set_cells(np.zeros((0, 0), dtype=object), np.zeros((0, 0), bool))
            self.table_model.set_report([], {})
            self.pairs.clear()
            self.status.setText("The matrix appears after the first epoch, or press "
                                "Evaluate now.")
            return
        self._draw_matrix()
        self._fill_table()
        self._fill_pairs()
        total = int(self.cm.sum())
        acc = np.trace(self.cm) / total if total else 0.0
        where = self.state.data.name if self.state.data is not None else "evaluation"
        self.status.setText(f"{entry.label}: {total:,} {where} images, accuracy {acc:.2%}. "
                            f"Click a cell to see its images.")

    def _draw_matrix(self):
        cm = self.cm
        if cm is None:
            return
        k = len(cm)
        rgb, t = matrix_colours(cm)
        self.image.k = k
        self.image.setImage(rgb, levels=(0, 255), autoLevels=False)
        self.image.setVisible(True)
        if self.mode.currentIndex() == 1:
            s = normalise_rows(cm) * 100
            texts = np.where(s >= 9.95, np.char.mod("%.0f", s), np.char.mod("%.1f", s))
            texts[cm == 0] = ""
        else:
            texts = cm.astype(np.int64).astype(str)
            texts[(cm == 0) & ~np.eye(k, dtype=bool)] = ""
        self.labels.set_cells(texts.astype(object), t > 0.6)
        names = self._class_names(k)
        self.image.cm, self.image.names = cm, names
        if self._axes_for != (k, names):           # ticks and range only when they change
            self._axes_for = (k, names)
            ticks = [(i + 0.5, names[i]) for i in range(k)]
            self.plot.getAxis("bottom").setTicks([ticks])
            self.plot.getAxis("left").setTicks([ticks])
            self.plot.setRange(xRange=(0, k), yRange=(0, k), padding=0.01)
        self._place_selection()

    def _place_selection(self):
        cell = self.model.cell
        if cell is None or self.cm is None or max(cell) >= len(self.cm):
            self.selection.setVisible(False)
            return
        i, j = cell
        self.selection.setRect(j, i, 1, 1)
        self.selection.setVisible(True)

    def _fill_table(self):
        self.table_model.set_report(self._class_names(len(self.cm)), per_class_report(self.cm))
        self._fit_columns()
        self.proxy.sort(self.proxy.sortColumn(), self.proxy.sortOrder())

    def _fill_pairs(self):
        names = self._class_names(len(self.cm))
        self.pairs.clear()
        row_sums = self.cm.sum(axis=1)
        for t, p, n in most_confused(self.cm, top=10):
            share = n / row_sums[t] if row_sums[t] else 0.0
            item = QListWidgetItem(f"true {names[t]} read as {names[p]}: {n:,}  "
                                   f"({share:.1%} of the {names[t]}s)")
            item.setData(Qt.ItemDataRole.UserRole, (t, p))
            self.pairs.addItem(item)
        if self.pairs.count() == 0:
            self.pairs.addItem("no confusions")

    def _draw_curves(self):
        """One curve per class (made once, then only given new points)."""
        epochs = [e for e in self.model.entries if e.epoch is not None]
        if not epochs:
            for curve in self.class_curves:
                curve.setData([], [])
            return
        acc = per_class_accuracy([e.confusion for e in epochs])
        x = np.array([e.epoch for e in epochs], dtype=float)
        k = acc.shape[1]
        names = self._class_names(k)
        if len(self.class_curves) != k or any(
                c.name() != n for c, n in zip(self.class_curves, names)):
            self.curves.clear()
            self.class_curves = []
            for c in range(k):
                colour = pg.intColor(c, hues=k, values=1, maxValue=220)
                self.class_curves.append(self.curves.plot(
                    pen=pg.mkPen(colour, width=2), name=names[c], symbolSize=5,
                    symbolBrush=colour, symbolPen=None))
        symbol = "o" if len(x) < 30 else None
        self.curves.getAxis("bottom").setTicks(
            [[(v, str(int(v))) for v in x]] if len(x) <= 15 else None)   # whole epochs
        for c, curve in enumerate(self.class_curves):
            if curve.opts["symbol"] != symbol:
                curve.setSymbol(symbol)
            curve.setData(x, acc[:, c])

    def _on_model_cell_selected(self, _i, _j):
        self._place_selection()

    # ---- view -> model -----------------------------------------------------------------------
    def _on_mode_changed(self, _index):
        if self.cm is not None:
            self.when_seen.request(self._draw_matrix)

    def _on_slider_value_changed(self, value):
        self.model.set_current(value)

    def _on_image_cell_clicked(self, i, j):
        self.model.select_cell(i, j)

    def _on_pairs_item_clicked(self, item):
        pair = item.data(Qt.ItemDataRole.UserRole)
        if pair is not None:
            self.model.select_cell(*pair)

    def _on_evaluate_clicked(self):
        data = self.state.data
        if data is None:
            self.status.setText("No data set loaded: nothing to evaluate on.")
            return
        self.evaluate_button.setEnabled(False)
        self.status.setText(f"Evaluating on {len(data.labels):,} {data.name} images…")
        self.runner.submit(_evaluate_job, network_source(self.state), make_loss(self.state.config),
                           data.images, data.labels, data.preprocessing)

    def _on_runner_done(self, result):
        evaluation, step = result
        self.evaluate_button.setEnabled(True)
        self.model.add_on_demand(evaluation, step)

    def _on_runner_failed(self, message):
        self.evaluate_button.setEnabled(True)
        self.status.setText(f"Could not evaluate: {message}")

    # ---- for tests and screenshots -----------------------------------------------------------
    def cell_centre(self, i: int, j: int):
        """Widget position (in the plot's viewport) of cell (i, j)'s centre."""
        scene = self.image.mapToScene(QPointF(j + 0.5, i + 0.5))
        return self.plot_widget.mapFromScene(scene)

    def shown_texts(self) -> np.ndarray:
        """(K, K) the text in each cell (drawn when the cells are large enough to read it)."""
        return self.labels.texts.copy()


def _evaluate_job(source, loss, images, labels, preprocessing):
    """Worker: evaluate the current network on the evaluation set."""
    from nncore.train import evaluate
    net = build_network(source)
    return evaluate(net, loss, preprocessing.apply(images), labels), source_step(source)
