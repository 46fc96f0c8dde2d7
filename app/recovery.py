"""Autosave and recovery: a crash or a kill loses at most the current epoch.

While the window is open, the session (network, settings, weights, optimizer state, position,
both histories) is saved to one recovery file:

- at the end of every epoch (while training runs, at most once every ``MIN_INTERVAL`` seconds;
  the newest epoch end is saved once the interval is over), and whenever training pauses,
  finishes or is stepped;
- as a project file (app.project), written atomically by nncore.io: a kill at any moment leaves
  the previous file or the new one;
- off the GUI thread: the worker makes the checkpoint between two batches (copies, the state
  at the end of the last epoch while training runs), a writer thread of its own encodes and
  writes it; a newer checkpoint replaces one still waiting.

A clean exit removes the file. If it is still there at the next launch, the window offers to
restore it, saying when it was saved and what it holds; restoring opens it like a project, so
network, settings, weights and history come back exactly, and the project keeps its own name.

The file: ``$NN_STUDIO_RECOVERY`` if set (tests and scripts), else ``recovery.nnproj`` in the
application data folder (QStandardPaths.AppDataLocation). A lock file beside it keeps a second
window from autosaving over the first one's file.
"""
from __future__ import annotations

import copy
import datetime
import os
import threading
import time
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

from nncore import infer_shapes, io
from nncore.errors import ModelFileError, SpecError

from .messages import show_error
from .project import APP_KEY

#: Seconds between two autosaves while training runs (pausing always saves).
MIN_INTERVAL = 5.0
#: Seconds a pause or a step waits before it is saved (a burst of steps is saved once).
SETTLE = 0.2
RECOVERY_KEY = "recovery"


def recovery_path() -> Path:
    env = os.environ.get("NN_STUDIO_RECOVERY")
    if env:
        return Path(env)
    folder = Path(QStandardPaths.writableLocation(QStandardPaths.AppDataLocation))
    if not QApplication.applicationName():      # scripts: no application name of their own
        folder = folder / "nn-studio"
    return folder / "recovery.nnproj"


# ---- what the file says about itself -----------------------------------------------------------
def _summary(ck: io.Checkpoint, project_path: str) -> dict:
    """What the offer to restore shows, kept in the file (extra["app"]["recovery"])."""
    try:
        params = sum(r["params"] for r in infer_shapes(ck.spec))
    except SpecError:
        params = None
    epochs = ck.history.get("epochs") or []
    last = epochs[-1] if epochs else {}
    app = ck.extra.get(APP_KEY, {})
    return {"saved_at": time.time(), "project_path": project_path,
            "layers": [_short(layer) for layer in ck.spec.get("layers", [])],
            "params": params, "step": ck.training.get("step", 0),
            "epoch": ck.training.get("epoch", 0), "batch": ck.training.get("batch", 0),
            "dataset": app.get("config", {}).get("dataset", ""),
            "val_accuracy": last.get("val_accuracy")}


def _short(layer: dict) -> str:
    """"Dense 128", "Conv2D 16", "ReLU": a layer's type and its main size."""
    for key in ("units", "filters"):
        if isinstance(layer.get(key), int):
            return f"{layer.get('type', '?')} {layer[key]}"
    return str(layer.get("type", "?"))


#: The summary's fields and their types (anything else in a file is not trusted).
_SUMMARY_TYPES = {"saved_at": (int, float), "project_path": str, "layers": list,
                  "params": int, "step": int, "epoch": int, "batch": int, "dataset": str,
                  "val_accuracy": (int, float)}


def read_summary(path) -> dict:
    """The summary a recovery file holds; ModelFileError if it is not a readable one."""
    bundle = io.read_bundle(path)
    extra = bundle.meta.get("extra") if isinstance(bundle.meta, dict) else None
    app = extra.get(APP_KEY) if isinstance(extra, dict) else None
    summary = app.get(RECOVERY_KEY) if isinstance(app, dict) else None
    if bundle.kind != "project" or not isinstance(summary, dict):
        raise ModelFileError(f"{path}: not a recovery file of NN Studio")
    clean = {k: v for k, v in summary.items() if k in _SUMMARY_TYPES
             and isinstance(v, _SUMMARY_TYPES[k]) and not isinstance(v, bool)}
    clean["layers"] = [str(x) for x in clean.get("layers", [])]
    return clean


