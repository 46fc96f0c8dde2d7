"""Input fields that check what is typed, keystroke by keystroke, against an nncore HParam.

``ValidatedField`` is a line edit with a message line under it. While the text is not a valid
value the edit turns red and the message says what is expected ("expected an integer >= 1,
received 0"); only valid values are passed on (``valueEdited``), each as it is typed. An optional
``check`` callback explains impossible combinations (a batch larger than the training set) the
same way. While the text is invalid the model keeps the value the field had when editing began:
a valid value typed on the way ("1" of "1e3", "500" of "5000") is taken back, never kept.

The keyboard: Return accepts the value and leaves the field, Escape puts back the value from
before the edit and leaves it, so the next Space goes to the window (Train/Pause). Until a key is
typed in a field, Space is not a character there either (a Tab into a field, then Space, trains;
it never replaces the selected text by a space).

``FieldGuard`` collects the fields of several panels and says which are invalid: while any is,
training cannot start (the Train button says why).

``field_for(hparam)`` makes the right widget for any HParam: a ValidatedField for numbers and
sizes, a check box for "bool", a combo box for "choice". All of them share one small interface:
``valueEdited`` signal, ``value()``, ``set_value(v)`` (which never emits).
"""
from __future__ import annotations

import re

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QLabel, QLineEdit, QStyle,
                               QStyleOptionComboBox, QStylePainter, QVBoxLayout, QWidget)

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


class FieldEdit(QLineEdit):
    """The line edit of a ValidatedField: Return accepts, Escape cancels, and Space is a
    character only once typing has begun (before that it is the window's Train/Pause)."""

    accepted = Signal()
    cancelled = Signal()

    def __init__(self, text: str = "", parent=None):
        super().__init__(text, parent)
        self.typing = False
        self.textEdited.connect(self._on_self_text_edited)

    def _on_self_text_edited(self, text: str) -> None:
        self.typing = True

    def _space_for_window(self, event) -> bool:
        return (event.key() == Qt.Key_Space and not self.typing
                and not event.modifiers() & ~Qt.KeypadModifier)

    def event(self, event):
        if event.type() == QEvent.ShortcutOverride and self._space_for_window(event):
            event.ignore()          # not taken here: the window's shortcut (Train/Pause) fires
            return True
        return super().event(event)

    def focusInEvent(self, event):
        self.typing = False
        super().focusInEvent(event)

    def keyPressEvent(self, event):
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and not event.modifiers() & ~(
                Qt.KeypadModifier):
            self.accepted.emit()
            return
        if event.key() == Qt.Key_Escape:
            self.cancelled.emit()
            return
        if self._space_for_window(event):
            event.ignore()          # never a space over the selected text
            return
        super().keyPressEvent(event)


class ValidatedField(QWidget):
    """A line edit for one HParam, validated as typed, with its message underneath."""

    valueEdited = Signal(object)
    validityChanged = Signal(bool)      # True: the text is a valid value

    def __init__(self, hparam: HParam, value=None, allow_none: bool = False, check=None,
                 placeholder: str = "", parent=None):
        super().__init__(parent)
        self.hparam = hparam
        self.allow_none = allow_none
        self.check = check            # callable(value) -> message or None
        self._value = value           # the value the model has (as far as this field knows)
        self._committed = value       # the value from before the current edit
        self.edit = FieldEdit(_format(value), self)
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
        self.edit.accepted.connect(self._on_edit_accepted)
        self.edit.cancelled.connect(self._on_edit_cancelled)
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
        self._value = self._committed = value
        if self.edit.text() != _format(value) or self.error():
            self.edit.setText(_format(value))
        self._show_error(None)

    def error(self) -> str | None:
        return self.message.text() if self.message.isVisibleTo(self) else None

    def revalidate(self) -> None:
        """Check the current text again (when what ``check`` depends on has changed)."""
        self._on_edit_text_edited(self.edit.text(), emit=False)

    def commit(self) -> bool:
        """Accept the text as the value from now on (Return); False if it is not valid."""
        if self.error() is not None:
            return False
        self._committed = self._value
        if self.edit.text() != _format(self._value):
            self.edit.setText(_format(self._value))   # canonical form: "1e-3" -> 0.001
        return True

    def cancel(self) -> None:
        """Put back the value from before the edit (Escape)."""
        self.edit.setText(_format(self._committed))
        self._show_error(None)
        self._apply(self._committed)

    def _fit_message(self) -> None:
        """The message's height for its width, as a minimum: a form layout may otherwise give
        a wrapped message fewer lines than it has (and cut it off)."""
        if self.message.isVisibleTo(self):
            h = self.message.heightForWidth(max(self.width(), 40))
            if h > 0 and self.message.minimumHeight() != h:
                self.message.setMinimumHeight(h)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._fit_message()

    # ---- slots -------------------------------------------------------------------------------
    def _apply(self, value) -> None:
        if value != self._value:
            self._value = value
            self.valueEdited.emit(value)

    def _on_edit_text_edited(self, text: str, emit: bool = True) -> None:
        try:
            value = parse(text, self.hparam, self.allow_none)
        except _Invalid as e:
            problem = e.message
        else:
            problem = self.check(value) if self.check is not None and value is not None \
                else None
        self._show_error(problem)
        if emit:
            # invalid: the model goes back to (or stays at) the value from before the edit,
            # never a valid beginning of the text ("1" of "1e3")
            self._apply(value if problem is None else self._committed)

    def _on_edit_editing_finished(self) -> None:
        # leaving the field with a valid value shows it in its canonical form ("1e-3" -> 0.001)
        self.commit()

    def _on_edit_accepted(self) -> None:
        if self.commit():
            self.edit.clearFocus()

    def _on_edit_cancelled(self) -> None:
        self.cancel()
        self.edit.clearFocus()

    def _show_error(self, message: str | None) -> None:
        invalid = message is not None
        was_invalid = self.edit.property("invalid") is True
        if was_invalid != invalid:
            self.edit.setProperty("invalid", invalid)
            self.edit.style().unpolish(self.edit)
            self.edit.style().polish(self.edit)
        self.message.setText(message or "")
        self.message.setToolTip(message or "")
        self.message.setVisible(invalid)
        self._fit_message()
        if was_invalid != invalid:
            self.validityChanged.emit(not invalid)


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


