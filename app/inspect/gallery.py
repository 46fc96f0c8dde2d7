"""The images behind a confusion-matrix cell, and one image in detail.

``GalleryPanel`` shows exactly the evaluation images counted in the selected cell (true i,
predicted j), most confident first, each with its probability bars. Clicking one opens
``ImageDetail``: the image, the softmax output, each layer's activations (feature maps for
conv layers) and a saliency map, all computed in a worker on the current network.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractListModel, QModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import (QComboBox, QDialog, QGridLayout, QHBoxLayout, QLabel, QListView,
                               QScrollArea, QStyle, QStyledItemDelegate, QVBoxLayout, QWidget)

from nncore.inspect import activations, cell_indices, saliency

from ..views.plot_panel import hold_training_while_painting
from ..views.weights import SignedLegend
from .common import (BAD, GOOD, SIGNED_CMAP, SIGNED_WORDS, ImagePane, JobRunner,
                     LinesLabel, ProbabilityBars, WhenSeen, build_network, grey_qimage, heading,
                     mosaic, network_source, probability_text, reveal, source_step)
from .pad import saliency_overlay, why_text

INDEX_ROLE = Qt.ItemDataRole.UserRole + 1
THUMB = 56          # thumbnail image side in pixels (2x an MNIST digit)
CELL_W = 84         # a thumbnail's cell: the image over one labelled bar per class shown
TEXT_H, BAR_H = 13, 5   # one row: "9        81%" over its bar
ROW_H = TEXT_H + BAR_H + 2
LABEL_PT = 8        # the rows' font size (points)


class CellImagesModel(QAbstractListModel):
    """The images of one cell: row r is evaluation image ``indices[r]``."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.indices = np.zeros(0, dtype=np.int64)
        self.images = None
        self.probabilities = None
        self.labels = None
        self.class_names: list[str] = []
        self._cache: dict[int, object] = {}

    def set_cell(self, indices, images, probabilities, labels, class_names):
        self.beginResetModel()
        self.indices = np.asarray(indices, dtype=np.int64)
        self.images, self.probabilities, self.labels = images, probabilities, labels
        self.class_names = list(class_names)
        self._cache = {}
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.indices)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r = index.row()
        k = int(self.indices[r])
        if role == INDEX_ROLE:
            return k
        if role == Qt.ItemDataRole.DecorationRole:
            if r not in self._cache:
                self._cache[r] = grey_qimage(self.images[k])
            return self._cache[r]
        p = self.probabilities[k]
        top = int(np.argmax(p))
        if role == Qt.ItemDataRole.DisplayRole:
            return f"#{k}  {probability_text(p[top])}"
        if role == Qt.ItemDataRole.ToolTipRole:
            true = int(self.labels[k])
            return (f"image #{k}: true {self.class_names[true]} (probability {p[true]:.3f}), "
                    f"predicted {self.class_names[top]} (probability {p[top]:.3f}). "
                    f"Click for the detail.")
        if role == Qt.ItemDataRole.UserRole:
            return p
        return None


