"""Display data made from a network, in the worker thread: the GUI thread only draws it.

- ``weight_histograms`` / ``grad_histograms``: per layer, the distribution of W and of dL/dW.
- ``tile_image``: a layer's weights as a mosaic — one 28x28 tile per unit of a Dense layer that
  reads the flattened image, one tile per filter of a Conv2D layer (on several input
  channels, the tile is a block of its kernels, one per channel).
"""
from __future__ import annotations

import math

import numpy as np

from ..state import Histogram, TileImage, ViewData

BINS = 60
#: Histograms of large layers look at an evenly spaced sample of this many values (their counts
#: are scaled up to the whole layer): a 60-bin histogram looks the same, at a third of the cost.
HIST_SAMPLE = 20_000
#: At most this many tiles are drawn.
MAX_TILES = 256


def _sample(a: np.ndarray) -> np.ndarray:
    flat = a.ravel()
    if flat.size > HIST_SAMPLE:
        flat = flat[::math.ceil(flat.size / HIST_SAMPLE)]
    return flat


def _histogram(a: np.ndarray) -> Histogram | None:
    """Histogram of the central 99% of the non-zero values (the extreme tails would squeeze
    the rest into one bar), with the share of exact zeros (for gradients: inputs that are
    always 0, like MNIST's border pixels, and units that did not fire), counted apart."""
    flat = _sample(a)
    scale = a.size / flat.size if flat.size else 1.0
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return None
    zero_fraction = float(np.count_nonzero(flat == 0) / flat.size)
    nonzero = flat[flat != 0]
    flat = nonzero if nonzero.size else flat
    lo, hi = (float(v) for v in np.percentile(flat, [0.5, 99.5]))
    if hi - lo < 1e-12:
        lo, hi = float(flat.min()), float(flat.max())
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(flat, bins=BINS, range=(lo, hi))
    inside = counts.sum()
    return Histogram(edges=edges.astype(np.float64), counts=counts * scale,
                     zero_fraction=zero_fraction,
                     clipped=float(1 - inside / flat.size))


def _main_weight(layer) -> str | None:
    """The weight array that characterises a layer: W, else its first parameter."""
    if "W" in layer.params:
        return "W"
    return next(iter(layer.params), None)


def weight_histograms(net) -> dict:
    out = {}
    for i, layer in enumerate(net.layers):
        key = _main_weight(layer)
        if key is not None:
            h = _histogram(layer.params[key])
            if h is not None:
                out[i] = h
    return out


def grad_histograms(net) -> dict:
    out = {}
    for i, layer in enumerate(net.layers):
        key = _main_weight(layer)
        if key is not None and key in layer.grads:
            h = _histogram(layer.grads[key])
            if h is not None:
                out[i] = h
    return out


def tile_layers(net) -> list[tuple[int, str]]:
    """[(layer index, caption)] of the layers whose weights can be drawn as image tiles."""
    out = []
    c, h, w = net.input_shape if len(net.input_shape) == 3 else (0, 0, 0)
    for i, layer in enumerate(net.layers):
        name = type(layer).__name__
        weights = layer.params.get("W")
        if weights is None:
            continue
        if name == "Conv2D" and weights.ndim == 4:
            out.append((i, f"{i + 1}. {name} filters {weights.shape[2]}×{weights.shape[3]}"))
        elif weights.ndim == 2 and h and weights.shape[0] == c * h * w:
            out.append((i, f"{i + 1}. {name} weights as {h}×{w} images"))
    return out


def _grid(n: int, aspect: float = 2.0) -> tuple[int, int]:
    """(rows, cols) for ``n`` square tiles in a panel ``aspect`` times wider than tall."""
    cols = math.ceil(math.sqrt(n * max(aspect, 0.1)))
    cols = max(1, min(cols, n))
    return math.ceil(n / cols), cols


