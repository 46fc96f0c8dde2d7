"""The inspection panels, driven as a learner would: click, draw, press buttons (pytest-qt).

A tiny synthetic digit set (10 classes, 28x28) and the default network, trained for two short
epochs, fill a StudioState the way the training worker does.
"""
import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from app.inspect import create_panels
from app.state import EpochReport, EvalData, ModelSnapshot, StudioState
from nncore import CrossEntropyLoss, Network
from nncore.data import Preprocessing
from nncore.inspect import cell_indices, layer_reports, prepare_drawing
from nncore.metrics import confusion_matrix
from nncore.optim import SGD
from nncore.train import Trainer

#: Panels on their own run jobs in superqt's thread pool: garbage only collected in the GUI
#: thread (conftest.gc_in_gui_thread; a widget freed in a pool thread made this module flaky).
pytestmark = pytest.mark.usefixtures("gc_in_gui_thread")

DEFAULT_SPEC = {"input_shape": [1, 28, 28],
                "layers": [{"type": "Flatten"}, {"type": "Dense", "units": 128},
                           {"type": "ReLU"}, {"type": "Dense", "units": 10},
                           {"type": "Softmax"}]}


def synthetic_digits(n, seed):
    """n noisy 28x28 uint8 images of 10 classes: each class a fixed blurry stroke pattern."""
    rng = np.random.default_rng(1234)
    templates = np.zeros((10, 28, 28))
    for k in range(10):
        for _ in range(3):
            r0, c0 = rng.integers(6, 22, 2)
            r1, c1 = rng.integers(6, 22, 2)
            for t in np.linspace(0, 1, 30):
                r, c = int(r0 + t * (r1 - r0)), int(c0 + t * (c1 - c0))
                templates[k, r - 1:r + 2, c - 1:c + 2] = 1.0
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    shift = rng.integers(-2, 3, (n, 2))
    x = np.stack([np.roll(templates[k], tuple(s), axis=(0, 1)) for k, s in zip(y, shift)])
    x = np.clip(x * rng.uniform(0.5, 1.0, (n, 1, 1)) + rng.normal(0, 0.35, x.shape), 0, 1)
    return (x * 255).astype(np.uint8)[:, None], y


def push_epoch(state, report):
    if hasattr(state, "add_epoch"):
        state.add_epoch(report)
    else:
        state.epochs.append(report)
        state.epochEvaluated.emit(report)


def push_batches(state, events):
    if hasattr(state, "add_batches"):
        state.add_batches(events)
    else:
        state.batches.extend(events)
        state.batchTrained.emit(events[-1])


def push_snapshot(state, trainer):
    state.snapshot = ModelSnapshot(DEFAULT_SPEC, "float32", trainer.net.get_weights(),
                                   trainer.step, trainer.epoch)
    state.snapshotChanged.emit(state.snapshot)


@pytest.fixture(scope="module")
def trained():
    """(state, trainer, x_eval, y_eval) after two short epochs; the state filled as by the worker."""
    x_tr, y_tr = synthetic_digits(400, seed=1)
    x_ev, y_ev = synthetic_digits(150, seed=2)
    pre = Preprocessing()
    net = Network.from_spec(DEFAULT_SPEC, seed=0)
    trainer = Trainer(net, CrossEntropyLoss(), SGD(net, lr=0.05), pre.apply(x_tr), y_tr,
                      pre.apply(x_ev), y_ev, batch_size=50)
    state = StudioState()
    state.spec = DEFAULT_SPEC
    state.data = EvalData([str(i) for i in range(10)], x_ev, y_ev, pre)
    state.dataChanged.emit(state.data)
    return state, trainer, x_ev, y_ev


def train_epochs(state, trainer, epochs):
    for _ in range(epochs):
        events = []
        ev = trainer.run_epoch(on_batch=events.append)
        push_batches(state, events)
        push_snapshot(state, trainer)
        push_epoch(state, EpochReport(ev, trainer.evaluate(trainer.x_val, trainer.y_val)))


@pytest.fixture
def panels(qtbot, trained):
    state = trained[0]
    made = create_panels(state, None)
    widgets = {name: w for _, w, name in made}
    for w in widgets.values():
        qtbot.addWidget(w)
    yield widgets
    for w in widgets.values():
        for runner in _runners(w):
            qtbot.waitUntil(lambda r=runner: not r.busy, timeout=20000)


