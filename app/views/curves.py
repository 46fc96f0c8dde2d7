"""Live training curves: loss (per batch raw and smoothed, validation per epoch) and accuracy.

They redraw from ``state.history`` (bounded, app.history) whenever the controller reports new
batches, at most five times a second. Drawing is what costs: batch curves use 1-pixel lines,
and the smoothed curves (drawn thicker) are thinned to a few hundred points, which their
smoothness does not need more than.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem

from nncore.io import atomic_write_bytes

from .plot_panel import (BLUE, GREEN, LIGHT_BLUE, LIGHT_GREEN, ORANGE, REDRAW_MS, PlotPanel,
                         SteadyAxes, curves_csv, make_plot, run_span)


#: Points of a smoothed curve that are drawn (thick lines are slow to draw in software).
SMOOTH_POINTS = 300


def cache_between_epochs(*items) -> None:
    """The per-epoch curves change once an epoch: kept as pixmaps meanwhile, so that a redraw
    of the batch curves over them copies them instead of painting their symbols again."""
    for item in items:
        for part in (item.curve, item.scatter):
            part.setCacheMode(QGraphicsItem.DeviceCoordinateCache)


def _set(curve, series, scale: float = 1.0, max_points: int | None = None) -> None:
    x, y = series.x, series.y
    if max_points is not None and len(x) > max_points:
        step = -(-len(x) // max_points)
        keep = np.r_[np.arange(0, len(x) - 1, step), len(x) - 1]
        x, y = x[keep], y[keep]
    curve.setData(x.copy(), y * scale if scale != 1.0 else y.copy())


class _CurvesView(PlotPanel):
    def __init__(self, state, icons, name, title, left, redraw_ms=REDRAW_MS):
        self.state = state
        self.plot = make_plot(name, left)
        super().__init__(self.plot, icons, redraw_ms=redraw_ms)
        state.batchTrained.connect(self._on_state_batch_trained)
        state.epochEvaluated.connect(self._on_state_epoch_evaluated)
        state.historyReset.connect(self._on_state_history_reset)
        self.redraw_when_training_stops(state)

    def _on_state_batch_trained(self, event) -> None:
        self.request_redraw()

    def _on_state_epoch_evaluated(self, report) -> None:
        self.request_redraw()

    def _on_state_history_reset(self) -> None:
        self.axes.reset()
        self.request_redraw()

    def redraw(self) -> None:
        self.redraw_batches()
        key = self._epochs_key()
        if key != self._epochs_drawn:       # the per-epoch points change once an epoch
            self._epochs_drawn = key
            self.redraw_epochs()
        self.update_ranges()

    _epochs_drawn = None

    def _epochs_key(self) -> tuple:
        h = self.state.history
        return (id(h), h.epochs, len(h["train_loss"]), len(h["val_loss"]),
                self.state.data.name if self.state.data is not None else None)

    def update_ranges(self) -> None:
        self.axes.update(self.state.history.steps, span=run_span(self.state.progress))

    def eval_name(self) -> str:
        """The evaluation set's name: "test", or "validation" with a validation split."""
        return self.state.data.name if self.state.data is not None else "validation"

    def curves(self) -> list:
        """[(plot curve, history curve name, legend text, colour, mark, scale)] (subclasses):
        the legend, the curves' own names and the CSV columns all come from here."""
        return []

    def _name_curves(self) -> None:
        """The legend, and the plot curves' names (pyqtgraph's own export uses them)."""
        entries = []
        for curve, _, text, colour, mark, _ in self.curves():
            curve.opts["name"] = text            # (PlotDataItem has no setter for its name)
            entries.append((colour, text, mark))
        self.set_legend(entries)

    def export_csv(self, path: str) -> list[str]:
        """Every curve at full resolution (the smoothed ones are drawn thinned), in the
        plotted units: a row per step, a column per curve, named as in the legend."""
        h = self.state.history
        columns = [(text, h[key].x, h[key].y * scale)
                   for _, key, text, _, _, scale in self.curves()]
        atomic_write_bytes(path, curves_csv("step", columns))
        return [str(path)]