def _when(seconds: float) -> str:
    then = datetime.datetime.fromtimestamp(seconds)
    now = datetime.datetime.now()
    if then.date() == now.date():
        day = "today"
    elif then.date() == (now - datetime.timedelta(days=1)).date():
        day = "yesterday"
    else:
        day = then.strftime("%d %B %Y")
    ago = max(0, int(now.timestamp() - seconds))
    span = (f"{ago // 86400} days" if ago >= 2 * 86400 else f"{ago // 3600} h {ago % 3600 // 60} min"
            if ago >= 3600 else f"{ago // 60} min" if ago >= 60 else "")
    return f"{day} at {then.strftime('%H:%M')} ({span + ' ago' if span else 'just now'})"


_PLURALS = {"batch": "batches", "epoch": "epochs"}


def _count(n: int, word: str) -> str:
    return f"{n:,} {word if n == 1 else _PLURALS.get(word, word + 's')}"


def trained_text(epoch: int, batch: int, step: int) -> str:
    """"Trained: 260 batches (part of the first epoch)", "Trained: 3 epochs (2,814 batches)",
    "Trained: 3 epochs and 120 batches (2,934 batches in all)", "Not trained yet"."""
    if not step:
        return "Not trained yet"
    if not epoch:
        return f"Trained: {_count(batch or step, 'batch')} (part of the first epoch)"
    if not batch:
        return f"Trained: {_count(epoch, 'epoch')} ({_count(step, 'batch')})"
    return (f"Trained: {_count(epoch, 'epoch')} and {_count(batch, 'batch')} "
            f"({_count(step, 'batch')} in all)")


def describe(summary: dict) -> str:
    """What the offer to restore says the file holds."""
    layers = summary.get("layers") or []
    network = " → ".join(layers) if len(layers) <= 8 else \
        " → ".join(layers[:4] + ["…"] + layers[-3:])
    params = summary.get("params")
    lines = [f"Saved {_when(summary.get('saved_at', 0))}."]
    path = summary.get("project_path")
    lines.append(f"Project: {os.path.basename(path)}" if path else "Project: untitled")
    lines.append(f"Network: {network}" + (f" ({params:,} weights)" if params else ""))
    data = summary.get("dataset")
    lines.append(trained_text(*(summary.get(k, 0) for k in ("epoch", "batch", "step")))
                 + (f" on {data}" if data else ""))
    acc = summary.get("val_accuracy")
    if isinstance(acc, (int, float)):
        lines.append(f"Last evaluated accuracy: {acc:.1%}")
    lines.append("\nRestore brings back the network, settings, weights and history.")
    return "\n".join(lines)


