"""The "Network" panel: the layer stack between its input and its total, with edit buttons."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QMenu, QStyle, QStyleOptionToolButton,
                               QStylePainter, QToolButton, QVBoxLayout, QWidget)

from .presets import changes, load_presets
from .stack import LayerStack, error_text


class MenuToolButton(QToolButton):
    """A tool button that opens its menu, with the arrow "▾" after its text.

    The style's own indicator for a button with a menu is a small arrow in the bottom-right
    corner, drawn over the text (the "s" of "Presets"), since its size hint leaves no room
    for it. Here the arrow is part of the text, so the size hint counts it, and the style is
    told there is no menu to mark."""

    def setText(self, text: str) -> None:
        super().setText(f"{text} ▾")

    def paintEvent(self, event) -> None:
        painter = QStylePainter(self)
        option = QStyleOptionToolButton()
        self.initStyleOption(option)
        option.features &= ~QStyleOptionToolButton.HasMenu
        painter.drawComplexControl(QStyle.CC_ToolButton, option)


class NetworkPanel(QWidget):
    presetApplied = Signal(str)

    def __init__(self, editor, icons, parent=None):
        super().__init__(parent)
        self.editor = editor
        self.state = editor.state
        self.confirm_discard = None         # callable(what, go), set by the window
        self.stack = LayerStack(editor, self)
        self.input_label = QLabel(self)
        self.input_label.setObjectName("inputShapeLabel")
        self.input_label.setWordWrap(True)         # the panel may be narrow
        self.total = QLabel(self)
        self.total.setObjectName("totalParams")
        self.total.setWordWrap(True)
        self.presets_button = MenuToolButton(self)
        self.presets_button.setObjectName("presetsButton")
        self.presets_button.setText("Presets")
        self.presets_button.setToolTip("Replace the network by a ready-made one (undoable)")
        self.presets_button.setPopupMode(QToolButton.InstantPopup)
        self.presets_menu = QMenu(self)
        self.presets_menu.aboutToShow.connect(self._on_presets_menu_about_to_show)
        self.presets_button.setMenu(self.presets_menu)

        buttons = QHBoxLayout()
        buttons.setSpacing(0)       # side by side like a tool bar's: room for "Presets ▾" at 1024 px
        self.actions = {}
        for key, text, tip, icon in (
                ("up", "Move up", "Move the selected layer up (Alt+Up)", "up"),
                ("down", "Move down", "Move the selected layer down (Alt+Down)", "down"),
                ("duplicate", "Duplicate", "Duplicate the selected layer (Ctrl+D)", "duplicate"),
                ("delete", "Delete", "Delete the selected layer (Del)", "delete")):
            b = QToolButton(self)
            b.setObjectName(f"{key}LayerButton")
            b.setToolTip(tip)
            b.setIcon(icons(icon))
            b.setAutoRaise(True)
            b.clicked.connect(getattr(self, f"_on_{key}_clicked"))
            buttons.addWidget(b)
            self.actions[key] = b
        buttons.addStretch(1)
        buttons.addWidget(self.presets_button)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 6)
        lay.setSpacing(4)
        lay.addLayout(buttons)
        lay.addWidget(self.input_label)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.total)
        self.state.specChecked.connect(self._on_state_spec_checked)
        self.state.runStateChanged.connect(self._on_state_run_state_changed)
        editor.currentChanged.connect(self._on_editor_current_changed)
        self._on_state_spec_checked(self.state.spec_check)
        self._update_buttons()

    # ---- model -> view -----------------------------------------------------------------------
    def _on_state_spec_checked(self, check) -> None:
        shape = self.state.spec.get("input_shape") or []
        source = self.state.data.dataset.upper() if self.state.data is not None and \
            self.state.data.dataset else "the data set"
        self.input_label.setText(f"Input: {'×'.join(map(str, shape))} images from {source}")
        if check.ok:
            self.total.setProperty("invalid", False)
            n = len(check.rows)
            self.total.setText(f"<b>{check.total_params:,}</b> weights in {n} layer"
                               f"{'s' if n != 1 else ''}")
        else:
            self.total.setProperty("invalid", True)
            err = check.error
            index, kind = getattr(err, "index", None), getattr(err, "layer_type", None)
            where = "The network" if index is None else \
                f"Layer {index + 1}" + (f" ({kind})" if kind else "")
            self.total.setText(f"<b>{where} is invalid:</b> {error_text(err)}<br>"
                               f"Fix it to train.")
        self.total.style().unpolish(self.total)
        self.total.style().polish(self.total)
        self._update_buttons()

    def _on_editor_current_changed(self, row: int) -> None:
        self._update_buttons()

    def _on_state_run_state_changed(self, run_state: str) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        row, n = self.editor.current, len(self.editor.layers)
        free = not self.editor.locked
        self.actions["up"].setEnabled(free and row > 0)
        self.actions["down"].setEnabled(free and 0 <= row < n - 1)
        self.actions["duplicate"].setEnabled(free and row >= 0)
        self.actions["delete"].setEnabled(free and row >= 0)
        self.presets_button.setEnabled(free)
        self.stack.setDragEnabled(free)

    # ---- presets -----------------------------------------------------------------------------
    def _on_presets_menu_about_to_show(self) -> None:
        self.presets_menu.clear()
        presets, problems = load_presets()
        for preset in presets:
            act = QAction(preset.name, self.presets_menu)
            act.setToolTip(preset.description)
            act.setStatusTip(preset.description)
            act.triggered.connect(lambda checked=False, p=preset: self.choose_preset(p))
            self.presets_menu.addAction(act)
        self.presets_menu.setToolTipsVisible(True)
        for problem in problems:
            act = self.presets_menu.addAction(f"(skipped) {problem}")
            act.setEnabled(False)

    def choose_preset(self, preset) -> None:
        """The presets menu: ask first if unsaved training would be dropped
        (``confirm_discard``, set by the window), then apply."""
        if self.confirm_discard is not None:
            self.confirm_discard("preset", lambda: self.apply_preset(preset))
        else:
            self.apply_preset(preset)

    def apply_preset(self, preset, text: str | None = None) -> None:
        """Replace the network (and the recipe of its settings) by ``preset``'s, undoably;
        ``presetApplied`` then says what changed."""
        if self.editor.locked:
            self.editor.refuse(text or f"Preset {preset.name}")
            return
        spec = dict(preset.spec)
        shape = self.state.spec.get("input_shape")
        if shape and spec.get("input_shape") != shape and self.state.data is not None:
            spec["input_shape"] = list(shape)     # the loaded data set decides the input
        before = self.state.config
        after = preset.config(before)
        self.editor.replace(spec, text or f"Preset {preset.name}", config_after=after)
        changed = changes(before, after) if after is not None else []
        self.presetApplied.emit(f"{text or preset.name}: " + (
            "; ".join(changed) if changed else "settings unchanged") + " · Undo: Ctrl+Z")

    # ---- buttons -----------------------------------------------------------------------------
    def _on_up_clicked(self) -> None:
        self.editor.move_layer(self.editor.current, self.editor.current - 1)

    def _on_down_clicked(self) -> None:
        self.editor.move_layer(self.editor.current, self.editor.current + 1)

    def _on_duplicate_clicked(self) -> None:
        self.editor.duplicate_layer(self.editor.current)

    def _on_delete_clicked(self) -> None:
        self.editor.remove_layer(self.editor.current)
