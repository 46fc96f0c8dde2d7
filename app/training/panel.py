"""The training panel: data set, loss, optimizer and its settings, batch size, epochs, seed,
validation split; Train/Pause, Step batch, Step epoch, Stop, Reset weights, Rewind; the epoch
progress bar.

Every field is validated as typed and explains impossible values where they are entered; while
one is invalid, nothing of it is applied and Train says why it cannot start. While training runs
only the optimizer's settings (learning rate, momentum, ...) and the number of epochs can change;
they take effect at the next batch.

The run buttons never take the keyboard focus: after a click, Space is still Train/Pause.
In a narrow panel (a 1024 px screen) a button shows a shorter label ("Batch" for "Step batch",
"Rewind" for "Rewind to 1,319") rather than a clipped one; its tooltip has the long form.
Rewind says where it goes, and asks before it drops more than an epoch of training; Reset
weights asks (``ask_before_reset``, set by the window) before it drops unsaved training.
"""
from __future__ import annotations

import copy
import inspect

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtWidgets import (QApplication, QFormLayout, QFrame, QGridLayout, QGroupBox,
                               QLabel, QMessageBox, QProgressBar, QPushButton, QScrollArea,
                               QSizePolicy, QStyle, QStyleOptionButton, QVBoxLayout, QWidget)

from superqt.utils import qthrottled

from nncore import data as nn_data
from nncore.errors import SpecError
from nncore.hparams import HParam
from nncore.registry import LOSSES, OPTIMIZERS, SCHEDULES
from nncore.session import TrainingConfig

from ..widgets.fields import (BoolField, ElidingComboBox, FieldGuard, ValidatedField,
                              field_for)

#: The schedule entry that stands for "no schedule" (the same rate every epoch).
_NO_SCHEDULE = "Constant"

_SUBSET = HParam("int", "Train on only this many images of each class (empty: all of them). "
                        "Small subsets train in seconds.", min=1, max=10_000_000)


def optimizer_defaults(cls) -> dict:
    sig = inspect.signature(cls.__init__)
    return {n: p.default for n, p in sig.parameters.items()
            if n in cls.hparams and p.default is not inspect.Parameter.empty}


def dataset_entries() -> list[tuple[str, str, bool, str]]:
    """[(name, title, available, reason)] of every data set nncore lists."""
    lister = getattr(nn_data, "list_datasets", None)
    if lister is None:
        return [("mnist", "MNIST (built in)", True, "")]
    out = []
    for info in lister():
        if isinstance(info, str):
            out.append((info, info, True, ""))
        else:
            out.append((info.name, getattr(info, "title", "") or info.name,
                        bool(getattr(info, "available", True)), getattr(info, "reason", "")))
    return out


def shown_epoch(p) -> int:
    """The epoch to show: the one being trained, or the one just finished at its end."""
    return p.epoch + 1 if p.batch or p.epoch == 0 else p.epoch


def shown_batch(p) -> int:
    """The batch to show: at the end of an epoch, its last one (938/938, not 0/938)."""
    return p.batches_per_epoch if p.batch == 0 and p.epoch > 0 else p.batch


def target_epoch(p, run_state: str, epochs: int) -> int:
    """The last epoch of the run: the worker's while a run is on, else where the next Train
    would stop."""
    if run_state in ("running", "paused") and p.target_epoch:
        return p.target_epoch
    if run_state == "finished":
        return max(p.target_epoch, p.epoch)
    return p.epoch + epochs


def is_done(p, run_state: str) -> bool:
    """Finished the whole run (not stopped inside it)."""
    return run_state == "finished" and p.batch == 0 and p.epoch > 0 and \
        p.epoch >= p.target_epoch


#: What the loss and the optimizer are: their combos' tooltips, followed by what the current
#: choice does (its one-line description from nncore's registry).
LOSS_HELP = ("The loss: what training makes smaller, a measure of how far the network's "
             "outputs are from the labels (the Loss plot shows it).")
OPTIMIZER_HELP = ("The optimizer: how each training step changes the weights, from their "
                  "gradients and the learning rate.")


def choice_help(what: str, registry, name: str, running: bool, noun: str) -> str:
    """A registry combo's tooltip: ``what`` it is, then the current choice and what it does."""
    cls = registry.get(name)
    if callable(getattr(cls, "describe", None)):
        line = cls.describe()
    else:
        line = (inspect.getdoc(cls) or "").split("\n")[0] if cls is not None else ""
    text = f"{what}\nNow: {name} — {line}" if line else f"{what}\nNow: {name}"
    return text + (f"\nPause or stop training to change the {noun}." if running else "")


