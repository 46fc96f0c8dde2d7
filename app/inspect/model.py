"""InspectModel: what the inspection panels share besides StudioState.

The confusion-matrix panel, the gallery and the image detail do not talk to each other: they
bind to this model. It holds the evaluations to look at (one per finished epoch, plus any the
learner asked for "now"), which of them is shown, the selected cell (true, predicted) and the
selected image. It fills itself from StudioState's signals.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal


@dataclass
class Entry:
    """One confusion matrix that can be shown."""
    label: str                  # "epoch 3" or "step 1,234 (now)"
    epoch: int | None           # epochs completed, None for an on-demand evaluation
    step: int
    confusion: np.ndarray       # (K, K) rows true, columns predicted
    evaluation: object = None   # nncore.train.Evaluation, kept for the newest entries only


class InspectModel(QObject):
    entriesChanged = Signal()            # entries rebuilt or one appended
    currentChanged = Signal(int)         # index of the entry shown
    cellSelected = Signal(int, int)      # (true class, predicted class)
    imageSelected = Signal(int)          # index into the evaluation set

    def __init__(self, state, parent=None):
        super().__init__(parent if parent is not None else state)
        self.state = state
        self.entries: list[Entry] = []
        self.current = -1
        self.cell: tuple[int, int] | None = None
        self.image: int | None = None
        state.epochEvaluated.connect(self._on_state_epoch_evaluated)
        state.historyReset.connect(self._on_state_history_reset)
        state.dataChanged.connect(self._on_state_data_changed)
        self._on_state_history_reset()

    # ---- from the state ----------------------------------------------------------------------
    @staticmethod
    def _entry_from_report(report) -> Entry | None:
        ev = report.event
        cm = getattr(ev, "confusion", None)
        if cm is None and report.evaluation is not None:
            cm = report.evaluation.confusion
        if cm is None:
            return None
        return Entry(f"epoch {ev.epoch}", int(ev.epoch), int(ev.step), np.asarray(cm),
                     report.evaluation)

    def _on_state_epoch_evaluated(self, report):
        entry = self._entry_from_report(report)
        if entry is None:
            return
        follow = self.current == len(self.entries) - 1
        self._drop_old_evaluations(keep_on_demand=True)
        self.entries.append(entry)
        self.entriesChanged.emit()
        if follow or self.current < 0:
            self.set_current(len(self.entries) - 1)

    def _on_state_history_reset(self):
        self.entries = [e for e in map(self._entry_from_report, self.state.epochs) if e]
        self.entriesChanged.emit()
        self.set_current(len(self.entries) - 1, force=True)

    def _on_state_data_changed(self, _data=None):
        self.entries = []
        self.cell = None
        self.image = None
        self.entriesChanged.emit()
        self.set_current(-1, force=True)

    def _drop_old_evaluations(self, keep_on_demand: bool):
        """Only the newest epoch's (and the newest on-demand) evaluation is kept in memory, as
        StudioState does; older entries keep their confusion matrix."""
        for e in self.entries:
            if e.epoch is not None or not keep_on_demand:
                e.evaluation = None

    # ---- from the views ----------------------------------------------------------------------
    def add_on_demand(self, evaluation, step: int) -> None:
        """An evaluation the learner asked for ("Evaluate now") becomes the shown entry."""
        for e in self.entries:
            if e.epoch is None:
                e.evaluation = None
        same = next((i for i, e in enumerate(self.entries) if e.step == int(step)), None)
        if same is not None:
            # the weights of that step evaluated again (after a project was opened its
            # predictions are not in the file): the entry gets them, no second "step N"
            self.entries[same].evaluation = evaluation
            self.entriesChanged.emit()
            self.set_current(same, force=True)
            return
        self.entries.append(Entry(f"step {step:,} (now)", None, int(step),
                                  np.asarray(evaluation.confusion), evaluation))
        self.entriesChanged.emit()
        self.set_current(len(self.entries) - 1)

    def set_current(self, index: int, force: bool = False) -> None:
        index = max(-1, min(index, len(self.entries) - 1))
        if index != self.current or force:
            self.current = index
            self.currentChanged.emit(index)

    @property
    def entry(self) -> Entry | None:
        return self.entries[self.current] if 0 <= self.current < len(self.entries) else None

    def evaluation_for_images(self) -> tuple[object, Entry | None]:
        """The evaluation whose images the gallery shows: the current entry's if it kept one,
        else the newest that did (with its entry, so the view can say which)."""
        e = self.entry
        if e is not None and e.evaluation is not None:
            return e.evaluation, e
        for other in reversed(self.entries):
            if other.evaluation is not None:
                return other.evaluation, other
        return None, None

    def select_cell(self, true: int, predicted: int) -> None:
        self.cell = (int(true), int(predicted))
        self.cellSelected.emit(*self.cell)

    def select_image(self, index: int) -> None:
        self.image = int(index)
        self.imageSelected.emit(self.image)