class ThumbDelegate(QStyledItemDelegate):
    """Paints a thumbnail: the image and, under it, one row per class that matters — the
    predicted class (red when wrong) and the true class (green) — each its name and
    probability in text ("9   81%", "4   12%") over a bar as long as the probability; a
    correct image has one green row. The image number is in the tooltip.

    What a thumbnail needs (its image, and per row the texts, colour and rectangles) is
    worked out once per cell shown (``CellImagesModel.set_cell`` clears it), so a paint is a
    handful of Qt calls: no NumPy, no call back into the model."""

    TRACK = QColor(232, 232, 232)
    TEXT = QColor(40, 40, 40)

    def __init__(self, model: CellImagesModel, parent=None):
        super().__init__(parent)
        self.cells = model
        self._thumbs: dict[int, tuple] = {}     # row -> (image, [ThumbRow])
        self._font_key = None
        self._font = None
        model.modelReset.connect(self._thumbs.clear)

    def sizeHint(self, option, index):
        return QSize(CELL_W, 4 + THUMB + 3 + 2 * ROW_H + 2)

    def _thumb(self, index, font: QFont) -> tuple:
        """The image and its rows (rectangles relative to the rows' top left corner)."""
        cells = self.cells
        p = cells.data(index, Qt.ItemDataRole.UserRole)
        true = int(cells.labels[cells.data(index, INDEX_ROLE)])
        top = int(np.argmax(p))
        names = cells.class_names
        shown = [(top, BAD if top != true else GOOD)]
        if true != top:
            shown.append((true, GOOD))
        metrics = QFontMetrics(font)
        rows = [thumb_row(names[k] if k < len(names) else str(k), float(p[k]), colour, i,
                          metrics) for i, (k, colour) in enumerate(shown)]
        thumb = (cells.data(index, Qt.ItemDataRole.DecorationRole), rows)
        self._thumbs[index.row()] = thumb
        return thumb

    def _row_font(self, base: QFont) -> QFont:
        key = base.key()
        if key != self._font_key:
            self._font_key = key
            self._font = QFont(base)
            self._font.setPointSize(LABEL_PT)
        return self._font

    def paint(self, painter: QPainter, option, index):
        font = self._row_font(painter.font())
        image, rows = self._thumbs.get(index.row()) or self._thumb(index, font)
        painter.save()
        r = option.rect
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(r, option.palette.highlight().color().lighter(160))
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(r, QColor(235, 240, 250))
        x0 = r.x() + (r.width() - THUMB) // 2
        y0 = r.y() + 4
        painter.drawImage(QRect(x0, y0, THUMB, THUMB), image)
        painter.translate(r.x(), y0 + THUMB + 3)
        painter.setFont(font)
        for row in rows:
            painter.fillRect(row.track, self.TRACK)
            painter.fillRect(row.bar, row.colour)
            painter.setPen(row.colour.darker(140))
            painter.drawText(row.label_rect, Qt.AlignmentFlag.AlignLeft
                             | Qt.AlignmentFlag.AlignVCenter, row.label)
            painter.setPen(self.TEXT)
            painter.drawText(row.value_rect, Qt.AlignmentFlag.AlignRight
                             | Qt.AlignmentFlag.AlignVCenter, row.value)
        painter.restore()


class ThumbRow:
    """One row of a thumbnail: the class name (elided to fit) and the probability as text,
    over a bar as long as the probability; rectangles relative to the rows' corner."""
    __slots__ = ("label", "value", "p", "colour", "label_rect", "value_rect", "track", "bar")

    def __init__(self, label, value, p, colour, label_rect, value_rect, track, bar):
        self.label, self.value, self.p, self.colour = label, value, p, colour
        self.label_rect, self.value_rect = label_rect, value_rect
        self.track, self.bar = track, bar


#: A row's inner margin (pixels) and the room kept for the probability text.
MARGIN, VALUE_W = 5, 30


def thumb_row(name: str, p: float, colour: QColor, i: int, metrics) -> ThumbRow:
    y = i * ROW_H
    width = CELL_W - 2 * MARGIN
    value_rect = QRect(CELL_W - MARGIN - VALUE_W, y, VALUE_W, TEXT_H)
    label_rect = QRect(MARGIN, y, width - VALUE_W - 2, TEXT_H)
    label = metrics.elidedText(name, Qt.TextElideMode.ElideRight, label_rect.width())
    track = QRect(MARGIN, y + TEXT_H, width, BAR_H)
    bar = QRect(MARGIN, y + TEXT_H, round(max(0.0, min(p, 1.0)) * width), BAR_H)
    return ThumbRow(label, probability_text(p), p, colour, label_rect, value_rect, track, bar)