def _filters_as_tiles(weights: np.ndarray) -> np.ndarray:
    """(F, C, kh, kw) -> F tiles, each its filter's C kernels in a near-square block with
    1-pixel NaN gaps: every kernel of a many-channel layer in view (LeNet's second conv has
    512; one tile per kernel showed the first 256, about 10 px each), grouped by filter."""
    f, c, kh, kw = weights.shape
    rows, cols = _grid(c, (kh + 1) / (kw + 1))
    block = np.full((f, rows * cols, kh + 1, kw + 1), np.nan, np.float32)
    block[:, :c, :kh, :kw] = weights
    block = block.reshape(f, rows, cols, kh + 1, kw + 1).transpose(0, 1, 3, 2, 4)
    return block.reshape(f, rows * (kh + 1), cols * (kw + 1))[:, :-1, :-1]


def tile_image(net, layer_index: int, aspect: float = 2.0) -> TileImage | None:
    """The mosaic of ``layer_index``'s weights, or None if that layer cannot be tiled; its
    rows and columns suit a panel ``aspect`` (width / height) times wider than tall."""
    if not 0 <= layer_index < len(net.layers):
        return None
    layer = net.layers[layer_index]
    weights = layer.params.get("W")
    if weights is None:
        return None
    if weights.ndim == 4:                              # Conv2D: (F, C, kh, kw)
        f, c, kh, kw = weights.shape
        if c == 1:
            tiles = weights.reshape(f, kh, kw)
            caption = f"{f} filters {kh}×{kw}"
        else:
            tiles = _filters_as_tiles(weights)
            caption = f"{f} filters, each its {c} kernels {kh}×{kw} (one per input channel)"
    elif weights.ndim == 2 and len(net.input_shape) == 3:   # Dense on the flattened image
        ch, h, w = net.input_shape
        if weights.shape[0] != ch * h * w:
            return None
        # one tile per unit; colour images show their first channel
        tiles = weights.T.reshape(weights.shape[1], ch, h, w)[:, 0]
        caption = f"{weights.shape[1]} units, each a {h}×{w} weight image"
    else:
        return None
    n = min(len(tiles), MAX_TILES)
    if n < len(tiles):
        caption += f" (first {n} shown)"
    tiles = tiles[:n].astype(np.float32)
    th, tw = tiles.shape[1:]
    rows, cols = _grid(n, aspect * (th + 1) / (tw + 1))
    gap = 1
    # each tile scaled to its own range, so faint units are as visible as strong ones
    scale = np.nanmax(np.abs(tiles).reshape(n, -1), axis=1)
    scale[scale == 0] = 1.0
    # the tiles row by row, each followed by a NaN gap row and column
    grid = np.full((rows * cols, th + gap, tw + gap), np.nan, np.float32)
    grid[:n, :th, :tw] = tiles / scale[:, None, None]
    image = grid.reshape(rows, cols, th + gap, tw + gap).transpose(0, 2, 1, 3).reshape(
        rows * (th + gap), cols * (tw + gap))[:rows * (th + gap) - gap, :cols * (tw + gap) - gap]
    image = np.ascontiguousarray(image)
    return TileImage(layer=layer_index, image=image, tiles=n, tile_shape=(th, tw),
                     grid=(rows, cols), vmax=1.0, caption=caption,
                     grouped=weights.ndim == 4 and weights.shape[1] > 1)


def view_data(net, step: int, tile_layer: int | None, tile_aspect: float = 2.0,
              with_grads: bool = True, with_hists: bool = True) -> ViewData:
    """Everything the weight views show, computed from ``net`` now (copies, safe to send).
    ``with_grads=False``: no gradient histograms (the network has not computed any yet: its
    ``grads`` are zeros, which would show as "100% exactly 0"). ``with_hists=False``: no
    histograms at all (None: no panel shows them; about 1.5 ms less for the training thread)."""
    layers = tile_layers(net)
    if tile_layer is None or tile_layer not in [i for i, _ in layers]:
        tile_layer = layers[0][0] if layers else None
    if not with_hists:
        weight_hists = grad_hists = None
    else:
        weight_hists = weight_histograms(net)
        grad_hists = grad_histograms(net) if with_grads else {}
    return ViewData(step=step, weight_hists=weight_hists, grad_hists=grad_hists,
                    tiles=(tile_image(net, tile_layer, tile_aspect)
                           if tile_layer is not None else None),
                    tile_layers=layers,
                    layer_names={i: repr(layer) for i, layer in enumerate(net.layers)})
