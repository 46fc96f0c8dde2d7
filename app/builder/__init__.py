"""The network builder: layer palette, layer stack, property form, presets and diagram.

``NetworkEditor`` owns the undo stack and makes every edit of ``state.spec``; the widgets only
call it and redraw from the state."""
