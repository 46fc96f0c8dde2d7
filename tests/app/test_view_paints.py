"""Panels that keep what they drew between paints: the weight and gradient histograms (paths
built once per histogram), the gallery's thumbnails (worked out once per cell shown) and the
network diagram (a pixmap of all but the weight lines). What they show must follow the data."""
from __future__ import annotations

import numpy as np

from app.builder.diagram import NetworkDiagram
from app.builder.editor import check_spec
from app.icons import icon
from app.state import Histogram, ModelSnapshot, StudioState, ViewData
from app.views.weights import HistogramView

from .helpers import thumbnail_view


def _hist(counts, lo, hi):
    counts = np.asarray(counts, dtype=np.int64)
    return Histogram(np.linspace(lo, hi, len(counts) + 1), counts)


def _views(w_hist, g_hist):
    return ViewData(step=1, weight_hists={0: w_hist}, grad_hists={0: g_hist}, tiles=None,
                    tile_layers=[], layer_names={0: "Dense(units=4)"})


def test_histogram_paths_follow_each_new_histogram_and_export_as_csv(qtbot, tmp_path):
    state = StudioState()
    view = HistogramView(state, icon)
    qtbot.addWidget(view)
    view.resize(400, 420)
    view.show()
    qtbot.waitExposed(view)
    state.views = _views(_hist([1, 5, 2], -1.0, 2.0), _hist([4, 0, 0, 8], 0.0, 0.4))
    view.redraw_now()
    outline = view.w_curve.outline.path()
    # a step outline from 0 up to each count and down to 0 again: two points per edge
    assert outline.elementCount() == 2 * 4
    points = [(outline.elementAt(i).x, outline.elementAt(i).y) for i in range(8)]
    assert points == [(-1, 0), (-1, 1), (0, 1), (0, 5), (1, 5), (1, 2), (2, 2), (2, 0)]
    rect = view.g_curve.fill.path().boundingRect()
    assert (rect.left(), rect.right(), rect.top(), rect.bottom()) == (0.0, 0.4, 0.0, 8.0)
    image = view.graphics.grab().toImage()
    blues = sum(1 for x in range(0, image.width(), 3) for y in range(0, image.height() // 2, 3)
                if image.pixelColor(x, y).blue() > image.pixelColor(x, y).red() + 40)
    assert blues > 50                              # the weights' histogram is drawn, filled
    assert view.export_csv(str(tmp_path / "h.csv")) == [str(tmp_path / "h-1.csv"),
                                                          str(tmp_path / "h-2.csv")]
    assert (tmp_path / "h-1.csv").read_text().startswith("left,right,count\n")
    rows = np.loadtxt(tmp_path / "h-1.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(rows, [[-1, 0, 1], [0, 1, 5], [1, 2, 2]])
    assert np.loadtxt(tmp_path / "h-2.csv", delimiter=",", skiprows=1)[:, 2].tolist() == \
        [4, 0, 0, 8]
    # new weights: new paths; a layer without gradients: an empty one
    state.views = ViewData(step=2, weight_hists={0: _hist([3, 3], 0.0, 1.0)}, grad_hists={},
                           tiles=None, tile_layers=[], layer_names={0: "Dense(units=4)"})
    view.redraw_now()
    assert view.w_curve.outline.path().boundingRect().bottom() == 3.0
    assert view.g_curve.outline.path().isEmpty() and view.g_curve.histogram is None


def test_gallery_thumbnails_are_rendered_again_for_a_new_cell(qtbot):
    rng = np.random.default_rng(0)
    images = (rng.random((6, 1, 28, 28)) * 255).astype(np.uint8)
    probabilities = rng.dirichlet(np.ones(10), 6)
    labels = np.arange(6)
    view, cells, delegate = thumbnail_view(qtbot, 400, 300)
    cells.set_cell([0, 1, 2], images, probabilities, labels, [str(i) for i in range(10)])
    first = view.grab().toImage()
    assert sorted(delegate._thumbs) == [0, 1, 2]
    kept = dict(delegate._thumbs)
    assert view.grab().toImage() == first          # a repaint draws what was worked out
    assert all(delegate._thumbs[k] is kept[k] for k in kept)
    # the true class (row r's label is r) in green, its bar as long as its probability
    from app.inspect.common import GOOD
    green = next(row for row in kept[1][1] if row.colour == GOOD)
    assert green.label == "1"
    assert green.bar.width() == round(probabilities[1, 1] * green.track.width())
    images[:] = 255 - images                       # other images in the next cell shown
    cells.set_cell([0, 1, 2], images, probabilities, labels, [str(i) for i in range(10)])
    assert delegate._thumbs == {}
    assert view.grab().toImage() != first


def test_diagram_keeps_its_blocks_while_weights_change_and_redraws_them_for_a_new_network(
        qtbot):
    state = StudioState()
    spec = {"input_shape": [1, 28, 28], "layers": [{"type": "Flatten"},
                                                   {"type": "Dense", "units": 6}]}
    state.set_spec(spec)
    state.set_spec_check(check_spec(state.spec))
    diagram = NetworkDiagram(state)
    qtbot.addWidget(diagram)
    diagram.resize(700, 300)
    diagram.show()
    qtbot.waitExposed(diagram)
    diagram.canvas.grab()
    overlay = diagram.canvas._overlay
    assert overlay is not None and len(overlay[2]) == 0    # 784 inputs: a block, no lines
    rng = np.random.default_rng(1)
    state.snapshot = ModelSnapshot(state.spec, "float32",
                                   {"1.W": rng.normal(size=(784, 6)).astype(np.float32)})
    state.snapshotChanged.emit(state.snapshot)
    diagram.canvas.grab()
    assert diagram.canvas._overlay is overlay              # new weights: the blocks are kept
    spec["layers"].append({"type": "Dense", "units": 3})   # a small Dense: drawn as neurons
    state.set_spec(spec)
    state.set_spec_check(check_spec(state.spec))
    before = diagram.canvas.grab().toImage()
    assert diagram.canvas._overlay is not overlay
    assert len(diagram.canvas._overlay[2]) == 1
    assert "3. Dense" in [place[2] for place in diagram.canvas._places]
    # its weights arrive: drawn as lines under the neurons (the same blocks)
    overlay = diagram.canvas._overlay
    state.snapshot = ModelSnapshot(state.spec, "float32", {
        "1.W": rng.normal(size=(784, 6)).astype(np.float32),
        "2.W": rng.normal(size=(6, 3)).astype(np.float32)})
    state.snapshotChanged.emit(state.snapshot)
    after = diagram.canvas.grab().toImage()
    assert after != before
    assert diagram.canvas._overlay is not overlay          # grey lines gone: drawn again


def test_histogram_legend_puts_the_numbers_first_and_says_when_there_are_no_gradients(qtbot):
    """Tester 7: the 149-px legend read "exactly 0, not shown: 7" (79%); an opened project's
    zero gradients were drawn as a histogram of exact zeros."""
    state = StudioState()
    view = HistogramView(state, icon)
    qtbot.addWidget(view)
    zeros = Histogram(np.linspace(-1, 1, 3), np.array([1, 1]), zero_fraction=0.79)
    state.views = _views(_hist([1, 2], -1, 1), zeros)
    view.redraw_now()
    assert view.legend.text().startswith("79% of dL/dW = 0")
    state.views = ViewData(step=0, weight_hists={0: _hist([1, 2], -1, 1)}, grad_hists={},
                           tiles=None, tile_layers=[], layer_names={0: "Dense(units=4)"})
    view.redraw_now()
    assert view.legend.text() == "no dL/dW yet: train a batch"
    assert view.g_curve.histogram is None


def test_view_data_of_a_network_without_gradients_has_no_gradient_histograms():
    from app.training.payloads import view_data
    from nncore import Network
    net = Network.from_spec({"input_shape": [4], "layers": [{"type": "Dense", "units": 3}]})
    assert view_data(net, 0, None, with_grads=False).grad_hists == {}
    assert set(view_data(net, 0, None).weight_hists) == {0}


def test_the_mosaics_column_lines_stop_above_the_last_rows_empty_slots(qtbot):
    from app.state import TileImage
    from app.views.weights import WeightTilesView
    state = StudioState()
    view = WeightTilesView(state, None, icon)
    qtbot.addWidget(view)
    image = np.zeros((2 * 3 - 1, 3 * 3 - 1), np.float32)      # 4 tiles of 2x2 in 2 rows of 3
    state.views = ViewData(step=1, weight_hists={}, grad_hists={}, layer_names={},
                           tiles=TileImage(layer=0, image=image, tiles=4, tile_shape=(2, 2),
                                           grid=(2, 3), vmax=1.0, grouped=True),
                           tile_layers=[(0, "1. Conv2D")])
    view.redraw_now()
    path = view.gaps.path()
    segments = [(path.elementAt(i), path.elementAt(i + 1)) for i in range(0, 6, 2)]
    # column lines at x = 2.5 (beside the last row's tile: all the way down) and x = 5.5
    # (beside an empty slot: down to the first row only); then the row line
    assert [(a.x, a.y, b.x, b.y) for a, b in segments] == [
        (2.5, 0, 2.5, 5), (5.5, 0, 5.5, 2), (0, 2.5, 8, 2.5)]


def test_histograms_are_made_only_while_their_panel_is_shown(qtbot, window):
    """The histogram panel is a tab behind the weights at launch: the worker makes no
    histograms for it (1.5 ms of the training thread each time); picking its tab brings
    them at once, hiding it again stops them."""
    from .helpers import button, click
    docks = window.layout_.docks
    assert not window.histogram_view.when_seen.seen()      # a tab behind the weights
    click(qtbot, button(window, "stepBatchButton"))
    qtbot.waitUntil(lambda: window.state.history.steps == 1
                    and window.state.views is not None and window.state.views.step == 1)
    assert window.state.views.weight_hists is None and window.state.views.tiles is not None
    docks["histograms"].raise_()                   # the learner picks the Histograms tab
    qtbot.waitUntil(lambda: window.state.views.weight_hists is not None)
    assert sorted(window.state.views.grad_hists) == [1, 3]      # both Dense layers
    qtbot.waitUntil(lambda: window.histogram_view.g_curve.histogram is not None)
    assert "no dL/dW yet" not in window.histogram_view.legend.text()
    docks["weights"].raise_()                      # back to the weights: no more histograms
    click(qtbot, button(window, "stepBatchButton"))
    qtbot.waitUntil(lambda: window.state.views.step == 2)
    assert window.state.views.weight_hists is None
    assert window.histogram_view.g_curve.histogram is not None  # what it drew stays
