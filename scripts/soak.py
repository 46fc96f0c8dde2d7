"""Soak benchmark (not a test): does the window's memory stay flat over a long training run?

    .venv/bin/python scripts/soak.py [--minutes 30] [--every 60] [--tracemalloc]

The main window, offscreen, with every live view and inspection panel, trains the default
network (the seed MLP) on the full built-in MNIST with the default settings, epoch after epoch,
for ``--minutes``. Resident memory (VmRSS of /proc/self/status) is sampled once the first
epoch is over (its evaluation drawn) and at the end; both and their ratio are printed (the goal:
the end within 10% of after the first epoch). Every ``--every`` seconds a line shows the
memory so far, to see *when* it grows. ``--tracemalloc`` also lists the Python allocations that
grew the most between the two samples (slower: for finding a leak, not for the figure).

Settings and the recovery file go to a temporary folder: the user's profile is not touched.
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
_TMP = tempfile.TemporaryDirectory(prefix="nn-studio-soak-")
os.environ["NN_STUDIO_SETTINGS"] = str(Path(_TMP.name) / "settings.ini")
os.environ["NN_STUDIO_RECOVERY"] = str(Path(_TMP.name) / "recovery.nnproj")


def rss_mb() -> float:
    """Resident memory of this process in MiB (VmRSS of /proc/self/status)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _object_counts() -> dict:
    import collections
    import gc
    gc.collect()
    return collections.Counter(type(o).__qualname__ for o in gc.get_objects())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0, help="how long to train (30)")
    ap.add_argument("--every", type=float, default=60.0,
                    help="seconds between progress lines (60)")
    ap.add_argument("--tracemalloc", action="store_true",
                    help="list the Python allocations that grew most (slower)")
    ap.add_argument("--objects", action="store_true",
                    help="list the Python object types whose count grew most")
    args = ap.parse_args(argv)

    import app.__main__  # noqa: F401  (BLAS threads as nn-studio sets them, before NumPy)
    if args.tracemalloc:
        import tracemalloc
        tracemalloc.start(12)
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    qapp = QApplication([])
    from app import style
    style.apply(qapp)
    from app.main_window import MainWindow

    loop = QEventLoop()
    tick = QTimer()                   # one timer, reused (not a new singleShot each time)
    tick.setSingleShot(True)
    tick.timeout.connect(loop.quit)

    def wait(seconds: float = 0.0, until=None, timeout: float = 600.0) -> None:
        """Run the event loop for ``seconds``, or until ``until()`` is true."""
        end = time.perf_counter() + (timeout if until else seconds)
        while time.perf_counter() < end and not (until and until()):
            tick.start(20 if until else max(1, int(1000 * (end - time.perf_counter()))))
            loop.exec()
        if until and not until():
            raise TimeoutError("the window did not get there in time")

    w = MainWindow()
    w.show()
    wait(until=lambda: w.state.data is not None and w.state.snapshot is not None)
    config = w.state.config
    config.epochs = 100_000                       # keeps going until we stop it
    w.state.set_config(config)
    wait(until=lambda: not w.controller._configure_timer.isActive())
    print(f"started: {rss_mb():.1f} MiB resident; training the seed MLP on "
          f"{w.state.data.n_train:,} MNIST images for {args.minutes:g} minutes", flush=True)
    t0 = time.perf_counter()
    w.training_panel.train_button.click()
    wait(until=lambda: len(w.state.epochs) >= 1, timeout=3600)
    wait(2.0)                                     # the first epoch's views drawn
    first = rss_mb()
    first_at = time.perf_counter() - t0
    snap0 = None
    if args.tracemalloc:
        import gc
        gc.collect()
        snap0 = tracemalloc.take_snapshot()
    counts0 = _object_counts() if args.objects else None
    print(f"after the first epoch ({first_at:.0f} s): {first:.1f} MiB", flush=True)
    end = t0 + args.minutes * 60
    peak = first
    while time.perf_counter() < end:
        wait(min(args.every, max(0.0, end - time.perf_counter())))
        now = rss_mb()
        peak = max(peak, now)
        p = w.state.progress
        print(f"  {(time.perf_counter() - t0) / 60:5.1f} min: {now:7.1f} MiB, epoch "
              f"{p.epoch}, step {p.step:,}, {p.samples_per_sec:,.0f} samples/s", flush=True)
        if w.state.run_state != "running":
            print(f"training stopped by itself: {w.state.run_state} "
                  f"({w.state.failure.message if w.state.failure else ''})")
            break
    last = rss_mb()
    p = w.state.progress
    print(f"at the end ({(time.perf_counter() - t0) / 60:.1f} min, {p.epoch} epochs, "
          f"{p.step:,} batches): {last:.1f} MiB (peak {peak:.1f} MiB)")
    print(f"end / after first epoch: {last / first:.3f} ({(last - first):+.1f} MiB)")
    if counts0 is not None:
        grown = _object_counts()
        diff = sorted(((grown[k] - counts0.get(k, 0), k) for k in grown), reverse=True)
        print("Python object types whose count grew most:")
        for d, k in diff[:15]:
            print(f"  {d:+9,d}  {k}")
    if snap0 is not None:
        import gc
        gc.collect()
        stats = tracemalloc.take_snapshot().compare_to(snap0, "traceback")
        print("Python allocations that grew most:")
        for s in stats[:12]:
            print(f"  {s.size_diff / 1024:+10.1f} KiB in {s.count_diff:+d} blocks")
            for line in s.traceback.format()[-6:]:
                print("     ", line)
    w.controller.stop()
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
