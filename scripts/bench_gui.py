"""Benchmark of the window while it trains (not a test: it prints figures for the README).

    .venv/bin/python scripts/bench_gui.py [--epochs 2] [--rounds 2]

What it measures, with the default network on the full built-in MNIST:

1. Launch: seconds from starting ``python -m app``'s code in a fresh process until the window
   is shown, and until the data set is loaded (Train works from then on).
2. Responsiveness: while the window trains with its live views, a 5 ms timer in the GUI thread
   records the longest gap between its ticks: the longest stall of the event loop.
3. Throughput: samples per second of training in the window (pressing Train until the run is
   over, evaluation after each epoch included) against training the same network with the same
   settings headless, the way ``nn-train`` does it (``Trainer.fit``). Runs alternate
   (headless, window, headless, window, ...), each in a fresh process started the way its
   command starts (the window's process lets BLAS use all cores but one, as ``nn-studio``
   does; the headless one uses NumPy's defaults, as ``nn-train`` does), and medians are
   reported, since other programs on the machine affect both alike.

The window runs offscreen (QT_QPA_PLATFORM=offscreen), which draws in software like most
desktops without OpenGL do.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


# ---- launch (in a child process) ----------------------------------------------------------------
def launch_child() -> None:
    t0 = float(os.environ["BENCH_T0"])
    import app.__main__  # noqa: F401  (thread settings, as nn-studio starts)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from app import style
    style.apply(app)
    from app.main_window import MainWindow
    w = MainWindow()
    w.show()
    w.repaint()                         # drawn, before any queued work runs
    shown = time.time() - t0
    result = {"shown": shown}

    def check():
        if w.state.data is not None and w.state.snapshot is not None:
            result["ready"] = time.time() - t0
            w.close()
            app.quit()
        else:
            QTimer.singleShot(5, check)
    QTimer.singleShot(0, check)
    app.exec()
    print(json.dumps(result))


def measure_launch(repeats: int = 3) -> dict:
    shown, ready = [], []
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, NN_STUDIO_SETTINGS=str(Path(tmp) / "s.ini"))
        for _ in range(repeats):
            env["BENCH_T0"] = repr(time.time())
            out = subprocess.run([sys.executable, __file__, "--launch-child"], env=env,
                                 capture_output=True, text=True, check=True, cwd=ROOT)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            shown.append(r["shown"])
            ready.append(r["ready"])
    return {"shown": statistics.median(shown), "ready": statistics.median(ready)}


# ---- headless -----------------------------------------------------------------------------------
def headless(epochs: int, config) -> float:
    """Samples per second of Trainer.fit (nn-train's loop) for ``epochs`` epochs."""
    from app.defaults import default_spec
    from nncore.session import build_trainer, prepare_data
    prepared = prepare_data(config)
    trainer = build_trainer(default_spec(), config, prepared)
    t0 = time.perf_counter()
    trainer.fit(epochs, on_batch=lambda ev: None)
    seconds = time.perf_counter() - t0
    return epochs * len(prepared.x_train) / seconds


# ---- the window ---------------------------------------------------------------------------------
class StallMeter:
    """A 5 ms timer in the GUI thread; the longest gap between ticks is the longest stall."""

    def __init__(self, interval_ms: int = 5):
        from PySide6.QtCore import Qt, QTimer
        self.interval = interval_ms / 1000
        self.timer = QTimer()
        self.timer.setTimerType(Qt.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.gaps = []
        self.last = None

    def start(self):
        self.last = time.perf_counter()
        self.timer.start()

    def stop(self):
        self.timer.stop()

    def _tick(self):
        now = time.perf_counter()
        self.gaps.append(now - self.last)
        self.last = now

    def longest_stall_ms(self) -> float:
        return max(0.0, (max(self.gaps) - self.interval) * 1000) if self.gaps else float("nan")

    def p99_stall_ms(self) -> float:
        g = sorted(self.gaps)
        return max(0.0, (g[int(0.99 * (len(g) - 1))] - self.interval) * 1000) if g else 0.0


def in_window(app, epochs: int) -> dict:
    from PySide6.QtCore import QEventLoop, QTimer
    from app.main_window import MainWindow

    def wait_until(cond, timeout=600):
        end = time.perf_counter() + timeout
        loop = QEventLoop()
        while not cond():
            if time.perf_counter() > end:
                raise TimeoutError("the window did not get there in time")
            QTimer.singleShot(5, loop.quit)
            loop.exec()

    w = MainWindow()
    w.show()
    wait_until(lambda: w.state.data is not None and w.state.snapshot is not None)
    config = w.state.config
    config.epochs = epochs
    w.state.set_config(config)
    meter = StallMeter()
    wait_until(lambda: not w.controller._configure_timer.isActive())
    t0, cpu0 = time.perf_counter(), time.thread_time()
    meter.start()
    done = QEventLoop()       # one event loop until the run ends: no polling of our own
    w.state.runStateChanged.connect(lambda rs: done.quit() if rs == "finished" else None)
    w.training_panel.train_button.click()
    done.exec()
    seconds = time.perf_counter() - t0
    gui_cpu = (time.thread_time() - cpu0) / seconds
    meter.stop()
    n = w.state.data.n_train
    result = {"samples_per_sec": epochs * n / seconds, "stall_ms": meter.longest_stall_ms(),
              "p99_stall_ms": meter.p99_stall_ms(), "gui_cpu": gui_cpu,
              "val_accuracy": float(w.state.history["val_accuracy"].y[-1])}
    w.close()
    w.deleteLater()
    return result


def child(args) -> dict:
    if args.child == "headless":
        from nncore.session import TrainingConfig
        return {"samples_per_sec": headless(args.epochs, TrainingConfig())}
    import app.__main__  # noqa: F401  (thread settings, before NumPy, as nn-studio starts)
    if args.child == "headless-app-threads":
        from nncore.session import TrainingConfig
        return {"samples_per_sec": headless(args.epochs, TrainingConfig())}
    if args.child == "window-without-inspection":
        import app.inspect
        app.inspect.create_panels = lambda state, controller=None: []
    from PySide6.QtWidgets import QApplication
    qapp = QApplication([])
    from app import style
    style.apply(qapp)
    return in_window(qapp, args.epochs)


def run_child(kind: str, epochs: int, env: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, "--epochs", str(epochs)],
                         env=env, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} run failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--launch-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--attribute", action="store_true",
                    help="also run the window without the inspection panels, and headless "
                         "training with the window's BLAS threads, to see where time goes")
    ap.add_argument("--child", choices=("headless", "window", "headless-app-threads",
                                        "window-without-inspection"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.launch_child:
        launch_child()
        return 0
    if args.child:
        print(json.dumps(child(args)))
        return 0

    launch = measure_launch()
    print(f"launch: window shown after {launch['shown']:.2f} s, data loaded (Train works) "
          f"after {launch['ready']:.2f} s (median of 3 fresh processes)")
    from nncore.session import TrainingConfig
    config = TrainingConfig()
    print(f"network: the seed MLP (101,770 weights); {config.optimizer}, batch "
          f"{config.batch_size}, {args.epochs} epochs of full MNIST per run; "
          f"{os.cpu_count()} cores")
    tmp = tempfile.TemporaryDirectory()
    env = dict(os.environ, NN_STUDIO_SETTINGS=str(Path(tmp.name) / "s.ini"))
    ratios, stalls, p99s, heads, guis = [], [], [], [], []
    for r in range(args.rounds):
        h = run_child("headless", args.epochs, env)["samples_per_sec"]
        g = run_child("window", args.epochs, env)
        heads.append(h)
        guis.append(g["samples_per_sec"])
        ratios.append(g["samples_per_sec"] / h)
        stalls.append(g["stall_ms"])
        p99s.append(g["p99_stall_ms"])
        print(f"round {r + 1}: headless {h:,.0f} samples/s, window {g['samples_per_sec']:,.0f} "
              f"samples/s ({ratios[-1]:.0%}), longest stall {g['stall_ms']:.1f} ms, "
              f"99th percentile {g['p99_stall_ms']:.1f} ms, GUI thread "
              f"{g['gui_cpu']:.0%} of a core, validation accuracy {g['val_accuracy']:.2%}",
              flush=True)
    print(f"median: window/headless throughput {statistics.median(ratios):.0%} "
          f"({statistics.median(guis):,.0f} vs {statistics.median(heads):,.0f} samples/s); "
          f"longest GUI stall {max(stalls):.1f} ms (worst round), 99th percentile "
          f"{statistics.median(p99s):.1f} ms")
    if args.attribute:
        for r in range(args.rounds):
            h1 = run_child("headless-app-threads", args.epochs, env)["samples_per_sec"]
            g0 = run_child("window-without-inspection", args.epochs, env)
            print(f"attribution round {r + 1}: headless with the window's BLAS threads "
                  f"{h1:,.0f} samples/s; window without the inspection panels "
                  f"{g0['samples_per_sec']:,.0f} samples/s ({g0['samples_per_sec'] / h1:.0%} of "
                  f"that), longest stall {g0['stall_ms']:.1f} ms, 99th percentile "
                  f"{g0['p99_stall_ms']:.1f} ms, GUI thread {g0['gui_cpu']:.0%} of a core",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
