"""Live plots' x range changes seldom (app.views.plot_panel.SteadyAxes): each change redraws
the whole plot, axes, grid and every curve."""
from __future__ import annotations

import pyqtgraph as pg

from app.state import Progress
from app.views.plot_panel import SteadyAxes, run_span


def _axes(qtbot):
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    axes = SteadyAxes(plot.getPlotItem())
    changes = []
    plot.getPlotItem().getViewBox().sigXRangeChanged.connect(
        lambda _vb, rng: changes.append(round(rng[1])))
    return plot, axes, changes


def test_the_default_run_changes_the_x_range_four_times(qtbot):
    plot, axes, changes = _axes(qtbot)
    span = run_span(Progress(batches_per_epoch=844, target_epoch=10))
    assert span == (844, 8440)
    for step in range(50, 8441, 50):               # an update every 50 batches
        axes.update(step, 0.1, 2.3, span=span)
    # the first epoch fits from the start; steps of 1, 2, 5; the run's end is the last
    assert changes == [1000, 2000, 5000, 10000]
    assert plot.getPlotItem().getViewBox().viewRange()[0][1] == 10000


def test_the_x_range_stops_a_little_past_the_runs_end(qtbot):
    plot, axes, changes = _axes(qtbot)
    span = (844, 3 * 844)                          # a 3-epoch run: 2532 batches
    for step in range(100, 2533, 100):
        axes.update(step, span=span)
    assert changes == [1000, 3000]                 # not 5000: the curve ends at 84%
    for step in range(2600, 5065, 100):            # "Train 3 more epochs"
        axes.update(step, span=(844, 6 * 844))
    assert changes[2:] == [6000]


def test_the_x_range_follows_a_rewind_and_grows_without_a_run(qtbot):
    plot, axes, changes = _axes(qtbot)
    axes.update(8000, span=(844, 8440))
    axes.update(300, span=(844, 8440))             # rewound to batch 300
    assert changes == [10000, 1000]
    axes.update(260, span=(0, 0))                  # nothing known of the run
    assert changes[-1] == 1000                     # (still over a quarter of it: kept)
    axes.reset()
    axes.update(3, span=(0, 0))
    assert changes[-1] == 10                       # the least range
    axes.update(11, span=(0, 0))
    assert changes[-1] == 20
