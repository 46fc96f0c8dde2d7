"""Inspection panels: confusion matrix, misclassified gallery, drawing pad, backward-pass
inspector, gradient check. The main window adds every panel ``create_panels`` returns as a dock."""
from __future__ import annotations


def create_panels(state, controller=None) -> list:
    """[(title, widget, objectName), ...] bound to ``state`` (app.state.StudioState)."""
    return []