class GalleryPanel(QWidget):
    def __init__(self, state, model, parent=None):
        super().__init__(parent)
        self.state, self.model = state, model
        self.header = LinesLabel("Click a cell of the confusion matrix to see its images.",
                                 lines=2)
        self.cells = CellImagesModel(self)
        self.view = QListView()
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        # its thumbnails paint in Python (the delegate): training waits meanwhile
        self._paint_hold = hold_training_while_painting(self.view.viewport())
        self.view.setUniformItemSizes(True)
        self.view.setSpacing(2)
        self.view.setMouseTracking(True)
        self.view.setModel(self.cells)
        self.view.setItemDelegate(ThumbDelegate(self.cells, self.view))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.header)
        lay.addWidget(self.view, 1)
        self.detail = ImageDetail(state, model)
        self.dialog = QDialog(self)
        self.dialog.setWindowTitle("Image detail")
        QVBoxLayout(self.dialog).addWidget(self.detail)
        self.dialog.resize(900, 620)

        self.when_seen = WhenSeen(self)
        self.view.clicked.connect(self._on_view_clicked)
        model.cellSelected.connect(self._on_model_cell_selected)
        model.currentChanged.connect(self._on_model_current_changed)
        model.imageSelected.connect(self._on_model_image_selected)

    # ---- model -> view -----------------------------------------------------------------------
    def showEvent(self, event):
        super().showEvent(event)
        self.when_seen.catch_up_soon()

    def _on_model_cell_selected(self, i, j):
        """A cell was clicked (in the matrix or the list of pairs): its images, in view."""
        self.when_seen.request(self._show_selected_cell)
        reveal(self)

    def _on_model_current_changed(self, _index):
        if self.model.cell is not None:
            self.when_seen.request(self._show_selected_cell)

    def _show_selected_cell(self):
        if self.model.cell is not None:
            self.show_cell(*self.model.cell)

    def show_cell(self, i: int, j: int):
        data = self.state.data
        evaluation, entry = self.model.evaluation_for_images()
        if data is None or evaluation is None:
            self.cells.set_cell([], None, None, None, [])
            self.header.setText("No evaluation with predictions yet: train an epoch or press "
                                "Evaluate now.")
            return
        if len(evaluation.targets) != len(data.labels):
            self.cells.set_cell([], None, None, None, [])
            self.header.setText("The evaluation does not belong to the loaded data set.")
            return
        names = list(data.class_names)
        idx = cell_indices(evaluation.targets, evaluation.predictions, i, j,
                           evaluation.probabilities)
        self.cells.set_cell(idx, data.images, evaluation.probabilities, evaluation.targets,
                            names)
        note = ""
        shown = self.model.entry
        if shown is not None and entry is not shown:
            note = (f" (images are kept for the newest evaluation only: these are from "
                    f"{entry.label}, the matrix shows {shown.label})")
        self.header.setText(self.caption(names[i], names[j], len(idx))
                            + f" — {entry.label}, most confident first{note}")

    @staticmethod
    def caption(true: str, predicted: str, n: int) -> str:
        """"true 4, predicted 9: 23 images"."""
        right = " (correct)" if true == predicted else ""
        return f"true {true}, predicted {predicted}: {n:,} image{'' if n == 1 else 's'}{right}"

    def _on_model_image_selected(self, index):
        self.detail.show_image(index)
        self.dialog.show()
        self.dialog.raise_()

    # ---- view -> model -----------------------------------------------------------------------
    def _on_view_clicked(self, index):
        self.model.select_image(index.data(INDEX_ROLE))

    def shown_indices(self) -> np.ndarray:
        return self.cells.indices.copy()


