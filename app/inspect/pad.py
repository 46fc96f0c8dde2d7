"""Draw a digit and watch the network read it.

``PadCanvas`` is a sheet of paper: black ink, a round pen with anti-aliased edges, line width
following the pressure of a tablet pen. Every stroke goes, in a worker, through
``nncore.inspect.prepare_drawing`` — the MNIST recipe: 20x20 box, aspect kept, anti-aliased,
centred by centre of mass in 28x28 — then through the data set's preprocessing and the current
network. The bars update while drawing, and again whenever training moves the weights.

Next to what the network sees, the same 28x28 digit with its saliency for the predicted class
laid over it (``saliency_overlay``), at the same scale: "why 7" — orange where ink makes it
more a 7, blue where less (the gradient of the class's pre-softmax score, SIGNED_CMAP).
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from nncore.inspect import prepare_drawing, saliency

from .common import (SIGNED_CMAP, ImagePane, JobRunner, LinesLabel, ProbabilityBars, WhenSeen,
                     build_network, heading, network_source, probability_text)

CANVAS = 280              # the paper, in pixels: 10x an MNIST digit
PEN_WIDTH = 22.0          # a digit drawn 200 px tall gets MNIST's ~2.5 px strokes


class PadCanvas(QWidget):
    """A square sheet of paper to draw on with the mouse or a tablet pen."""
    strokeChanged = Signal()      # ink was added
    cleared = Signal()

    def __init__(self, parent=None, size: int = CANVAS):
        super().__init__(parent)
        self.paper = QImage(size, size, QImage.Format.Format_Grayscale8)
        self.paper.fill(255)
        self.pen_width = PEN_WIDTH
        self._points: list[QPointF] = []
        self._width = PEN_WIDTH
        self.setMinimumSize(200, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setAttribute(Qt.WidgetAttribute.WA_TabletTracking, False)
        self.setToolTip("Draw a digit (mouse or pen); Clear starts again")

    def sizeHint(self):
        return QSize(CANVAS, CANVAS)

    # ---- geometry ----------------------------------------------------------------------------
    def _paper_rect(self) -> QRectF:
        side = min(self.width(), self.height())
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def to_paper(self, pos) -> QPointF:
        r = self._paper_rect()
        s = self.paper.width() / r.width()
        return QPointF((pos.x() - r.x()) * s, (pos.y() - r.y()) * s)

    # ---- drawing -----------------------------------------------------------------------------
    def begin_stroke(self, p: QPointF, width: float | None = None):
        self._points = [p]
        self._width = self.pen_width if width is None else width
        painter = self._painter(self._width)
        painter.drawPoint(p)
        painter.end()
        self.update()
        self.strokeChanged.emit()

    def continue_stroke(self, p: QPointF, width: float | None = None):
        if not self._points:
            self.begin_stroke(p, width)
            return
        if width is not None:
            self._width = 0.7 * self._width + 0.3 * width     # pressure changes smoothly
        a = self._points[-1]
        if math.hypot(p.x() - a.x(), p.y() - a.y()) < 0.5:
            return
        # a quadratic curve through the midpoints keeps fast strokes round, not polygonal
        path = QPainterPath()
        if len(self._points) >= 2:
            prev = self._points[-2]
            path.moveTo((prev + a) / 2)
            path.quadTo(a, (a + p) / 2)
        else:
            path.moveTo(a)
            path.lineTo((a + p) / 2)
        painter = self._painter(self._width)
        painter.drawPath(path)
        painter.end()
        self._points.append(p)
        self.update()
        self.strokeChanged.emit()

    def end_stroke(self):
        if len(self._points) >= 2:
            painter = self._painter(self._width)
            painter.drawLine((self._points[-2] + self._points[-1]) / 2, self._points[-1])
            painter.end()
            self.update()
            self.strokeChanged.emit()
        self._points = []

    def _painter(self, width) -> QPainter:
        painter = QPainter(self.paper)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        pen = QPen(QColor(0, 0, 0), width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                   Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        return painter

    def clear(self):
        self.paper.fill(255)
        self._points = []
        self.update()
        self.cleared.emit()

    # ---- events ------------------------------------------------------------------------------
    def mousePressEvent(self, ev):
        if ev.button() == Qt.MouseButton.LeftButton:
            self.begin_stroke(self.to_paper(ev.position()))

    def mouseMoveEvent(self, ev):
        if ev.buttons() & Qt.MouseButton.LeftButton:
            self.continue_stroke(self.to_paper(ev.position()))

    def mouseReleaseEvent(self, ev):
        if ev.button() == Qt.MouseButton.LeftButton:
            self.end_stroke()

    def tabletEvent(self, ev):
        width = self.pen_width * (0.35 + 0.9 * ev.pressure())
        t = ev.type()
        if t == ev.Type.TabletPress:
            self.begin_stroke(self.to_paper(ev.position()), width)
        elif t == ev.Type.TabletMove and ev.pressure() > 0:
            self.continue_stroke(self.to_paper(ev.position()), width)
        elif t == ev.Type.TabletRelease:
            self.end_stroke()
        ev.accept()

    def paintEvent(self, _ev):
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(225, 225, 225))
        r = self._paper_rect()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(r, self.paper)
        painter.setPen(QPen(QColor(170, 170, 170), 1))
        painter.drawRect(r.adjusted(0, 0, -1, -1))
        painter.end()

    # ---- as numbers --------------------------------------------------------------------------
    def ink(self) -> np.ndarray:
        """(H, W) float32: 0 for blank paper up to 255 for full black ink."""
        img = self.paper
        ptr = img.constBits()
        grey = np.frombuffer(ptr, dtype=np.uint8, count=img.sizeInBytes()).reshape(
            img.height(), img.bytesPerLine())[:, :img.width()]
        return 255.0 - grey.astype(np.float32)

    def has_ink(self) -> bool:
        return bool(self.ink().max() > 0)

    def load_ink(self, ink) -> None:
        """Replace the paper with an (H, W) ink array of the paper's size (0 blank, 255 black)."""
        a = np.asarray(ink, dtype=np.float64)
        if a.shape != (self.paper.height(), self.paper.width()):
            raise ValueError(f"ink must be {self.paper.height()}×{self.paper.width()}, received "
                             f"{a.shape}")
        grey = np.ascontiguousarray(255 - np.clip(np.rint(a), 0, 255).astype(np.uint8))
        h, w = grey.shape
        self.paper = QImage(grey.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
        self.update()
        self.strokeChanged.emit()


class PadPanel(QWidget):
    """The pad, what the network sees (28x28) and its prediction.

    The paper takes the room the panel has; the column on its right (the 28x28 input, the
    prediction, the bars and a status line) has a bounded width and fixed-height labels, so
    nothing in it changes the panel's size when a prediction arrives: strokes land on the
    paper where they are drawn, in a dock or a floating window."""

    #: The right-hand column's width range, in pixels.
    SIDE_WIDTH = (190, 300)

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.canvas = PadCanvas()
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Wipe the pad to draw another digit")
        self.hint = LinesLabel("Draw one digit, anywhere, any size.", lines=1)
        self.hint.setStyleSheet("color: #555;")
        self.seen_title = LinesLabel("What the network sees (28×28)", lines=1)
        self.seen = ImagePane(size=84, hint=120)
        self.seen.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.seen.setMaximumSize(150, 150)
        # the same digit with the saliency of the predicted class over it, same size
        self.why = ImagePane(size=84, hint=120)
        self.why.setObjectName("padSaliency")
        self.why.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.why.setMaximumSize(150, 150)
        self.why.setToolTip("The gradient of the predicted class's pre-softmax score with "
                            "respect to each pixel, over the digit: orange where more ink "
                            "raises the score, blue where it lowers it")
        self.why_caption = LinesLabel("", lines=2)
        self.why_caption.setObjectName("padSaliencyCaption")
        self.saliency: np.ndarray | None = None
        self.overlay: np.ndarray | None = None
        self.prediction = heading("draw a digit", 18)
        self.prediction.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.prediction.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.bars = ProbabilityBars(compact=True)
        self.status = LinesLabel("", lines=2)
        self.status.setStyleSheet("color: #666;")
        self.runner = JobRunner(self)
        self.runner.done.connect(self._on_runner_done)
        self.runner.failed.connect(self._on_runner_failed)
        self.cache = _NetCache()
        self.input28: np.ndarray | None = None
        self.probabilities: np.ndarray | None = None

        left = QVBoxLayout()
        left.addWidget(self.canvas, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.hint, 1)
        buttons.addWidget(self.clear_button)
        left.addLayout(buttons)
        side = QWidget()
        side.setMinimumWidth(self.SIDE_WIDTH[0])
        side.setMaximumWidth(self.SIDE_WIDTH[1])
        right = QVBoxLayout(side)
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(self.seen_title)
        pictures = QHBoxLayout()
        pictures.setSpacing(4)
        pictures.addWidget(self.seen, 1)
        pictures.addWidget(self.why, 1)
        right.addLayout(pictures, 3)
        right.addWidget(self.why_caption)
        right.addWidget(self.prediction)
        right.addWidget(self.bars, 2)
        right.addWidget(self.status)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(left, 3)
        lay.addWidget(side, 2)
        self.setMinimumSize(420, 280)

        self.when_seen = WhenSeen(self)
        self.clear_button.clicked.connect(self.canvas.clear)
        self.canvas.strokeChanged.connect(self._on_canvas_stroke_changed)
        self.canvas.cleared.connect(self._on_canvas_cleared)
        state.snapshotChanged.connect(self._on_state_snapshot_changed)
        state.specChanged.connect(self._on_state_snapshot_changed)
        state.dataChanged.connect(self._on_state_data_changed)
        self._on_state_data_changed()

    def _class_names(self):
        data = self.state.data
        return list(data.class_names) if data is not None else [str(i) for i in range(10)]

    def showEvent(self, event):
        super().showEvent(event)
        self.when_seen.catch_up_soon()

    def _on_state_data_changed(self, _data=None):
        self.bars.set_class_names(self._class_names())
        self.when_seen.request(self.predict)

    def _on_canvas_stroke_changed(self):
        self.predict()

    def _on_state_snapshot_changed(self, _snapshot=None):
        # new weights: a visible pad predicts again; a hidden one when it is shown
        self.when_seen.request(self.predict)

    def _on_canvas_cleared(self):
        self.input28 = None
        self.probabilities = None
        self.saliency = None
        self.overlay = None
        self.seen.clear_image()
        self.why.clear_image()
        self.why_caption.setText("")
        self.prediction.setText("draw a digit")
        self.bars.set_probabilities(np.zeros(len(self._class_names())))
        self.status.setText("")

    def predict(self):
        """Ask the worker for a prediction of the current drawing (newest request wins)."""
        if not self.canvas.has_ink():
            return
        data = self.state.data
        pre = data.preprocessing if data is not None else None
        self.runner.submit(_predict_job, self.cache, network_source(self.state),
                           self.canvas.ink(), pre)

    def _on_runner_done(self, result):
        self.input28, self.probabilities, step, self.saliency, self.overlay = result
        names = self._class_names()
        self.seen.set_image(self.input28.astype(np.float32), levels=(0, 255))
        top = int(np.argmax(self.probabilities))
        name = names[top] if top < len(names) else str(top)
        self.why.set_image(self.overlay, levels=(0, 255))
        self.why_caption.setText(why_text(name))
        self.prediction.setText(f"{name}   {probability_text(self.probabilities[top])}")
        self.bars.set_probabilities(self.probabilities)
        self.status.setText(f"Network at step {step:,}.")

    def _on_runner_failed(self, message):
        self.prediction.setText("?")
        self.status.setText(f"Cannot predict: {message}")


class _NetCache:
    """The network the pad's worker last built, brought up to date when the snapshot changes:
    new weights of the same network are copied in, only another network is built anew (the
    pad runs one job at a time, so only one thread uses it at once)."""

    def __init__(self):
        self.key = None
        self.net = None
        self._spec = None

    def get(self, source):
        snapshot, spec, seed = source
        key = snapshot if snapshot is not None else ("spec", repr(spec), seed)
        fresh = self.key is key if snapshot is not None else (
            isinstance(self.key, tuple) and self.key == key)
        if self.net is None or not fresh:
            if (snapshot is not None and self.net is not None and self._spec == snapshot.spec
                    and self.net.dtype.name == snapshot.dtype):
                self.net.set_weights(snapshot.weights)      # training moved the weights
            else:
                self.net = build_network(source)
                self._spec = snapshot.spec if snapshot is not None else None
            self.key = key
        return self.net


def pad_input(ink, input_shape, preprocessing=None) -> tuple[np.ndarray, np.ndarray]:
    """The pad's own preprocessing: (the MNIST-style 28x28 uint8 image, the network input of
    shape (1, *input_shape)). Raises DataError if the network does not take 28x28 images."""
    from nncore.data import Preprocessing
    from nncore.errors import DataError
    image = prepare_drawing(ink)
    shape = tuple(input_shape)
    if math.prod(shape) != image.size:
        raise DataError(f"the pad makes 28×28 greyscale digits; this network takes "
                        f"{' × '.join(map(str, shape))} inputs")
    pre = preprocessing if preprocessing is not None else Preprocessing()
    return image, pre.apply(image.reshape((1,) + shape))


def _predict_job(cache, source, ink, preprocessing):
    """Worker: drawing -> MNIST-style 28x28 -> preprocessing -> network -> probabilities."""
    from nncore.layers.activations import softmax
    net = cache.get(source)
    image, x = pad_input(ink, net.input_shape, preprocessing)
    out = net.forward(x)[0]
    p = out if type(net.layers[-1]).__name__ == "Softmax" else softmax(out[None], axis=1)[0]
    top = int(np.argmax(p))
    sal = np.asarray(saliency(net, x, [top])[0], dtype=np.float64).reshape(-1, *image.shape)
    sal = sal.sum(axis=0)           # all channels brightened together (MNIST: one channel)
    snapshot = source[0]
    return (image, np.asarray(p, dtype=np.float64),
            snapshot.step if snapshot is not None else 0, sal, saliency_overlay(image, sal))


def why_text(name: str) -> str:
    """The caption of a saliency map of class ``name``; the sign convention of
    ``nncore.inspect.saliency`` (d score / d pixel) in SIGNED_CMAP's colours."""
    return f"Why {name}: orange where ink makes it more a {name}, blue where less."


#: Strokes in the overlay: how grey full ink is where the map is 0 (0 white, 1 black), and how
#: much of the map's colour shows on empty paper (on the strokes all of it shows).
INK_GREY, PAPER_COLOUR = 0.45, 0.35
#: The colours' full strength is at this percentile of |saliency|: a few extreme pixels do not
#: wash out the rest.
SATURATE_AT = 99.0


def saliency_overlay(image: np.ndarray, sal: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8: the signed saliency map ``sal`` (orange +, blue −: SIGNED_CMAP's ends)
    over the digit ``image`` ((H, W) uint8, 255 = ink). The strokes are grey on white paper and
    take the map's colour in full — orange strokes made it more the class, blue ones less;
    on the empty paper the colour is fainter (where ink *would* help or hurt). Symmetric in
    sign, strength relative to the ``SATURATE_AT`` percentile of |sal|. (Call off the GUI
    thread.)"""
    s = np.asarray(sal, dtype=np.float64)
    ink = np.asarray(image, dtype=np.float64).reshape(s.shape) / 255.0
    lim = float(np.percentile(np.abs(s), SATURATE_AT)) or float(np.abs(s).max()) or 1.0
    t = np.clip(s / lim, -1.0, 1.0)
    ends = SIGNED_CMAP.map(np.array([0.0, 1.0]), mode="float")[:, :3] * 255.0   # blue, orange
    pure = np.where(t[..., None] > 0, ends[1], ends[0])
    paper = 255.0 * (1.0 - INK_GREY * ink)
    a = (np.abs(t) * (PAPER_COLOUR + (1.0 - PAPER_COLOUR) * ink))[..., None]
    out = paper[..., None] * (1.0 - a) + pure * a
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
