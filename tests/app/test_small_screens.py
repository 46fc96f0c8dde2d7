"""The window on small laptop screens (1024x768, 1366x768), as students use it: every run button
shows a whole label, the backward-pass detail has room, a window made short takes the compact
arrangement, and the confusion matrix's counts are drawn.

The offscreen screen of the tests is 1920x1080; a window on a smaller screen gets the size
``fitted_size`` gives it there (1008x728 on a 1024x768 screen), which these tests give it."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QRectF
from PySide6.QtWidgets import QScrollArea, QWidget

from app.inspect.backward import DETAIL_MIN_H, TREE_MIN_H
from app.layout import COMPACT_HEIGHT, fitted_size
from app.main_window import DEFAULT_SIZE
from app.training.panel import FittingButton

SCREENS = [(1024, 768), (1366, 768)]
RUN_BUTTONS = ["trainButton", "stepBatchButton", "stepEpochButton", "stopButton",
               "rewindButton", "resetButton"]


def _size_for(screen) -> tuple[int, int]:
    """The window's size on a ``screen`` (width, height) screen."""
    return fitted_size(DEFAULT_SIZE, QRect(0, 0, *screen))


def _launched_at(w, qtbot, screen) -> None:
    """As if launched on ``screen``: that size, the default layout made for it."""
    qtbot.waitUntil(lambda: hasattr(w, "inspection_docks"))
    w.resize(*_size_for(screen))
    w.layout_.apply_default()
    qtbot.waitUntil(lambda: (w.width(), w.height()) == _size_for(screen))
    qtbot.wait(50)                              # the docks laid out for it


def _dock_of(widget):
    from PySide6.QtWidgets import QDockWidget
    while widget is not None and not isinstance(widget, QDockWidget):
        widget = widget.parentWidget()
    return widget


def _area_of(widget) -> QScrollArea:
    area = widget.parentWidget()
    while area is not None and not isinstance(area, QScrollArea):
        area = area.parentWidget()
    return area


def _in_view(widget) -> bool:
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def _paused_with_a_rewind_target(w, qtbot) -> None:
    """Step an epoch, then a batch: Rewind then says where it goes ("Rewind to 10")."""
    w.controller.step_epoch()
    qtbot.waitUntil(lambda: w.state.run_state == "paused" and w.state.progress.epoch == 1,
                    timeout=20_000)
    w.controller.step_batch()
    qtbot.waitUntil(lambda: w.state.run_state == "paused"
                    and w.training_panel.rewind_target() is not None, timeout=20_000)


def _assert_whole(b: FittingButton) -> None:
    """The label shown fits the button: text, icon and padding (measured here, not by the
    button's own sums), and it is the longest label that fits."""
    fm = b.fontMetrics()
    text = b.text()
    need = fm.horizontalAdvance(text) + b.iconSize().width() + 4 + 2 * 3 + 2
    assert need <= b.width(), (b.objectName(), text, need, b.width())
    assert b.needed_width(text) <= b.width(), (b.objectName(), text)
    longer = b.labels()[:b.labels().index(text)]
    assert all(b.needed_width(t) > b.width() for t in longer), (b.objectName(), text)
    assert b.toolTip()


def test_every_run_button_shows_a_whole_label(window, qtbot):
    w = window
    _paused_with_a_rewind_target(w, qtbot)
    panel = w.training_panel
    target = panel.rewind_target()
    rewind = panel.rewind_button
    qtbot.waitUntil(lambda: rewind.labels()[0] == f"Rewind to {target:,}")
    assert f"Rewind to {target:,}" in rewind.toolTip()      # the long form, whatever is shown
    for screen in SCREENS:
        _launched_at(w, qtbot, screen)
        for name in RUN_BUTTONS:
            b = w.findChild(FittingButton, name)
            assert b is not None and b.isVisible(), name
            _assert_whole(b)
        if screen == (1366, 768):               # room for the long labels of the steps
            assert panel.step_batch_button.text() == "Step batch"
            assert panel.step_epoch_button.text() == "Step epoch"
    # a panel at its narrowest still shows whole (shorter) labels
    dock = _dock_of(panel)
    w.resizeDocks([dock], [panel.minimumSizeHint().width()], _horizontal())
    qtbot.wait(50)
    for name in RUN_BUTTONS:
        _assert_whole(w.findChild(FittingButton, name))
    # Space is still Train/Pause: the buttons never take the focus
    assert all(w.findChild(FittingButton, n).focusPolicy() == _no_focus() for n in RUN_BUTTONS)


