"""NetworkEditor: every edit of the network goes through here, as an undoable command.

Each command stores the whole spec before and after (specs are small), so undo and redo are
exact whatever the edit was. Typing in a property field sends one edit per keystroke; those
merge into one undo step until the field is left (Return, Escape, a click elsewhere:
``end_field_edit``), so "3 ⏎ then 2 ⏎" in one field is two steps. After every change of
``state.spec`` the editor runs nncore's shape inference and publishes a SpecCheck (shapes and
parameter counts per layer, and the first error with nncore's message, or the editor's own for
an output that does not have one value per class).

Every edit, undo and redo says what happened in one short line (``edited``, for the status
bar), so the last message always describes the last change: "invalid now" only when the edit
made a valid network invalid, and short enough for the status bar of a 1400-px window.
"""
from __future__ import annotations

import copy

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from nncore import infer_shapes
from nncore.errors import SpecError

from ..state import SpecCheck, StudioState
from . import catalog

_MERGE_ID = 4242


def check_spec(spec: dict, n_classes: int | None = None,
               dataset: str | None = None) -> SpecCheck:
    """Shapes of every valid layer, and the first error (nncore's SpecError) if any.

    Besides nncore's checks, a network to train must have layers and, for a data set of
    ``n_classes`` classes (named ``dataset``), end with one output per class: see
    ``output_error``."""
    try:
        rows = infer_shapes(spec)
        total = sum(r["params"] for r in rows)
        if not rows:
            return SpecCheck(rows=[], error=SpecError(
                "the network has no layers: add some from the palette"), total_params=0)
        error = output_error(rows, n_classes, dataset)
        if error is not None:
            valid = rows[:error.index]
            return SpecCheck(rows=valid, total_params=sum(r["params"] for r in valid),
                             error=error)
        return SpecCheck(rows=rows, total_params=total)
    except SpecError as e:
        rows = []
        if e.index is not None and isinstance(spec.get("layers"), list):
            try:
                rows = infer_shapes({"input_shape": spec["input_shape"],
                                     "layers": spec["layers"][:e.index]})
            except (SpecError, KeyError):
                rows = []
        return SpecCheck(rows=rows, error=e, total_params=sum(r["params"] for r in rows))


def _has_units(type_name: str) -> bool:
    lt = catalog.layer_type(type_name or "")
    return lt is not None and "units" in lt.hparams


def output_error(rows: list, n_classes: int | None, dataset: str | None = None):
    """The SpecError of a network (its shape rows) whose output is not one value per class,
    or None if it is (or the number of classes is not known).

    When the output is what the last layer with ``units`` (a Dense) makes — every layer after
    it keeps its shape, as Softmax or Dropout do — that layer is marked, and its units are
    what to change: "64 units, but MNIST has 10 classes: set units to 10". Otherwise (the
    network ends in images, or without a Dense) the last layer is marked."""
    out = tuple(rows[-1]["output_shape"])
    if not n_classes or out == (n_classes,):
        return None
    name = dataset.upper() if dataset else "the data set"
    last = next((i for i in range(len(rows) - 1, -1, -1) if _has_units(rows[i]["type"])), None)
    if last is not None and len(out) == 1 and all(
            tuple(r["output_shape"]) == out for r in rows[last:]):
        return SpecError(f"{out[0]:,} units, but {name} has {n_classes} classes: set units to "
                         f"{n_classes}", index=last, layer_type=rows[last]["type"],
                         field="units", expected=str(n_classes), received=out[0])
    end = rows[-1]
    advice = (f"put Dense(units={n_classes}) before the {end['type']}"
              if end["type"] == "Softmax" else
              f"end it with Dense(units={n_classes}) and Softmax")
    return SpecError(f"the network ends with output {out}, but {name} has {n_classes} "
                     f"classes: {advice}", index=len(rows) - 1, layer_type=end["type"],
                     field="input", received=list(out))