def _runners(widget):
    from app.inspect.common import JobRunner
    return widget.findChildren(JobRunner)


def test_create_panels_gives_five_named_docks(trained, qtbot):
    made = create_panels(trained[0], None)
    for _, w, _ in made:
        qtbot.addWidget(w)
    assert [name for _, _, name in made] == ["confusionPanel", "galleryPanel",
                                             "drawingPadPanel", "backwardPanel",
                                             "gradCheckPanel"]
    assert all(title for title, _, _ in made)


def test_confusion_matrix_after_training_matches_nncore(panels, trained, qtbot):
    state, trainer, x_ev, y_ev = trained
    conf = panels["confusionPanel"]
    train_epochs(state, trainer, 2)
    assert conf.cm is not None
    ev = state.epochs[-1].evaluation
    assert conf.cm.sum() == len(y_ev) == 150
    np.testing.assert_array_equal(conf.cm, confusion_matrix(y_ev, ev.predictions, 10))
    np.testing.assert_array_equal(conf.cm, state.epochs[-1].event.confusion)
    texts = conf.shown_texts()
    assert texts[3, 3] == str(conf.cm[3, 3])
    # the slider goes back to epoch 1, whose matrix nncore recorded in its EpochEvent
    assert conf.slider.maximum() == len(state.epochs) - 1
    conf.slider.setValue(0)
    np.testing.assert_array_equal(conf.cm, state.epochs[0].event.confusion)
    assert "epoch 1" in conf.slider_label.text()
    conf.slider.setValue(conf.slider.maximum())
    # row percentages
    conf.mode.setCurrentIndex(1)
    row = conf.cm[0] / conf.cm[0].sum() * 100
    j = int(np.argmax(row))
    assert float(conf.shown_texts()[0, j]) == pytest.approx(row[j], abs=0.51 if row[j] >= 10 else 0.051)
    conf.mode.setCurrentIndex(0)
    # per-class table sorts numerically by recall
    conf.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    recalls = [float(conf.proxy.index(r, 2).data()) for r in range(10)]
    assert recalls == sorted(recalls, reverse=True)
    # per-class accuracy curves: one per class, one point per epoch
    items = conf.curves.getPlotItem().listDataItems()
    assert len(items) == 10 and len(items[0].getData()[0]) == len(state.epochs)