def test_a_fitting_button_shows_the_longest_label_that_fits(qtbot):
    from app.icons import icon
    b = FittingButton(icon("rewind"), ("Rewind to 12,345", "Rewind"))
    qtbot.addWidget(b)
    b.show()
    b.resize(b.needed_width("Rewind to 12,345"), 30)
    qtbot.waitUntil(lambda: b.text() == "Rewind to 12,345")
    b.resize(b.needed_width("Rewind to 12,345") - 1, 30)
    qtbot.waitUntil(lambda: b.text() == "Rewind")
    assert b.sizeHint().width() == b.needed_width("Rewind")     # the layout's ask: the shortest
    b.set_labels("Rewind to 7", "Rewind")                       # a shorter target fits again
    assert b.text() == "Rewind to 7"
    b.setText("Stop")                                           # one label: that one
    assert b.text() == "Stop" and b.labels() == ["Stop"]


def _horizontal():
    from PySide6.QtCore import Qt
    return Qt.Orientation.Horizontal


def _no_focus():
    from PySide6.QtCore import Qt
    return Qt.FocusPolicy.NoFocus


def test_backward_detail_has_room(window, qtbot):
    w = window
    back = w.findChild(QWidget, "backwardPanel")
    for screen in SCREENS:
        _launched_at(w, qtbot, screen)
        _dock_of(back).raise_()
        back.detail.setCurrentIndex(0)
        qtbot.waitUntil(lambda: _in_view(back))
        qtbot.wait(20)                          # the splitter's share, set after the layout
        area = _area_of(back)
        assert area.verticalScrollBar().maximum() == 0      # the whole panel in view
        assert area.horizontalScrollBar().maximum() == 0
        assert back.tree.height() >= TREE_MIN_H
        assert back.detail.height() >= DETAIL_MIN_H
        assert back.formula.height() >= 110 and back.formula.width() >= 200
        assert back.grad_image.height() >= 80
        back.detail.setCurrentIndex(1)                       # the norm plot's tab
        qtbot.waitUntil(lambda: back.norms.isVisible())
        # (at 1024 px the plots column gives ~90 px to the Layers palette, which was left
        # 74 px and unreadable; the Larger button shows this panel whole)
        assert back.norms.height() >= 110 and back.norms.width() >= 360


def test_a_wide_backward_panel_shows_the_norms_beside_the_formulas(window, qtbot):
    w = window
    qtbot.waitUntil(lambda: hasattr(w, "inspection_docks"))
    back = w.findChild(QWidget, "backwardPanel")
    dock = _dock_of(back)
    dock.setFloating(True)
    dock.resize(1000, 600)
    dock.show()
    qtbot.waitUntil(lambda: back.width() >= 900)
    assert back.norms_beside() and back.norms.isVisible()
    assert not back.detail.tabBar().isVisible()
    dock.resize(600, 400)
    qtbot.waitUntil(lambda: back.width() <= 600)
    assert not back.norms_beside() and back.detail.count() == 2
    assert back.detail.tabBar().isVisible()


def test_a_window_made_short_takes_the_compact_arrangement(window, qtbot):
    w = window
    L = w.layout_
    qtbot.waitUntil(lambda: hasattr(w, "inspection_docks"))
    assert w.height() >= COMPACT_HEIGHT and L.arrangement() == "tall"
    conf = w.findChild(QWidget, "confusionPanel")
    _dock_of(conf).raise_()                         # the learner looks at the matrix
    small = _size_for((1366, 768))

    # moved to a laptop: the accuracy plot joins the top group, the matrix stays in front
    w.resize(*small)
    qtbot.waitUntil(lambda: L.arrangement() == "compact")
    qtbot.waitUntil(lambda: _in_view(conf))
    acc, loss = L.docks["accuracy"], L.docks["loss"]
    assert acc in w.tabifiedDockWidgets(loss)
    top, bottom = loss.geometry().height(), L.docks["weights"].geometry().height()
    assert top >= 1.4 * bottom                      # the top group has the room of two rows

    # back on the large screen: the arrangement from before, as it was
    w.resize(*DEFAULT_SIZE)
    qtbot.waitUntil(lambda: L.arrangement() == "tall")
    assert acc not in w.tabifiedDockWidgets(loss)

    # small again, and the learner then puts the accuracy plot where they want it: it stays
    w.resize(*small)
    qtbot.waitUntil(lambda: L.arrangement() == "compact")
    acc.setFloating(True)
    w.resize(small[0], small[1] - 20)               # still short: nothing to decide
    w.resize(*DEFAULT_SIZE)
    qtbot.wait(400)                                 # (longer than a resize takes to settle)
    assert acc.isFloating() and L.arrangement() is None

    # a learner's own arrangement on a tall window: shrinking does not undo it
    w.reset_layout()
    qtbot.waitUntil(lambda: L.arrangement() == "tall")
    L.docks["diagram"].close()
    acc.setFloating(True)
    w.resize(*small)
    qtbot.wait(400)
    assert acc.isFloating() and not L.docks["diagram"].isVisible()

    # launched on a laptop, then made tall (an external screen): the tall default
    _launched_at(w, qtbot, (1024, 768))
    assert L.arrangement() == "compact"
    w.resize(*DEFAULT_SIZE)
    qtbot.waitUntil(lambda: L.arrangement() == "tall")


