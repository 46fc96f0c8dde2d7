"""Render the inspection panels offscreen into docs/screenshots/inspect_*.png for the README.

Trains the default network on MNIST for a few epochs (as the app's worker would, filling a
StudioState), then clicks, draws and steps through every inspection view and grabs it.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/inspect_screenshots.py [--epochs 3]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from app.layout import use_offscreen_screen  # noqa: E402

use_offscreen_screen()      # 1920x1080, not 800x800: the window keeps its size

DEFAULT_SPEC = {"input_shape": [1, 28, 28],
                "layers": [{"type": "Flatten"}, {"type": "Dense", "units": 128},
                           {"type": "ReLU"}, {"type": "Dense", "units": 10},
                           {"type": "Softmax"}]}
CNN_SPEC = {"input_shape": [1, 28, 28],
            "layers": [{"type": "Conv2D", "filters": 8, "kernel_size": 3}, {"type": "ReLU"},
                       {"type": "MaxPool2D", "pool_size": 2}, {"type": "Flatten"},
                       {"type": "Dense", "units": 10}, {"type": "Softmax"}]}


def wait_for(qapp, condition, timeout=120.0):
    t0 = time.time()
    while not condition():
        qapp.processEvents()
        time.sleep(0.01)
        if time.time() - t0 > timeout:
            raise TimeoutError("the view did not finish in time")
    for _ in range(5):
        qapp.processEvents()


def grab(qapp, widget, name, size):
    widget.resize(*size)
    widget.show()
    for _ in range(10):
        qapp.processEvents()
        time.sleep(0.02)
    out = ROOT / "docs" / "screenshots" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(out))
    print("wrote", out.relative_to(ROOT))


def push_snapshot(state, trainer):
    from app.state import ModelSnapshot
    state.snapshot = ModelSnapshot(state.spec, "float32", trainer.net.get_weights(),
                                   trainer.step, trainer.epoch)
    state.snapshotChanged.emit(state.snapshot)


def fill_state(state, trainer, prepared, epochs, qapp):
    from app.state import EpochReport

    for e in range(epochs):
        events = []
        ev = trainer.run_epoch(on_batch=events.append)
        if hasattr(state, "add_batches"):
            state.add_batches(events)
        else:
            state.batches.extend(events)
            state.batchTrained.emit(events[-1])
        push_snapshot(state, trainer)
        report = EpochReport(ev, trainer.evaluate(prepared.x_eval, prepared.y_eval))
        if hasattr(state, "add_epoch"):
            state.add_epoch(report)
        else:
            state.epochs.append(report)
            state.epochEvaluated.emit(report)
        print(f"epoch {e + 1}: accuracy {ev.val_accuracy:.4f}", flush=True)
        qapp.processEvents()


def draw_digit(canvas, strokes):
    """Mouse strokes on the pad; points in [0, 1] paper coordinates."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication
    side = min(canvas.width(), canvas.height())
    x0, y0 = (canvas.width() - side) / 2, (canvas.height() - side) / 2

    def send(kind, p, buttons):
        button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove \
            else Qt.MouseButton.LeftButton
        pos = QPointF(x0 + p[0] * side, y0 + p[1] * side)
        QApplication.sendEvent(canvas, QMouseEvent(kind, pos, canvas.mapToGlobal(pos), button,
                                                   buttons, Qt.KeyboardModifier.NoModifier))
    for pts in strokes:
        send(QEvent.Type.MouseButtonPress, pts[0], Qt.MouseButton.LeftButton)
        for p in pts[1:]:
            send(QEvent.Type.MouseMove, p, Qt.MouseButton.LeftButton)
        send(QEvent.Type.MouseButtonRelease, pts[-1], Qt.MouseButton.NoButton)