class ElidingComboBox(QComboBox):
    """A combo box that may be narrower than its entries: the current one is elided ("MNIST
    handwritten di…") and then said in full by the tooltip, above the combo's own help."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._help = ""
        self.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(5)
        self.currentIndexChanged.connect(self._update_tooltip)

    def set_help(self, text: str) -> None:
        self._help = text
        self._update_tooltip()

    def _text_rect(self):
        opt = QStyleOptionComboBox()
        self.initStyleOption(opt)
        return self.style().subControlRect(QStyle.CC_ComboBox, opt,
                                           QStyle.SC_ComboBoxEditField, self)

    def is_elided(self) -> bool:
        return self.fontMetrics().horizontalAdvance(self.currentText()) > \
            self._text_rect().width()

    def _update_tooltip(self, *args) -> None:
        tip = self.currentText() if self.is_elided() else ""
        if self._help:
            tip = f"{tip}\n{self._help}" if tip else self._help
        super().setToolTip(tip)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._update_tooltip()

    def paintEvent(self, event):
        painter = QStylePainter(self)
        opt = QStyleOptionComboBox()
        self.initStyleOption(opt)
        painter.drawComplexControl(QStyle.CC_ComboBox, opt)
        width = self._text_rect().width()
        if not opt.currentIcon.isNull():
            width -= opt.iconSize.width() + 4
        opt.currentText = self.fontMetrics().elidedText(opt.currentText, Qt.ElideRight,
                                                        max(width, 0))
        painter.drawControl(QStyle.CE_ComboBoxLabel, opt)


class ChoiceField(ElidingComboBox):
    valueEdited = Signal(object)

    def __init__(self, hparam: HParam, value=None, parent=None):
        super().__init__(parent)
        self.hparam = hparam
        for option in hparam.options():
            self.addItem(str(option), option)
        self.set_value(value)
        self.set_help(hparam.help)
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
        self._update_tooltip()

    def error(self):
        return None

    def _on_self_activated(self, index: int) -> None:
        self.valueEdited.emit(self.itemData(index))


class FieldGuard(QObject):
    """The fields of the window, by group ("training", "layer", ...), and which of them hold
    invalid text. ``changed`` is emitted whenever that may have changed."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._groups: dict[str, list] = {}

    def set_fields(self, group: str, fields) -> None:
        """``fields``: [(label, field)] of ``group``, replacing the ones it had."""
        watched = [(label, f) for label, f in fields if hasattr(f, "validityChanged")]
        for label, f in watched:
            f.validityChanged.connect(self._on_field_validity_changed)
        self._groups[group] = watched
        self.changed.emit()

    def problems(self) -> list[str]:
        """"Epochs: expected an integer >= 1, received 0" for every invalid field."""
        out = []
        for fields in self._groups.values():
            for label, f in fields:
                if not shiboken6.isValid(f):
                    continue
                error = f.error()
                if error:
                    out.append(f"{label}: {error}")
        return out

    def _on_field_validity_changed(self, valid: bool) -> None:
        self.changed.emit()


def field_for(hparam: HParam, value=None, allow_none: bool = False, check=None,
              placeholder: str = "") -> QWidget:
    """The right input widget for ``hparam``, showing ``value``."""
    if hparam.kind == "bool":
        return BoolField(hparam, value)
    if hparam.kind == "choice":
        return ChoiceField(hparam, value)
    return ValidatedField(hparam, value, allow_none=allow_none, check=check,
                          placeholder=placeholder)