#: Labels of optimizer and schedule settings (others: their name, capitalised).
_LABELS = {"lr": "Learning rate", "t_max": "Decay epochs", "min_lr": "Final rate",
           "step_size": "Decay every", "gamma": "Decay factor"}


def _label(name: str) -> str:
    return _LABELS.get(name, name.replace("_", " ").capitalize())


def _schedule_defaults(cls) -> dict:
    sig = inspect.signature(cls.__init__)
    return {n: p.default for n, p in sig.parameters.items()
            if n in getattr(cls, "hparams", {}) and p.default is not inspect.Parameter.empty}


def _compact(form: QFormLayout) -> QFormLayout:
    """A form with little space between its rows (every setting in view at 1366x768)."""
    form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
    form.setVerticalSpacing(4)
    form.setContentsMargins(8, 4, 8, 6)
    return form


def _label_for(text: str, field, long: str = "") -> QLabel:
    """The label of ``field``, with its help (and the long form of a shortened ``text``) as
    its tooltip."""
    label = QLabel(text)
    tip = field.toolTip() or getattr(getattr(field, "hparam", None), "help", "")
    label.setToolTip(f"{long}: {tip}" if long and tip else (long or tip))
    label.setBuddy(getattr(field, "edit", field))
    return label


def _pair(first, label: QLabel, second) -> QWidget:
    """Two short fields in one form row: ``first``, then ``label`` and ``second``."""
    row = QWidget()
    lay = QGridLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setHorizontalSpacing(6)
    lay.addWidget(first, 0, 0, Qt.AlignmentFlag.AlignTop)
    lay.addWidget(label, 0, 1, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    lay.addWidget(second, 0, 2, Qt.AlignmentFlag.AlignTop)
    lay.setColumnStretch(0, 1)
    lay.setColumnStretch(2, 1)
    label.setContentsMargins(0, 4, 0, 0)        # level with the fields' text
    return row


class FittingButton(QPushButton):
    """A push button with a long label and shorter ones, longest first: it shows the longest
    that fits its width, whole (a clipped "Step batc" reads as a typo). Its size hint is the
    shortest label's, so the layout never changes with the label shown (no resize loop) and
    the panel can be as narrow as that label allows."""

    def __init__(self, icon, labels, parent=None):
        super().__init__(icon, labels[0], parent)
        self._labels = list(labels)

    def labels(self) -> list[str]:
        return list(self._labels)

    def set_labels(self, *labels: str) -> None:
        """The labels it may show, longest first (the first is the full one)."""
        if list(labels) != self._labels:
            self._labels = list(labels)
            self._fit()

    def setText(self, text: str) -> None:        # one label: shown whole or clipped
        self.set_labels(text)

    def needed_width(self, text: str) -> int:
        """The width the style needs to show ``text`` and the icon whole, as QPushButton's own
        size hint computes it."""
        opt = QStyleOptionButton()
        self.initStyleOption(opt)
        opt.text = text
        size = self.fontMetrics().size(Qt.TextFlag.TextShowMnemonic, text)
        w, h = size.width(), size.height()
        if not self.icon().isNull():
            w += self.iconSize().width() + 4
            h = max(h, self.iconSize().height())
        return self.style().sizeFromContents(QStyle.ContentsType.CT_PushButton, opt,
                                             QSize(w, h), self).width()

    def _fit(self) -> None:
        width = self.width()
        text = next((t for t in self._labels if self.needed_width(t) <= width),
                    self._labels[-1])
        if text != self.text():
            super().setText(text)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def sizeHint(self) -> QSize:
        return QSize(self.needed_width(self._labels[-1]), super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()


class TrainingPanel(QScrollArea):
    def __init__(self, controller, icons, guard: FieldGuard | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("trainingPanel")
        self.controller = controller
        self.state = controller.state
        self.icons = icons
        self.guard = guard if guard is not None else FieldGuard(self)
        self.ask_before_reset = None        # callable(go): asks about unsaved training
        self.rewind_box = None
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.NoFrame)
        body = QWidget(self)
        self.setWidget(body)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.setSpacing(4)
        lay.addWidget(self._controls_box())
        lay.addWidget(self._data_box())
        lay.addWidget(self._optimizer_box())
        lay.addStretch(1)
        self.guard.set_fields("training", [
            ("Batch size", self.batch_field), ("Epochs", self.epochs_field),
            ("Seed", self.seed_field), ("Validation split", self.val_field),
            ("Images per class", self.subset_field)])
        self.guard.changed.connect(self._on_guard_changed)
        s = self.state
        s.configChanged.connect(self._on_state_config_changed)
        s.runStateChanged.connect(self._on_state_run_state_changed)
        self._show_progress = qthrottled(self._show_progress_now, timeout=200, leading=False)
        s.progressChanged.connect(self._on_state_progress_changed)
        s.specChecked.connect(self._on_state_spec_checked)
        s.dataChanged.connect(self._on_state_data_changed)
        s.historyReset.connect(self._on_state_history_reset)
        controller.runOutdatedChanged.connect(self._on_controller_run_outdated_changed)
        self._on_state_config_changed(s.config)
        self._update_enabled()

    # ---- building ----------------------------------------------------------------------------
    def _button(self, name, labels, icon, tip, slot) -> FittingButton:
        b = FittingButton(self.icons(icon), labels if isinstance(labels, tuple) else (labels,))
        b.setObjectName(name)
        b.setToolTip(tip)
        b.clicked.connect(slot)
        b.setFocusPolicy(Qt.NoFocus)    # Space stays Train/Pause after a click
        b.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        return b

    def _controls_box(self) -> QWidget:
        box = QGroupBox("Run")
        # less padding beside the labels than elsewhere: "Step batch" whole in a 1024 px window
        box.setStyleSheet("QPushButton { padding: 5px 3px; }")
        grid = QGridLayout(box)
        grid.setSpacing(6)
        c = self.controller
        self.train_button = self._button("trainButton", "Train", "play",
                                         "Train until the number of epochs is reached; press "
                                         "again to pause (Space)", self._on_train_clicked)
        self.train_button.setMinimumHeight(34)
        self.train_button.setProperty("primary", True)
        self.step_batch_button = self._button("stepBatchButton", ("Step batch", "Batch"),
                                              "step-batch", "Step batch: train exactly one "
                                              "batch, then pause (F10)", c.step_batch)
        self.step_epoch_button = self._button("stepEpochButton", ("Step epoch", "Epoch"),
                                              "step-epoch", "Step epoch: train to the end of "
                                              "this epoch, then pause (F11)", c.step_epoch)
        self.stop_button = self._button("stopButton", "Stop", "stop",
                                        "End this run after the current batch; the weights "
                                        "are kept", c.stop)
        self.reset_button = self._button("resetButton", ("Reset weights", "Reset"), "reset",
                                         "Reset weights: draw new initial weights and clear "
                                         "the history (Ctrl+Shift+R)", self.reset_weights)
        self.rewind_button = self._button("rewindButton", "Rewind", "rewind",
                                          "Go back to where training was last paused: the "
                                          "same steps then replay identically", self.rewind)
        grid.addWidget(self.train_button, 0, 0, 1, 2)
        grid.addWidget(self.step_batch_button, 1, 0)
        grid.addWidget(self.step_epoch_button, 1, 1)
        grid.addWidget(self.stop_button, 2, 0)
        grid.addWidget(self.rewind_button, 2, 1)
        grid.addWidget(self.reset_button, 3, 0, 1, 2)
        grid.setColumnStretch(0, 1)         # two columns of equal width, whatever the labels
        grid.setColumnStretch(1, 1)
        self.blocked = QLabel()
        self.blocked.setObjectName("trainBlocked")
        self.blocked.setWordWrap(True)
        self.blocked.hide()
        grid.addWidget(self.blocked, 6, 0, 1, 2)
        self.progress = QProgressBar()
        self.progress.setObjectName("epochProgress")
        self.progress.setTextVisible(True)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("Not trained yet")
        self.progress.setToolTip("Progress through the current epoch")
        grid.addWidget(self.progress, 4, 0, 1, 2)
        self.notice = QLabel()
        self.notice.setObjectName("runNotice")
        self.notice.setWordWrap(True)
        self.notice.hide()
        grid.addWidget(self.notice, 5, 0, 1, 2)
        return box

    def _data_box(self) -> QWidget:
        box = QGroupBox("Data and schedule")
        form = _compact(QFormLayout(box))
        self.dataset_combo = ElidingComboBox()
        self.dataset_combo.setObjectName("datasetCombo")
        for name, title, available, reason in dataset_entries():
            self.dataset_combo.addItem(title, name)
            i = self.dataset_combo.count() - 1
            if not available:
                item = self.dataset_combo.model().item(i)
                item.setEnabled(False)
                self.dataset_combo.setItemData(i, reason, Qt.ToolTipRole)
        self.dataset_combo.set_help("The images and labels to learn from")
        self.dataset_combo.activated.connect(self._on_dataset_combo_activated)
        form.addRow("Data set", self.dataset_combo)
        F = TrainingConfig.FIELDS
        self.batch_field = ValidatedField(F["batch_size"], check=self._check_batch_size)
        self.batch_field.setObjectName("batchSizeField")
        self.epochs_field = ValidatedField(F["epochs"])
        self.epochs_field.setObjectName("epochsField")
        self.seed_field = ValidatedField(F["seed"])
        self.seed_field.setObjectName("seedField")
        self.val_field = ValidatedField(F["val_split"])
        self.val_field.setObjectName("valSplitField")
        self.subset_field = ValidatedField(_SUBSET, allow_none=True, placeholder="all images")
        self.subset_field.setObjectName("subsetField")
        self.standardize_field = BoolField(F["standardize"], text="Standardise inputs")
        self.standardize_field.setObjectName("standardizeField")
        for w, key in ((self.batch_field, "batch_size"), (self.epochs_field, "epochs"),
                       (self.seed_field, "seed"), (self.val_field, "val_split"),
                       (self.subset_field, "subset_per_class"),
                       (self.standardize_field, "standardize")):
            w.valueEdited.connect(lambda v, k=key: self._on_field_value_edited(k, v))
        # the short numbers two to a row: every setting in view on a 1366x768 laptop
        form.addRow(_label_for("Batch size", self.batch_field),
                    _pair(self.batch_field, _label_for("Epochs", self.epochs_field),
                          self.epochs_field))
        form.addRow(_label_for("Seed", self.seed_field),
                    _pair(self.seed_field, _label_for("Val. split", self.val_field,
                                                      "Validation split"), self.val_field))
        form.addRow(_label_for("Per class", self.subset_field, "Images per class"),
                    self.subset_field)
        form.addRow(self.standardize_field)  # the check box: the whole row
        return box

    def _optimizer_box(self) -> QWidget:
        box = QGroupBox("Loss and optimizer")
        self.opt_form = _compact(QFormLayout(box))
        self.loss_combo = ElidingComboBox()
        self.loss_combo.setObjectName("lossCombo")
        self.loss_combo.activated.connect(self._on_loss_combo_activated)
        self.optimizer_combo = ElidingComboBox()
        self.optimizer_combo.setObjectName("optimizerCombo")
        self.optimizer_combo.activated.connect(self._on_optimizer_combo_activated)
        self.schedule_combo = ElidingComboBox()
        self.schedule_combo.setObjectName("scheduleCombo")
        self._fill_registry_combos()
        self.schedule_combo.set_help("How the learning rate changes from epoch to epoch")
        self.schedule_combo.activated.connect(self._on_schedule_combo_activated)
        self.opt_form.addRow("Loss", self.loss_combo)
        self.opt_form.addRow("Optimizer", self.optimizer_combo)
        self.opt_form.labelForField(self.loss_combo).setToolTip(LOSS_HELP)
        self.opt_form.labelForField(self.optimizer_combo).setToolTip(OPTIMIZER_HELP)
        schedule_label = QLabel("LR schedule")
        schedule_label.setToolTip("How the learning rate changes from epoch to epoch")
        self.opt_form.addRow(schedule_label, self.schedule_combo)
        self.opt_fields: dict = {}
        self.schedule_fields: dict = {}
        self._opt_type = None
        self._schedule_type = None
        return box

    def _fill_registry_combos(self) -> None:
        """Loss, optimizer and schedule lists from nncore's registries (a plugin may add one),
        each entry's tooltip its one-line description."""
        for combo, registry, tip in (
                (self.loss_combo, LOSSES, lambda cls: cls.describe()),
                (self.optimizer_combo, OPTIMIZERS, lambda cls: cls.describe()),
                (self.schedule_combo, SCHEDULES, lambda f: inspect.getdoc(f) or "")):
            combo.blockSignals(True)
            combo.clear()
            for name, obj in registry.items():
                combo.addItem(name, name)
                combo.setItemData(combo.count() - 1, tip(obj) or name, Qt.ToolTipRole)
            combo.blockSignals(False)

    def refresh_registry(self) -> None:
        """After Network ▸ Reload plugins: list what the registries hold now and rebuild the
        optimizer's and schedule's fields (a reloaded class may take other settings)."""
        self._fill_registry_combos()
        self._opt_type = self._schedule_type = None
        self._on_state_config_changed(self.controller.state.config)

    def _rebuild_optimizer_fields(self, opt: dict) -> None:
        for _ in range(len(self.opt_fields)):
            self.opt_form.removeRow(2)
        self.opt_fields = {}
        cls = OPTIMIZERS.get(opt["type"])
        self._opt_type = opt["type"]
        if cls is not None:
            values = {**optimizer_defaults(cls), **opt.get("config", {})}
            for i, (name, hp) in enumerate(cls.hparams.items()):
                w = field_for(hp, values.get(name))
                w.setObjectName("learningRateField" if name == "lr" else f"optimizer_{name}")
                w.valueEdited.connect(
                    lambda v, n=name: self._on_optimizer_field_value_edited(n, v))
                label = QLabel(_label(name))
                label.setToolTip(hp.help)
                self.opt_form.insertRow(2 + i, label, w)
                self.opt_fields[name] = w
        self.guard.set_fields("optimizer", [(_label(n), w) for n, w in self.opt_fields.items()])

    def _schedule_row(self) -> int:
        return 2 + len(self.opt_fields)       # Loss, Optimizer, its settings, then Schedule

    def _rebuild_schedule_fields(self, schedule: dict | None) -> None:
        first = self._schedule_row() + 1
        while self.opt_form.rowCount() > first:
            self.opt_form.removeRow(first)
        self.schedule_fields = {}
        name = schedule["type"] if schedule else _NO_SCHEDULE
        self._schedule_type = name
        cls = SCHEDULES.get(name)
        if schedule and cls is not None:
            values = {**_schedule_defaults(cls), **schedule.get("config", {})}
            row = []                        # two to a row, as the data settings
            for hname, hp in getattr(cls, "hparams", {}).items():
                w = field_for(hp, values.get(hname))
                w.setObjectName(f"schedule_{hname}")
                w.valueEdited.connect(
                    lambda v, n=hname: self._on_schedule_field_value_edited(n, v))
                label = QLabel(_label(hname))
                label.setToolTip(hp.help)
                row.append((label, w))
                self.schedule_fields[hname] = w
                if len(row) == 2:
                    self.opt_form.addRow(row[0][0], _pair(row[0][1], *row[1]))
                    row = []
            if row:
                self.opt_form.addRow(*row[0])
        self.guard.set_fields("schedule", [(_label(n), w)
                                           for n, w in self.schedule_fields.items()])

    def _show_schedule(self) -> None:
        """The schedule and its settings in view (when the panel must scroll: a notice above
        them, a small screen), so a change a preset made to them is seen."""
        last = list(self.schedule_fields.values())[-1] if self.schedule_fields \
            else self.schedule_combo
        self.ensureWidgetVisible(last, 8, 8)
        self.ensureWidgetVisible(self.schedule_combo, 8, 8)

    # ---- checks ------------------------------------------------------------------------------
    def training_set_size(self, config: TrainingConfig | None = None) -> int | None:
        """How many images the next run trains on, if the data set is loaded."""
        d = self.state.data
        if d is None:
            return None
        config = config or self.state.config
        pool = d.n_train + (len(d.labels) if d.name == "validation" else 0)
        if config.subset_per_class:
            pool = min(pool, config.subset_per_class * len(d.class_names))
        return max(0, round(pool * (1 - config.val_split)))

    def _check_batch_size(self, value) -> str | None:
        n = self.training_set_size()
        if n is not None and value > n:
            return (f"a batch of {value:,} is larger than the training set ({n:,} images): "
                    f"use at most {n:,}")
        return None

    # ---- model -> view -----------------------------------------------------------------------
    def _on_state_config_changed(self, config: TrainingConfig) -> None:
        i = self.dataset_combo.findData(config.dataset)
        if i < 0:
            self.dataset_combo.addItem(config.dataset, config.dataset)
            i = self.dataset_combo.count() - 1
        self.dataset_combo.blockSignals(True)
        self.dataset_combo.setCurrentIndex(i)
        self.dataset_combo.blockSignals(False)
        schedule = config.schedule["type"] if config.schedule else _NO_SCHEDULE
        if self.schedule_combo.findData(schedule) < 0:
            self.schedule_combo.addItem(schedule, schedule)
        for combo, value in ((self.loss_combo, config.loss["type"]),
                             (self.optimizer_combo, config.optimizer["type"]),
                             (self.schedule_combo, schedule)):
            combo.blockSignals(True)
            combo.setCurrentIndex(max(combo.findData(value), 0))
            combo.blockSignals(False)
            combo._update_tooltip()
        self._update_choice_help()
        # A field shows the model's value when that changed from elsewhere (undo, a preset, a
        # file); a field's own invalid text stays until it is corrected or cancelled.
        for w, value in ((self.batch_field, config.batch_size), (self.epochs_field,
                         config.epochs), (self.seed_field, config.seed),
                         (self.val_field, config.val_split),
                         (self.subset_field, config.subset_per_class),
                         (self.standardize_field, config.standardize)):
            if w.value() != value:
                w.set_value(value)
        if config.optimizer["type"] != self._opt_type:
            self._rebuild_optimizer_fields(config.optimizer)
            self._rebuild_schedule_fields(config.schedule)
        else:
            cls = OPTIMIZERS.get(config.optimizer["type"])
            values = {**(optimizer_defaults(cls) if cls else {}),
                      **config.optimizer.get("config", {})}
            for name, w in self.opt_fields.items():
                if w.value() != values.get(name):
                    w.set_value(values.get(name))
        if schedule != self._schedule_type:
            shown = self._schedule_type is not None
            self._rebuild_schedule_fields(config.schedule)
            if shown and self.isVisible():      # a preset changed it: scrolled into view
                QTimer.singleShot(0, self._show_schedule)
        elif config.schedule:
            cls = SCHEDULES.get(schedule)
            values = {**(_schedule_defaults(cls) if cls else {}),
                      **config.schedule.get("config", {})}
            for name, w in self.schedule_fields.items():
                if w.value() != values.get(name):
                    w.set_value(values.get(name))
        self.batch_field.revalidate()
        self._update_enabled()
        self._show_progress_now()            # "Epoch 1 of 2" as soon as Epochs says 2

    def discard_edits(self) -> None:
        """Every field shows the model's value again (a project was opened or started)."""
        config = self.state.config
        for w, value in ((self.batch_field, config.batch_size), (self.epochs_field,
                         config.epochs), (self.seed_field, config.seed),
                         (self.val_field, config.val_split),
                         (self.subset_field, config.subset_per_class)):
            w.set_value(value)
        self._opt_type = self._schedule_type = None
        self._on_state_config_changed(config)

    def _on_state_data_changed(self, data) -> None:
        self.batch_field.revalidate()

    def _on_state_run_state_changed(self, run_state: str) -> None:
        self._update_enabled()
        if run_state != "running":          # stopped or paused: where it ended, at once
            self._show_progress_now()

    def _on_state_spec_checked(self, check) -> None:
        self._update_enabled()

    def _on_state_history_reset(self) -> None:
        if self.state.history.steps == 0:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("Not trained yet")
        self._update_rewind()

    def _on_state_progress_changed(self, p) -> None:
        self._show_progress()

    def _show_progress_now(self) -> None:
        p, rs = self.state.progress, self.state.run_state
        if rs != "running":
            self._update_rewind()
        if p.batches_per_epoch <= 0 or (p.step == 0 and rs == "idle"):
            if self.state.history.steps == 0 and self.progress.format() != "Not trained yet":
                self._on_state_history_reset()
            return
        # Only the value changes from batch to batch ("%v" in the format): a new text would
        # make the window lay itself out again, many times a second.
        target = target_epoch(p, rs, self.state.config.epochs)
        if is_done(p, rs):
            fmt = f"Done: {p.epoch} of {target} epochs"
        elif rs == "finished":
            fmt = f"Stopped in epoch {shown_epoch(p)}/{target} at batch %v/%m"
        else:
            fmt = f"Epoch {shown_epoch(p)}/{target} · batch %v/%m"
        if self.progress.format() != fmt:
            self.progress.setFormat(fmt)
        if self.progress.maximum() != p.batches_per_epoch:
            self.progress.setRange(0, p.batches_per_epoch)
        value = shown_batch(p)
        if self.progress.value() != value:
            # QProgressBar.setValue repaints at once (a paint of its own, in this event);
            # with updates off it only schedules one, which Qt then paints together with the
            # rest of the window's changes
            self.progress.setUpdatesEnabled(False)
            self.progress.setValue(value)
            self.progress.setUpdatesEnabled(True)

    def _on_controller_run_outdated_changed(self, outdated: bool) -> None:
        self.notice.setText("The network or the settings changed: the next Train starts a new "
                            "run with new weights. Undo the change to continue this run.")
        self.notice.setVisible(outdated)
        self._update_enabled()              # "Resume" or "Train" (a new run)

    def why_not(self) -> str | None:
        """Why training cannot start now (None: it can)."""
        problems = self.guard.problems()
        if problems:
            return f"Fix {problems[0]}" + (f" (and {len(problems) - 1} more)"
                                            if len(problems) > 1 else "")
        if not self.controller.can_train:
            return "The network is invalid: fix the layer marked in red to train."
        return None

    def _update_enabled(self) -> None:
        rs = self.state.run_state
        running = rs == "running"
        why = self.why_not()
        can = why is None
        self.train_button.setEnabled(can or running)
        resumes = rs == "paused" and not self.controller.run_outdated   # else a new run
        self.train_button.setText("Pause" if running else "Resume" if resumes else "Train")
        self.train_button.setIcon(self.icons("pause" if running else "play"))
        if running:
            tip = "Pause: one more batch, recorded by the backward-pass inspector (Space)"
        elif can and rs == "finished" and not self.controller.run_outdated:
            more = self.state.config.epochs
            tip = (f"Train {more} more epoch{'s' if more != 1 else ''}, to epoch "
                   f"{self.state.progress.epoch + more} (Space)")
        elif can:
            tip = "Train until the number of epochs is reached (Space)"
        else:
            tip = f"Cannot train: {why}"
        self.train_button.setToolTip(tip)
        self.blocked.setText(why or "")
        self.blocked.setVisible(bool(why) and not running)
        for b in (self.step_batch_button, self.step_epoch_button):
            b.setEnabled(can and not running)
            b.setToolTip(b.toolTip().split("\nCannot")[0]
                         + ("" if can or running else f"\nCannot train: {why}"))
        self.stop_button.setEnabled(rs in ("running", "paused"))
        self.reset_button.setEnabled(not running)
        self._set_enabled([self.dataset_combo, self.loss_combo, self.optimizer_combo,
                           self.schedule_combo, self.batch_field, self.seed_field,
                           self.val_field, self.subset_field, self.standardize_field,
                           *self.schedule_fields.values()], not running)
        self.dataset_combo.set_help("Pause or stop training to change the data set" if running
                                    else "The images and labels to learn from")
        self._update_choice_help()
        self._update_rewind()

    def _update_choice_help(self) -> None:
        """The loss's and optimizer's tooltips: what each is and what the current one does."""
        running = self.state.run_state == "running"
        for combo, what, registry, noun in (
                (self.loss_combo, LOSS_HELP, LOSSES, "loss"),
                (self.optimizer_combo, OPTIMIZER_HELP, OPTIMIZERS, "optimizer")):
            combo.set_help(choice_help(what, registry, combo.currentData() or "", running,
                                       noun))

    def _set_enabled(self, widgets, enabled: bool) -> None:
        """Enable or disable ``widgets``; a field that had the focus gives it up (rather than
        Qt passing it to the next field, where Space would then be typed)."""
        focus = QApplication.focusWidget()
        for w in widgets:
            if not enabled and focus is not None and (w is focus or w.isAncestorOf(focus)):
                focus.clearFocus()
            w.setEnabled(enabled)

    def _on_guard_changed(self) -> None:
        self._update_enabled()

    # ---- rewind ------------------------------------------------------------------------------
    def rewind_target(self) -> int | None:
        """The batch (in all) Rewind goes back to, if it can now (paused after it)."""
        p = self.state.progress
        if self.state.run_state != "paused" or not 0 <= p.rewind_step < p.step:
            return None
        return p.rewind_step

    def _update_rewind(self) -> None:
        target = self.rewind_target()
        b = self.rewind_button
        b.setEnabled(target is not None)
        b.set_labels(*((f"Rewind to {target:,}", "Rewind") if target is not None
                       else ("Rewind",)))
        if target is None:
            tip = ("Go back to where training was last paused (Ctrl+Backspace): the same steps "
                   "then replay identically. Pause, then step or train on, to have somewhere "
                   "to go back to.")
        else:
            p = self.state.progress
            tip = (f"Rewind to {target:,}: go back to batch {target:,} (after "
                   f"{p.rewind_epoch} epoch"
                   f"{'s' if p.rewind_epoch != 1 else ''}), where training was last paused; "
                   f"the same steps then replay identically (Ctrl+Backspace)")
        b.setToolTip(tip)

    def rewind(self) -> None:
        """Rewind to the pause; ask first if that drops more than one epoch of training."""
        target = self.rewind_target()
        if target is None or self.rewind_box is not None:
            return
        p = self.state.progress
        dropped = p.step - target
        if dropped <= max(p.batches_per_epoch, 1):
            self.controller.rewind(False)
            return
        box = QMessageBox(QMessageBox.Question, f"Rewind to batch {target:,}?",
                          f"Rewinding goes back to batch {target:,}, where training was last "
                          f"paused, and drops the {dropped:,} batches trained since (more "
                          f"than an epoch of {p.batches_per_epoch:,}): their weights and "
                          f"curves are lost.", QMessageBox.NoButton, self.window())
        box.setObjectName("rewindDialog")
        go = box.addButton(f"Rewind to {target:,}", QMessageBox.DestructiveRole)
        go.setObjectName("confirmRewindButton")
        cancel = box.addButton(QMessageBox.Cancel)
        box.setDefaultButton(cancel)
        box.setAttribute(Qt.WA_DeleteOnClose)

        def answered(button):
            self.rewind_box = None
            if button is go and self.rewind_target() == target:
                self.controller.rewind(False)
        box.buttonClicked.connect(answered)
        box.finished.connect(lambda *_: setattr(self, "rewind_box", None))
        box.setWindowModality(Qt.WindowModal)
        box.open()
        self.rewind_box = box

    def reset_weights(self) -> None:
        if self.ask_before_reset is not None:
            self.ask_before_reset(self.controller.reset_weights)
        else:
            self.controller.reset_weights()

    # ---- view -> model -----------------------------------------------------------------------
    def _set_config(self, **changes) -> None:
        d = self.state.config.to_dict()
        d.update(changes)
        try:
            config = TrainingConfig.from_dict(d)
        except (SpecError, TypeError, ValueError):
            return      # the field shows why; the model keeps its last valid settings
        self.state.set_config(config)

    def _on_field_value_edited(self, key: str, value) -> None:
        self._set_config(**{key: value})

    def _on_dataset_combo_activated(self, index: int) -> None:
        self._set_config(dataset=self.dataset_combo.itemData(index))

    def _on_loss_combo_activated(self, index: int) -> None:
        self._set_config(loss={"type": self.loss_combo.itemData(index), "config": {}})

    def _on_optimizer_combo_activated(self, index: int) -> None:
        name = self.optimizer_combo.itemData(index)
        if name == self.state.config.optimizer["type"]:
            return
        defaults = optimizer_defaults(OPTIMIZERS[name])
        self._set_config(optimizer={"type": name,
                                    "config": {"lr": defaults.get("lr", 0.01)}})

    def _on_optimizer_field_value_edited(self, name: str, value) -> None:
        opt = copy.deepcopy(self.state.config.optimizer)
        opt.setdefault("config", {})[name] = value
        self._set_config(optimizer=opt)

    def _on_schedule_combo_activated(self, index: int) -> None:
        name = self.schedule_combo.itemData(index)
        current = self.state.config.schedule["type"] if self.state.config.schedule else \
            _NO_SCHEDULE
        if name == current:
            return
        if name == _NO_SCHEDULE:
            self._set_config(schedule=None)
        else:
            self._set_config(schedule={"type": name, "config": {}})

    def _on_schedule_field_value_edited(self, name: str, value) -> None:
        schedule = copy.deepcopy(self.state.config.schedule)
        if not schedule:
            return
        schedule.setdefault("config", {})[name] = value
        self._set_config(schedule=schedule)

    def _on_train_clicked(self) -> None:
        self.controller.toggle()
