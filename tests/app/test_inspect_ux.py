"""The inspection panels as a learner meets them in the window: the drawing pad keeps its size
while predictions arrive, clicking a confusion cell brings its images into view, signed values
share one colour map, the weights view says why it is empty (pytest-qt)."""
import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from app.inspect.pad import PadPanel
from app.main_window import _scrollable
from app.state import StudioState

DEFAULT_SPEC = {"input_shape": [1, 28, 28],
                "layers": [{"type": "Flatten"}, {"type": "Dense", "units": 32},
                           {"type": "ReLU"}, {"type": "Dense", "units": 10},
                           {"type": "Softmax"}]}


def _mouse(widget, kind, pos, buttons=Qt.MouseButton.LeftButton):
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove \
        else Qt.MouseButton.LeftButton
    QApplication.sendEvent(widget, QMouseEvent(kind, pos, widget.mapToGlobal(pos), button,
                                               buttons, Qt.KeyboardModifier.NoModifier))


def _stroke(canvas, points):
    """Press, move through ``points`` (widget coordinates) with the button held, release."""
    _mouse(canvas, QEvent.Type.MouseButtonPress, points[0])
    for p in points[1:]:
        _mouse(canvas, QEvent.Type.MouseMove, p)
    _mouse(canvas, QEvent.Type.MouseButtonRelease, points[-1], Qt.MouseButton.NoButton)


def _line(a, b, n=12):
    return [QPointF(a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
            for t in np.linspace(0, 1, n)]


def _fits(area) -> bool:
    """Everything of the scroll area's panel in view, without scrolling."""
    QApplication.processEvents()
    return area.verticalScrollBar().maximum() == 0 and area.horizontalScrollBar().maximum() == 0


@pytest.fixture
def pad_in_dock(qtbot):
    """A pad in a scroll area, as the window docks it (every panel sits in one)."""
    state = StudioState()
    state.spec = DEFAULT_SPEC
    pad = PadPanel(state)
    area = _scrollable(pad)
    qtbot.addWidget(area)
    area.resize(590, 340)
    area.show()
    qtbot.waitExposed(area)
    yield pad, area
    qtbot.waitUntil(lambda: not pad.runner.busy, timeout=10_000)


def test_pad_keeps_its_size_and_strokes_land_where_drawn(pad_in_dock, qtbot):
    pad, area = pad_in_dock
    canvas = pad.canvas
    assert _fits(area)
    size, canvas_size = pad.size(), canvas.size()
    w, h = canvas.width(), canvas.height()
    side = min(w, h)
    x0, y0 = (w - side) / 2, (h - side) / 2

    def at(u, v):           # a point of the visible paper, u and v in [0, 1]
        return (x0 + u * side, y0 + v * side)

    # a "7" drawn in two strokes; the second after the first prediction arrived (which is
    # what grew the panel to its preferred height, and moved the paper off screen)
    _stroke(canvas, _line(at(0.25, 0.2), at(0.75, 0.2)))
    qtbot.waitUntil(lambda: pad.probabilities is not None and not pad.runner.busy,
                    timeout=10_000)
    assert pad.status.text()
    QApplication.processEvents()
    assert pad.size() == size and canvas.size() == canvas_size
    first = pad.input28.copy()
    _stroke(canvas, _line(at(0.75, 0.2), at(0.45, 0.85)))
    qtbot.waitUntil(lambda: pad.input28 is not None and not np.array_equal(pad.input28, first)
                    and not pad.runner.busy, timeout=10_000)
    QApplication.processEvents()
    assert pad.size() == size and canvas.size() == canvas_size and _fits(area)

    # the ink is on the paper under the points drawn: the paper spans the visible square
    ink = canvas.ink()
    scale = ink.shape[0] / side
    for u, v in [(0.25, 0.2), (0.5, 0.2), (0.75, 0.2), (0.6, 0.525), (0.45, 0.85)]:
        px, py = int(u * side * scale), int(v * side * scale)
        assert ink[py, px] > 200, f"no ink on the paper under the point drawn at {u, v}"
    assert ink[int(0.5 * ink.shape[0]), int(0.2 * ink.shape[1])] == 0

    # and the network's 28x28 input is that "7": a bar across the top, the stroke down
    # ending lower left of where the bar ends
    seen = pad.input28.astype(float)
    rows = np.flatnonzero(seen.max(axis=1) > 0)
    top, bottom = seen[rows[0]:rows[0] + 3], seen[rows[-1] - 2:rows[-1] + 1]
    top_cols = np.flatnonzero(top.max(axis=0) > 64)
    bottom_cols = np.flatnonzero(bottom.max(axis=0) > 64)
    assert top_cols[-1] - top_cols[0] >= 10                   # the bar is wide
    assert bottom_cols[-1] - bottom_cols[0] <= 6              # the stroke's end is narrow
    assert bottom_cols.mean() < top_cols[-1] - 4              # and left of the bar's end
    np.testing.assert_array_equal(pad.seen.image, pad.input28)


def test_pad_fits_a_floating_800x500_window(pad_in_dock, qtbot):
    pad, area = pad_in_dock
    area.resize(800, 500)
    qtbot.waitUntil(lambda: pad.width() > 700)
    canvas = pad.canvas
    side = min(canvas.width(), canvas.height())
    assert side >= 400                                        # the paper takes the room
    _stroke(canvas, _line((canvas.width() / 2, 40), (canvas.width() / 2, side - 40)))
    qtbot.waitUntil(lambda: pad.probabilities is not None and not pad.runner.busy,
                    timeout=10_000)
    assert _fits(area) and pad.size() == area.viewport().size()
    # the 28x28 view, the prediction and the bars are all inside the panel, not overlapping
    widgets = [pad.seen_title, pad.seen, pad.prediction, pad.bars, pad.status]
    rects = [w.geometry().translated(w.parentWidget().mapTo(pad, w.parentWidget().rect()
                                                            .topLeft())) for w in widgets]
    for r in rects:
        assert pad.rect().contains(r), r
    for a, b in zip(rects, rects[1:]):
        assert a.bottom() <= b.top(), (a, b)