class LossView(_CurvesView):
    """Training loss per batch (raw and smoothed) with the validation loss of every epoch."""

    def __init__(self, state, icons):
        super().__init__(state, icons, "lossPlot", "Loss", "loss")
        p = self.plot
        self.raw = p.plot(pen=pg.mkPen(LIGHT_BLUE, width=1))
        self.smooth = p.plot(pen=pg.mkPen(BLUE, width=2))
        self.train_epoch = p.plot(pen=None, symbol="s", symbolSize=6,
                                  symbolBrush=BLUE, symbolPen=None)
        self.val = p.plot(pen=pg.mkPen(ORANGE, width=2),
                          symbol="o", symbolSize=7, symbolBrush=ORANGE, symbolPen="w")
        for c in (self.raw, self.smooth):
            c.setSkipFiniteCheck(False)
        cache_between_epochs(self.train_epoch, self.val)
        self.axes = SteadyAxes(self.plot.getPlotItem())
        self.redraw_now()

    def update_ranges(self) -> None:
        h = self.state.history
        y = np.concatenate([h["loss"].y, h["val_loss"].y])
        y = y[np.isfinite(y)]
        self.axes.update(h.steps, float(y.min()) if y.size else None,
                         float(y.max()) if y.size else None,
                         span=run_span(self.state.progress))

    def redraw_batches(self) -> None:
        h = self.state.history
        _set(self.raw, h["loss"])
        _set(self.smooth, h["loss_smooth"], max_points=SMOOTH_POINTS)

    def redraw_epochs(self) -> None:
        h = self.state.history
        _set(self.train_epoch, h["train_loss"])
        _set(self.val, h["val_loss"])
        self._name_curves()

    def curves(self) -> list:
        return [(self.raw, "loss", "batch", LIGHT_BLUE, "line", 1.0),
                (self.smooth, "loss_smooth", "smoothed", BLUE, "line", 1.0),
                (self.train_epoch, "train_loss", "train, per epoch", BLUE, "square", 1.0),
                (self.val, "val_loss", f"{self.eval_name()}, per epoch", ORANGE, "dot", 1.0)]


class AccuracyView(_CurvesView):
    """Training accuracy (smoothed per batch and per epoch) and validation accuracy per epoch."""

    def __init__(self, state, icons):
        # accuracy changes slowly: half the loss plot's redraw rate is plenty
        super().__init__(state, icons, "accuracyPlot", "Accuracy", "accuracy (%)",
                         redraw_ms=2 * REDRAW_MS)
        p = self.plot
        self.batch = p.plot(pen=pg.mkPen(LIGHT_GREEN, width=2))
        self.train = p.plot(pen=pg.mkPen(GREEN, width=2), symbol="s",
                            symbolSize=6, symbolBrush=GREEN, symbolPen=None)
        self.val = p.plot(pen=pg.mkPen(ORANGE, width=2),
                          symbol="o", symbolSize=7, symbolBrush=ORANGE, symbolPen="w")
        cache_between_epochs(self.train, self.val)
        self.axes = SteadyAxes(self.plot.getPlotItem(), y_range=(0, 100))
        self.plot.getPlotItem().setLimits(yMin=-5, yMax=105)
        self.redraw_now()

    def redraw_batches(self) -> None:
        _set(self.batch, self.state.history["accuracy_smooth"], 100.0, SMOOTH_POINTS)

    def redraw_epochs(self) -> None:
        h = self.state.history
        _set(self.train, h["train_accuracy"], 100.0)
        _set(self.val, h["val_accuracy"], 100.0)
        self._name_curves()

    def curves(self) -> list:
        return [(self.batch, "accuracy_smooth", "train, smoothed", LIGHT_GREEN, "line", 100.0),
                (self.train, "train_accuracy", "train, per epoch", GREEN, "square", 100.0),
                (self.val, "val_accuracy", f"{self.eval_name()}, per epoch", ORANGE, "dot",
                 100.0)]

    def last_validation_accuracy(self) -> float | None:
        y = self.state.history["val_accuracy"].y
        return float(y[-1]) if len(y) else None

