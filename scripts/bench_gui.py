"""Benchmark of the window while it trains (not a test: it prints figures for the README).

    .venv/bin/python scripts/bench_gui.py [--rounds 3] [--epochs 10] [--stall-epochs 2]
                                          [--attribute] [--all-cores]

What it measures, with the default network and settings on the full built-in MNIST:

1. Launch: seconds from starting ``python -m app``'s code in a fresh process until the window
   is shown, and until the data set is loaded (Train works from then on).
2. Throughput: samples per second of a whole training run in the window (pressing Train until
   the run is over: the app's 10 epochs, evaluation after each included) against training the
   same network with the same settings headless, the way ``nn-train`` does it
   (``Trainer.fit``): with the BLAS threads ``nn-train`` uses by default, which are the
   window's (every core but one), and with NumPy's default, every core (``nn-train --threads
   N``; faster on a quiet machine, many times slower when another program holds a core). Runs
   alternate, each in a fresh process with fresh settings, and medians are reported.
3. Responsiveness, in runs of their own (``--stall-epochs``, two epoch ends): a 5 ms timer in
   the GUI thread records the longest gap between its ticks, the longest stall of the event
   loop, how much of it the GUI thread spent computing and how long it waited for a core
   (busy with other processes: on a shared machine, most of a long stall; the longest stall
   without those waits is what the window itself costs). (The timer wakes the GUI thread
   200 times a second, which costs the training thread a few percent: so it is not running
   while throughput is measured.)
   Both are measured in the default layout (the inspection panels tabbed behind the loss plot
   and the weights) and with every panel in view (each tabbed dock floated beside the window
   on a 3840x2160 screen, a confusion-matrix cell selected and a digit on the drawing pad, so
   that every panel draws).
4. The machine's load during each run: the cores other processes kept busy meanwhile (from
   /proc/stat, minus the run's own CPU time), since on a shared machine they change every
   figure above.

The window runs offscreen (QT_QPA_PLATFORM=offscreen), which draws in software like most
desktops without OpenGL do.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# A child process that stands for the window starts the way nn-studio does: app.__main__ first,
# which chooses BLAS's threads before NumPy is loaded. (Once NumPy is loaded that is too late:
# OpenBLAS has started its threads, and the training thread then leaves the number alone,
# since it is set in the environment — a window child ran with two BLAS threads on two cores.)
_WINDOW_CHILD = "--launch-child" in sys.argv or "--events" in sys.argv or (
    "--child" in sys.argv[:-1] and sys.argv[sys.argv.index("--child") + 1] != "headless")
if _WINDOW_CHILD:
    import app.__main__  # noqa: E402,F401
from app.layout import use_offscreen_screen  # noqa: E402

# 1920x1080, not 800x800: the window keeps its size. With every panel in view, a 3840x2160
# screen: the panels floated beside the window all fit on it (on 1920x1080 five of the eight
# were off the screen, and a panel off the screen does not draw).
_EVERY_PANEL = "--events" in sys.argv or (
    "--child" in sys.argv[:-1] and sys.argv[sys.argv.index("--child") + 1] == "window-every-panel")
use_offscreen_screen(*((3840, 2160) if _EVERY_PANEL else (1920, 1080)))


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
    """A 5 ms timer in the GUI thread; the longest gap between ticks is the longest stall.

    For each gap it also notes the GUI thread's own CPU time in it, and (on Linux, from
    /proc/thread-self/schedstat) the time it was ready to run but waited for a core, taken by
    other threads or processes; the rest of a gap is time it waited for something else —
    Python's interpreter lock, held by the training thread, above all."""

    def __init__(self, interval_ms: int = 5):
        from PySide6.QtCore import Qt, QTimer
        self.interval = interval_ms / 1000
        self.timer = QTimer()
        self.timer.setTimerType(Qt.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.gaps = []
        self.cpu = []
        self.runq = []
        self.last = None
        self._schedstat = None

    def _waited_for_a_core(self) -> float:
        """Seconds this thread has spent ready to run but without a core, or 0.0 if unknown."""
        f = self._schedstat
        if f is None:
            return 0.0
        f.seek(0)
        return int(f.read().split()[1]) / 1e9

    def start(self):
        try:
            self._schedstat = open("/proc/thread-self/schedstat")
        except OSError:
            self._schedstat = None
        self.last = time.perf_counter(), time.thread_time(), self._waited_for_a_core()
        self.timer.start()

    def stop(self):
        self.timer.stop()
        if self._schedstat is not None:
            self._schedstat.close()
            self._schedstat = None

    def _tick(self):
        now = time.perf_counter(), time.thread_time(), self._waited_for_a_core()
        self.gaps.append(now[0] - self.last[0])
        self.cpu.append(now[1] - self.last[1])
        self.runq.append(now[2] - self.last[2])
        self.last = now

    def longest_stall_ms(self) -> float:
        return max(0.0, (max(self.gaps) - self.interval) * 1000) if self.gaps else float("nan")

    def longest_stall_cpu_ms(self) -> float:
        """The GUI thread's CPU time during the longest stall."""
        if not self.gaps:
            return float("nan")
        return self.cpu[max(range(len(self.gaps)), key=self.gaps.__getitem__)] * 1000

    def longest_stall_runq_ms(self) -> float:
        """How long the GUI thread waited for a core during the longest stall."""
        if not self.gaps:
            return float("nan")
        return self.runq[max(range(len(self.gaps)), key=self.gaps.__getitem__)] * 1000

    def longest_own_stall_ms(self) -> float:
        """The longest stall less the time the GUI thread waited for a core in it: what the
        window itself (its drawing, and the training thread's hold on the interpreter lock)
        would stall on a machine with a core free for it."""
        if not self.gaps:
            return float("nan")
        return max(0.0, max((g - q - self.interval) * 1000 for g, q in zip(self.gaps, self.runq)))

    def stalls_over(self, ms: float) -> int:
        return sum(g - self.interval > ms / 1000 for g in self.gaps)

    def p99_stall_ms(self) -> float:
        g = sorted(self.gaps)
        return max(0.0, (g[int(0.99 * (len(g) - 1))] - self.interval) * 1000) if g else 0.0


def show_every_panel(w) -> None:
    """Float every dock that is tabbed behind another beside the window, so that every panel is
    in view; select a cell of the confusion matrix and put a digit on the drawing pad, so that
    the gallery and the pad have something to redraw too."""
    import numpy as np
    from PySide6.QtWidgets import QWidget
    behind = [d for key in ("loss", "weights") for d in w.tabifiedDockWidgets(w.layout_.docks[key])]
    for k, dock in enumerate(behind):
        dock.setFloating(True)
        dock.resize(640, 420)
        dock.move(1420 + 650 * (k % 3), 40 + 450 * (k // 3))
        dock.show()
    w.findChild(QWidget, "confusionPanel").model.select_cell(4, 9)
    ink = np.zeros((280, 280))
    ink[60:220, 130:150] = 255                  # a "1"
    w.findChild(QWidget, "drawingPadPanel").canvas.load_ink(ink)


def in_window(app, epochs: int, every_panel: bool = False, meter: bool = True) -> dict:
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
    wait_until(lambda: w.state.data is not None and w.state.snapshot is not None
               and hasattr(w, "inspection_docks"))
    if every_panel:
        show_every_panel(w)
        # the floated docks' first paints (the diagram's: 130 ms) are not training's: they
        # happen before the measurement, not in its first tick as they did at times
        settled = time.perf_counter() + 0.5
        wait_until(lambda: time.perf_counter() > settled)
    config = w.state.config
    config.epochs = epochs
    w.state.set_config(config)
    stalls = StallMeter()
    wait_until(lambda: not w.controller._configure_timer.isActive())
    t0, cpu0 = time.perf_counter(), time.thread_time()
    if meter:
        stalls.start()
    done = QEventLoop()       # one event loop until the run ends: no polling of our own
    w.state.runStateChanged.connect(lambda rs: done.quit() if rs == "finished" else None)
    w.training_panel.train_button.click()
    done.exec()
    seconds = time.perf_counter() - t0
    gui_cpu = (time.thread_time() - cpu0) / seconds
    stalls.stop()
    n = w.state.data.n_train
    result = {"samples_per_sec": epochs * n / seconds, "gui_cpu": gui_cpu,
              "val_accuracy": float(w.state.history["val_accuracy"].y[-1])}
    if meter:
        result.update(stall_ms=stalls.longest_stall_ms(), p99_stall_ms=stalls.p99_stall_ms(),
                      stall_cpu_ms=stalls.longest_stall_cpu_ms(),
                      stall_runq_ms=stalls.longest_stall_runq_ms(),
                      own_stall_ms=stalls.longest_own_stall_ms(),
                      stalls_over_50=stalls.stalls_over(50))
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
    return in_window(qapp, args.epochs, every_panel=args.child == "window-every-panel",
                     meter=args.meter)


# ---- what the long events are (--events) ---------------------------------------------------------
def events_child(args) -> None:
    """One 2-epoch run of the window with every panel in view, printing the GUI thread's
    longest events: what received them, their CPU time and wait for a core, and the Python
    functions Qt called in them. (The hook runs Python for every event: it slows the window
    down a little, so these runs measure nothing else.)"""
    import threading
    from PySide6.QtWidgets import QApplication

    tmp = tempfile.TemporaryDirectory()         # fresh settings: the default layout
    os.environ.update(NN_STUDIO_SETTINGS=str(Path(tmp.name) / "s.ini"),
                      NN_STUDIO_RECOVERY=str(Path(tmp.name) / "recovery.nnproj"))
    schedstat = f"/proc/self/task/{threading.get_native_id()}/schedstat"

    def waited_for_a_core() -> float:
        try:
            with open(schedstat) as f:
                return int(f.read().split()[1]) / 1e9
        except OSError:
            return 0.0

    long_events, calls, depth, active = [], [], [0], [False]

    class App(QApplication):
        def notify(self, receiver, event):
            if not active[0] or depth[0]:
                depth[0] += 1
                try:
                    return super().notify(receiver, event)
                finally:
                    depth[0] -= 1
            depth[0] += 1
            calls.clear()
            t0, c0, q0 = time.perf_counter(), time.thread_time(), waited_for_a_core()
            try:
                return super().notify(receiver, event)
            finally:
                depth[0] -= 1
                ms = (time.perf_counter() - t0) * 1000
                if ms > 15:
                    name = type(receiver).__name__
                    views = getattr(receiver, "views", None)
                    widget = views()[0] if callable(views) and views() else receiver
                    while widget is not None and not widget.objectName() \
                            and hasattr(widget, "parentWidget"):
                        widget = widget.parentWidget()
                    if widget is not None and widget.objectName():
                        name += f" ({widget.objectName()})"
                    long_events.append((ms, (time.thread_time() - c0) * 1000,
                                        (waited_for_a_core() - q0) * 1000, name,
                                        event.type().name, sorted(calls, key=lambda c: -c[1])[:3]))

    notify_code = App.notify.__code__
    started = []

    def profile(frame, what, arg):             # Python functions called by Qt from notify
        if what == "call" and frame.f_back is not None and frame.f_back.f_code is notify_code \
                and frame.f_code is not notify_code:
            started.append((frame, time.perf_counter()))
        elif what == "return" and started and started[-1][0] is frame:
            _, t0 = started.pop()
            ms = (time.perf_counter() - t0) * 1000
            if ms > 2:
                code = frame.f_code
                calls.append((f"{Path(code.co_filename).name}:{code.co_name}", round(ms, 1)))

    qapp = App([])
    from app import style
    style.apply(qapp)
    from app.training.controller import TrainingController
    train = TrainingController.train

    def train_and_watch(self):
        active[0] = True
        sys.setprofile(profile)
        return train(self)
    TrainingController.train = train_and_watch
    result = in_window(qapp, 2, every_panel=True, meter=True)
    sys.setprofile(None)
    print(f"{result['samples_per_sec']:,.0f} samples/s (slowed by the hook); longest stall "
          f"{result['stall_ms']:.0f} ms; the GUI thread's events over 15 ms, longest first:")
    print(f"{'ms':>6} {'CPU':>5} {'core':>5}  receiver, event: Python called in it (ms)")
    for ms, cpu, runq, name, kind, inner in sorted(long_events, reverse=True)[:20]:
        inner = ", ".join(f"{f} {t}" for f, t in inner)
        print(f"{ms:6.0f} {cpu:5.0f} {runq:5.0f}  {name}, {kind}: {inner}")


# ---- the machine's load -------------------------------------------------------------------------
def _busy_seconds() -> float | None:
    """CPU seconds all processes have used since boot (/proc/stat), or None elsewhere."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _children_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_child(kind: str, epochs: int, env: dict, meter: bool = False) -> dict:
    """Run one measurement in a fresh process with fresh settings (a window floated by one run
    would otherwise come back floated in the next); adds ``others``: the cores other processes
    kept busy meanwhile (on average over the run, the process's start-up included)."""
    with tempfile.TemporaryDirectory() as tmp:      # fresh settings: the default layout
        env = dict(env, NN_STUDIO_SETTINGS=str(Path(tmp) / "s.ini"),
                   NN_STUDIO_RECOVERY=str(Path(tmp) / "recovery.nnproj"))
        busy0, own0, t0 = _busy_seconds(), _children_seconds(), time.perf_counter()
        out = subprocess.run([sys.executable, __file__, "--child", kind, "--epochs", str(epochs)]
                             + (["--meter"] if meter else []),
                             env=env, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} run failed:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    busy1, own1, wall = _busy_seconds(), _children_seconds(), time.perf_counter() - t0
    if busy0 is not None and busy1 is not None:
        result["others"] = max(0.0, (busy1 - busy0) - (own1 - own0)) / wall
    return result


def _median(values) -> float:
    return statistics.median(values) if values else float("nan")


def main(argv=None) -> int:
    from nncore.session import TrainingConfig
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=TrainingConfig().epochs,
                    help="epochs per throughput run (default: the app's, %(default)s)")
    ap.add_argument("--stall-epochs", type=int, default=2,
                    help="epochs per run that measures the stalls (default %(default)s)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--launch-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--attribute", action="store_true",
                    help="also run the window without the inspection panels, to see what they "
                         "cost")
    ap.add_argument("--all-cores", action="store_true",
                    help="also run the window with BLAS on every core (OPENBLAS_NUM_THREADS), "
                         "to see whether the core left to drawing is worth it")
    ap.add_argument("--child", choices=("headless", "window", "window-every-panel",
                                        "headless-app-threads", "window-without-inspection",
                                        "window-all-cores"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--meter", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--events", action="store_true",
                    help="instead: one run with every panel in view that lists the GUI "
                         "thread's longest events (what they were, their CPU time, the Python "
                         "in them), to find what stalls")
    args = ap.parse_args(argv)
    if args.launch_child:
        launch_child()
        return 0
    if args.events:
        events_child(args)
        return 0
    if args.child:
        print(json.dumps(child(args)))
        return 0

    tmp = tempfile.TemporaryDirectory()
    env = dict(os.environ, NN_STUDIO_SETTINGS=str(Path(tmp.name) / "s.ini"),
               NN_STUDIO_RECOVERY=str(Path(tmp.name) / "recovery.nnproj"))
    os.environ.update(NN_STUDIO_RECOVERY=env["NN_STUDIO_RECOVERY"])
    launch = measure_launch()
    print(f"launch: window shown after {launch['shown']:.2f} s, data loaded (Train works) "
          f"after {launch['ready']:.2f} s (median of 3 fresh processes)")
    config = TrainingConfig()
    print(f"network: the seed MLP (101,770 weights); {config.optimizer}, batch "
          f"{config.batch_size}; {args.epochs} epochs of full MNIST per throughput run, "
          f"{args.stall_epochs} per stall run; {os.cpu_count()} cores; load average "
          f"{os.getloadavg()[0]:.2f} at the start")
    windows = ["window", "window-every-panel"]
    if args.attribute:
        windows.append("window-without-inspection")
    if args.all_cores:
        windows.append("window-all-cores")
    kinds = ["headless", "headless-app-threads"] + windows
    runs = {k: [] for k in kinds}
    stall_runs = {k: [] for k in windows}
    cores = str(os.cpu_count() or 1)
    for r in range(args.rounds):
        line = []
        for kind in kinds:
            kind_env = dict(env, OPENBLAS_NUM_THREADS=cores, OMP_NUM_THREADS=cores) \
                if kind == "window-all-cores" else env
            res = run_child(kind, args.epochs, kind_env)
            runs[kind].append(res)
            text = f"{kind} {res['samples_per_sec']:,.0f}/s"
            if "gui_cpu" in res:
                text += f" (GUI {res['gui_cpu']:.0%})"
            if kind in stall_runs:
                st = run_child(kind, args.stall_epochs, kind_env, meter=True)
                stall_runs[kind].append(st)
                text += (f", stall {st['stall_ms']:.0f} ms (GUI CPU "
                         f"{st['stall_cpu_ms']:.0f}, waiting for a core "
                         f"{st['stall_runq_ms']:.0f}), {st['stalls_over_50']} over 50 ms, "
                         f"p99 {st['p99_stall_ms']:.0f}, without core waits "
                         f"{st['own_stall_ms']:.0f}")
            if "others" in res:
                text += f" [others {res['others']:.2f} cores]"
            line.append(text)
        print(f"round {r + 1}: " + "; ".join(line), flush=True)

    def med(kind, key="samples_per_sec", source=runs):
        return _median([x[key] for x in source[kind]])

    def ratio(a, b):
        return _median([x["samples_per_sec"] / y["samples_per_sec"]
                        for x, y in zip(runs[a], runs[b])])

    others = _median([x["others"] for k in kinds for x in runs[k] if "others" in x])
    print(f"medians over {args.rounds} rounds (other processes kept {others:.2f} of "
          f"{os.cpu_count()} cores busy, median over the throughput runs):")
    print(f"  headless, BLAS on every core        {med('headless'):9,.0f} samples/s")
    print(f"  headless as nn-train trains (every core but one, as the window) "
          f"{med('headless-app-threads'):9,.0f} samples/s")
    def spread(kind, key):
        values = [x[key] for x in stall_runs[kind]]
        return (f"{_median(values):.0f} ms (rounds: "
                f"{', '.join(f'{v:.0f}' for v in values)})")

    for kind, what in (("window", "window, default layout"),
                       ("window-every-panel", "window, every panel in view"),
                       ("window-without-inspection", "window without inspection panels"),
                       ("window-all-cores", "window, BLAS on every core")):
        if kind not in runs:
            continue
        print(f"  {what:35s} {med(kind):9,.0f} samples/s = "
              f"{ratio(kind, 'headless-app-threads'):.0%} of nn-train's (same threads), "
              f"{ratio(kind, 'headless'):.0%} of headless on every core, "
              f"GUI thread {med(kind, 'gui_cpu'):.0%} of a core")
        print(f"  {'':35s} longest stall {spread(kind, 'stall_ms')}, 99th percentile "
              f"{spread(kind, 'p99_stall_ms')}, longest without the GUI thread's waits for "
              f"a core {spread(kind, 'own_stall_ms')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