# ---- the writer thread ----------------------------------------------------------------------------
class RecoveryWriter:
    """Encodes and writes checkpoints to ``path`` in a thread of its own; the newest wins.

    ``submit`` may be called from any thread; ``on_error(message)`` is called in the writer
    thread when a write fails (the previous file stays)."""

    def __init__(self, path, on_error=None):
        self.path = Path(path)
        self.on_error = on_error
        self.writes = 0
        self._pending = None
        self._busy = False
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="recoveryWriter", daemon=True)
        self._thread.start()

    def submit(self, ck: io.Checkpoint, project_path: str = "") -> None:
        with self._cond:
            if self._closed:
                return
            self._pending = (ck, project_path)
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait()
                if self._pending is None:
                    return
                (ck, project_path), self._pending = self._pending, None
                self._busy = True
            try:
                self._write(ck, project_path)
            except Exception as e:  # noqa: BLE001 - a failed autosave must not end the app
                if self.on_error is not None:
                    self.on_error(f"{type(e).__name__}: {e}")
            finally:
                ck = None                   # not kept while waiting for the next one
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _write(self, ck: io.Checkpoint, project_path: str) -> None:
        ck.extra = copy.copy(ck.extra)
        app = ck.extra[APP_KEY] = dict(ck.extra.get(APP_KEY, {}))
        app[RECOVERY_KEY] = _summary(ck, project_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        io.save(ck, self.path, kind="project")
        self.writes += 1

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is waiting or being written. True if it got there in time."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._pending is not None or self._busy:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Write what is waiting, then end the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)


# ---- in the window ----------------------------------------------------------------------------
class Recovery(QObject):
    """Autosaves the window's session and, at launch, offers to restore a crashed one."""

    writeFailed = Signal(str)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.state, self.controller = window.state, window.controller
        self.path = recovery_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass                            # then the lock fails too: no autosave
        self.lock = QLockFile(str(self.path) + ".lock")
        self.lock.setStaleLockTime(0)       # stale only when its process is gone
        # False: another window keeps this file (or its folder cannot be written)
        self.active = self.lock.tryLock(0)
        self.offer_box = None
        self._closed = False
        self._last_request = -1e9
        self._error = ""
        self.writer = RecoveryWriter(self.path, on_error=self.writeFailed.emit) \
            if self.active else None
        self._deferred = QTimer(self)
        self._deferred.setSingleShot(True)
        self._deferred.timeout.connect(self.request)
        self.writeFailed.connect(self._on_write_failed)
        self.state.epochEvaluated.connect(self._on_state_epoch_evaluated)
        self.state.runStateChanged.connect(self._on_state_run_state_changed)
        self.state.batchTrained.connect(self._on_state_batch_trained)

    # ---- autosave ----------------------------------------------------------------------------
    def _on_state_epoch_evaluated(self, report) -> None:
        if self.state.run_state == "running":
            self._soon(self._last_request + MIN_INTERVAL - time.monotonic())
        else:
            self._soon()

    def _on_state_run_state_changed(self, run_state: str) -> None:
        if run_state in ("paused", "finished"):
            self._soon()

    def _on_state_batch_trained(self, event) -> None:
        if self.state.run_state != "running":       # a step while paused
            self._soon()

    def _soon(self, wait: float = SETTLE) -> None:
        """Request in ``wait`` seconds (a request already waiting goes first)."""
        if wait <= 0:
            self.request()
        elif not self._deferred.isActive():
            self._deferred.start(int(wait * 1000) + 1)

    def request(self) -> None:
        """Ask the worker for the session's checkpoint, written by the writer thread."""
        if not self.active or self._closed or self.offer_box is not None:
            return                          # (an offer is open: its file must stay as it is)
        self._deferred.stop()
        self._last_request = time.monotonic()
        project_path = self.state.project_path
        writer = self.writer
        self.controller.autosave(lambda ck: writer.submit(ck, project_path))

    def _on_write_failed(self, message: str) -> None:
        if message != self._error:          # once per problem: no message every epoch
            self._error = message
            self.window.statusBar().showMessage(
                f"The session could not be saved for recovery ({message})", 10_000)

    def finish(self) -> None:
        """A clean exit (after the worker has ended): finish writing, remove the file."""
        if self._closed:
            return
        self._closed = True
        self._deferred.stop()
        if self.writer is not None:
            self.writer.close()
        if self.active:
            try:
                self.path.unlink(missing_ok=True)
            except OSError:
                pass
            self.lock.unlock()

    # ---- at launch ---------------------------------------------------------------------------
    def offer(self) -> QMessageBox | None:
        """If a session was left by a crash, ask whether to restore it (non-blocking)."""
        if not self.active or self._closed or not self.path.exists():
            return None
        try:
            summary = read_summary(self.path)
        except ModelFileError as e:
            kept = self.path.with_suffix(".damaged")
            try:
                os.replace(self.path, kept)
            except OSError:
                kept = self.path
            show_error(self.window, "The last session cannot be restored",
                       f"NN Studio was not closed properly last time, but the file it saved "
                       f"for recovery cannot be read. It was kept as {kept}.", str(e))
            return None
        box = QMessageBox(QMessageBox.Question, "Restore the last session?",
                          "NN Studio was not closed properly last time. Your session was "
                          "saved automatically; restore it?", QMessageBox.NoButton, self.window)
        box.setObjectName("recoveryDialog")
        box.setInformativeText(describe(summary))
        box.setStyleSheet("QLabel#qt_msgbox_informativelabel { min-width: 30em; }")
        restore = box.addButton("Restore", QMessageBox.AcceptRole)
        restore.setObjectName("restoreButton")
        discard = box.addButton("Discard", QMessageBox.DestructiveRole)
        discard.setObjectName("discardButton")
        box.setDefaultButton(restore)
        restore.clicked.connect(lambda: self._on_offer_answered(True, summary))
        discard.clicked.connect(lambda: self._on_offer_answered(False, summary))
        box.setWindowModality(Qt.WindowModal)
        box.open()
        self.offer_box = box
        return box

    def _on_offer_answered(self, restore: bool, summary: dict) -> None:
        self.offer_box = None
        if restore:
            self.window.files.restore(str(self.path), summary.get("project_path") or "",
                                      f"Restored the session saved "
                                      f"{_when(summary.get('saved_at', 0))}")
        else:
            try:
                self.path.unlink(missing_ok=True)
            except OSError:
                pass
