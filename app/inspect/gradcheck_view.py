"""Gradient check: is every layer's backward pass right? One button, one table.

The check runs ``nncore.gradcheck.check_network`` in a worker, on a float64 copy of the current
network and a few evaluation images: for every layer, dL/d(input) and each dL/d(weight) from
``backward`` are compared with central differences of the loss. A row is green when the max
relative error is below 1e-6 — the way to verify a layer you wrote yourself.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QPushButton, QSpinBox,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from .common import JobRunner, build_network, heading, make_loss, network_source, source_step

PASS_BG = QColor(200, 236, 205)
FAIL_BG = QColor(246, 200, 198)
COLUMNS = ["layer", "array", "checked", "max relative error", "result"]


class GradCheckPanel(QWidget):
    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.results = None
        self.button = QPushButton("Check gradients")
        self.button.setToolTip("Compare every layer's backward pass with finite differences")
        self.samples = QSpinBox()
        self.samples.setRange(1, 64)
        self.samples.setValue(4)
        self.samples.setToolTip("Evaluation images in the checked batch")
        self.summary = heading("Press Check gradients to verify every layer's backward pass "
                               "on the current network.", 10, bold=False)
        self.summary.setWordWrap(True)
        self.explain = QLabel(
            "For each layer, the gradients from backward() are compared with central "
            "differences (L(θ+h) − L(θ−h))/2h of the loss, in float64 (h = 1e-6), on a few "
            "coordinates of each array. Green: max relative error below 1e-6.")
        self.explain.setWordWrap(True)
        self.explain.setStyleSheet("color: #666;")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.runner = JobRunner(self)
        self.runner.done.connect(self._on_runner_done)
        self.runner.failed.connect(self._on_runner_failed)

        top = QHBoxLayout()
        top.addWidget(self.button)
        top.addWidget(QLabel("on"))
        top.addWidget(self.samples)
        top.addWidget(QLabel("images"))
        top.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.summary)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.explain)
        self.button.clicked.connect(self._on_button_clicked)
        self.setMinimumSize(420, 260)

    def _on_button_clicked(self):
        data = self.state.data
        if data is None:
            self.summary.setText("Load a data set first: the check needs a few images.")
            return
        n = min(self.samples.value(), len(data.labels))
        self.button.setEnabled(False)
        self.summary.setText("Checking…")
        self.runner.submit(_check_job, network_source(self.state), make_loss(self.state.config),
                           data.images[:n], data.labels[:n], data.preprocessing)

    def _on_runner_done(self, result):
        self.button.setEnabled(True)
        self.results, step, seconds = result
        self.table.setRowCount(len(self.results))
        for row, r in enumerate(self.results):
            err = r.max_rel_error
            cells = [f"{r.layer_index}  {r.layer_type}", r.param,
                     f"{r.checked:,} of {r.size:,}" + (f", {r.kinks} at kinks" if r.kinks else ""),
                     "n/a" if math.isnan(err) else f"{err:.2e}",
                     "pass" if r.passed else "FAIL"]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setBackground(QBrush(PASS_BG if r.passed else FAIL_BG))
                if col in (2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        failed = [r for r in self.results if not r.passed]
        worst = max((r.max_rel_error for r in self.results if not math.isnan(r.max_rel_error)),
                    default=0.0)
        verdict = ("every layer passes" if not failed else
                   f"{len(failed)} of {len(self.results)} arrays FAIL")
        self.summary.setText(f"Network at step {step:,}: {verdict} (worst relative error "
                             f"{worst:.1e}; {seconds:.1f} s).")
        self.summary.setStyleSheet(f"color: {'#1e7b34' if not failed else '#b3261e'};")

    def _on_runner_failed(self, message):
        self.button.setEnabled(True)
        self.summary.setStyleSheet("color: #b3261e;")
        self.summary.setText(f"The check could not run: {message}")

    def errors(self) -> np.ndarray:
        return np.array([r.max_rel_error for r in self.results or []])


def _check_job(source, loss, images, labels, preprocessing):
    """Worker: the finite-difference check of every layer, float64."""
    import time
    from nncore.gradcheck import check_network
    t0 = time.perf_counter()
    net = build_network(source)
    results = check_network(net, loss, preprocessing.apply(images), labels)
    return results, source_step(source), time.perf_counter() - t0
