"""Gradient check: is every layer's backward pass right? One button, one table, one sentence.

What is checked is the network *in the builder*, as it is when the button is pressed: its
current spec, with the trained weights of the last snapshot in every layer that is still the
same (same type, settings and weight shapes, matched in order even when layers were added or
removed around it) and fresh weights (the training seed's) in the others. The result says so
("the network in the builder: 6 layers, weights after 32 batches in layers 1 and 4, fresh
weights in layer 3"), and turns grey with "Out of date" as soon as the network is edited or its
weights change.

The check itself is ``nncore.gradcheck.diagnose_steps`` in a worker thread, with a progress bar:
every layer in the network (dL/d(input) and each dL/d(weight) from the loss back, against
central differences), the loss alone, and every layer alone on the input it receives in the
network. A layer that fails alone has a wrong backward pass; the layers below it fail in the
network only because its wrong gradient reaches them, and are shown as such (amber, not red).
A row is green when its max relative error is below 1e-6.
"""
from __future__ import annotations

import difflib
import json
import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton,
                               QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from .common import JobRunner, heading, make_loss

PASS_BG = QColor(200, 236, 205)
FAIL_BG = QColor(246, 200, 198)
INHERITED_BG = QColor(252, 232, 190)   # fails only in the network: a wrong gradient from above
UNVERIFIED_BG = QColor(230, 230, 230)
STALE_FG = QColor(140, 140, 140)
GOOD_TEXT, BAD_TEXT = "#1e7b34", "#b3261e"
COLUMNS = ["layer", "gradient", "alone", "in network", "result"]


# ---- which network: the builder's spec, trained weights where the layers still match ---------
def _layer_key(config: dict) -> str:
    return json.dumps(config, sort_keys=True, default=str)


def spec_key(spec: dict | None) -> str:
    return json.dumps(spec or {}, sort_keys=True, default=str)


def snapshot_key(snapshot) -> tuple | None:
    """Changes whenever the snapshot's weights may have (training, a rewind, new weights)."""
    if snapshot is None:
        return None
    return snapshot.step, snapshot.epoch, spec_key(snapshot.spec)


@dataclass
class CheckedNetwork:
    """Which network a check ran on, in words a learner can match with the builder."""
    spec_key: str
    snapshot_key: tuple | None
    layer_names: list                 # "Dense(units=128)" per layer
    trained_step: int | None          # batches behind the snapshot weights used (None: none used)
    from_snapshot: list = field(default_factory=list)   # layers with the snapshot's weights
    fresh: list = field(default_factory=list)           # layers with weights of their own
    seed: int = 0
    images: int = 0

    def describe(self) -> str:
        n = len(self.layer_names)
        if not self.from_snapshot and not self.fresh:
            weights = "no weights"
        elif not self.fresh:
            weights = self._trained_words()
        elif not self.from_snapshot:
            weights = f"fresh weights (seed {self.seed})" + (
                "" if self.trained_step is None else
                ": no layer with weights matches the trained network")
        else:
            weights = (f"{self._trained_words()} in {_layers(self.from_snapshot)}, fresh "
                       f"weights (seed {self.seed}) in {_layers(self.fresh)}")
        return (f"the network in the builder: {n} layer{'s' if n != 1 else ''}; {weights}; "
                f"{self.images} image{'s' if self.images != 1 else ''}")

    def _trained_words(self) -> str:
        step = self.trained_step or 0
        return (f"weights after {step:,} batch{'es' if step != 1 else ''}" if step
                else "initial weights, not trained yet")


def _layers(indices) -> str:
    """Layer indices as the builder numbers them (from 1): [0, 2, 3] -> "layers 1, 3 and 4"."""
    idx = [i + 1 for i in indices]
    if len(idx) == 1:
        return f"layer {idx[0]}"
    return "layers " + ", ".join(map(str, idx[:-1])) + f" and {idx[-1]}"