def _click_cell(qtbot, conf, i, j):
    conf.resize(900, 600)
    conf.show()
    qtbot.waitExposed(conf)
    qtbot.wait(20)                        # let the plot settle into its new size
    pos = conf.cell_centre(i, j)
    qtbot.mouseClick(conf.plot_widget.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_clicking_a_cell_shows_exactly_its_images(panels, trained, qtbot):
    state, trainer, x_ev, y_ev = trained
    if not state.epochs:
        train_epochs(state, trainer, 2)
    conf, gallery = panels["confusionPanel"], panels["galleryPanel"]
    cm = conf.cm
    off = cm.copy()
    np.fill_diagonal(off, 0)
    i, j = np.unravel_index(np.argmax(off), off.shape)
    assert cm[i, j] > 0, "the tiny network should still confuse something"
    _click_cell(qtbot, conf, i, j)
    assert panels["confusionPanel"].model.cell == (i, j)
    ev = state.epochs[-1].evaluation
    shown = gallery.shown_indices()
    assert len(shown) == cm[i, j] == gallery.cells.rowCount()
    assert set(shown) == set(np.flatnonzero((y_ev == i) & (ev.predictions == j)))
    assert set(shown) == set(cell_indices(y_ev, ev.predictions, i, j))
    # a diagonal cell too
    _click_cell(qtbot, conf, 0, 0)
    assert len(gallery.shown_indices()) == cm[0, 0]
    assert gallery.header.text().startswith(f"true 0, predicted 0: {cm[0, 0]:,} images")


def test_clicking_an_image_opens_its_detail(panels, trained, qtbot):
    state, trainer, x_ev, y_ev = trained
    if not state.epochs:
        train_epochs(state, trainer, 2)
    conf, gallery = panels["confusionPanel"], panels["galleryPanel"]
    off = conf.cm.copy()
    np.fill_diagonal(off, 0)
    i, j = np.unravel_index(np.argmax(off), off.shape)
    conf.model.select_cell(i, j)
    gallery.resize(500, 400)
    gallery.show()
    qtbot.waitExposed(gallery)
    rect = gallery.view.visualRect(gallery.cells.index(0))
    qtbot.mouseClick(gallery.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    k = int(gallery.shown_indices()[0])
    assert gallery.model.image == k
    detail = gallery.detail
    qtbot.waitUntil(lambda: detail.result is not None and detail.index == k, timeout=20000)
    assert gallery.dialog.isVisible()
    res = detail.result
    net = state.snapshot.build()
    p = net.forward(state.data.preprocessing.apply(x_ev[k:k + 1]))[0]
    np.testing.assert_allclose(detail.bars.values, p, rtol=1e-5, atol=1e-7)
    assert res["predicted"] == int(np.argmax(p)) and res["true"] == int(y_ev[k])
    assert len(detail.layer_panes) == len(net.layers)
    assert res["saliency_predicted"].shape == (28, 28)
    gallery.dialog.close()


def _mouse(widget, kind, pos, buttons=Qt.MouseButton.LeftButton):
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    ev = QMouseEvent(kind, QPointF(pos), widget.mapToGlobal(QPointF(pos)), button, buttons,
                     Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, ev)


def draw(canvas, points):
    _mouse(canvas, QEvent.Type.MouseButtonPress, points[0])
    for p in points[1:]:
        _mouse(canvas, QEvent.Type.MouseMove, p)
    _mouse(canvas, QEvent.Type.MouseButtonRelease, points[-1], Qt.MouseButton.NoButton)


def test_a_drawing_on_the_pad_gives_nncores_probabilities(panels, trained, qtbot):
    state, trainer, _, _ = trained
    if state.snapshot is None:
        push_snapshot(state, trainer)
    pad = panels["drawingPadPanel"]
    pad.resize(700, 400)
    pad.show()
    qtbot.waitExposed(pad)
    canvas = pad.canvas
    w, h = canvas.width(), canvas.height()
    side = min(w, h)
    x0, y0 = (w - side) / 2, (h - side) / 2
    # a "7": a bar across the top, then a slanted stroke down
    pts = [(0.3, 0.25), (0.5, 0.25), (0.7, 0.25), (0.6, 0.45), (0.5, 0.65), (0.45, 0.8)]
    draw(canvas, [QPointF(x0 + a * side, y0 + b * side) for a, b in pts])
    assert canvas.has_ink()
    qtbot.waitUntil(lambda: pad.probabilities is not None and not pad.runner.busy,
                    timeout=20000)
    image = prepare_drawing(canvas.ink())
    np.testing.assert_array_equal(pad.input28, image)
    assert image.max() == 255 and (image > 0).sum() > 20
    net = state.snapshot.build()
    p = net.forward(state.data.preprocessing.apply(image[None, None]))[0]
    np.testing.assert_allclose(pad.probabilities, p, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(pad.bars.values, p, rtol=1e-6, atol=1e-8)
    assert pad.prediction.text().startswith(str(int(np.argmax(p))))
    # training moves the weights: the prediction follows the new snapshot
    weights = {k: v * 0.5 for k, v in state.snapshot.weights.items()}
    state.snapshot = ModelSnapshot(DEFAULT_SPEC, "float32", weights, state.snapshot.step + 1,
                                   state.snapshot.epoch)
    old = pad.probabilities
    state.snapshotChanged.emit(state.snapshot)
    qtbot.waitUntil(lambda: pad.probabilities is not old and not pad.runner.busy,
                    timeout=20000)
    p2 = state.snapshot.build().forward(state.data.preprocessing.apply(image[None, None]))[0]
    np.testing.assert_allclose(pad.probabilities, p2, rtol=1e-6, atol=1e-8)
    pad.clear_button.click()
    assert not canvas.has_ink() and pad.probabilities is None
    assert not pad.seen.item.isVisible()
    draw(canvas, [QPointF(x0 + a * side, y0 + b * side) for a, b in [(0.5, 0.2), (0.5, 0.8)]])
    qtbot.waitUntil(lambda: pad.probabilities is not None and not pad.runner.busy,
                    timeout=20000)
    assert pad.seen.item.isVisible()
    np.testing.assert_array_equal(pad.seen.image, prepare_drawing(canvas.ink()))


def test_backward_inspector_shows_the_dense_layers_gradients(panels, trained, qtbot):
    state, trainer, _, _ = trained
    insp = panels["backwardPanel"]
    before = trainer.net.get_weights()
    ev = trainer.step_batch()
    push_batches(state, [ev])
    reports = layer_reports(trainer.net, before)
    state.inspection = reports
    state.inspectionChanged.emit(reports)
    dense = trainer.net.layers[1]
    top = insp.tree.topLevelItem(1)
    assert top.text(0).startswith("2  Dense")           # numbered as in the builder
    w_row = top.child(0)
    assert w_row.text(0).startswith("dW (784, 128)")        # readable from the left edge
    shown_norm = float(w_row.text(0).split("‖dW‖ ")[1].split()[0])
    assert shown_norm == pytest.approx(np.linalg.norm(dense.grads["W"]), rel=5e-3)
    insp.tree.setCurrentItem(w_row)
    np.testing.assert_array_equal(insp.shown_grad, dense.grads["W"])
    assert "dW = Xᵀ·dY" in insp.formula.toPlainText()
    b_row = top.child(1)
    insp.tree.setCurrentItem(b_row)
    np.testing.assert_array_equal(insp.shown_grad, dense.grads["b"])
    assert top.text(6) == f"{np.linalg.norm(dense.last_grad_output):.3g}"
    # the loss row shows the softmax + cross-entropy formula
    last = insp.tree.topLevelItem(insp.tree.topLevelItemCount() - 1)
    insp.tree.setCurrentItem(last)
    assert "(softmax(z) − Y) / N" in insp.formula.toPlainText()
    # gradient norms over time: one curve per layer with weights
    insp._draw_norms()
    assert sorted(insp.norm_curves) == [1, 3]


def test_gradient_check_view_passes_every_layer_of_the_default_network(panels, trained, qtbot):
    pytest.importorskip("nncore.gradcheck")
    view = panels["gradCheckPanel"]
    view.button.click()
    qtbot.waitUntil(lambda: view.results is not None and not view.runner.busy, timeout=30000)
    errors = view.errors()
    assert len(errors) == view.table.rowCount() >= 5       # Dense W, b twice + inputs
    assert np.all(errors < 1e-6), view.summary.text()
    assert all(view.table.item(r, 4).text() == "pass" for r in range(view.table.rowCount()))
    assert "every layer passes" in view.summary.text()


def test_evaluate_now_adds_the_current_networks_matrix(panels, trained, qtbot):
    state, trainer, x_ev, y_ev = trained
    if state.snapshot is None:
        push_snapshot(state, trainer)
    conf = panels["confusionPanel"]
    n_before = len(conf.model.entries)
    conf.evaluate_button.click()
    qtbot.waitUntil(lambda: len(conf.model.entries) == n_before + 1 and not conf.runner.busy,
                    timeout=20000)
    net = state.snapshot.build()
    pred = net.forward(state.data.preprocessing.apply(x_ev)).argmax(axis=1)
    np.testing.assert_array_equal(conf.cm, confusion_matrix(y_ev, pred, 10))
    assert conf.model.current == n_before and "(now)" in conf.slider_label.text()
    assert conf.evaluate_button.isEnabled()


def test_a_rewind_drops_the_later_epochs_from_the_slider(qtbot, trained):
    state = StudioState()
    state.data = trained[0].data
    made = create_panels(state, None)
    for _, w, _ in made:
        qtbot.addWidget(w)
    conf = made[0][1]
    cms = [np.eye(10, dtype=np.int64) * (k + 1) for k in range(3)]
    from nncore.train import EpochEvent
    for k, cm in enumerate(cms):
        push_epoch(state, EpochReport(EpochEvent(k + 1, 10 * (k + 1), 1.0, 0.5, 1.0, 0.5, 1.0,
                                                 1.0, cm), None))
    assert conf.slider.maximum() == 2 and conf.cm[0, 0] == 3
    del state.epochs[1:]
    state.historyReset.emit()
    assert conf.slider.maximum() == 0 and conf.cm[0, 0] == 1
    assert len(conf.curves.getPlotItem().listDataItems()) == 10
    # the gallery has no predictions for these matrices and says so
    conf.model.select_cell(0, 0)
    assert "No evaluation with predictions" in made[1][1].header.text()
