"""What the window remembers between launches (QSettings), and "Reset layout"."""
from __future__ import annotations

from .conftest import _launch
from .helpers import type_into


def test_settings_and_layout_are_kept_between_launches(qtbot, tiny_mnist):
    first = _launch(qtbot)
    type_into(qtbot, first.training_panel.opt_fields["lr"], "0.02")
    type_into(qtbot, first.training_panel.epochs_field, "7")
    first.layout_.docks["diagram"].close()
    first.close()

    second = _launch(qtbot)
    qtbot.addWidget(second)
    try:
        assert second.state.config.optimizer["config"]["lr"] == 0.02
        assert second.state.config.epochs == 7
        assert second.training_panel.epochs_field.edit.text() == "7"
        qtbot.waitUntil(lambda: hasattr(second, "inspection_docks"))
        assert not second.layout_.docks["diagram"].isVisible()
        second.menus.actions["reset_layout"].trigger()
        assert second.layout_.docks["diagram"].isVisibleTo(second)
        assert not second.layout_.docks["loss"].isFloating()
        assert second.size().width() == 1400 and second.size().height() == 900
    finally:
        second.close()