def network_in_builder(spec: dict, seed: int, snapshot):
    """(float32 Network, CheckedNetwork) for the builder's ``spec`` (call in a worker).

    Every layer with weights that also appears in the snapshot's network, in the same order
    (same type and settings, matched like lines in a text diff, so that adding or removing a
    layer keeps the others), with weights of the same shapes, gets the snapshot's weights
    (and layer state, such as BatchNorm's statistics); the other layers keep the fresh weights
    that ``Network.from_spec(spec, seed)`` gives them, as training afresh would."""
    from nncore import Network
    net = Network.from_spec(spec, seed=seed, dtype="float32")
    names = [repr(layer).removesuffix("()") for layer in net.layers]
    checked = CheckedNetwork(spec_key(spec), snapshot_key(snapshot), names, None, seed=seed)
    weighted = [i for i, layer in enumerate(net.layers) if layer.params or layer.state_arrays()]
    if snapshot is None:
        checked.fresh = weighted
        return net, checked
    old = Network.from_spec(snapshot.spec, seed=seed, dtype="float32")
    keys_old = [_layer_key(c) for c in old.to_spec()["layers"]]
    keys_new = [_layer_key(c) for c in net.to_spec()["layers"]]
    matched = {}
    for block in difflib.SequenceMatcher(None, keys_old, keys_new,
                                         autojunk=False).get_matching_blocks():
        for k in range(block.size):
            matched[block.b + k] = block.a + k
    current = net.get_weights()
    for i in weighted:
        j = matched.get(i)
        mine = {k.split(".", 1)[1]: v for k, v in current.items() if k.split(".", 1)[0] == str(i)}
        theirs = {name: snapshot.weights.get(f"{j}.{name}") for name in mine} if j is not None \
            else {}
        if theirs and all(t is not None and np.shape(t) == m.shape
                          for t, m in zip(theirs.values(), mine.values())):
            for name, value in theirs.items():
                current[f"{i}.{name}"] = np.asarray(value, dtype=np.float32)
            checked.from_snapshot.append(i)
        else:
            checked.fresh.append(i)
    net.set_weights(current)
    checked.trained_step = int(snapshot.step)
    return net, checked


class _Stopped(Exception):
    """The learner pressed Stop."""


def _check_job(spec, seed, snapshot, loss, images, labels, preprocessing, progress, stop):
    """Worker: build the builder's network, then every step of the diagnosis, telling
    ``progress(done, total, what)`` after each and stopping early when ``stop`` is set."""
    from nncore.gradcheck import diagnose_steps
    t0 = time.perf_counter()
    net, checked = network_in_builder(spec, seed, snapshot)
    checked.images = len(images)
    steps = diagnose_steps(net, loss, preprocessing.apply(images), labels)
    while True:
        if stop.is_set():
            raise _Stopped()
        try:
            done, total, what = next(steps)
        except StopIteration as finished:
            return checked, finished.value, time.perf_counter() - t0
        if stop.is_set():              # (also when the panel is gone: nobody to tell)
            raise _Stopped()
        progress(done, total, what)


class _Progress(QObject):
    """Emitted from the worker thread, received in the GUI thread (a queued connection)."""
    changed = Signal(int, int, str)


