"""Input fields that check what is typed, keystroke by keystroke, against an nncore HParam.

``ValidatedField`` is a line edit with a message line under it. While the text is not a valid
value the edit turns red and the message says what is expected ("expected an integer >= 1,
received 0"); only valid values are passed on (``valueEdited``). An optional ``check`` callback
explains impossible combinations (a batch larger than the training set) the same way.

``field_for(hparam)`` makes the right widget for any HParam: a ValidatedField for numbers and
sizes, a check box for "bool", a combo box for "choice". All of them share one small interface:
``valueEdited`` signal, ``value()``, ``set_value(v)`` (which never emits).
"""
from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from nncore.hparams import HParam, HParamError


class _Invalid(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _format(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) >= 1e-4 or value == 0 else f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_format(v) for v in value)
    return str(value)


def _parse_int(text: str, hp: HParam):
    t = text.replace("_", "").replace(" ", "")
    if re.fullmatch(r"[+-]?\d+", t):
        return int(t)
    if re.fullmatch(r"[+-]?\d+\.0*", t):
        return int(float(t))
    raise _Invalid(f"expected {hp.expected()}, received {text!r}")


def parse(text: str, hp: HParam, allow_none: bool = False):
    """The value ``text`` stands for under ``hp`` (checked), or raise _Invalid with a message."""
    text = text.strip()
    if text == "":
        if allow_none:
            return None
        raise _Invalid(f"a value is needed: {hp.expected()}")
    if hp.kind == "int":
        value = _parse_int(text, hp)
    elif hp.kind == "float":
        try:
            value = float(text.replace("_", ""))
        except ValueError:
            raise _Invalid(f"expected {hp.expected()}, received {text!r}") from None
    elif hp.kind in ("size2", "padding"):
        if hp.kind == "padding" and text.lower() in ("valid", "same"):
            value = text.lower()
        else:
            parts = [p for p in re.split(r"[,x×*\s]+", text) if p]
            if len(parts) not in (1, 2):
                raise _Invalid(f"expected {hp.expected()}, received {text!r}")
            nums = [_parse_int(p, hp) for p in parts]
            value = nums[0] if len(nums) == 1 else nums
    else:
        value = text
    try:
        return hp.check(value)
    except HParamError as e:
        raise _Invalid(str(e)) from None


class ValidatedField(QWidget):
    """A line edit for one HParam, validated as typed, with its message underneath."""

    valueEdited = Signal(object)

    def __init__(self, hparam: HParam, value=None, allow_none: bool = False, check=None,
                 placeholder: str = "", parent=None):
        super().__init__(parent)
        self.hparam = hparam
        self.allow_none = allow_none
        self.check = check            # callable(value) -> message or None
        self._value = value
        self.edit = QLineEdit(_format(value), self)
        self.edit.setPlaceholderText(placeholder or ("empty: default" if allow_none else ""))
        self.edit.setToolTip(self._tooltip())
        self.message = QLabel(self)
        self.message.setObjectName("fieldMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.message.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.edit)
        lay.addWidget(self.message)
        self.edit.textEdited.connect(self._on_edit_text_edited)
        self.edit.editingFinished.connect(self._on_edit_editing_finished)
        self.setFocusProxy(self.edit)

    def _tooltip(self) -> str:
        hp = self.hparam
        tip = hp.help or ""
        return f"{tip}\nExpected: {hp.expected()}" if tip else f"Expected: {hp.expected()}"

    # ---- interface ---------------------------------------------------------------------------
    def value(self):
        return self._value

    def set_value(self, value) -> None:
        """Show ``value`` (from the model) without emitting."""
        self._value = value
        if self.edit.text() != _format(value) or self.error():
            self.edit.setText(_format(value))
        self._show_error(None)

    def error(self) -> str | None:
        return self.message.text() if self.message.isVisibleTo(self) else None

    def revalidate(self) -> None:
        """Check the current text again (when what ``check`` depends on has changed)."""
        self._on_edit_text_edited(self.edit.text(), emit=False)

    # ---- slots -------------------------------------------------------------------------------
    def _on_edit_text_edited(self, text: str, emit: bool = True) -> None:
        try:
            value = parse(text, self.hparam, self.allow_none)
        except _Invalid as e:
            self._show_error(e.message)
            return
        problem = self.check(value) if self.check is not None and value is not None else None
        self._show_error(problem)
        if problem is None and emit and value != self._value:
            self._value = value
            self.valueEdited.emit(value)

    def _on_edit_editing_finished(self) -> None:
        # leaving the field with a valid value shows it in its canonical form ("1e-3" -> 0.001)
        if self.error() is None and self.edit.text() != _format(self._value):
            self.edit.setText(_format(self._value))

    def _show_error(self, message: str | None) -> None:
        invalid = message is not None
        if self.edit.property("invalid") != invalid:
            self.edit.setProperty("invalid", invalid)
            self.edit.style().unpolish(self.edit)
            self.edit.style().polish(self.edit)
        self.message.setText(message or "")
        self.message.setVisible(invalid)


class BoolField(QCheckBox):
    valueEdited = Signal(object)

    def __init__(self, hparam: HParam, value=False, text: str = "", parent=None):
        super().__init__(text, parent)
        self.hparam = hparam
        self.setChecked(bool(value))
        self.setToolTip(hparam.help)
        self.toggled.connect(self._on_self_toggled)

    def value(self):
        return self.isChecked()

    def set_value(self, value) -> None:
        self.blockSignals(True)
        self.setChecked(bool(value))
        self.blockSignals(False)

    def error(self):
        return None

    def _on_self_toggled(self, checked: bool) -> None:
        self.valueEdited.emit(checked)


class ChoiceField(QComboBox):
    valueEdited = Signal(object)

    def __init__(self, hparam: HParam, value=None, parent=None):
        super().__init__(parent)
        self.hparam = hparam
        for option in hparam.options():
            self.addItem(str(option), option)
        self.set_value(value)
        self.setToolTip(hparam.help)
        self.activated.connect(self._on_self_activated)

    def value(self):
        return self.currentData()

    def set_value(self, value) -> None:
        self.blockSignals(True)
        i = self.findData(value)
        if i < 0 and value is not None:
            self.addItem(str(value), value)
            i = self.count() - 1
        self.setCurrentIndex(max(i, 0))
        self.blockSignals(False)

    def error(self):
        return None

    def _on_self_activated(self, index: int) -> None:
        self.valueEdited.emit(self.itemData(index))


def field_for(hparam: HParam, value=None, allow_none: bool = False, check=None,
              placeholder: str = "") -> QWidget:
    """The right input widget for ``hparam``, showing ``value``."""
    if hparam.kind == "bool":
        return BoolField(hparam, value)
    if hparam.kind == "choice":
        return ChoiceField(hparam, value)
    return ValidatedField(hparam, value, allow_none=allow_none, check=check,
                          placeholder=placeholder)
