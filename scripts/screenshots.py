"""Screenshots of the real window for the README: before, during and after training.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Launches the main window as ``nn-studio`` does (default network, built-in MNIST, 1400x900,
fresh settings), then saves:

    window-start.png      at launch, the second layer selected (its property form)
    window-training.png   while it trains (past half of the first epoch)
    window-trained.png    after three epochs
    builder-error.png     the network panel with Flatten dragged below Dense: the error is
                          marked at the layer and Train is disabled
    diagram.png           the network diagram after training (weight-coloured connections)
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from app.layout import use_offscreen_screen  # noqa: E402

use_offscreen_screen()      # 1920x1080, not 800x800: the window keeps its size


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.TemporaryDirectory()
    os.environ["NN_STUDIO_SETTINGS"] = str(Path(tmp.name) / "settings.ini")

    import app.__main__  # noqa: F401  (the thread settings nn-studio starts with)
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    qapp = QApplication([])
    from app import style
    style.apply(qapp)
    from app.main_window import MainWindow

    def wait(seconds: float):
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    def wait_until(cond, timeout=900):
        end = time.perf_counter() + timeout
        while not cond():
            if time.perf_counter() > end:
                raise TimeoutError("the window did not get there")
            wait(0.02)

    def save(widget, name):
        path = out / name
        widget.grab().save(str(path))
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")

    w = MainWindow()
    w.show()
    wait_until(lambda: w.state.data is not None and w.state.snapshot is not None
               and hasattr(w, "inspection_docks"))
    w.editor.set_current(1)
    wait(0.5)
    save(w, "window-start.png")

    config = w.state.config
    config.epochs = args.epochs
    w.state.set_config(config)
    wait(0.3)
    w.controller.train()
    # (not "in the first epoch": at 90,000 samples/s it lasts 0.6 s, and the window hears from
    # the worker a few times a second — it could miss that moment and wait for ever)
    wait_until(lambda: w.state.progress.step > 0.6 * max(w.state.progress.batches_per_epoch, 1))
    wait(0.3)
    save(w, "window-training.png")
    wait_until(lambda: w.state.run_state == "finished")
    wait(0.8)
    save(w, "window-trained.png")

    w.layout_.docks["diagram"].raise_()
    wait(0.5)
    save(w.layout_.docks["diagram"], "diagram.png")
    w.layout_.docks["weights"].raise_()

    w.editor.move_layer(0, 1)              # Flatten below the first Dense
    wait(0.5)
    save(w.layout_.docks["network"], "builder-error.png")
    w.editor.undo()
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