def output_start(layers: list) -> int:
    """Index of the network's output layers: a final Softmax and the Dense right before it
    (``len(layers)`` if the network does not end with Softmax, e.g. while being built)."""
    types = [e.get("type") if isinstance(e, dict) else None for e in layers]
    if not types or types[-1] != "Softmax":
        return len(types)
    start = len(types) - 1
    return start - 1 if start > 0 and types[start - 1] == "Dense" else start


class SpecCommand(QUndoCommand):
    """Replace the spec (and optionally the training settings); undo puts the old ones back."""

    def __init__(self, editor, before: dict, after: dict, text: str, select_after=None,
                 merge_key=None, config_before=None, config_after=None):
        super().__init__(text)
        self.editor = editor
        self.before, self.after = before, after
        self.select_before = editor.current
        self.select_after = select_after
        self.merge_key = merge_key
        self.open = merge_key is not None   # the next edit of the same field may merge in
        self.config_before, self.config_after = config_before, config_after

    def redo(self):
        if self.config_after is not None:
            self.editor.state.set_config(copy.deepcopy(self.config_after))
        self.editor._apply(self.after, self.select_after)

    def undo(self):
        if self.config_before is not None:
            self.editor.state.set_config(copy.deepcopy(self.config_before))
        self.editor._apply(self.before, self.select_before)

    def id(self):
        return _MERGE_ID if self.merge_key is not None else -1

    def mergeWith(self, other):
        if not self.open or other.merge_key is None or other.merge_key != self.merge_key:
            return False
        self.after = other.after
        self.select_after = other.select_after
        self.setText(other.text())
        if self.after == self.before:   # typed back to where it was: no undo step at all
            self.setObsolete(True)
        return True


