"""Backward-pass inspector: what each layer did on the last trained batch, and how the gradient
sizes move over the whole run.

The table comes from ``state.inspection`` (nncore.inspect.LayerReport per layer, set by the
worker when training is paused or stepped): per layer its input and output shapes, activation
statistics and dL/d(output); under it one row per gradient it computes, readable from the left
edge even in a narrow dock: dW and db with a thumbnail of the gradient (blue −, red +, colour
range from the gradient's own spread), shape, ‖dW‖, ‖W‖, the update-to-weight ratio ‖ΔW‖/‖W‖
and the formula it comes from (dW = Xᵀ·dY), then dX, the gradient passed down. Selecting a row
shows the layer's formulas and its weight gradient as a larger image. The plot shows ‖dL/dW‖
per layer over the steps (log scale), where vanishing or exploding gradients show.

Laid out for a dock of a small screen (about 470 x 310 px at 1024x768, and not much more at
1400x900): the table above, the detail below, with a splitter between them that never
collapses either (the table keeps TREE_MIN_H, the detail DETAIL_MIN_H). The detail has two
tabs, the selected layer (formulas beside its dW image) and the norm plot; a panel at least
WIDE_PX wide (a floated or large dock) shows all three side by side instead.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QPlainTextEdit, QSplitter, QTabWidget,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from ..views.plot_panel import SteadyAxes
from .common import (SIGNED_CMAP, EnlargeButton, FittedSplitter, ImagePane, LinesLabel, WhenSeen,
                     mosaic)

COLUMNS = ["layer", "input → output", "act. mean ± std", "zeros", "min … max", "dL/dY",
           "‖dL/dY‖"]
#: Thumbnails of dW and db in the tree: at most this size (pixels), at least THUMB_MIN_H high.
THUMB_W, THUMB_H, THUMB_MIN_H = 112, 28, 10
GRAD_CMAP = SIGNED_CMAP                 # the app's signed colours: blue −, white 0, orange +
#: update-to-weight ratios outside this range get a warning colour (around 1e-3 is healthy)
RATIO_LOW, RATIO_HIGH = 1e-5, 1e-1
#: The gradient-norm plot redraws at most this often (ms), and only while it can be seen.
NORMS_REDRAW_MS = 500
PERCENTILE_SAMPLE = 20_000
WARN = QColor(255, 226, 200)
PARAM_ROLE = Qt.ItemDataRole.UserRole + 1
#: Least heights of the table and of the detail under it, the panel's least size, and the
#: width from which the norm plot sits beside the formulas instead of in a tab of its own.
TREE_MIN_H, DETAIL_MIN_H = 90, 150
#: The table shows this many layers whole if it can (at most TREE_SHARE of the height; before
#: the first batch, TREE_SHARE_EMPTY), until the learner moves the splitter.
TREE_LAYERS, TREE_SHARE, TREE_SHARE_EMPTY = 4, 0.62, 0.45
MIN_W, MIN_H = 360, 290
WIDE_PX = 900


def running_mean(y: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each point (fewer at the start): display smoothing."""
    c = np.concatenate([[0.0], np.cumsum(np.asarray(y, dtype=np.float64))])
    n = np.minimum(np.arange(1, len(y) + 1), window)
    return (c[1:] - c[np.arange(1, len(y) + 1) - n]) / n


def _shape(s) -> str:
    return "(" + ", ".join(map(str, s)) + ")" if s is not None else "—"


def _num(v) -> str:
    return "—" if v is None else f"{v:.3g}"


