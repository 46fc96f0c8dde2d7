"""The drawing pad says why it reads a digit (the saliency of the predicted class over the
digit, named in the caption), the image detail does the same for either class, and the
misclassified thumbnails show predicted and true class probabilities as labelled bars."""
import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from app.inspect.common import BAD, GOOD
from app.inspect.common import probability_text
from app.inspect.gallery import CELL_W, LABEL_PT, ImageDetail
from app.inspect.model import InspectModel
from app.inspect.pad import PadPanel, saliency_overlay
from app.state import EvalData, StudioState
from app.views.weights import SIGNED_CMAP
from nncore import Network
from nncore.data import Preprocessing
from nncore.inspect import saliency

from .helpers import thumbnail_view

pytestmark = pytest.mark.usefixtures("gc_in_gui_thread")

SPEC = {"input_shape": [1, 28, 28],
        "layers": [{"type": "Flatten"}, {"type": "Dense", "units": 16}, {"type": "ReLU"},
                   {"type": "Dense", "units": 10}, {"type": "Softmax"}]}
NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def _state():
    rng = np.random.default_rng(3)
    state = StudioState()
    state.spec = SPEC
    images = (rng.random((4, 1, 28, 28)) * 255).astype(np.uint8)
    state.data = EvalData(NAMES, images, np.array([4, 1, 2, 3]), Preprocessing())
    return state


def _drag(widget, points):
    """Mouse press, moves with the button held, release: a stroke as a user draws it."""
    def send(kind, p, button, buttons):
        QApplication.sendEvent(widget, QMouseEvent(kind, p, widget.mapToGlobal(p), button,
                                                   buttons, Qt.KeyboardModifier.NoModifier))
    left = Qt.MouseButton.LeftButton
    send(QEvent.Type.MouseButtonPress, points[0], left, left)
    for p in points[1:]:
        send(QEvent.Type.MouseMove, p, Qt.MouseButton.NoButton, left)
    send(QEvent.Type.MouseButtonRelease, points[-1], left, Qt.MouseButton.NoButton)


def test_the_pad_names_the_class_and_lays_its_saliency_over_the_strokes(qtbot):
    state = _state()
    pad = PadPanel(state)
    qtbot.addWidget(pad)
    pad.resize(620, 360)
    pad.show()
    qtbot.waitExposed(pad)
    c = pad.canvas
    side = min(c.width(), c.height())
    x0, y0 = (c.width() - side) / 2, (c.height() - side) / 2
    seven = [(0.3, 0.25), (0.7, 0.25), (0.45, 0.8)]
    points = [QPointF(x0 + side * (a[0] + t * (b[0] - a[0])),
                      y0 + side * (a[1] + t * (b[1] - a[1])))
              for a, b in zip(seven, seven[1:]) for t in np.linspace(0, 1, 10)]
    _drag(c, points)
    qtbot.waitUntil(lambda: pad.overlay is not None and not pad.runner.busy, timeout=10_000)

    # the caption names the class the network reads, and says which colour means what
    top = int(np.argmax(pad.probabilities))
    name = NAMES[top]
    assert pad.prediction.text().startswith(name)
    assert pad.why_caption.text() == (f"Why {name}: orange where ink makes it more a {name}, "
                                      f"blue where less.")
    # the map is nncore's saliency of that class for what the network sees
    net = Network.from_spec(SPEC, seed=0)
    x = Preprocessing().apply(pad.input28.reshape(1, 1, 28, 28))
    np.testing.assert_allclose(pad.saliency, saliency(net, x, [top])[0, 0], rtol=1e-4,
                               atol=1e-7)
    # shown over the digit: the strokes change the picture exactly where they are
    ink = pad.input28 > 0
    assert ink.sum() > 20
    bare = saliency_overlay(np.zeros_like(pad.input28), pad.saliency)
    changed = np.any(bare != pad.overlay, axis=-1)
    assert changed[ink].mean() > 0.9 and not changed[~ink].any()
    np.testing.assert_array_equal(pad.why.image, pad.overlay)
    # orange where more ink raises the score, blue where it lowers it
    s = pad.saliency
    up, down = np.unravel_index(np.argmax(s), s.shape), np.unravel_index(np.argmin(s), s.shape)
    o = pad.overlay.astype(int)
    assert o[up][0] > o[up][2] + 40 and o[down][2] > o[down][0] + 40
    # next to what the network sees, at the same size: the pixels line up
    assert pad.why.size() == pad.seen.size()
    assert pad.why.geometry().top() == pad.seen.geometry().top()
    assert pad.why.geometry().left() > pad.seen.geometry().right()
    # Clear empties both pictures and the caption
    pad.clear_button.click()
    assert pad.overlay is None and not pad.why.item.isVisible() and pad.why_caption.text() == ""


def test_saliency_overlay_colours():
    image = np.zeros((2, 3), dtype=np.uint8)
    image[:, 2] = 255
    sal = np.array([[1.0, 0.0, 1.0], [-1.0, 0.0, -1.0]])
    rgb = saliency_overlay(image, sal).astype(int)
    orange = np.array(SIGNED_CMAP.map(1.0, mode="byte")[:3])
    blue = np.array(SIGNED_CMAP.map(0.0, mode="byte")[:3])
    assert (rgb[0, 1] == 255).all() and (rgb[1, 1] == 255).all()     # 0: white paper
    np.testing.assert_array_equal(rgb[0, 2], orange)                 # full ink: the colour
    np.testing.assert_array_equal(rgb[1, 2], blue)
    assert rgb[0, 0][0] > rgb[0, 0][2] and rgb[1, 0][2] > rgb[1, 0][0]   # paper: fainter
    assert (rgb[0, 0] > rgb[0, 2]).all()


