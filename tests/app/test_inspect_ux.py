"""The inspection panels as a learner meets them in the window: the drawing pad keeps its size
while predictions arrive, clicking a confusion cell brings its images into view, signed values
share one colour map, the weights view says why it is empty (pytest-qt)."""
import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget

from app.inspect.pad import PadPanel
from app.main_window import _scrollable
from app.state import StudioState

#: Garbage collected in the GUI thread only (see conftest.gc_in_gui_thread).
pytestmark = pytest.mark.usefixtures("gc_in_gui_thread")

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


# ---- in the window: room for the matrix, and its images in view when a cell is clicked ----
def _in_view(widget) -> bool:
    """On screen: shown and not tabbed behind another dock (that has no visible region)."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def _scroll_area(widget):
    from PySide6.QtWidgets import QScrollArea
    area = widget.parentWidget()
    while area is not None and not isinstance(area, QScrollArea):
        area = area.parentWidget()
    return area


def test_clicking_a_cell_brings_its_images_into_view_next_to_the_matrix(qtbot, window):
    w = window
    qtbot.waitUntil(lambda: hasattr(w, "inspection_docks"))
    config = w.state.config
    config.epochs, config.subset_per_class = 1, 20
    w.state.set_config(config)
    w.controller.train()
    qtbot.waitUntil(lambda: w.state.run_state == "finished" and bool(w.state.epochs),
                    timeout=30_000)
    conf = w.findChild(QWidget, "confusionPanel")
    gallery = w.findChild(QWidget, "galleryPanel")
    docks = {d.widget().widget().objectName(): d for d in w.inspection_docks}
    docks["confusionPanel"].raise_()            # the learner picks the matrix's tab
    k = len(w.state.data.class_names)
    # drawn: the matrix is painted where the learner clicks (the view's range is applied when
    # it paints)
    qtbot.waitUntil(lambda: _in_view(conf) and conf.image.isVisible() and conf.plot_widget
                    .viewport().rect().contains(conf.cell_centre(k - 1, k - 1)))
    assert not _in_view(gallery)                # behind the weights, as it starts

    # the matrix has room: no scrolling, every header whole
    area = _scroll_area(conf)
    assert area.verticalScrollBar().maximum() == 0
    assert area.horizontalScrollBar().maximum() == 0
    header = conf.table.horizontalHeader()
    for c in range(header.count()):
        text = conf.table_model.headerData(c, Qt.Orientation.Horizontal)
        assert header.sectionSize(c) >= header.fontMetrics().horizontalAdvance(text) + 8, text
    assert conf.table.horizontalScrollBar().maximum() == 0

    cm = conf.cm
    off = cm.copy()
    np.fill_diagonal(off, 0)
    i, j = np.unravel_index(np.argmax(off), off.shape) if off.any() else (0, 0)
    qtbot.mouseClick(conf.plot_widget.viewport(), Qt.MouseButton.LeftButton,
                     pos=conf.cell_centre(i, j))
    qtbot.waitUntil(lambda: _in_view(gallery) and gallery.cells.rowCount() == cm[i, j])
    assert _in_view(conf)                       # both in view: the matrix and its images
    ev = w.state.epochs[-1].evaluation
    expected = np.flatnonzero((ev.targets == i) & (ev.predictions == j))
    assert sorted(gallery.shown_indices()) == sorted(expected)
    names = w.state.data.class_names
    n = int(cm[i, j])
    assert gallery.header.text().startswith(
        f"true {names[i]}, predicted {names[j]}: {n:,} image{'' if n == 1 else 's'}")

    # closed by the learner: a click opens it again
    docks["galleryPanel"].close()
    qtbot.waitUntil(lambda: not docks["galleryPanel"].isVisible())
    qtbot.mouseClick(conf.plot_widget.viewport(), Qt.MouseButton.LeftButton,
                     pos=conf.cell_centre(0, 0))
    qtbot.waitUntil(lambda: _in_view(gallery) and gallery.cells.rowCount() == cm[0, 0])
    assert gallery.header.text().startswith(f"true {names[0]}, predicted {names[0]}: ")

    # Reset layout puts them back in their two groups
    w.menus.actions["reset_layout"].trigger()
    docks["confusionPanel"].raise_()
    qtbot.waitUntil(lambda: _in_view(conf))
    assert docks["galleryPanel"] not in w.tabifiedDockWidgets(docks["confusionPanel"])
    assert w.layout_.docks["loss"] in w.tabifiedDockWidgets(docks["confusionPanel"])


# ---- one colour map for signed values; the weights view says why it is empty -------------
@pytest.fixture
def small_state():
    """A state with a few 28x28 evaluation images and the small network (no training)."""
    from app.state import EvalData
    from nncore.data import Preprocessing
    rng = np.random.default_rng(0)
    images = (rng.random((6, 1, 28, 28)) * 255).astype(np.uint8)
    state = StudioState()
    state.spec = DEFAULT_SPEC
    state.data = EvalData([str(i) for i in range(10)], images, np.arange(6) % 10,
                          Preprocessing())
    return state


def test_signed_values_share_one_colour_map_everywhere(qtbot, small_state):
    from app.builder import diagram
    from app.icons import icon
    from app.inspect.backward import BackwardPanel
    from app.inspect.gallery import ImageDetail
    from app.inspect.model import InspectModel
    from app.views.weights import SIGNED_CMAP, WeightTilesView

    lut = SIGNED_CMAP.getLookupTable(0.0, 1.0, 256, mode="byte")
    # blue negative, white zero, orange positive: the colours of the diagram's weight lines
    assert SIGNED_CMAP.map(0.0, mode="qcolor") == diagram.NEGATIVE
    assert SIGNED_CMAP.map(1.0, mode="qcolor") == diagram.POSITIVE
    assert SIGNED_CMAP.map(0.5, mode="qcolor").lightness() > 240

    weights = WeightTilesView(small_state, None, icon)
    backward = BackwardPanel(small_state)
    detail = ImageDetail(small_state, InspectModel(small_state))
    for w in (weights, backward, detail):
        qtbot.addWidget(w)
    for item in (weights.image, backward.grad_image.item):
        np.testing.assert_array_equal(item.getColorMap().getLookupTable(0.0, 1.0, 256,
                                                                         mode="byte"), lut)
    assert weights.findChild(QWidget, "signedLegend") is not None

    # saliency keeps its sign, laid over the image (pad.saliency_overlay): ink that would
    # raise the class's score orange, lower it blue (the map's two ends); signed activations
    # in the same colours
    detail.show_image(2)
    qtbot.waitUntil(lambda: detail.result is not None and not detail.runner.busy,
                    timeout=10_000)
    m = detail.result["saliency_predicted"]
    assert m.min() < 0 < m.max()
    rgb = detail.saliency.image.astype(int)
    assert rgb.shape == m.shape + (3,)
    most, least = np.unravel_index(np.argmax(m), m.shape), np.unravel_index(np.argmin(m),
                                                                             m.shape)
    assert rgb[most][0] > rgb[most][2] + 40 and rgb[least][2] > rgb[least][0] + 40
    assert "orange" in detail.saliency_for.toolTip() and "blue" in detail.saliency_for.toolTip()
    signed = [pane for pane in detail.layer_panes if np.nanmin(pane.image) < 0]
    assert signed, "the Dense layers' outputs have both signs"
    for pane in signed:
        np.testing.assert_array_equal(
            pane.item.getColorMap().getLookupTable(0.0, 1.0, 256, mode="byte"), lut)


def test_the_weights_view_says_why_it_is_empty(qtbot, small_state):
    from app.icons import icon
    from app.state import SpecCheck
    from app.training.payloads import view_data
    from app.views.weights import WeightTilesView
    from nncore import Network, SpecError

    data = small_state.data
    small_state.data = None
    view = WeightTilesView(small_state, None, icon)
    qtbot.addWidget(view)
    assert view.note.text().startswith("Loading MNIST")              # launch
    small_state.data = data
    small_state.dataChanged.emit(data)                               # loaded, no network yet
    assert view.note.text().startswith("Building the network")
    assert "loaded" not in view.note.text()
    small_state.set_spec_check(SpecCheck(rows=[], error=SpecError("Dense expects flat input")))
    assert "network has an error" in view.note.text()
    small_state.set_spec_check(SpecCheck(rows=[]))
    assert view.note.text().startswith("Building the network")
    net = Network.from_spec(DEFAULT_SPEC, seed=0)
    small_state.views = view_data(net, 0, None)                       # its weights arrive
    small_state.viewsChanged.emit(small_state.views)
    qtbot.waitUntil(lambda: "32 units" in view.note.text())
    assert view.image.image is not None


def test_evaluating_again_at_an_epochs_step_gives_that_entry_its_images(qapp):
    """After a project is opened its last epoch's matrix is there but not its predictions
    (not in the file); Evaluate now at that step gives the epoch's entry its images instead
    of adding a second "step N" beside it (tester 7)."""
    import numpy as np
    from app.inspect.model import InspectModel
    from app.state import EpochReport, StudioState
    from nncore.train import EpochEvent, Evaluation
    state = StudioState()
    model = InspectModel(state)
    cm = np.eye(3, dtype=int) * 5
    event = EpochEvent(epoch=1, step=32, train_loss=0.3, train_accuracy=0.9, val_loss=0.4,
                       val_accuracy=0.88, seconds=1.0, samples_per_sec=10.0)
    event.confusion = cm
    state.epochs.append(EpochReport(event, None))           # as opened from a file
    state.historyReset.emit()
    assert [e.label for e in model.entries] == ["epoch 1"]
    assert model.evaluation_for_images() == (None, None)
    evaluation = Evaluation(0.4, 1.0, np.zeros((15, 3)), np.repeat(np.arange(3), 5),
                            np.repeat(np.arange(3), 5), cm)
    model.add_on_demand(evaluation, step=32)
    assert [e.label for e in model.entries] == ["epoch 1"]      # no second entry
    assert model.evaluation_for_images() == (evaluation, model.entries[0])
    model.add_on_demand(evaluation, step=40)                     # trained on: a new one
    assert [e.label for e in model.entries] == ["epoch 1", "step 40 (now)"]