# ---- the panel ---------------------------------------------------------------------------
class GradCheckPanel(QWidget):
    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.diagnosis = None           # nncore.gradcheck.NetworkDiagnosis of the last check
        self.checked: CheckedNetwork | None = None
        self.stale_reason = ""          # why the shown result no longer fits the network
        self._stop = threading.Event()
        self.button = QPushButton("Check gradients")
        self.button.setToolTip("Compare every layer's backward pass with finite differences, "
                               "on the network as it is in the builder now")
        self.samples = QSpinBox()
        self.samples.setRange(1, 64)
        self.samples.setValue(4)
        self.samples.setToolTip("Evaluation images in the checked batch")
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setVisible(False)
        self.summary = heading("Press Check gradients to verify every layer's backward pass "
                               "on the network in the builder.", 10, bold=False)
        self.summary.setWordWrap(True)
        self.summary.setObjectName("gradCheckSummary")
        self.which = QLabel("")
        self.which.setWordWrap(True)
        self.which.setObjectName("gradCheckNetwork")
        self.explain = QLabel(
            "Each layer's backward() is compared with central differences (L(θ+h) − L(θ−h))/2h "
            "in float64: alone, on the input it gets in the network, and in the network, from "
            "the loss down. Green: relative error below 1e-6. Red: its own backward is wrong. "
            "Amber: right alone, but the gradient it receives from above is wrong.")
        self.explain.setWordWrap(True)
        self.explain.setStyleSheet("color: #666;")
        self.stale_label = QLabel("")
        self.stale_label.setWordWrap(True)
        self.stale_label.setObjectName("gradCheckStale")
        self.stale_label.setStyleSheet(f"color: {BAD_TEXT}; font-weight: bold;")
        self.stale_label.setVisible(False)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.runner = JobRunner(self)
        self.runner.done.connect(self._on_runner_done)
        self.runner.failed.connect(self._on_runner_failed)
        self._progress = _Progress(self)
        self._progress.changed.connect(self._on_worker_progress)
        self.destroyed.connect(self._stop.set)      # a check still running stops at its next step

        top = QHBoxLayout()
        top.addWidget(self.button)
        top.addWidget(QLabel("on"))
        top.addWidget(self.samples)
        top.addWidget(QLabel("images"))
        top.addWidget(self.progress, 1)
        top.addStretch(0)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.stale_label)
        lay.addWidget(self.summary)
        lay.addWidget(self.which)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.explain)
        self.button.clicked.connect(self._on_button_clicked)
        state.specChanged.connect(self._on_state_network_changed)
        state.snapshotChanged.connect(self._on_state_network_changed)
        self.setMinimumSize(420, 260)

    # ---- view -> work ------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.runner.busy

    def _on_button_clicked(self):
        if self.running:
            self._stop.set()
            self.button.setEnabled(False)
            self.progress.setFormat("stopping after this step…")
            return
        self.start_check()

    def start_check(self) -> bool:
        """Check the network in the builder now; False (and a message) if it cannot be."""
        state = self.state
        error = getattr(state.spec_check, "error", None)
        problem = None
        if not state.spec or not state.spec.get("layers"):
            problem = "There is no network in the builder yet: add layers first."
        elif error is not None:
            problem = f"The network in the builder has an error, fix it first: {error}"
        elif state.data is None:
            problem = "Load a data set first: the check needs a few images."
        if problem:
            self._set_summary(problem, BAD_TEXT)
            return False
        data = state.data
        n = min(self.samples.value(), len(data.labels))
        self._stop.clear()      # (a new check starts only once the last one has ended)
        self.button.setText("Stop")
        self.samples.setEnabled(False)
        self.progress.setRange(0, 0)            # busy until the first step is done
        self.progress.setFormat("building the network…")
        self.progress.setVisible(True)
        self._set_summary("Checking the network in the builder…", "#333")
        self.runner.submit(_check_job, json.loads(spec_key(state.spec)),
                           int(getattr(state.config, "seed", 0)), state.snapshot,
                           make_loss(state.config), data.images[:n], data.labels[:n],
                           data.preprocessing, self._progress.changed.emit, self._stop)
        return True

    # ---- work -> view ------------------------------------------------------------------------
    def _on_worker_progress(self, done, total, what):
        if not self.running:
            return
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} of {total} steps")
        if not self._stop.is_set():
            self.summary.setText(f"Checking the network in the builder… done: {what}.")

    def _finish(self):
        self.button.setText("Check gradients")
        self.button.setEnabled(True)
        self.samples.setEnabled(True)
        self.progress.setVisible(False)

    def _on_runner_done(self, result):
        self._finish()
        self.checked, self.diagnosis, seconds = result
        self.stale_reason = ""
        self._fill_table()
        self._show_verdict(seconds)
        self._on_state_network_changed()      # edited while it ran? then it is out of date now

    def _on_runner_failed(self, message):
        self._finish()
        if message.startswith("_Stopped"):
            self._set_summary("Stopped before the check was complete.", "#333")
            return
        self._set_summary(f"The check could not run: {message}", BAD_TEXT)

    def _show_verdict(self, seconds: float):
        d = self.diagnosis
        self._seconds = seconds
        if d.passed:
            text = (f"The network in the builder: every layer passes, alone and in the network "
                    f"(worst relative error {d.worst:.1e}).")
        else:
            text = d.sentence(number_from=1)          # layers as the builder numbers them
        self._set_summary(text, GOOD_TEXT if d.passed else BAD_TEXT)
        self.which.setText(f"Checked {self.checked.describe()}, in {seconds:.1f} s.")
        self.which.setStyleSheet("")
        self.stale_label.setVisible(False)
        self.explain.setVisible(False)      # the result column says it now (tooltips: more)

    def _set_summary(self, text: str, colour: str):
        self.summary.setText(text)
        self.summary.setStyleSheet(f"color: {colour};")

    def _rows(self):
        """(layer label, array label, check alone, check in the network or None, result text,
        background) per table row, in layer order, then the loss."""
        d = self.diagnosis
        names = self.checked.layer_names if self.checked else d.layer_types
        rows = []
        for i, name in enumerate(names):
            inside = {r.param: r for r in d.results(i, alone=False)}
            source = d.inherited_from(i)
            for alone in d.results(i):
                array = "dX" if alone.param == "input" else f"d{alone.param}"
                rows.append((f"{i + 1}  {name}", array, alone, inside.get(alone.param))
                            + _result(d.failed_alone(i), source, alone,
                                      inside.get(alone.param)))
        if d.loss is not None:
            rows.append((f"loss  {d.loss_type}", "dL/d(output)", d.loss, None)
                        + _result(d.loss_failed, None, d.loss, None))
        return rows

    def _fill_table(self):
        rows = self._rows()
        self.table.setRowCount(len(rows))
        bold = QFont(self.table.font())
        bold.setBold(True)
        first_fail = None
        for row, (label, array, alone, inside, result, kind) in enumerate(rows):
            bg = _BACKGROUNDS[kind]
            shown_label = label if row == 0 or rows[row - 1][0] != label else ""
            cells = [shown_label, array, _err(alone), "—" if inside is None else _err(inside),
                     result]
            if kind == "fail" and first_fail is None:
                first_fail = row
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setBackground(QBrush(bg))
                if col in (2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                    checked = alone if col == 2 else inside
                    if checked is not None:
                        item.setToolTip(f"{checked.checked:,} of {checked.size:,} coordinates"
                                        + (f", {checked.kinks} at kinks" if checked.kinks else ""))
                if col == 0:
                    item.setToolTip(label)
                if col == 4:
                    item.setToolTip(_RESULT_TIPS[kind])
                if kind == "fail":
                    item.setFont(bold)
                self.table.setItem(row, col, item)
        if first_fail is not None:     # the culprit in view, also in a small dock
            self.table.scrollToItem(self.table.item(first_fail, 0),
                                    QTableWidget.ScrollHint.PositionAtCenter)
        self._grey_if_stale()

    # ---- out of date -------------------------------------------------------------------------
    def _on_state_network_changed(self, *_):
        if self.checked is None:
            return
        reasons = []
        if spec_key(self.state.spec) != self.checked.spec_key:
            reasons.append("the network in the builder was edited")
        snap = self.state.snapshot
        if snapshot_key(snap) != self.checked.snapshot_key:
            reasons.append(f"its weights changed (now after {snap.step:,} batches)"
                           if snap is not None and snap.step else "its weights changed")
        reason = " and ".join(reasons)
        if reason == self.stale_reason:
            return
        self.stale_reason = reason
        if reason:
            self.stale_label.setText(f"Out of date: {reason} after this check. Press Check "
                                     f"gradients to check it as it is now.")
            self.stale_label.setVisible(True)
            self.summary.setStyleSheet(f"color: {STALE_FG.name()};")
            self.which.setStyleSheet(f"color: {STALE_FG.name()};")
        elif self.diagnosis is not None:
            self._show_verdict(self._seconds)
        self._grey_if_stale()

    @property
    def stale(self) -> bool:
        return bool(self.stale_reason)

    def _grey_if_stale(self):
        fg = QBrush(STALE_FG) if self.stale else QBrush(QColor(0, 0, 0))
        for r in range(self.table.rowCount()):
            for c in range(self.table.columnCount()):
                item = self.table.item(r, c)
                if item is not None:
                    item.setForeground(fg)

    # ---- for tests and scripts ---------------------------------------------------------------
    @property
    def results(self):
        """The NetworkDiagnosis of the last check (None before the first)."""
        return self.diagnosis

    def errors(self) -> np.ndarray:
        """Per table row, the larger of its two relative errors (alone, in the network)."""
        if self.diagnosis is None:
            return np.array([])
        out = []
        for _, _, alone, inside, _, _ in self._rows():
            values = [r.max_rel_error for r in (alone, inside) if r is not None]
            out.append(max(values))
        return np.array(out)

    def row_results(self) -> list[tuple[str, str, str]]:
        """(layer, array, result) as shown, per row."""
        return [(self.table.item(r, 0).toolTip(), self.table.item(r, 1).text(),
                 self.table.item(r, 4).text()) for r in range(self.table.rowCount())]


_BACKGROUNDS = {"pass": PASS_BG, "fail": FAIL_BG, "inherited": INHERITED_BG,
                "unverified": UNVERIFIED_BG}
_RESULT_TIPS = {
    "pass": "below 1e-6 both alone and in the network",
    "fail": "this layer's own backward pass disagrees with finite differences of its forward "
             "pass: the mistake is here",
    "inherited": "this layer is right when checked alone; in the network the gradient dY "
                  "it receives from above is already wrong, so the gradients it passes on "
                  "are wrong too",
    "unverified": "every checked coordinate sat on a kink (ReLU at 0, tied maxima): "
                   "finite differences cannot say",
}


def _result(layer_failed: bool, source, alone, inside) -> tuple[str, str]:
    """The result text and kind ("pass", "fail", "inherited", "unverified") of one row.
    ``layer_failed``: its layer (or the loss) fails alone; ``source``: where a wrong gradient
    reaching it comes from (a layer index, "loss")."""
    if layer_failed:
        return ("FAIL: its backward" if _failed(alone) else
                "ok (another of its gradients fails)"), "fail"
    if inside is not None and _failed(inside) and source is not None:
        where = "the loss" if source == "loss" else f"layer {source + 1}"
        return f"wrong dY from {where}", "inherited"
    if alone.passed and (inside is None or inside.passed):
        return "pass", "pass"
    if _unverified(alone) or (inside is not None and _unverified(inside)):
        return "not verified: every coordinate at a kink", "unverified"
    return "FAIL in the network only", "fail"


def _failed(r) -> bool:
    return not r.passed and not math.isnan(r.max_rel_error)


def _unverified(r) -> bool:
    return math.isnan(r.max_rel_error)


def _err(r) -> str:
    return "n/a (kinks)" if math.isnan(r.max_rel_error) else f"{r.max_rel_error:.1e}"