def test_the_detail_names_the_class_its_saliency_explains(qtbot):
    state = _state()
    detail = ImageDetail(state, InspectModel(state))
    qtbot.addWidget(detail)
    detail.show()
    detail.show_image(0)                                     # a "four"
    qtbot.waitUntil(lambda: detail.result is not None and not detail.runner.busy,
                    timeout=10_000)
    pred = NAMES[detail.result["predicted"]]
    p = detail.result["probabilities"][detail.result["predicted"]]
    # the probability said as the thumbnails and the pad say it (not "100.0%" beside ">99%")
    assert f"predicted {pred} ({probability_text(p)}, " in detail.title.text()
    assert detail.saliency_for.itemText(0) == f"why {pred} (predicted)"
    assert detail.saliency_for.itemText(1) == "why four (true class)"
    assert detail.saliency_caption.text().startswith(f"Why {pred}: orange where ink makes it")
    np.testing.assert_array_equal(detail.saliency.image, detail.result["overlay_predicted"])
    detail.saliency_for.setCurrentIndex(1)
    assert detail.saliency_caption.text().startswith("Why four: orange where ink makes it")
    np.testing.assert_array_equal(detail.saliency.image, detail.result["overlay_true"])
    assert detail.picture.size() == detail.saliency.size()


def test_thumbnails_show_predicted_and_true_probability_as_labelled_bars(qtbot):
    rng = np.random.default_rng(0)
    images = (rng.random((3, 1, 28, 28)) * 255).astype(np.uint8)
    p = np.full((3, 10), 0.01)
    p[0, 9], p[0, 4] = 0.81, 0.11                    # a 4 read as 9
    p[1, 3] = 0.91                                   # a 3 read right
    p[2, 5], p[2, 3] = 0.9995, 0.0004
    labels = np.array([4, 3, 3])
    view, cells, delegate = thumbnail_view(qtbot, 400, 200)
    names = [str(i) for i in range(10)]
    cells.set_cell([0, 1, 2], images, p, labels, names)
    shot = view.grab().toImage()

    wrong, right, sure = (delegate._thumbs[r][1] for r in range(3))
    assert [(r.label, r.value) for r in wrong] == [("9", "81%"), ("4", "11%")]
    assert [r.colour for r in wrong] == [BAD, GOOD]
    assert [(r.label, r.value, r.colour) for r in right] == [("3", "91%", GOOD)]
    assert [(r.label, r.value) for r in sure] == [("5", ">99%"), ("3", "<1%")]
    # the bars: most of the cell's width, as long as the probability, thick enough to see
    for row in wrong:
        assert row.track.width() >= CELL_W - 12 and row.track.height() >= 5
        assert row.bar.width() == round(row.p * row.track.width())
    assert delegate._font.pointSize() == LABEL_PT >= 8
    # and they are painted: red along 81% of the first row's track, grey after it
    rect = view.visualRect(cells.index(0))
    bar = wrong[0].bar
    y = rect.y() + 4 + 56 + 3 + bar.center().y()
    x_in = rect.x() + bar.x() + bar.width() - 3
    x_out = rect.x() + bar.x() + bar.width() + 3
    assert shot.pixelColor(x_in, y) == BAD
    assert shot.pixelColor(x_out, y) == delegate.TRACK
    # the tooltip has both numbers precisely
    tip = cells.data(cells.index(0), Qt.ItemDataRole.ToolTipRole)
    assert "true 4 (probability 0.110)" in tip and "predicted 9 (probability 0.810)" in tip


def test_long_class_names_are_elided_and_percentages_never_overstate():
    assert [probability_text(v) for v in (1.0, 0.999, 0.994, 0.5, 0.004, 0.0)] == \
        ["100%", ">99%", "99%", "50%", "<1%", "0%"]
    from PySide6.QtGui import QFont, QFontMetrics

    from app.inspect.gallery import thumb_row
    font = QFont()
    font.setPointSize(LABEL_PT)
    metrics = QFontMetrics(font)
    row = thumb_row("Ankle boot with laces", 0.42, BAD, 1, metrics)
    assert row.label.endswith("…") and metrics.horizontalAdvance(row.label) <= \
        row.label_rect.width()
    assert row.label_rect.right() < row.value_rect.left()
    assert row.label_rect.top() > 0                  # the second row, below the first


def test_the_true_class_is_marked_even_when_its_probability_is_zero(qtbot):
    from app.inspect.common import ProbabilityBars
    bars = ProbabilityBars()
    qtbot.addWidget(bars)
    p = np.zeros(10)
    p[6] = 1.0
    bars.set_probabilities(p, true=2)                 # a confident mistake: 2 read as 6
    xs, ys = bars.true_mark.getData()
    assert list(xs) == [2] and 0 < ys[0] < 0.1
    assert "the true class, 2" in bars.toolTip()
    bars.set_probabilities(p)                         # a drawing: no true class
    assert len(bars.true_mark.getData()[0]) == 0
