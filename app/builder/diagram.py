"""A drawing of the network, left (input) to right (output).

Big layers are blocks labelled with their output shape and weights. A Dense layer small enough
to draw (at most ``MAX_UNITS`` outputs and ``MAX_INPUTS`` inputs) is drawn as neurons, with
one line per weight coloured by its current value (orange positive, blue negative, stronger
for larger magnitudes), so the learner sees them change while training runs.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QLineF, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QScrollArea, QSizePolicy, QToolTip, QWidget
from superqt.utils import create_worker

from . import catalog
from .palette import GROUP_COLORS

MAX_UNITS = 40
MAX_INPUTS = 256
#: Weight lines are drawn in this many strengths per sign.
LEVELS = 12
GAP = 26
MARGIN = 16
#: A wide network is drawn smaller to fit, down to this scale; below it the view scrolls.
MIN_SCALE = 0.6
POSITIVE = QColor("#e0701a")
NEGATIVE = QColor("#2f6db5")
MUTED = QColor("#6b7280")


def _shape_label(shape) -> str:
    return "×".join(str(d) for d in shape)


class _Canvas(QWidget):
    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumHeight(180)
        # A small Dense layer's weight lines take tens of milliseconds to draw: they are drawn
        # onto an image, in a worker thread whenever new weights arrive (the newest wins), and
        # the widget only copies the image: no long pause of the window while training runs.
        self._lines: dict = {}          # layer index -> (geometry, weights, QImage)
        self._wanted = None             # the newest render asked for while one runs
        self._render_worker = None
        self._overlay = None            # (size, pixmap, line jobs, ...): see paintEvent

    # ---- layout ------------------------------------------------------------------------------
    def _items(self):
        """[(kind, index, type, shape, params, width)] in drawing order; kind is "input",
        "block", "band" (a layer that keeps the shape and has no weights, e.g. ReLU),
        "neurons", "error" or "pending"."""
        spec = self.state.spec
        check = self.state.spec_check
        items = [("input", -1, "Input", tuple(spec.get("input_shape") or ()), 0, 84)]
        layers = spec.get("layers") if isinstance(spec.get("layers"), list) else []
        for i, entry in enumerate(layers):
            t = entry.get("type", "?") if isinstance(entry, dict) else "?"
            if i < len(check.rows):
                row = check.rows[i]
                out, params = row["output_shape"], row["params"]
                n_in = row["input_shape"][0] if len(row["input_shape"]) == 1 else None
                if (t == "Dense" and len(out) == 1 and out[0] <= MAX_UNITS and n_in is not None
                        and n_in <= MAX_INPUTS):
                    # room for the class names right of the output neurons
                    labelled = self._class_names_for(i, out[0]) is not None
                    items.append(("neurons", i, t, out, params, 196 if labelled else 150))
                elif params == 0 and tuple(out) == tuple(row["input_shape"]):
                    items.append(("band", i, t, out, params, 58))
                else:
                    items.append(("block", i, t, out, params, 84))
            elif check.error is not None and getattr(check.error, "index", None) == i:
                items.append(("error", i, t, (), 0, 84))
            else:
                items.append(("pending", i, t, (), 0, 84))
        return items

    def natural_width(self, items=None) -> float:
        items = self._items() if items is None else items
        return sum(it[5] for it in items) + GAP * (len(items) - 1) + 2 * MARGIN

    def sizeHint(self):
        return QSize(int(self.natural_width() * MIN_SCALE), 240)

    def minimumSizeHint(self):
        return QSize(int(self.natural_width() * MIN_SCALE), 160)

    def _weights(self, index: int):
        """Current W of layer ``index`` if the last snapshot matches the edited network."""
        snap = self.state.snapshot
        if snap is None:
            return None
        layers = self.state.spec.get("layers") or []
        if snap.spec.get("layers")[:index + 1] != layers[:index + 1] or snap.spec.get(
                "input_shape") != self.state.spec.get("input_shape"):
            return None
        return snap.weights.get(f"{index}.W")

    # ---- painting ----------------------------------------------------------------------------
    # A paint copies two layers: the weight lines (images, see _paint_weight_lines) and, on top,
    # everything else (blocks, arrows, neurons, captions), drawn once into a transparent pixmap
    # (``_overlay``) and kept until the network, the data set, the size or the style changes.
    # New weights while training then cost a paint of a few image copies, no Python per shape.
    def invalidate(self) -> None:
        """Draw the blocks and neurons again at the next paint (the network or data changed)."""
        self._overlay = None
        self.update()

    def changeEvent(self, event):
        if event.type() in (QEvent.PaletteChange, QEvent.FontChange, QEvent.StyleChange):
            self._overlay = None
        super().changeEvent(event)

    def _weights_drawn(self, jobs) -> tuple:
        """For each drawn Dense layer: its current weights if they fit it, else None."""
        out = []
        for index, n_in, n_out, *_ in jobs:
            w = self._weights(index)
            out.append(w if w is not None and w.shape == (n_in, n_out) else None)
        return tuple(out)

    def paintEvent(self, event):
        ratio = self.devicePixelRatioF()
        size = (self.width(), self.height(), ratio)
        overlay = getattr(self, "_overlay", None)
        weights = self._weights_drawn(overlay[2]) if overlay is not None else None
        if (overlay is None or overlay[0] != size
                or [w is None for w in weights] != overlay[3]):
            overlay = self._overlay = self._render_overlay(size)
            weights = self._weights_drawn(overlay[2])
        _size, pixmap, jobs, _with_weights, scale = overlay
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        p.setRenderHint(QPainter.Antialiasing)
        p.save()
        p.scale(scale, scale)
        for (index, _n_in, _n_out, yi, yo, in_x, out_x), w in zip(jobs, weights):
            if w is not None:
                self._paint_weight_lines(p, index, w, yi, yo, in_x, out_x)
        p.restore()
        p.drawPixmap(0, 0, pixmap)
        p.end()

    def _render_overlay(self, size):
        """(size, pixmap, line jobs, [no weights to draw?], scale): all but the weight lines."""
        width, height, ratio = size
        pixmap = QPixmap(max(1, round(width * ratio)), max(1, round(height * ratio)))
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.transparent)
        p = QPainter(pixmap)
        p.setRenderHint(QPainter.Antialiasing)
        items = self._items()
        scale = min(1.0, width / self.natural_width(items))
        p.scale(scale, scale)
        h = height / scale
        top, bottom = 34, h - 30
        font = QFont(self.font())
        small = QFont(font)
        small.setPointSizeF(max(font.pointSizeF() - 1, 7))
        bold = QFont(font)
        bold.setBold(True)
        x = float(MARGIN)
        prev_right = None
        self._scale = scale
        self._places = []               # (left, right, caption, ...) for the tooltips
        jobs = []                       # the weight lines to draw under the overlay
        for kind, index, t, shape, params, width_ in items:
            lt = catalog.layer_type(t)
            color = QColor(GROUP_COLORS.get(lt.group if lt else "", "#7f8c8d"))
            rect = QRectF(x, top, width_, bottom - top)
            if prev_right is not None and kind != "neurons":
                p.setPen(QPen(MUTED, 1.4))
                y = (top + bottom) / 2
                p.drawLine(QPointF(prev_right + 4, y), QPointF(x - 4, y))
                p.drawLine(QPointF(x - 4, y), QPointF(x - 9, y - 4))
                p.drawLine(QPointF(x - 4, y), QPointF(x - 9, y + 4))
            if kind == "neurons":
                jobs.append(self._paint_neurons(p, rect, index, shape, color, prev_right,
                                                small))
            else:
                self._paint_block(p, rect, kind, index, t, shape, params, color, bold, small)
            # caption above
            p.setPen(self.palette().text().color())
            caption = t if index < 0 else f"{index + 1}. {t}"
            self._paint_caption(p, QRectF(x - GAP / 2 + 1, 4, width_ + GAP - 2, top - 6),
                                caption, bold, small)
            self._places.append((x, x + width_, caption, kind, shape, params))
            prev_right = x + width_
            x += width_ + GAP
        p.end()
        return (size, pixmap, jobs, [w is None for w in self._weights_drawn(jobs)], scale)

    @staticmethod
    def _paint_caption(p, rect: QRectF, caption: str, bold: QFont, small: QFont) -> None:
        """The caption in bold if it fits the block and half the gaps beside it, else smaller,
        else on two lines ("3." above "MaxPool2D"); elided only past that (the tooltip has
        it all)."""
        small_bold = QFont(small)
        small_bold.setBold(True)
        for font in (bold, small_bold):
            if QFontMetrics(font).horizontalAdvance(caption) <= rect.width():
                p.setFont(font)
                p.drawText(rect, Qt.AlignHCenter | Qt.AlignBottom, caption)
                return
        fm = QFontMetrics(small_bold)
        p.setFont(small_bold)
        head, _, name = caption.partition(" ")
        text = f"{head}\n{fm.elidedText(name, Qt.ElideRight, int(rect.width()))}" if name \
            else fm.elidedText(caption, Qt.ElideRight, int(rect.width()))
        p.drawText(rect, Qt.AlignHCenter | Qt.AlignBottom, text)

    def event(self, event):
        if event.type() == QEvent.ToolTip:
            x = event.pos().x() / getattr(self, "_scale", 1.0)
            for left, right, caption, kind, shape, params in getattr(self, "_places", []):
                if left - GAP / 2 <= x <= right + GAP / 2:
                    text = caption
                    if kind == "error":
                        text += ": invalid (see the layer's card)"
                    elif shape:
                        text += f": output {_shape_label(shape)}"
                        if params:
                            text += f", {params:,} weights"
                    QToolTip.showText(event.globalPos(), text, self)
                    return True
            QToolTip.hideText()
            event.ignore()
            return True
        return super().event(event)

    def _paint_block(self, p, rect, kind, index, t, shape, params, color, bold, small):
        size = math.prod(shape) if shape else 1
        # height grows with the log of the layer's output size: big layers look big
        frac = 0.25 + 0.75 * min(math.log10(max(size, 1)) / 5.0, 1.0)
        hgt = rect.height() * frac
        r = QRectF(rect.left(), rect.center().y() - hgt / 2, rect.width(), hgt)
        fill = QColor(color)
        fill.setAlpha(38)
        pen = QPen(color, 1.5)
        if kind == "error":
            pen = QPen(QColor("#c62828"), 2.0)
            fill = QColor("#fdecea")
        elif kind == "pending":
            pen = QPen(MUTED, 1.0, Qt.DashLine)
            fill = QColor(0, 0, 0, 0)
        p.setPen(pen)
        p.setBrush(fill)
        p.drawRoundedRect(r, 6, 6)
        p.setFont(small)
        p.setPen(self.palette().text().color() if kind != "error" else QColor("#c62828"))
        if kind == "error":
            text = "invalid"
        elif kind == "pending":
            text = "?"
        elif kind == "band":
            text = ""                  # same shape as the layer before: its name says it all
        else:
            text = _shape_label(shape)
            if params:
                text += f"\n{params:,} w"
        p.drawText(r.adjusted(4, 2, -4, -2), Qt.AlignCenter | Qt.TextWordWrap, text)

    def _paint_weight_lines(self, p, index, w, yi, yo, in_x, out_x):
        top, bottom = min(yi[0], yo[0]), max(yi[-1], yo[-1])
        area = QRectF(in_x - 2, top - 2, out_x - in_x + 4, bottom - top + 4)
        ratio = p.transform().m11() * self.devicePixelRatioF()
        geometry = (area.getRect(), round(ratio, 6))
        args = (w, yi, yo, in_x, out_x, area, ratio)
        cached = self._lines.get(index)
        if cached is None or cached[0] != geometry:     # first time, or resized: drawn now
            cached = self._lines[index] = (geometry, w, _render_weight_lines(*args))
        p.drawImage(area, cached[2])
        if cached[1] is not w:                          # older weights shown: new ones soon
            self._render_later((index, geometry, w), args)

    def _render_later(self, key, args) -> None:
        self._wanted = (key, args)
        if self._render_worker is None:
            self._start_render()

    def _start_render(self) -> None:
        key, args = self._wanted
        self._wanted = None
        worker = create_worker(lambda: (key, _render_weight_lines(*args)), _start_thread=False,
                               _ignore_errors=True)
        worker.returned.connect(self._on_render_returned)
        worker.finished.connect(self._on_render_finished)
        self._render_worker = worker
        worker.start()

    def _on_render_returned(self, result) -> None:
        (index, geometry, w), image = result
        self._lines[index] = (geometry, w, image)
        self.update()

    def _on_render_finished(self) -> None:
        self._render_worker = None
        if self._wanted is not None:
            self._start_render()

    def _paint_neurons(self, p, rect, index, shape, color, prev_right, small):
        """Neurons and labels (and grey lines while there are no weights); returns where the
        weight lines go: (index, n_in, n_out, yi, yo, in_x, out_x)."""
        n_out = shape[0]
        row = self.state.spec_check.rows[index]
        n_in = row["input_shape"][0]
        w = self._weights(index)
        names = self._class_names_for(index, n_out)
        in_x = rect.left() + 8
        out_x = rect.right() - (58 if names else 12)
        span = rect.height() - 16

        def ys(n):
            if n == 1:
                return np.array([rect.center().y()])
            step = min(span / (n - 1), 18.0)
            y0 = rect.center().y() - step * (n - 1) / 2
            return y0 + step * np.arange(n)
        yi, yo = ys(n_in), ys(n_out)
        if w is None or w.shape != (n_in, n_out):   # (with weights: lines under the overlay)
            p.setPen(QPen(QColor(150, 150, 150, 60), 0.6))
            for i in range(n_in):
                for j in range(n_out):
                    p.drawLine(QPointF(in_x, yi[i]), QPointF(out_x, yo[j]))
        # inputs: small dots; outputs: neurons
        p.setPen(Qt.NoPen)
        p.setBrush(MUTED)
        r_in = max(1.0, min(3.0, (yi[1] - yi[0]) / 2.5 if n_in > 1 else 3.0))
        for y in yi:
            p.drawEllipse(QPointF(in_x, y), r_in, r_in)
        p.setPen(QPen(color.darker(130), 1.2))
        fill = QColor(color)
        fill.setAlpha(90)
        p.setBrush(fill)
        r_out = max(2.5, min(7.0, (yo[1] - yo[0]) / 2.4 if n_out > 1 else 7.0))
        for y in yo:
            p.drawEllipse(QPointF(out_x, y), r_out, r_out)
        if prev_right is not None:
            p.setPen(QPen(MUTED, 1.0, Qt.DotLine))
            p.drawLine(QPointF(prev_right + 4, rect.center().y()),
                       QPointF(in_x - 4, rect.center().y()))
        p.setFont(small)
        p.setPen(MUTED)
        p.drawText(QRectF(rect.left(), rect.bottom() - 2, rect.width(), 22), Qt.AlignCenter,
                   f"{n_in} → {n_out} · {row['params']:,} w")
        if names:
            fm = QFontMetrics(small)
            for y, name in zip(yo, names):
                p.drawText(QRectF(out_x + r_out + 3, y - 8, 52, 16),
                           Qt.AlignLeft | Qt.AlignVCenter,
                           fm.elidedText(name, Qt.ElideRight, 52))
        return (index, n_in, n_out, yi, yo, in_x, out_x)

    def _class_names_for(self, index: int, n_out: int):
        """The data set's class names if layer ``index`` gives the network's output."""
        data = self.state.data
        rows = self.state.spec_check.rows
        if data is None or len(data.class_names) != n_out or not self.state.spec_check.ok:
            return None
        later = rows[index + 1:]
        if all(r["params"] == 0 and tuple(r["output_shape"]) == (n_out,) for r in later):
            return list(data.class_names)
        return None


def _render_weight_lines(w, yi, yo, in_x, out_x, area: QRectF, ratio: float) -> QImage:
    """One line per weight from input i (at ``in_x``, ``yi[i]``) to unit j, coloured by its
    value (orange positive, blue negative, stronger for larger magnitudes), on a transparent
    image of ``area`` at ``ratio`` pixels per unit. Safe in a worker thread (only a QImage)."""
    image = QImage(max(1, math.ceil(area.width() * ratio)), max(1, math.ceil(area.height() * ratio)),
                   QImage.Format_ARGB32_Premultiplied)
    image.fill(Qt.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.Antialiasing)
    p.scale(ratio, ratio)
    p.translate(-area.left(), -area.top())
    # one pen per sign and strength level (the eye tells no more apart), weakest first: the
    # strong weights on top, and little Python per line (this thread shares the interpreter
    # with training)
    v = np.asarray(w, dtype=np.float64) / (float(np.abs(w).max()) or 1.0)
    level = np.minimum((np.abs(v) * LEVELS).astype(int), LEVELS - 1)
    for k in range(LEVELS):
        strength = (k + 0.5) / LEVELS
        for colour, sign in ((POSITIVE, v >= 0), (NEGATIVE, v < 0)):
            ii, jj = np.nonzero(sign & (level == k))
            if len(ii):
                c = QColor(colour)
                c.setAlphaF(min(1.0, 0.06 + 0.9 * strength))
                p.setPen(QPen(c, 0.6 + 1.2 * strength))
                p.drawLines([QLineF(in_x, a, out_x, b)
                             for a, b in zip(yi[ii].tolist(), yo[jj].tolist())])
    p.end()
    return image


class NetworkDiagram(QScrollArea):
    """The diagram in a horizontal scroll area; redraws when the network or weights change."""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.setObjectName("networkDiagram")
        self.canvas = _Canvas(state)
        self.setWidget(self.canvas)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.NoFrame)
        self.setToolTip("The network, input on the left. Small Dense layers are drawn as "
                        "neurons; each line is one weight (orange positive, blue negative).")
        state.specChecked.connect(self._on_state_spec_checked)
        state.snapshotChanged.connect(self._on_state_snapshot_changed)
        state.dataChanged.connect(self._on_state_data_changed)

    def _on_state_data_changed(self, _data) -> None:
        self.canvas.invalidate()                # the output neurons' class names

    def _on_state_spec_checked(self, check) -> None:
        self.canvas.updateGeometry()
        self.canvas.setMinimumWidth(self.canvas.sizeHint().width())
        self.canvas.invalidate()

    def _on_state_snapshot_changed(self, snapshot) -> None:
        self.canvas.update()