class ImageDetail(QWidget):
    """One evaluation image: its probabilities, each layer's activations, a saliency map."""

    def __init__(self, state, model, parent=None):
        super().__init__(parent)
        self.state, self.model = state, model
        self.index = None
        self.result = None
        self.runner = JobRunner(self)
        self.runner.done.connect(self._on_runner_done)
        self.runner.failed.connect(self._on_runner_failed)

        self.title = heading("", 11)
        self.title.setWordWrap(True)
        self.status = QLabel("")
        self.status.setStyleSheet("color: #666;")
        self.status.setWordWrap(True)
        # the image and its saliency overlay side by side, the same size: pixels line up
        self.picture = ImagePane(size=150)
        self.picture.setFixedSize(150, 150)
        self.picture_caption = LinesLabel("The image, as the network reads it.", lines=2)
        self.bars = ProbabilityBars()
        self.saliency_for = QComboBox()
        self.saliency_for.setObjectName("saliencyFor")
        self.saliency_for.addItems(["why the predicted class", "why the true class"])
        self.saliency_for.setToolTip("Saliency: how much more ink at each pixel would raise "
                                     "(orange) or lower (blue) this class's pre-softmax score, "
                                     "∂score/∂pixel, over the image")
        # the image again, its saliency for one class laid over it (pad.saliency_overlay)
        self.saliency = ImagePane(size=150)
        self.saliency.setFixedSize(150, 150)
        self.saliency.setObjectName("detailSaliency")
        self.saliency_caption = LinesLabel("", lines=2)
        self.saliency_caption.setObjectName("detailSaliencyCaption")

        left = QVBoxLayout()
        left.addWidget(self.title)
        pics = QHBoxLayout()
        first = QVBoxLayout()
        first.addWidget(self.picture)
        first.addWidget(self.picture_caption)
        first.addStretch(1)
        pics.addLayout(first)
        col = QVBoxLayout()
        col.addWidget(self.saliency)
        col.addWidget(self.saliency_caption)
        key = QHBoxLayout()
        key.addWidget(self.saliency_for, 1)
        key.addWidget(SignedLegend())
        col.addLayout(key)
        col.addStretch(1)               # both pictures at the top, whatever the height
        pics.addLayout(col)
        left.addLayout(pics)
        left.addWidget(heading("Softmax output", 9))
        left.addWidget(self.bars)
        left.addWidget(self.status)

        self.layers_box = QWidget()
        self.layers_grid = QGridLayout(self.layers_box)
        self.layers_grid.setContentsMargins(2, 2, 2, 2)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.layers_box)
        right = QVBoxLayout()
        right.addWidget(heading("Activations, layer by layer", 10))
        right.addWidget(scroll, 1)

        lay = QHBoxLayout(self)
        lay.addLayout(left, 2)
        lay.addLayout(right, 3)
        self.layer_panes: list[ImagePane] = []
        self.saliency_for.currentIndexChanged.connect(self._on_saliency_for_changed)

    def show_image(self, index: int):
        data = self.state.data
        if data is None:
            return
        self.index = int(index)
        names = list(data.class_names)
        true = int(data.labels[index])
        self.title.setText(f"Image #{index} — true class {names[true]}")
        self.picture.set_image(np.asarray(data.images[index], dtype=np.float32).squeeze(),
                               levels=(0, 255))
        self.status.setText("computing…")
        self.runner.submit(_detail_job, network_source(self.state), data.images[index],
                           data.preprocessing, true)

    def _on_runner_done(self, result):
        self.result = result
        data = self.state.data
        names = list(data.class_names) if data is not None else []
        p, true, pred = result["probabilities"], result["true"], result["predicted"]
        verdict = "correct" if pred == true else "wrong"
        self.title.setText(f"Image #{self.index} — true {names[true]}, predicted {names[pred]} "
                           f"({probability_text(p[pred])}, {verdict})")
        self.bars.set_class_names(names)
        self.bars.set_probabilities(p, true=true)
        self.saliency_for.setItemText(0, f"why {names[pred]} (predicted)")
        self.saliency_for.setItemText(1, f"why {names[true]} (true class)")
        self._show_saliency()
        self._show_layers(result["layers"])
        self.status.setText(f"Network at step {result['step']:,}. Saliency: gradient of the "
                            f"class's pre-softmax score with respect to each input pixel: "
                            f"orange where more ink raises the score, blue where it lowers "
                            f"it. Signed activations: {SIGNED_WORDS}.")

    def _on_runner_failed(self, message):
        self.status.setText(f"Could not compute the detail: {message}")

    def _on_saliency_for_changed(self, _i):
        if self.result is not None:
            self._show_saliency()

    def _show_saliency(self):
        which = "predicted" if self.saliency_for.currentIndex() == 0 else "true"
        self.saliency.set_image(self.result[f"overlay_{which}"], levels=(0, 255))
        data = self.state.data
        names = list(data.class_names) if data is not None else []
        k = self.result[which]
        self.saliency_caption.setText(why_text(names[k] if k < len(names) else str(k)))

    def _show_layers(self, layers):
        while self.layers_grid.count():
            w = self.layers_grid.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.layer_panes = []
        for row, (name, shape, tiles, note) in enumerate(layers):
            text = f"{name}\n→ {' × '.join(map(str, shape))}"
            label = QLabel(text + (f"\n{note}" if note else ""))
            label.setMinimumWidth(150)
            label.setWordWrap(True)             # "(shown as 1 × 28 × 28)" whole, not clipped
            label.setToolTip(label.text())
            pane = ImagePane(size=110)
            signed = np.nanmin(tiles) < 0 if np.isfinite(tiles).any() else False
            if signed:
                lim = float(np.nanmax(np.abs(tiles))) or 1.0
                pane.item.setColorMap(SIGNED_CMAP)
                pane.set_image(tiles, levels=(-lim, lim))
            else:
                pane.item.setColorMap(pg.colormap.get("viridis"))
                pane.set_image(tiles)
            h, w = tiles.shape
            pane.setMinimumHeight(int(min(260, max(60, 240 * h / max(w, 1)))))
            self.layers_grid.addWidget(label, row, 0, Qt.AlignmentFlag.AlignTop)
            self.layers_grid.addWidget(pane, row, 1)
            self.layer_panes.append(pane)
        self.layers_grid.setRowStretch(len(layers), 1)


