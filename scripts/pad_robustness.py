"""Does the drawing pad read a digit wherever and however large it is drawn?

MNIST test digits are put on the pad's 280x280 paper the way a hand-drawn digit lands there:
off-centre, larger or smaller than the pad's natural 10x scale. Each goes through the pad's own
path — ``PadCanvas.load_ink`` / ``PadCanvas.ink`` (the QImage round trip) and
``app.inspect.pad.pad_input`` (``nncore.inspect.prepare_drawing`` + the data set's
preprocessing) — into the trained default network (Flatten → Dense 128 → ReLU → Dense 10 →
Softmax, SGD lr 0.1, batch 64, the default training settings). Its accuracy is compared with
the accuracy on the original test images.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/pad_robustness.py [--epochs 10]
        [--model /tmp/nnstudio_default_mnist.nns] [--limit 10000]

The trained network is saved to --model and reused on the next run. Not a test: it trains on
the full MNIST (about 11 s per epoch on two cores) and prints a table for the README.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# The resampling products are small: OpenBLAS's threads only wait for each other on them (25x
# slower on a busy two-core machine), so this script uses one thread unless told otherwise.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_SPEC = {"input_shape": [1, 28, 28],
                "layers": [{"type": "Flatten"}, {"type": "Dense", "units": 128},
                           {"type": "ReLU"}, {"type": "Dense", "units": 10},
                           {"type": "Softmax"}]}
PAPER = 280


def trained_default_network(path: Path, epochs: int):
    from nncore import io
    from nncore.session import TrainingConfig, build_trainer, prepare_data
    if path.exists():
        print(f"using the trained network in {path}")
        return io.load(path)
    config = TrainingConfig(epochs=epochs)
    prepared = prepare_data(config)
    trainer = build_trainer(DEFAULT_SPEC, config, prepared)
    for e in range(epochs):
        ev = trainer.run_epoch()
        print(f"epoch {e + 1}: test accuracy {ev.val_accuracy:.4f}", flush=True)
    io.save(trainer.net, path)
    return trainer.net


def on_paper(digit: np.ndarray, scale: float, where: str, rng) -> np.ndarray:
    """The 28x28 digit's bounding box enlarged ``scale`` times (bilinear, by Pillow) and put
    on blank 280x280 paper: centred, in a corner, or at a random place."""
    rows = np.flatnonzero(digit.any(axis=1))
    cols = np.flatnonzero(digit.any(axis=0))
    crop = digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = crop.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    big = np.asarray(Image.fromarray(crop).resize(size, Image.BILINEAR), dtype=np.float64)
    bh, bw = big.shape
    margin = 8
    if where == "centre":
        top, left = (PAPER - bh) // 2, (PAPER - bw) // 2
    elif where == "top-left":
        top, left = margin, margin
    elif where == "bottom-right":
        top, left = PAPER - bh - margin, PAPER - bw - margin
    else:
        top = int(rng.integers(margin, PAPER - bh - margin + 1))
        left = int(rng.integers(margin, PAPER - bw - margin + 1))
    paper = np.zeros((PAPER, PAPER))
    paper[top:top + bh, left:left + bw] = big
    return paper


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="/tmp/nnstudio_default_mnist.nns")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--limit", type=int, default=10000, help="test images to use")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    import app  # noqa: F401  (the PySide6 guard)
    from PySide6.QtWidgets import QApplication
    from app.inspect.pad import PadCanvas, pad_input
    from nncore.data import Preprocessing, load_dataset

    qapp = QApplication.instance() or QApplication([])
    net = trained_default_network(Path(args.model), args.epochs)
    ds = load_dataset("mnist")
    x, y = ds.x_test[:args.limit, 0], ds.y_test[:args.limit]
    pre = Preprocessing()
    base = float(np.mean(net.predict(pre.apply(x[:, None])).argmax(1) == y))
    canvas = PadCanvas()
    rng = np.random.default_rng(0)
    # scale 10: the digit's 20-pixel box becomes 200 px, as on the pad; 20 px box -> 60 px at 3
    conditions = [("centred, as large as the pad expects (×10)", 10, "centre"),
                  ("larger (×13, 260 px tall)", 13, "centre"),
                  ("smaller (×3, 60 px tall)", 3, "centre"),
                  ("off-centre, top-left (×6)", 6, "top-left"),
                  ("off-centre, bottom-right (×6)", 6, "bottom-right"),
                  ("random size ×3…×13, random place", None, "random")]
    print(f"\n{len(y):,} MNIST test images, trained default network\n")
    print(f"{'condition':48s} accuracy  vs original")
    print(f"{'original 28x28 test images':48s} {base:8.2%}")
    rows = []
    for name, scale, where in conditions:
        t0 = time.perf_counter()
        inputs = []
        for digit in x:
            s = scale if scale is not None else float(rng.uniform(3, 13))
            canvas.load_ink(on_paper(digit, s, where, rng))
            inputs.append(pad_input(canvas.ink(), net.input_shape, pre)[1])
        acc = float(np.mean(net.predict(np.concatenate(inputs)).argmax(1) == y))
        rows.append((name, acc))
        print(f"{name:48s} {acc:8.2%}  {100 * (acc - base):+6.2f} points"
              f"   ({time.perf_counter() - t0:.0f} s)", flush=True)
    worst = min(a for _, a in rows)
    print(f"\nlargest drop: {100 * (base - worst):.2f} points "
          f"({'within' if base - worst <= 0.02 else 'MORE than'} 2 points)")
    del qapp


if __name__ == "__main__":
    main()