def _cell_pixels(image, rect: QRectF) -> np.ndarray:
    """(h, w, 3) the pixels of ``rect`` (widget coordinates) in ``image`` (a QImage), inset
    by a pixel from the cell's edges."""
    from PySide6.QtGui import QImage
    img = image.convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    arr = arr[:, :img.width() * 3].reshape(img.height(), img.width(), 3)
    r = rect.toAlignedRect().adjusted(2, 2, -2, -2)
    return arr[r.top():r.bottom() + 1, r.left():r.right() + 1]


def test_confusion_counts_are_drawn_at_1366x768(window, qtbot, gc_in_gui_thread):
    from app.inspect.confusion import ConfusionPanel
    from app.inspect.model import InspectModel
    from app.state import StudioState
    from nncore.train import Evaluation

    w = window
    _launched_at(w, qtbot, (1366, 768))
    conf = w.findChild(QWidget, "confusionPanel")
    _dock_of(conf).raise_()
    qtbot.waitUntil(lambda: _in_view(conf))
    room = _area_of(conf).viewport().size()           # what the panel gets at 1366x768

    # the real test set's sizes: about a thousand images a class, counts of four digits
    rng = np.random.default_rng(0)
    cm = rng.integers(0, 30, (10, 10))
    np.fill_diagonal(cm, rng.integers(880, 1140, 10))
    targets = np.repeat(np.arange(10), cm.sum(axis=1))
    predictions = np.concatenate([np.repeat(np.arange(10), row) for row in cm])
    evaluation = Evaluation(0.1, float(np.trace(cm) / cm.sum()), np.zeros((0, 10)),
                            predictions, targets, cm)
    state = StudioState()
    panel = ConfusionPanel(state, InspectModel(state))
    qtbot.addWidget(panel)
    panel.resize(room)
    panel.show()
    panel.model.add_on_demand(evaluation, step=938)
    qtbot.waitUntil(lambda: panel.cm is not None and panel.labels.drawn > 0)
    qtbot.wait(50)                                  # the matrix's share of the width is set
    image = panel.plot_widget.grab().toImage()
    labels = panel.labels
    texts = [t for t in labels.texts.flat if t]
    assert labels.drawn == len(texts) == np.count_nonzero(cm)   # every number, none left out
    assert labels.drawn_px >= 8                                 # large enough to read
    cell = panel.cell_centre(1, 1) - panel.cell_centre(0, 0)
    assert cell.x() >= 20                           # the matrix got the room, not the table

    def rect(i, j):
        half = cell / 2
        c = panel.cell_centre(i, j)
        return QRectF(c.x() - half.x(), c.y() - half.y(), cell.x(), cell.y())

    i, j = np.unravel_index(np.argmax(np.where(np.eye(10, dtype=bool), 0, cm)), cm.shape)
    off = _cell_pixels(image, rect(i, j))            # dark digits on a pale cell
    assert (off.max(axis=2) < 110).sum() >= 10
    diag = _cell_pixels(image, rect(0, 0))            # white digits on the dark green
    assert (diag.min(axis=2) > 180).sum() >= 6
    # the table beside it: shorter headers, whole, the long names in their tooltips
    header = panel.table.horizontalHeader()
    model = panel.table_model
    for c in range(header.count()):
        text = model.headerData(c, _horizontal())
        assert header.sectionSize(c) >= header.fontMetrics().horizontalAdvance(text) + 8
    assert panel.table.horizontalScrollBar().maximum() == 0


def test_the_backward_panel_can_be_shown_larger_and_put_back(window, qtbot):
    """At 1366x768 the panel shows a few of its rows; its Larger button floats it over most
    of the window (tester 6: 6 of 18 rows, columns scrolled away), and puts it back."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QToolButton
    w = window
    back = w.findChild(QWidget, "backwardPanel")
    _launched_at(w, qtbot, (1366, 768))
    dock = _dock_of(back)
    dock.raise_()
    qtbot.waitUntil(lambda: _in_view(back))
    before = back.tree.height()
    button = back.findChild(QToolButton, "enlargeButton")
    dock.setFloating(True)                      # floated by its title bar's button: checked
    assert button.isChecked()
    dock.setFloating(False)
    assert not button.isChecked()
    qtbot.waitUntil(lambda: _in_view(back))
    assert button.toolTip()
    qtbot.mouseClick(button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dock.isFloating() and dock.width() >= 0.8 * w.width())
    assert dock.height() >= 0.8 * w.height()
    qtbot.waitUntil(lambda: back.tree.height() > 1.5 * before)
    qtbot.mouseClick(button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not dock.isFloating())
    assert w.dockWidgetArea(dock) != Qt.NoDockWidgetArea
    assert not button.isChecked()