def _detail_job(source, image, preprocessing, true: int) -> dict:
    """Worker: probabilities, activations and saliency maps of one image."""
    from nncore.layers.activations import softmax
    net = build_network(source)
    x = preprocessing.apply(np.asarray(image)[None])[0]
    acts = activations(net, x)
    out = acts[-1]
    p = out if type(net.layers[-1]).__name__ == "Softmax" else softmax(out[None], axis=1)[0]
    pred = int(np.argmax(p))
    layers = []
    for layer, a in zip(net.layers, acts):
        shape, note = tuple(a.shape), ""
        if type(layer).__name__ == "Flatten":      # the same values, shown in their old layout
            a = a.reshape(layer.input_shape)
            note = f"(shown as {' × '.join(map(str, layer.input_shape))})"
            if a.shape[0] == 1:
                a = a[0]
        layers.append((repr(layer), shape, a if a.ndim == 2 else mosaic(a), note))
    sal = saliency(net, np.stack([x, x]), [pred, true])
    maps = [signed_saliency(g).reshape(-1, *np.shape(image)[-2:]).sum(axis=0) for g in sal]
    grey = np.asarray(image, dtype=np.float64).reshape(-1, *maps[0].shape).mean(axis=0)
    return {"probabilities": np.asarray(p, dtype=np.float64), "predicted": pred, "true": true,
            "layers": layers, "saliency_predicted": maps[0], "saliency_true": maps[1],
            "overlay_predicted": saliency_overlay(grey, maps[0]),
            "overlay_true": saliency_overlay(grey, maps[1]), "step": source_step(source)}


def signed_saliency(grad: np.ndarray) -> np.ndarray:
    """(H, W) map to show of a (C, H, W) input gradient, with its sign: the channels summed
    (the effect of brightening a pixel in all of them; one channel for MNIST: the gradient
    itself). Positive where more ink raises the class's score."""
    g = np.asarray(grad, dtype=np.float64)
    return g.sum(axis=0) if g.ndim == 3 else g