def three():
    """A hand-drawn looking '3', slightly off-centre, as two curves."""
    t = np.linspace(-0.6 * np.pi, 0.5 * np.pi, 25)
    upper = [(0.42 + 0.15 * np.cos(a), 0.33 + 0.12 * np.sin(a)) for a in t]
    t2 = np.linspace(-0.5 * np.pi, 0.75 * np.pi, 30)
    lower = [(0.43 + 0.18 * np.cos(a), 0.62 + 0.16 * np.sin(a)) for a in t2]
    return [upper + lower]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()

    import app  # noqa: F401  (the PySide6 guard)
    from PySide6.QtWidgets import QApplication
    from app.inspect import create_panels
    from app.state import EvalData, StudioState
    from nncore.inspect import layer_reports
    from nncore.metrics import most_confused
    from nncore.session import TrainingConfig, build_trainer, prepare_data

    qapp = QApplication.instance() or QApplication([])
    config = TrainingConfig()
    prepared = prepare_data(config)
    state = StudioState()
    state.spec = DEFAULT_SPEC
    state.config = config
    state.data = EvalData(prepared.class_names, prepared.eval_images, prepared.y_eval,
                          prepared.preprocessing, prepared.eval_name)
    panels = {name: w for _, w, name in create_panels(state, None)}
    state.dataChanged.emit(state.data)
    trainer = build_trainer(DEFAULT_SPEC, config, prepared)
    fill_state(state, trainer, prepared, args.epochs, qapp)

    # paused, then one stepped batch
    before = trainer.net.get_weights()
    ev = trainer.step_batch()
    if hasattr(state, "add_batches"):
        state.add_batches([ev])
    else:
        state.batches.append(ev)
        state.batchTrained.emit(ev)
    push_snapshot(state, trainer)
    state.inspection = layer_reports(trainer.net, before)
    state.inspectionChanged.emit(state.inspection)

    conf = panels["confusionPanel"]
    t, p, _ = most_confused(conf.cm, 1)[0]
    conf.model.select_cell(t, p)
    grab(qapp, conf, "inspect_confusion.png", (1000, 560))
    conf.tabs.setCurrentIndex(2)
    grab(qapp, conf.tabs, "inspect_class_accuracy.png", (560, 400))
    conf.tabs.setCurrentIndex(0)

    gallery = panels["galleryPanel"]
    grab(qapp, gallery, "inspect_gallery.png", (760, 420))
    gallery.model.select_image(int(gallery.shown_indices()[0]))
    wait_for(qapp, lambda: not gallery.detail.runner.busy and gallery.detail.result is not None)
    grab(qapp, gallery.dialog, "inspect_detail.png", (980, 640))
    gallery.dialog.close()

    pad = panels["drawingPadPanel"]
    pad.resize(760, 420)
    pad.show()
    qapp.processEvents()
    draw_digit(pad.canvas, three())
    wait_for(qapp, lambda: not pad.runner.busy and pad.probabilities is not None)
    grab(qapp, pad, "inspect_pad.png", (760, 420))

    back = panels["backwardPanel"]
    grab(qapp, back, "inspect_backward.png", (1150, 640))

    check = panels["gradCheckPanel"]
    check.button.click()
    wait_for(qapp, lambda: not check.runner.busy and check.results is not None)
    grab(qapp, check, "inspect_gradcheck.png", (720, 400))

    # a small CNN: the detail view with feature maps
    from nncore.session import TrainingConfig as TC
    cnn_config = TC(subset_per_class=600)
    cnn_prep = prepare_data(cnn_config)
    state.spec = CNN_SPEC
    cnn_trainer = build_trainer(CNN_SPEC, cnn_config, cnn_prep)
    state.reset_history() if hasattr(state, "reset_history") else None
    fill_state(state, cnn_trainer, cnn_prep, 1, qapp)
    gallery.model.select_image(int(np.flatnonzero(cnn_prep.y_eval == 4)[0]))
    wait_for(qapp, lambda: not gallery.detail.runner.busy and gallery.detail.result is not None)
    grab(qapp, gallery.dialog, "inspect_detail_cnn.png", (980, 720))


if __name__ == "__main__":
    main()
