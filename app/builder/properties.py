"""The property form of the selected layer, generated from its class's ``hparams``.

Each field is validated as it is typed (range, integer-only, ...); valid values go straight into
the network, and while the text is invalid the layer keeps the value it had before the edit (the
form's fields are in the window's FieldGuard: Train waits for them). What is typed in a field is
one undo step until Return or leaving the field; the next edit of it is a step of its own. While
typing, Ctrl+Z and Ctrl+Shift+Z (Ctrl+Y) take back and put back the typed text, and the status
bar says so; in a field with nothing typed (or nothing left to take back) they are the window's
Undo and Redo.
When the layer itself is impossible where it stands (a kernel larger than its input, Dense on
unflattened images), nncore's message is shown here too. While training runs the form is
disabled, and looks it.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QFormLayout, QLabel, QVBoxLayout, QWidget

from ..widgets.fields import FieldGuard, ValidatedField, field_for
from . import catalog
from .stack import error_text, shape_text


class PropertyForm(QWidget):
    def __init__(self, editor, guard: FieldGuard | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("layerProperties")
        self.editor = editor
        self.guard = guard if guard is not None else FieldGuard(self)
        self.state = editor.state
        self.row = -1
        self.type_name = None
        self.fields: dict[str, QWidget] = {}
        self._text_undo: str | None = None      # "undo"/"redo" while Ctrl+Z/Y acts on a field
        self.title = QLabel(self)
        self.title.setObjectName("propertiesTitle")
        self.locked_note = QLabel("Pause or stop training to change the network.", self)
        self.locked_note.setObjectName("propertiesLocked")
        self.locked_note.setWordWrap(True)
        self.locked_note.hide()
        self.description = QLabel(self)
        self.description.setObjectName("propertiesDescription")
        self.description.setWordWrap(True)
        self.form_host = QWidget(self)
        self.form = QFormLayout(self.form_host)
        self.form.setContentsMargins(0, 4, 0, 4)
        self.form.setLabelAlignment(Qt.AlignRight | Qt.AlignTop)
        self.form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        # a narrow dock (1024x768: 182 px) puts a label above its field rather than cut both
        self.form.setRowWrapPolicy(QFormLayout.WrapLongRows)
        self.shapes = QLabel(self)
        self.shapes.setObjectName("propertiesShapes")
        self.shapes.setWordWrap(True)
        self.problem = QLabel(self)
        self.problem.setObjectName("propertiesProblem")
        self.problem.setWordWrap(True)
        self.problem.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.addWidget(self.title)
        lay.addWidget(self.locked_note)
        lay.addWidget(self.description)
        lay.addWidget(self.form_host)
        lay.addWidget(self.problem)
        lay.addWidget(self.shapes)
        lay.addStretch(1)
        editor.currentChanged.connect(self._on_editor_current_changed)
        self.state.specChecked.connect(self._on_state_spec_checked)
        self.state.runStateChanged.connect(self._on_state_run_state_changed)
        self._show(-1)

    # ---- building the form -------------------------------------------------------------------
    def _show(self, row: int) -> None:
        entry = self.editor.layer(row)
        self.row = row
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields = {}
        self.guard.set_fields("layer", [])
        if entry is None:
            self.type_name = None
            self.title.setText("No layer selected")
            self.description.setText("Select a layer in the network to edit its settings, or "
                                     "double-click a layer in the palette to add one.")
            self.shapes.hide()
            self.problem.hide()
            return
        self.type_name = entry.get("type")
        lt = catalog.layer_type(self.type_name or "")
        self.title.setText(f"{row + 1}. {self.type_name}")
        self.description.setText(lt.description if lt else "This layer type is not registered.")
        if lt is not None:
            values = catalog.field_values(entry)
            for name, hp in lt.hparams.items():
                allow_none = name in lt.defaults and lt.defaults[name] is None
                w = field_for(hp, values.get(name), allow_none=allow_none)
                w.setObjectName(f"field_{name}")
                w.valueEdited.connect(lambda v, n=name: self._on_field_value_edited(n, v))
                if isinstance(w, ValidatedField):
                    # Return (even on invalid text) or leaving the field ends its undo step
                    w.edit.accepted.connect(self.editor.end_field_edit)
                    w.edit.editingFinished.connect(self.editor.end_field_edit)
                    w.edit.installEventFilter(self)
                label = QLabel(name.replace("_", " ").capitalize())
                label.setToolTip(hp.help)
                self.form.addRow(label, w)
                self.fields[name] = w
            if not lt.hparams:
                self.form.addRow(QLabel("This layer has no settings."))
            self.guard.set_fields("layer", [
                (f"{self.type_name} {name.replace('_', ' ')}", w)
                for name, w in self.fields.items()])
        self._show_check(self.state.spec_check)
        self._set_locked(self.editor.locked)

    def _show_check(self, check) -> None:
        row = self.row
        err = check.error
        if row < 0:
            return
        if row < len(check.rows):
            r = check.rows[row]
            self.shapes.setText(f"Input {shape_text(r['input_shape'])} → output "
                                f"{shape_text(r['output_shape'])} · {r['params']:,} weights")
            self.shapes.show()
            self.problem.hide()
        elif err is not None and err.index == row:
            self.shapes.hide()
            self.problem.setText(f"⚠ {error_text(err)}")
            self.problem.show()
        else:
            self.shapes.setText("Shapes appear once the layers above this one are valid.")
            self.shapes.show()
            self.problem.hide()

    # ---- model -> view -----------------------------------------------------------------------
    def _on_editor_current_changed(self, row: int) -> None:
        self._show(row)

    def _on_state_spec_checked(self, check) -> None:
        entry = self.editor.layer(self.row)
        if entry is None or entry.get("type") != self.type_name or set(self.fields) != set(
                (catalog.layer_type(self.type_name).hparams if catalog.layer_type(
                    self.type_name) else {})):
            self._show(self.editor.current)
            return
        values = catalog.field_values(entry)
        for name, w in self.fields.items():
            if w.value() != values.get(name):       # changed elsewhere (undo, ...)
                w.set_value(values.get(name))
        self._show_check(check)

    def _on_state_run_state_changed(self, run_state: str) -> None:
        self._set_locked(run_state == "running")

    def _set_locked(self, locked: bool) -> None:
        focus = QApplication.focusWidget()
        if locked and focus is not None and self.form_host.isAncestorOf(focus):
            focus.clearFocus()          # not handed on to the next field
        self.form_host.setEnabled(not locked)
        self.locked_note.setVisible(locked and self.row >= 0)

    # ---- view -> model -----------------------------------------------------------------------
    def eventFilter(self, watched, event) -> bool:
        """Ctrl+Z / Ctrl+Shift+Z in a field: the typed text's undo while typing (and said to be
        an undo), else the network's (the field then shows the model's value)."""
        if event.type() == QEvent.KeyPress:
            for keys, how in ((QKeySequence.Undo, "undo"), (QKeySequence.Redo, "redo")):
                if event.matches(keys) or (how == "redo" and event.key() == Qt.Key_Y
                                           and event.modifiers() == Qt.ControlModifier):
                    self._undo_in_field(watched, how)
                    return True
        return super().eventFilter(watched, event)

    def _undo_in_field(self, edit, how: str) -> None:
        available = edit.isUndoAvailable() if how == "undo" else edit.isRedoAvailable()
        if not (getattr(edit, "typing", False) and available):
            (self.editor.undo if how == "undo" else self.editor.redo)()
            return
        self._text_undo = how
        try:
            edit.undo() if how == "undo" else edit.redo()
        finally:
            self._text_undo = None

    def _on_field_value_edited(self, name: str, value) -> None:
        w = self.fields.get(name)
        self.editor.set_field(self.row, name, value, typing=isinstance(w, ValidatedField),
                              how=self._text_undo or "set")
