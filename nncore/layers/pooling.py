"""Pooling for images in NCHW layout: MaxPool2D and AvgPool2D.

Both are written with *slots*: slot (i, j) is the strided view that holds element (i, j) of every
pooling window, shape (N, C, OH, OW). A 2×2 pool has 4 slots, and its output is
max(slot00, slot01, slot10, slot11) — a few whole-array operations instead of a loop over windows
(forward takes the rows of the windows first, then the columns: the same numbers, in fewer and
longer runs through memory). Output sizes follow PyTorch: out = floor((in − pool) / stride) + 1.
"""
from __future__ import annotations

import numpy as np

from ..hparams import HParam, pair
from ..registry import register
from .base import Layer
from .conv import _out_size, _require_image
from .halves import over_halves


def _slots(x, ph, pw, sh, sw, oh, ow):
    """The ph·pw slot views of x (N, C, H, W), each (N, C, OH, OW), in row-major window order."""
    return [x[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]
            for i in range(ph) for j in range(pw)]


class _Pool2D(Layer):
    hparams = {
        "pool_size": HParam("size2", "Height and width of each pooling window.", min=1, max=1_000),
        "stride": HParam("size2", "Step between windows (empty: same as pool_size).", min=1,
                         max=1_000),
    }

    def __init__(self, pool_size=2, stride=None):
        super().__init__()
        self.pool_size = pool_size
        self.stride = stride

    def get_config(self):
        return {"pool_size": self.pool_size, "stride": self.stride}

    def _geometry(self):
        ph, pw = pair(self.pool_size)
        sh, sw = pair(self.stride if self.stride is not None else self.pool_size)
        return ph, pw, sh, sw

    def compute_output_shape(self, input_shape):
        _require_image(self, input_shape)
        c, h, w = input_shape
        ph, pw, sh, sw = self._geometry()
        return (c, _out_size(h, 0, 0, ph, sh, self, "window height"),
                _out_size(w, 0, 0, pw, sw, self, "window width"))

    def _slots(self, x):
        _, oh, ow = self.output_shape
        return _slots(x, *self._geometry(), oh, ow)

    def _combine(self, x, op, training):
        """Each window of x (N, C, H, W) combined with ``op`` (np.maximum or np.add) ->
        (N, C, OH, OW) in x's memory layout; the two halves of the batch at once."""
        _, oh, ow = self.output_shape
        y = self.recycled("y", x[:, :, :oh, :ow], keep=training)
        over_halves(x, lambda s: self._combine_into(x[s], op, y[s]), x.size)
        return y

    def _combine_into(self, x, op, out):
        """First across the window's rows — whole image rows, long contiguous runs in memory —
        then across its columns, on the smaller result, into ``out``."""
        _, oh, ow = self.output_shape
        ph, pw, sh, sw = self._geometry()
        rows = [x[:, :, i:i + sh * (oh - 1) + 1:sh, :] for i in range(ph)]
        r = rows[0] if ph == 1 else op(rows[0], rows[1])
        for v in rows[2:]:
            op(r, v, out=r)
        cols = [r[..., j:j + sw * (ow - 1) + 1:sw] for j in range(pw)]
        if pw == 1:
            out[...] = cols[0]
        else:
            op(cols[0], cols[1], out=out)
        for v in cols[2:]:
            op(out, v, out=out)

    def _new_grad(self, like):
        """dL/dX buffer in the input's memory layout, and whether slots may overlap (then they
        add up). Zeroed unless the slots cover every input position exactly once."""
        _, oh, ow = self.output_shape
        _, h, w = self.input_shape
        ph, pw, sh, sw = self._geometry()
        overlap = sh < ph or sw < pw
        tiles = (sh, sw) == (ph, pw) and (oh * sh, ow * sw) == (h, w)
        dx = self.recycled("dx", like)
        if not tiles:
            dx.fill(0)
        return dx, overlap


@register("layer")
class MaxPool2D(_Pool2D):
    """Keeps the largest value of each window: shrinks feature maps, keeps strong responses."""
    formula = ("forward:  Y = max over each window of X\n"
               "dX = dY routed to the first position of each window's maximum, 0 elsewhere")

    def forward(self, x, training=False):
        """x: (N, C, H, W) -> (N, C, OH, OW).

        In training it also marks where each window's gradient will go (``_first_max``),
        while x, just written by the layer below, is still in the cache: the backward pass
        then never reads x again."""
        y = self._combine(x, np.maximum, training)
        self.x, self.y = x, y
        self.masks = self._first_max(x, y) if training else None
        return y

    def _first_max(self, x, y):
        """One boolean array per slot, (N, C, OH, OW) like y: True where the slot holds the
        *first* maximum (row-major) of its window, so exactly one slot per window. With ties
        (a blank background is full of them) only the first maximum gets the gradient, as in
        PyTorch, never every one."""
        masks = [self.recycled(f"mask{k}", y, np.bool_) for k in range(len(self._slots(y)))]

        def mark(s):
            taken = None                       # windows whose maximum an earlier slot holds
            for k, xs in enumerate(self._slots(x[s])):
                m = masks[k][s]
                if k < len(masks) - 1:
                    np.equal(xs, y[s], out=m)
                if taken is None:
                    if k == len(masks) - 1:
                        m[...] = True
                    else:
                        taken = m.copy(order="K")
                elif k < len(masks) - 1:
                    np.greater(m, taken, out=m)      # a maximum here, none before (True > False)
                    taken |= m
                else:
                    np.logical_not(taken, out=m)     # the last slot: where no other one was
        over_halves(x, mark, x.size)
        return masks

    def backward(self, grad):
        """grad: (N, C, OH, OW) -> (N, C, H, W): each window's gradient goes to its first
        maximum (see ``_first_max``), 0 elsewhere; overlapping windows add up."""
        dx, overlap = self._new_grad(self.x)
        masks = self.masks if self.masks is not None else self._first_max(self.x, self.y)

        def route(s):
            g = grad[s]
            for m, ds in zip(masks, self._slots(dx[s])):
                part = g * m[s]               # a product, not np.where: many times faster
                if overlap:
                    ds += part
                else:
                    ds[...] = part
        over_halves(dx, route, dx.size)
        return dx


@register("layer")
class AvgPool2D(_Pool2D):
    """Averages each window: shrinks feature maps smoothly."""
    formula = ("forward:  Y = mean over each window of X\n"
               "dX = dY / (window area), spread evenly over each window")

    def forward(self, x, training=False):
        """x: (N, C, H, W) -> (N, C, OH, OW)."""
        ph, pw, _, _ = self._geometry()
        y = self._combine(x, np.add, training)
        y *= x.dtype.type(1.0 / (ph * pw))
        self.x = x
        return y

    def backward(self, grad):
        """grad: (N, C, OH, OW) -> (N, C, H, W)."""
        ph, pw, _, _ = self._geometry()
        dx, overlap = self._new_grad(self.x)
        g = grad * grad.dtype.type(1.0 / (ph * pw))
        for ds in self._slots(dx):
            if overlap:
                ds += g
            else:
                ds[...] = g
        return dx