class BackwardPanel(QWidget):
    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.reports = None
        self.header = LinesLabel("", lines=2)      # its height never grows with the text
        self.header.setObjectName("backwardHeader")
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setAlternatingRowColors(True)
        self.tree.setRootIsDecorated(True)
        self.tree.setIconSize(QSize(THUMB_W, THUMB_H))
        # columns fitted once per batch shown (ResizeToContents would measure on every change)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.formula = QPlainTextEdit()
        self.formula.setReadOnly(True)
        mono = QFont("DejaVu Sans Mono")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSize(9)
        self.formula.setFont(mono)
        self.formula.setPlaceholderText("Select a layer to see the formulas of its backward pass.")
        self.grad_image = ImagePane("", cmap=GRAD_CMAP, size=80, hint=150)
        self.grad_label = LinesLabel("", lines=2)  # (the tooltip has what does not fit)
        grad_box = self.grad_box = QWidget()
        gl = QVBoxLayout(grad_box)
        gl.setContentsMargins(0, 0, 0, 0)
        gl.setSpacing(2)
        gl.addWidget(self.grad_label)
        gl.addWidget(self.grad_image, 1)
        self.norms = pg.PlotWidget(background="w")
        self.norms.setLogMode(x=False, y=True)
        self.norms.setLabel("bottom", "step")
        self.norms.setLabel("left", "‖dL/dW‖")     # (one curve per layer: the legend)
        self.norms.showGrid(x=True, y=True, alpha=0.2)
        self.norms.addLegend(offset=(-5, 5), labelTextColor="k")
        self.norm_axes = SteadyAxes(self.norms.getPlotItem(), log_y=True)
        self.norm_curves: dict[int, tuple] = {}

        self.formula.setMinimumSize(120, 60)
        self.norms.setMinimumSize(160, 100)
        lower = self.lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.formula)
        lower.addWidget(grad_box)
        lower.setChildrenCollapsible(False)
        lower.setSizes([330, 250])
        self.detail = QTabWidget()
        self.detail.setObjectName("backwardDetail")
        self.detail.setDocumentMode(True)
        self.detail.addTab(lower, "Selected layer")
        self.detail.setTabToolTip(0, "The selected layer's backward-pass formulas and its "
                                     "weight gradient dW as an image")
        self._norms_tip = ("‖dL/dW‖ of each layer over the training steps (log scale): "
                           "vanishing or exploding gradients show here")
        self._add_norms_tab()
        self.detail.setMinimumHeight(DETAIL_MIN_H)
        self.tree.setMinimumHeight(TREE_MIN_H)
        split = self.split = FittedSplitter(Qt.Orientation.Vertical, (self.tree, self.detail),
                                            self._fit_split)
        self.enlarge = EnlargeButton(self)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.header, 1)
        top.addWidget(self.enlarge, 0, Qt.AlignmentFlag.AlignTop)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        self.setMinimumSize(MIN_W, MIN_H)

        self.when_seen = WhenSeen(self)
        self.shown_grad = None
        self._norm_timer = QTimer(self)
        self._norm_timer.setSingleShot(True)
        self._norm_timer.setInterval(NORMS_REDRAW_MS)
        self._norm_timer.timeout.connect(self._on_norm_timer_timeout)
        self.tree.currentItemChanged.connect(self._on_tree_current_changed)
        state.inspectionChanged.connect(self._on_state_inspection_changed)
        state.batchTrained.connect(self._on_state_batch_trained)
        state.historyReset.connect(self._on_state_history_reset)
        self._on_state_history_reset()

    # ---- arrangement -------------------------------------------------------------------------
    def _add_norms_tab(self):
        self.detail.addTab(self.norms, "Gradient norms")
        self.detail.setTabToolTip(1, self._norms_tip)

    def norms_beside(self) -> bool:
        """The norm plot is beside the formulas and dW (a wide panel), not in a tab."""
        return self.norms.parentWidget() is self.lower

    def _tree_height_for(self, layers: int) -> int | None:
        """The table's height that shows its first ``layers`` layers whole, with their
        gradient rows (None: it has no rows yet)."""
        tree = self.tree
        n = tree.topLevelItemCount()
        if n == 0:
            return None
        last = tree.topLevelItem(min(layers, n) - 1)
        while last.isExpanded() and last.childCount():
            last = last.child(last.childCount() - 1)
        rect = tree.visualItemRect(last)
        if not rect.isValid():
            return None
        top = tree.verticalScrollBar().value()      # rects are relative to the scrolled view
        bar = tree.horizontalScrollBar().sizeHint().height()
        return rect.bottom() + top + tree.header().height() + 2 * tree.frameWidth() + bar + 2

    def _fit_split(self):
        """The table tall enough for its first TREE_LAYERS layers (at most TREE_SHARE of the
        height, TREE_SHARE_EMPTY before it has rows), the rest to the detail (each at least its
        minimum), until the learner drags the splitter."""
        total = self.split.height() - self.split.handleWidth()
        need = self._tree_height_for(TREE_LAYERS)
        want = round(total * TREE_SHARE_EMPTY) if need is None \
            else min(need, round(total * TREE_SHARE))
        tree = max(TREE_MIN_H, min(want, total - DETAIL_MIN_H))
        self.split.setSizes([tree, max(total - tree, 0)])

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.split.refit()
        wide = self.width() >= WIDE_PX
        if wide == self.norms_beside():
            return
        if wide:                            # all three side by side
            current = self.detail.currentIndex()
            self.detail.removeTab(1)
            self.lower.addWidget(self.norms)
            self.norms.setToolTip(self._norms_tip)
            self.lower.setSizes([330, 250, 450])
            self.detail.tabBar().setVisible(False)
            if current == 1:
                self.detail.setCurrentIndex(0)
        else:                               # two tabs
            self.norms.setToolTip("")
            self._add_norms_tab()
            self.detail.tabBar().setVisible(True)
            self.lower.setSizes([330, 250])
        self.norms.show()

    # ---- model -> view -----------------------------------------------------------------------
    def showEvent(self, event):
        super().showEvent(event)
        self.when_seen.catch_up_soon()

    def _on_state_history_reset(self):
        self._on_state_inspection_changed(self.state.inspection)
        self.norm_axes.reset()
        self.when_seen.request(self._draw_norms)

    def _on_state_batch_trained(self, _event):
        self.when_seen.request(self._start_norm_timer)

    def _start_norm_timer(self):
        if not self._norm_timer.isActive():
            self._norm_timer.start()

    def _on_norm_timer_timeout(self):
        self.when_seen.request(self._draw_norms)

    def _on_state_inspection_changed(self, reports):
        self.reports = reports
        self.when_seen.request(self._fill_tree)

    def _fill_tree(self):
        reports = self.reports
        self.tree.setUpdatesEnabled(False)
        try:
            self._fill_tree_items(reports)
        finally:
            self.tree.setUpdatesEnabled(True)
        self.split.refit()                  # room for the first layers, now that rows exist

    def _fill_tree_items(self, reports):
        self.tree.clear()
        if not reports:
            self.header.setText("Pause training and press Step batch: the backward pass of that "
                                "batch appears here, layer by layer.")
            self.formula.clear()
            self.grad_image.clear_image()
            self.grad_label.setText("")
            return
        step = self.state.batches[-1].step if self.state.batches else None
        n = reports[0].input_shape[0] if reports[0].input_shape else "?"
        self.header.setText(f"Backward pass of the last trained batch"
                            f"{f' (step {step:,})' if step else ''}: {n} samples. Gradients "
                            f"flow from the loss (bottom) up to the input (top).")
        for r in reports:
            a = r.activation
            item = QTreeWidgetItem([
                f"{r.index + 1}  {r.name}",          # numbered as in the builder
                f"{_shape(r.input_shape)} → {_shape(r.output_shape)}",
                "—" if a is None else f"{a.mean:.3g} ± {a.std:.3g}",
                "—" if a is None else f"{a.zero_fraction:.0%}",
                "—" if a is None else f"{a.min:.3g} … {a.max:.3g}",
                _shape(r.grad_output_shape), _num(r.grad_output_norm)])
            item.setData(0, Qt.ItemDataRole.UserRole, r.index)
            item.setToolTip(0, f"{r.name}\n\n{r.formula}" if r.formula else r.name)
            for p in r.params:
                child = QTreeWidgetItem([param_text(p, r.formula)])
                child.setData(0, Qt.ItemDataRole.UserRole, r.index)
                child.setData(0, PARAM_ROLE, p.name)
                child.setIcon(0, QIcon(grad_thumbnail(p.grad, self._tile_shape(r.index))))
                ratio = p.update_ratio
                tip = (f"d{p.name} = dL/d{p.name} of this batch, shape {_shape(p.shape)}; "
                       f"‖Δ{p.name}‖/‖{p.name}‖: how much this step changed {p.name} "
                       f"(around 1e-3 is healthy)")
                if ratio is not None and not (RATIO_LOW <= ratio <= RATIO_HIGH):
                    child.setBackground(0, QBrush(WARN))
                    tip += ("\nfar from the usual ~1e-3: the learning rate may be "
                            + ("too high" if ratio > RATIO_HIGH else "too low"))
                child.setToolTip(0, tip)
                item.addChild(child)
            item.addChild(self._dx_row(r))
            self.tree.addTopLevelItem(item)
            for k in range(item.childCount()):
                item.child(k).setFirstColumnSpanned(True)
        loss = self._loss_class()
        if loss is not None:
            item = QTreeWidgetItem([f"loss  {loss.__name__}"])
            item.setData(0, Qt.ItemDataRole.UserRole, -1)
            item.setToolTip(0, f"{loss.__name__}: {loss.describe()}\n\n{loss.formula}")
            self.tree.addTopLevelItem(item)
            for line in _gradient_lines(loss.formula):
                child = QTreeWidgetItem([line])
                child.setData(0, Qt.ItemDataRole.UserRole, -1)
                item.addChild(child)
                child.setFirstColumnSpanned(True)
        self.tree.expandAll()
        for c in range(len(COLUMNS)):
            self.tree.resizeColumnToContents(c)
        tops = [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
        weights = [t.child(0) for t in tops if t.childCount() and t.child(0).data(0, PARAM_ROLE)]
        self.tree.setCurrentItem(weights[0] if weights else self.tree.topLevelItem(0))

    def _dx_row(self, r) -> QTreeWidgetItem:
        """The gradient the layer passes down: dX = dL/d(input), which is what the layer below
        received as its dL/dY."""
        line = _formula_line(r.formula, "dX")
        below = self.reports[r.index - 1] if r.index > 0 else None
        if below is not None and below.grad_output_norm is not None:
            text = f"dX {_shape(below.grad_output_shape)}   ‖dX‖ {below.grad_output_norm:.3g}"
        else:
            text = "dX not computed (training needs no dL/d(input) here)"
        row = QTreeWidgetItem([f"{text}   {line}" if line else text])
        row.setData(0, Qt.ItemDataRole.UserRole, r.index)
        row.setForeground(0, QBrush(QColor(90, 90, 90)))
        return row

    def _tile_shape(self, index: int) -> tuple | None:
        """(H, W) when layer ``index`` is a Dense layer on flattened one-channel images."""
        prev = self.reports[index - 1] if index > 0 else None
        if (prev is not None and prev.type == "Flatten" and len(prev.input_shape) == 4
                and prev.input_shape[1] == 1):
            return tuple(prev.input_shape[2:])
        return None

    def _loss_class(self):
        from nncore.registry import get
        try:
            return get("loss", self.state.config.loss["type"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def _on_tree_current_changed(self, item, _previous):
        if item is None or not self.reports:
            return
        index = item.data(0, Qt.ItemDataRole.UserRole)
        if index == -1:
            loss = self._loss_class()
            self.formula.setPlainText(f"{loss.__name__}: {loss.describe()}\n\n{loss.formula}")
            self.grad_image.clear_image()
            self.grad_label.setText("")
            return
        r = self.reports[index]
        lines = [f"layer {r.index + 1}: {r.name}", f"input {_shape(r.input_shape)} → output "
                 f"{_shape(r.output_shape)}", "", r.formula or "(no formula given)", ""]
        if r.grad_output_norm is not None:
            lines.append(f"dY = dL/d(output) {_shape(r.grad_output_shape)}, "
                         f"‖dY‖ = {r.grad_output_norm:.4g}")
        for p in r.params:
            ratio = "—" if p.update_ratio is None else f"{p.update_ratio:.3g}"
            lines.append(f"d{p.name} {_shape(p.shape)}: ‖d{p.name}‖ = {p.grad_norm:.4g},  "
                         f"‖{p.name}‖ = {p.norm:.4g},  ‖Δ{p.name}‖/‖{p.name}‖ = {ratio}")
        self.formula.setPlainText("\n".join(lines))
        name = item.data(0, PARAM_ROLE) or (r.params[0].name if r.params else None)
        self.show_grad(r.index, name)

    def show_grad(self, index: int, name: str | None):
        """Show dL/d(name) of layer ``index`` as an image (rows: inputs, columns: units)."""
        r = self.reports[index] if self.reports else None
        p = r.param(name) if (r is not None and name) else None
        if p is None:
            self.shown_grad = None
            self.grad_image.clear_image()
            self.grad_label.setText("no weights in this layer")
            return
        self.shown_grad = p.grad
        img, lim, note = grad_image(p.grad, self._tile_shape(index))
        self.grad_image.set_image(img, levels=(-lim, lim))
        # tiles and kernels keep square pixels; a plain matrix fills the pane
        self.grad_image.view.setAspectLocked(p.grad.ndim == 4 or self._tile_shape(index)
                                             is not None or p.grad.ndim == 1)
        self.grad_image.view.autoRange(padding=0.02)
        # the colour key first: two lines of a narrow dock cut the end (tooltip: all of it)
        self.grad_label.setText(f"blue −, orange + (±{lim:.2g}) · d{p.name} of layer "
                                f"{index + 1} {_shape(p.shape)}: {note}")

    def _draw_norms(self):
        """Each layer's ‖dL/dW‖ per step, faint, with its running mean over ~50 steps on top."""
        series = self._norm_series()
        names = self._layer_names()
        lo, hi = np.inf, 0.0
        for i in list(self.norm_curves):
            if i not in series:
                for curve in self.norm_curves.pop(i):
                    self.norms.removeItem(curve)
        for n, (i, (x, y)) in enumerate(sorted(series.items())):
            curves = self.norm_curves.get(i)
            if curves is None:
                colour = pg.intColor(n, hues=max(len(series), 3), maxValue=200)
                faint = pg.mkColor(colour)
                faint.setAlpha(55)
                raw = self.norms.plot(pen=pg.mkPen(faint, width=1))
                mean = self.norms.plot(pen=pg.mkPen(colour, width=2.5),
                                       name=f"layer {i + 1} {names.get(i, '')}")
                for curve in (raw, mean):
                    curve.setDownsampling(auto=True, method="peak")
                    curve.setClipToView(True)
                curves = self.norm_curves[i] = (raw, mean)
            keep = y > 0
            x, y = x[keep], y[keep]
            curves[0].setData(x, y)
            curves[1].setData(x, running_mean(y, 50))
            if len(y):
                lo, hi = min(lo, float(y.min())), max(hi, float(y.max()))
        self.norm_axes.update(max((float(x[-1]) for x, _ in series.values() if len(x)),
                                  default=0.0), lo if hi > 0 else None, hi or None)

    def _norm_series(self) -> dict:
        history = getattr(self.state, "history", None)
        if history is not None and getattr(history, "grad_norms", None):
            return {i: (s.x.copy(), s.y.copy()) for i, s in history.grad_norms.items() if len(s)}
        out: dict[int, tuple[list, list]] = {}
        for ev in self.state.batches:
            for i, v in ev.grad_norms.items():
                xs, ys = out.setdefault(i, ([], []))
                xs.append(ev.step)
                ys.append(v)
        return {i: (np.asarray(x, float), np.asarray(y, float)) for i, (x, y) in out.items()}

    def _layer_names(self) -> dict:
        layers = (self.state.spec or {}).get("layers", [])
        return {i: c.get("type", "") for i, c in enumerate(layers) if isinstance(c, dict)}


def _formula_line(formula: str, name: str) -> str:
    """The line of ``formula`` that gives ``name`` ("dW = Xᵀ·dY"), spaces collapsed; "" if none."""
    for line in (formula or "").splitlines():
        head = line.split("=", 1)[0].strip()
        if "=" in line and head == name:
            return " ".join(line.split())
    return ""


def _gradient_lines(formula: str) -> list[str]:
    """Every line of a formula that gives a gradient (starts with "d")."""
    return [" ".join(line.split()) for line in (formula or "").splitlines()
            if line.strip().startswith("d") and "=" in line]


def param_text(p, formula: str) -> str:
    """One line for a weight's gradient, readable in a narrow dock: shape, norms, ratio, formula."""
    ratio = "—" if p.update_ratio is None else f"{p.update_ratio:.2g}"
    line = _formula_line(formula, f"d{p.name}")
    return (f"d{p.name} {_shape(p.shape)}   ‖d{p.name}‖ {p.grad_norm:.3g}   ‖{p.name}‖ "
            f"{p.norm:.3g}   ‖Δ{p.name}‖/‖{p.name}‖ {ratio}" + (f"   {line}" if line else ""))


def colour_range(values: np.ndarray) -> float:
    """A symmetric colour limit that shows a gradient's structure: the 99th percentile of its
    non-zero |values| (of an evenly spaced sample of at most PERCENTILE_SAMPLE). Exact zeros
    (inputs that were blank) are left out, so that a sparse gradient is not washed out; a few
    large entries saturate instead of pushing everything else to white."""
    a = np.abs(np.asarray(values, dtype=np.float32))
    a = a[np.isfinite(a) & (a > 0)]
    if not a.size:
        return 1.0
    sample = a[::-(-a.size // PERCENTILE_SAMPLE)]
    return float(np.percentile(sample, 99)) or float(a.max())


def _strongest_per_block(img: np.ndarray, f: int) -> np.ndarray:
    """Shrink ``img`` by ``f`` in both directions, keeping from each f x f block its entry of
    largest magnitude, sign and all (NaN where the block is all NaN). Averaging would cancel
    the + and − of neighbouring entries and leave a pale grey."""
    if f <= 1:
        return img
    h, w = img.shape
    padded = np.full((-(-h // f) * f, -(-w // f) * f), np.nan, dtype=np.float32)
    padded[:h, :w] = img
    blocks = padded.reshape(padded.shape[0] // f, f, padded.shape[1] // f, f)
    blocks = blocks.transpose(0, 2, 1, 3).reshape(blocks.shape[0], blocks.shape[2], f * f)
    mags = np.where(np.isnan(blocks), -1.0, np.abs(blocks))
    pick = np.take_along_axis(blocks, mags.argmax(axis=2)[..., None], axis=2)[..., 0]
    return pick


def grad_thumbnail(g: np.ndarray, image_shape: tuple | None) -> QPixmap:
    """A small picture of a weight gradient for the tree: ``grad_image``'s layout, the same
    colours, scaled to fit THUMB_W x THUMB_H (a thin strip is stretched to THUMB_MIN_H)."""
    img, lim, _ = grad_image(g, image_shape)
    if img.ndim == 1:
        img = img[None, :]
    img = _strongest_per_block(img, math.ceil(max(img.shape[0] / THUMB_H,
                                                  img.shape[1] / THUMB_W)))
    lut = GRAD_CMAP.getLookupTable(0.0, 1.0, 256, mode="byte")
    finite = np.isfinite(img)
    index = np.clip((np.where(finite, img, 0.0) / lim + 1.0) * 127.5, 0, 255).astype(np.uint8)
    rgb = np.ascontiguousarray(lut[index][..., :3])
    rgb[~finite] = 255                                  # gaps between tiles: white
    h, w = rgb.shape[:2]
    qimg = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    scale = min(THUMB_W / w, THUMB_H / h)
    tw, th = max(1, round(w * scale)), max(THUMB_MIN_H, round(h * scale))
    return QPixmap.fromImage(qimg.scaled(tw, min(th, THUMB_H),
                                         Qt.AspectRatioMode.IgnoreAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation))


def grad_image(g: np.ndarray, image_shape: tuple | None) -> tuple[np.ndarray, float, str]:
    """(image, colour limit, note) showing a weight gradient: a rearrangement and one
    percentile, a millisecond or two for the largest layers.

    ``image_shape``: (H, W) when the layer is a Dense layer on flattened images: each unit's
    column of dW is then shown as an image. Any other matrix is shown with one row per unit.
    The colour limit is ``colour_range``'s."""
    if g.ndim == 4:                               # conv kernels (F, C, kh, kw)
        img = mosaic(g.reshape(-1, *g.shape[2:]))
        note = f"{g.shape[0] * g.shape[1]} kernels"
    elif g.ndim == 2 and image_shape is not None:
        h, w = image_shape
        img = mosaic(g.T.reshape(g.shape[1], h, w))
        note = f"one {h}×{w} tile per unit"
    elif g.ndim == 2:
        img = np.ascontiguousarray(g.T, dtype=np.float32)
        note = "rows: units, columns: inputs"
    else:
        img = mosaic(g)
        note = "one cell per unit" if g.ndim == 1 else ""
    return img, colour_range(img), note
