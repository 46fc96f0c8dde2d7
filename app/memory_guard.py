"""Before a run starts: will it fit in memory? If not, say so, and what to make smaller.

``TrainingController.before_start`` is set to ``MemoryGuard.check``: Train, Step batch and Step
epoch go through it. It estimates what the run needs (nncore.memory: weights, gradients,
optimizer buffers, snapshots, activations and im2col for the batch size, evaluation, data) and
compares it with the machine: more than ``SHARE_OF_TOTAL`` of its physical memory, or more than
``SHARE_OF_AVAILABLE`` of what is free now (plus what this program holds already), and a warning
explains the numbers and what to reduce, with "Train anyway" and "Cancel". A network and size
the learner accepted once is not asked about again.

The estimate is shape arithmetic (about 2 ms): it runs in the GUI thread, before any command.
"""
from __future__ import annotations

import json

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox

from nncore.errors import NNCoreError
from nncore.memory import estimate_training_memory, format_bytes, machine_memory

#: Warn when a run needs more than this share of the computer's physical memory ...
SHARE_OF_TOTAL = 0.5
#: ... or more than this share of the memory free now plus what this program already holds.
SHARE_OF_AVAILABLE = 0.8
#: Copies of the weights besides the network's own: the trainer's last good state, the pause
#: point, the snapshot the views draw from.
SNAPSHOTS = 3


def resident_bytes() -> int:
    """This process's resident memory (VmRSS of /proc/self/status), 0 if unknown."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def memory_problem(needed: int, total: int | None, available: int | None,
                   resident: int = 0) -> str | None:
    """Why ``needed`` bytes are too many for this machine, or None if they fit."""
    limits = []
    if total:
        limits.append((SHARE_OF_TOTAL * total,
                       f"this computer has {format_bytes(total)} in all"))
    if available is not None:
        limits.append((SHARE_OF_AVAILABLE * (available + resident),
                       f"{format_bytes(available)} are free now"))
    over = [why for limit, why in limits if needed > limit]
    return " and ".join(over) if over else None


class MemoryGuard(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.state = window.state
        self.box = None
        self._accepted: set[str] = set()
        self._fits = None               # the settings last found to fit
        window.controller.before_start = self.check

    def estimate(self):
        """The estimate for the network and settings in the window now."""
        s = self.state
        config = s.config
        n_train = n_eval = extra = 0
        if s.data is not None:
            n_train = self.window.training_panel.training_set_size(config) or 0
            n_eval = len(s.data.labels)
            per_image = s.data.images[0].nbytes if len(s.data.images) else 0
            extra = s.data.images.nbytes + (s.data.n_train + n_eval) * per_image   # raw uint8
        return estimate_training_memory(s.spec, config.batch_size, config.optimizer,
                                        n_train=n_train, n_eval=n_eval, snapshots=SNAPSHOTS,
                                        extra_data_bytes=extra)

    def check(self, go) -> None:
        """Call ``go()`` now if the run fits (or was accepted), else after "Train anyway"."""
        if self.box is not None:
            return                                    # already asking
        s = self.state
        settings = json.dumps([s.spec, s.config.to_dict(), s.data is not None],
                              sort_keys=True, default=str)
        if settings == self._fits:                    # checked already: it fits
            go()
            return
        try:
            est = self.estimate()
        except (NNCoreError, ValueError, TypeError, KeyError):
            go()                                      # the worker reports what is wrong
            return
        key = json.dumps([self.state.spec, est.total], sort_keys=True, default=str)
        total, available = machine_memory()
        problem = memory_problem(est.total, total, available, resident_bytes())
        if key in self._accepted or problem is None:
            self._fits = settings if problem is None else None
            go()
            return
        self.box = self._warn(est, problem, key, go)

    def _warn(self, est, problem: str, key: str, go) -> QMessageBox:
        box = QMessageBox(QMessageBox.Warning, "Not enough memory for this run?",
                          f"Training this network needs about {format_bytes(est.total)} of "
                          f"memory, but {problem}. It may stop with an out-of-memory error or "
                          f"make the computer very slow.", QMessageBox.NoButton, self.window)
        box.setObjectName("memoryWarning")
        box.setInformativeText("What takes the most:\n" + "\n".join(
            f"• {line}." for line in est.advice_lines()))
        box.setDetailedText("\n".join(f"{what}: {format_bytes(size)}"
                                      for what, size in est.parts()))
        box.setStyleSheet("QLabel#qt_msgbox_informativelabel { min-width: 30em; }")
        anyway = box.addButton("Train anyway", QMessageBox.AcceptRole)
        anyway.setObjectName("trainAnywayButton")
        cancel = box.addButton(QMessageBox.Cancel)
        box.setDefaultButton(cancel)

        def answered(button):
            self.box = None
            if button is anyway:
                self._accepted.add(key)
                go()
        box.buttonClicked.connect(answered)
        box.finished.connect(lambda *_: setattr(self, "box", None))
        box.setWindowModality(Qt.WindowModal)
        box.open()
        return box