class NetworkEditor(QObject):
    """The builder's model-side logic: edits, selection, undo stack, shape checking."""

    currentChanged = Signal(int)        # selected layer row, -1 for none
    editRefused = Signal(str)           # an edit while training runs: why nothing happened
    layerAdded = Signal(str)            # where a new layer went (and why), for the status bar
    edited = Signal(str)                # what the last edit, undo or redo did (status bar)

    def __init__(self, state: StudioState, parent=None):
        super().__init__(parent)
        self.state = state
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(500)
        self.current = -1
        self.locked = False             # True while training runs: the network cannot change
        state.specChanged.connect(self._on_state_spec_changed)
        state.runStateChanged.connect(self._on_state_run_state_changed)
        state.dataChanged.connect(self._on_state_data_changed)
        self._on_state_spec_changed(state.spec)

    # ---- reading -----------------------------------------------------------------------------
    @property
    def layers(self) -> list:
        layers = self.state.spec.get("layers")
        return layers if isinstance(layers, list) else []

    def layer(self, row: int) -> dict | None:
        return self.layers[row] if 0 <= row < len(self.layers) else None

    # ---- selection ---------------------------------------------------------------------------
    def set_current(self, row: int) -> None:
        row = row if 0 <= row < len(self.layers) else -1
        if row != self.current:
            self.current = row
            self.currentChanged.emit(row)

    # ---- edits -------------------------------------------------------------------------------
    def _push(self, layers: list, text: str, select=None, merge_key=None,
              input_shape=None, said: str | None = None, layer: int | None = None) -> bool:
        """Make the edit as one undo step; False if it was not made (training runs, or
        nothing changed). ``said``: the status-bar line for it (``edited``), to which what
        became of the network's validity is added; ``layer``: the row the edit put or changed
        a layer at (an error there is "it")."""
        if self.locked:
            self.refuse(text)
            return False
        before = copy.deepcopy(self.state.spec)
        after = copy.deepcopy(before)
        after["layers"] = layers
        if input_shape is not None:
            after["input_shape"] = list(input_shape)
        if after == before:
            return False
        was = self.state.spec_check
        if merge_key is None:
            self.end_field_edit()
        self.undo_stack.push(SpecCommand(self, before, after, text, select, merge_key))
        if said is not None:
            self.edited.emit(_say([said, *self._validity(was, layer)], "Undo: Ctrl+Z"))
        return True

    def end_field_edit(self) -> None:
        """The field being typed in was left (Return, Escape, the focus went elsewhere): its
        next edit is a new undo step, not merged into this one."""
        top = self.undo_stack.command(self.undo_stack.index() - 1)
        if isinstance(top, SpecCommand):
            top.open = False

    def _validity(self, was: SpecCheck, row: int | None = None) -> list[str]:
        """What an edit (of layer ``row``) did to the network's validity (``was``: its check
        before), as sentences: [] if it stays valid; "invalid now" only if the edit made it
        invalid, "still invalid" if it was already. Kept short: the card says why."""
        check = self.state.spec_check
        if check.ok:
            return [] if was.ok else ["The network is valid again."]
        at = getattr(check.error, "index", None)
        where = f" at layer {at + 1}" if at is not None else ""
        if not was.ok:
            return [f"Still invalid{where}."]
        if at is None:
            return ["The network is invalid now: see the message under the layers."]
        if at == row:
            return ["It makes the network invalid."]
        return [f"The network is invalid now{where}."]

    def add_layer(self, type_name: str, row: int | None = None,
                  how: str = "dropped") -> int | None:
        """Insert a new layer and select it; returns its row (None if nothing was added).

        ``row``: where it was dropped (or, with ``how`` "top" or "before", where the palette's
        menu or a Shift+double-click puts it). Without one (a double-click in the palette, the
        Network menu), the new layer goes after the selected layer, or, with none selected,
        where ``default_row`` says: where it mends the error marked on a card if the network
        is invalid, else before the output layers, not after Softmax. ``layerAdded`` and
        ``edited`` then say where it went, and whether the network is valid."""
        layers = copy.deepcopy(self.layers)
        if row is not None:
            row = max(0, min(row, len(layers)))
        elif self.current >= 0:
            row, how = self.current + 1, "after"
        else:
            mend = self.mending_row(type_name)
            row, how = (mend, "mend") if mend is not None else \
                (self.default_row(type_name), "default")
        layers.insert(row, catalog.new_layer(type_name))
        was = self.state.spec_check
        if not self._push(layers, f"Add {type_name}", select=row):
            return None                  # refused: training runs
        text = self._added_text(type_name, row, how, was)
        self.layerAdded.emit(text)
        self.edited.emit(text)
        return row

    def mending_row(self, type_name: str) -> int | None:
        """In an invalid network, where a new ``type_name`` mends the error marked on a card:
        the latest row at or before the marked layer after which that layer is no longer the
        first error (Flatten right before the Dense that needs flat input). None if the
        network is valid, the error is on no layer, or no place mends it."""
        check = self.state.spec_check
        bad = getattr(check.error, "index", None) if not check.ok else None
        layers = self.layers
        if bad is None or not 0 <= bad < len(layers):
            return None
        for row, result in self._trials(type_name, bad):
            at = getattr(result.error, "index", None)
            if result.ok or (at is not None and at > bad + 1):
                return row
        return None

    def _trials(self, type_name: str, last_row: int):
        """(row, check of the network with a new ``type_name`` inserted at row), for rows
        from ``last_row`` back to 0 (a generator: the caller stops at the first it likes)."""
        entry = catalog.new_layer(type_name)
        layers = self.layers
        for row in range(last_row, -1, -1):
            trial = dict(self.state.spec)
            trial["layers"] = layers[:row] + [entry] + layers[row:]
            yield row, self.check(trial)

    def default_row(self, type_name: str) -> int:
        """Where a new layer goes when no place was given and no layer is selected.

        In front of the output layers (a final Softmax and the Dense right before it: a layer
        after Softmax is almost never meant), as late as the shapes allow: a Dense goes just
        before the output Dense, a Conv2D before Flatten (it needs images), a layer in a network
        being built without Softmax yet at the end. If the network is invalid already, or the
        new layer fits nowhere, just in front of the output layers."""
        layers = self.layers
        start = output_start(layers)
        if not self.state.spec_check.ok:
            return start
        return next((row for row, result in self._trials(type_name, start) if result.ok), start)

    def _added_text(self, type_name: str, row: int, how: str, was: SpecCheck) -> str:
        """One short status-bar line: "Added Dense as layer 4, before the output Dense →
        Softmax (no layer was selected)." Cards are numbered from 1."""
        layers = self.layers
        names = [e.get("type", "?") if isinstance(e, dict) else "?" for e in layers]
        n = len(names)
        out = output_start(layers)
        if n == 1:
            where = "the only layer"
        elif row == n - 1 and names[row - 1] == "Softmax":
            where = "after the output Softmax: on purpose?"
        elif how == "after":
            where = f"after the selected {names[row - 1]}"
        elif how == "mend":
            where = f"before {names[row + 1]}, as its card asked"
        elif how == "before":
            where = f"before the selected {names[row + 1]}"
        elif how == "default" and row + 1 == out < n:
            where = f"before the output {' → '.join(names[out:])}"
        elif how == "default" and row + 1 < out:
            where = f"before {names[row + 1]}, the latest place its input fits"
        elif row == 0:
            where = f"at the top, before {names[1]}"
        elif row == n - 1:
            where = f"at the end, after {names[row - 1]}"
        else:
            where = f"between {names[row - 1]} and {names[row + 1]}"
        end = "" if where.endswith("?") else "."
        text = f"Added {type_name} as layer {row + 1}, {where}{end}"
        validity = self._validity(was, row)
        why = f"Added {type_name} as layer {row + 1}, {where} (no layer was selected)."
        if how == "default" and n > 1 and len(" ".join([why, *validity])) <= STATUS_CHARS:
            text = why                      # when there is room for it
        return _say([text, *validity], "Undo: Ctrl+Z")

    def remove_layer(self, row: int) -> None:
        if self.layer(row) is None:
            return
        layers = copy.deepcopy(self.layers)
        removed = layers.pop(row)
        select = min(row, len(layers) - 1)
        name = removed.get("type", "layer")
        self._push(layers, f"Delete {name}", select=select,
                   said=f"Deleted {name} (was layer {row + 1}).")

    def duplicate_layer(self, row: int) -> None:
        if self.layer(row) is None:
            return
        layers = copy.deepcopy(self.layers)
        layers.insert(row + 1, copy.deepcopy(layers[row]))
        name = layers[row].get("type", "layer")
        self._push(layers, f"Duplicate {name}", select=row + 1, layer=row + 1,
                   said=f"Duplicated {name} as layer {row + 2}.")

    def move_layer(self, row: int, to: int) -> None:
        """Move the layer at ``row`` so that it ends up at index ``to``."""
        if self.layer(row) is None:
            return
        layers = copy.deepcopy(self.layers)
        to = max(0, min(to, len(layers) - 1))
        if to == row:
            return
        entry = layers.pop(row)
        layers.insert(to, entry)
        name = entry.get("type", "layer")
        self._push(layers, f"Move {name}", select=to, layer=to,
                   said=f"Moved {name} from layer {row + 1} to layer {to + 1}.")

    def set_field(self, row: int, field: str, value, typing: bool = False,
                  how: str = "set") -> None:
        """Set one hyper-parameter.

        ``typing``: a keystroke in a text field; the keystrokes of one field merge into one undo
        step until ``end_field_edit`` (Return, or the field was left). ``how``: "undo" or
        "redo" when Ctrl+Z / Ctrl+Shift+Z in the field took back (or put back) typed text:
        the status bar says so rather than describing a new edit."""
        if self.layer(row) is None:
            return
        layers = copy.deepcopy(self.layers)
        entry = layers[row]
        lt = catalog.layer_type(entry.get("type", ""))
        if lt is not None and field in lt.defaults and lt.defaults[field] == value:
            entry.pop(field, None)      # back to the default: keep the spec minimal
        else:
            entry[field] = value
        name, shown = field.replace("_", " "), _shown(value)
        where = f"{name} of layer {row + 1} ({entry.get('type')})"
        said = {"undo": f"Undid typing in {where}: back to {shown}.",
                "redo": f"Redid typing in {where}: {shown} again."}.get(
                    how, f"Set {where} to {shown}.")
        self._push(layers, f"Set {name} of layer {row + 1} to {shown}", select=row,
                   merge_key=(row, field) if typing else None, said=said, layer=row)

    def set_input_shape(self, shape) -> None:
        self._push(copy.deepcopy(self.layers), f"Input shape {tuple(shape)}",
                   select=self.current, input_shape=shape)

    def replace(self, spec: dict, text: str, config_after=None) -> None:
        """Replace the whole network (a preset), optionally with its training settings."""
        if self.locked:
            self.refuse(text)
            return
        before = copy.deepcopy(self.state.spec)
        after = copy.deepcopy(spec)
        config_before = copy.deepcopy(self.state.config) if config_after is not None else None
        self.end_field_edit()
        self.undo_stack.push(SpecCommand(self, before, after, text, select_after=-1,
                                         config_before=config_before,
                                         config_after=copy.deepcopy(config_after)))

    def reset(self, spec: dict) -> None:
        """Start over from ``spec`` with an empty undo history (a project was opened)."""
        self.undo_stack.clear()
        self._apply(spec, -1)

    def refuse(self, text: str) -> None:
        """Say that an edit was not made: training runs."""
        self.editRefused.emit(f"{text}: not while training runs. Pause or stop training to "
                              f"change the network.")

    # ---- applying ----------------------------------------------------------------------------
    def _apply(self, spec: dict, select) -> None:
        self.state.set_spec(spec)
        self.set_current(select if select is not None else -1)

    def check(self, spec: dict) -> SpecCheck:
        """``check_spec`` against the loaded data set (its number of classes and name)."""
        data = self.state.data
        if data is None:
            return check_spec(spec)
        return check_spec(spec, len(data.class_names), getattr(data, "dataset", None))

    def _on_state_spec_changed(self, spec) -> None:
        self.state.set_spec_check(self.check(spec))

    def _on_state_data_changed(self, data) -> None:
        """A data set with other image sizes: the network's input follows it (undoable)."""
        shape = list(data.images.shape[1:])
        if shape and self.state.spec.get("input_shape") != shape and not self.locked:
            self.set_input_shape(shape)
        else:
            self._on_state_spec_changed(self.state.spec)   # the number of classes may differ

    def _on_state_run_state_changed(self, run_state: str) -> None:
        self.locked = run_state == "running"

    # ---- undo --------------------------------------------------------------------------------
    def undo(self) -> None:
        if not self.locked and self.undo_stack.canUndo():
            self.end_field_edit()
            text, was = self.undo_stack.undoText(), self.state.spec_check
            self.undo_stack.undo()
            self.edited.emit(_say([f"Undid “{text}”.", *self._validity(was)], "Redo: Ctrl+Y"))

    def redo(self) -> None:
        if not self.locked and self.undo_stack.canRedo():
            text, was = self.undo_stack.redoText(), self.state.spec_check
            self.undo_stack.redo()
            self.end_field_edit()
            self.edited.emit(_say([f"Redid “{text}”.", *self._validity(was)], "Undo: Ctrl+Z"))


#: A status-bar line longer than this (in characters) leaves its key hint out: at the default
#: width (1400 px) the status bar shows about 100 characters next to its training labels.
STATUS_CHARS = 100


def _say(sentences: list[str], hint: str) -> str:
    """The sentences, and the key ``hint`` ("Undo: Ctrl+Z") if there is room for it."""
    text = " ".join(sentences)
    return f"{text} {hint}" if len(text) + 1 + len(hint) <= STATUS_CHARS else text


def _shown(value) -> str:
    """A field's value as the status bar says it: 30, 0.001, 3×5, same, on, its default."""
    if value is None:
        return "its default"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (list, tuple)):
        return "×".join(_shown(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)
