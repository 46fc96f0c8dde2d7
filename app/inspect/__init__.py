"""Inspection panels: confusion matrix, misclassified gallery, drawing pad, backward-pass
inspector, gradient check. The main window adds every panel ``create_panels`` returns as a dock.

The panels bind to ``StudioState`` and to one shared ``InspectModel`` (the evaluation shown, the
selected cell and image), never to each other. Every forward or backward pass they need runs in
a worker thread on a network rebuilt from ``state.snapshot``.
"""
from __future__ import annotations


def create_panels(state, controller=None) -> list:
    """[(title, widget, objectName), ...] bound to ``state`` (app.state.StudioState)."""
    from .backward import BackwardPanel
    from .confusion import ConfusionPanel
    from .gallery import GalleryPanel
    from .gradcheck_view import GradCheckPanel
    from .model import InspectModel
    from .pad import PadPanel

    model = InspectModel(state)
    return [
        ("Confusion matrix", ConfusionPanel(state, model), "confusionPanel"),
        ("Misclassified images", GalleryPanel(state, model), "galleryPanel"),
        ("Draw a digit", PadPanel(state), "drawingPadPanel"),
        ("Backward pass", BackwardPanel(state), "backwardPanel"),
        ("Gradient check", GradCheckPanel(state), "gradCheckPanel"),
    ]
