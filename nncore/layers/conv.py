"""Convolution, pooling and flattening for images in NCHW layout: (batch, channels, height, width).

Output sizes follow PyTorch: out = floor((in + pad_before + pad_after − kernel) / stride) + 1.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import ShapeError
from ..hparams import HParam, pair
from ..registry import get, register
from .base import Layer


def _require_image(layer, input_shape):
    if len(input_shape) != 3:
        raise ShapeError(f"{type(layer).__name__} expects image input (channels, height, width), "
                         f"got {tuple(input_shape)}")


def _out_size(size, before, after, kernel, stride, layer, what):
    padded = size + before + after
    if kernel > padded:
        raise ShapeError(f"{type(layer).__name__} {what} {kernel} is larger than its "
                         f"{'padded ' if before or after else ''}input size {padded}")
    return (padded - kernel) // stride + 1


def _windows(x, kh, kw, sh, sw, oh, ow):
    """View of every (kh, kw) window: (N, C, oh, ow, kh, kw), no copy."""
    v = sliding_window_view(x, (kh, kw), axis=(2, 3))
    return v[:, :, :sh * (oh - 1) + 1:sh, :sw * (ow - 1) + 1:sw]


@register("layer")
class Conv2D(Layer):
    """2-D convolution: slides `filters` learned kernels over the image, one feature map each."""

    hparams = {
        "filters": HParam("int", "Number of kernels, i.e. output channels (feature maps).",
                          min=1, max=100_000),
        "kernel_size": HParam("size2", "Height and width of each kernel (e.g. 3 for 3×3).",
                              min=1, max=1_000),
        "stride": HParam("size2", "Step between neighbouring kernel positions.", min=1, max=1_000),
        "padding": HParam("padding", "Zeros added around the input: a number, 'valid' (none) or "
                                     "'same' (output as large as the input; stride 1 only).",
                          min=0, max=1_000),
        "use_bias": HParam("bool", "Add a learnable bias per filter."),
        "kernel_initializer": HParam("choice", "How the kernels are drawn at the start.",
                                     registry="initializer"),
    }
    formula = ("forward:  Y = W ⋆ X + b   (as a matrix product: Y = cols(X)·Wᵀ)\n"
               "dW = dYᵀ·cols(X)\n"
               "db = Σ dY over batch and positions\n"
               "dX = col2im(dY·W)")

    def __init__(self, filters: int, kernel_size=3, stride=1, padding=0, use_bias: bool = True,
                 kernel_initializer: str = "he_uniform"):
        super().__init__()
        self.filters = filters
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer

    def _pads(self):
        """(top, bottom, left, right) zero padding."""
        kh, kw = pair(self.kernel_size)
        if self.padding == "valid":
            return 0, 0, 0, 0
        if self.padding == "same":
            th, tw = kh - 1, kw - 1
            return th // 2, th - th // 2, tw // 2, tw - tw // 2
        ph, pw = pair(self.padding)
        return ph, ph, pw, pw

    def compute_output_shape(self, input_shape):
        _require_image(self, input_shape)
        if self.padding == "same" and pair(self.stride) != (1, 1):
            raise ShapeError("padding 'same' needs stride 1 (as in PyTorch); use a number instead")
        _, h, w = input_shape
        kh, kw = pair(self.kernel_size)
        sh, sw = pair(self.stride)
        pt, pb, pl, pr = self._pads()
        oh = _out_size(h, pt, pb, kh, sh, self, "kernel height")
        ow = _out_size(w, pl, pr, kw, sw, self, "kernel width")
        return (self.filters, oh, ow)

    def count_params(self, input_shape):
        kh, kw = pair(self.kernel_size)
        c = int(input_shape[0]) if input_shape else 1
        return self.filters * c * kh * kw + (self.filters if self.use_bias else 0)

    def init_params(self, rng):
        c = self.input_shape[0]
        kh, kw = pair(self.kernel_size)
        init = get("initializer", self.kernel_initializer)
        shape = (self.filters, c, kh, kw)
        self.params["W"] = init(shape, c * kh * kw, self.filters * kh * kw, rng).astype(self.dtype)
        if self.use_bias:
            self.params["b"] = np.zeros(self.filters, dtype=self.dtype)

    def forward(self, x, training=False):
        """x: (N, C, H, W) -> (N, filters, OH, OW)."""
        n, c = x.shape[:2]
        f, oh, ow = self.output_shape
        kh, kw = pair(self.kernel_size)
        sh, sw = pair(self.stride)
        pt, pb, pl, pr = self._pads()
        if pt or pb or pl or pr:
            x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
        self.padded_shape = x.shape
        # im2col: one row per output position, one column per (channel, tap).
        cols = _windows(x, kh, kw, sh, sw, oh, ow).transpose(0, 2, 3, 1, 4, 5)
        self.cols = cols.reshape(n * oh * ow, c * kh * kw)
        y = self.cols @ self.params["W"].reshape(f, -1).T
        if self.use_bias:
            y += self.params["b"]
        return y.reshape(n, oh, ow, f).transpose(0, 3, 1, 2)

    def backward(self, grad):
        """grad: (N, filters, OH, OW) -> (N, C, H, W)."""
        n, f, oh, ow = grad.shape
        c = self.input_shape[0]
        kh, kw = pair(self.kernel_size)
        sh, sw = pair(self.stride)
        w = self.params["W"]
        g2 = grad.transpose(0, 2, 3, 1).reshape(n * oh * ow, f)
        self.grads["W"] = (g2.T @ self.cols).reshape(w.shape)
        if self.use_bias:
            self.grads["b"] = np.ones(g2.shape[0], dtype=g2.dtype) @ g2
        # col2im: each tap's gradient lands on a strided slice of the (padded) input.
        dcols = (g2 @ w.reshape(f, -1)).reshape(n, oh, ow, c, kh, kw).transpose(4, 5, 0, 3, 1, 2)
        dx = np.zeros(self.padded_shape, dtype=grad.dtype)
        for i in range(kh):
            for j in range(kw):
                dx[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw] += dcols[i, j]
        pt, pb, pl, pr = self._pads()
        _, _, hp, wp = self.padded_shape
        return dx[:, :, pt:hp - pb, pl:wp - pr]


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


@register("layer")
class MaxPool2D(_Pool2D):
    """Keeps the largest value of each window: shrinks feature maps, keeps strong responses."""
    formula = ("forward:  Y = max over each window of X\n"
               "dX = dY routed to the (first) position of each window's maximum, 0 elsewhere")

    def forward(self, x, training=False):
        n, c, h, w = x.shape
        _, oh, ow = self.output_shape
        ph, pw, sh, sw = self._geometry()
        win = _windows(x, ph, pw, sh, sw, oh, ow).reshape(n, c, oh, ow, ph * pw)
        self.argmax = win.argmax(axis=-1)  # first maximum, as PyTorch
        return np.take_along_axis(win, self.argmax[..., None], axis=-1)[..., 0]

    def backward(self, grad):
        n, c, oh, ow = grad.shape
        _, h, w = self.input_shape
        ph, pw, sh, sw = self._geometry()
        rows = np.arange(oh)[:, None] * sh + self.argmax // pw
        cols = np.arange(ow)[None, :] * sw + self.argmax % pw
        flat = (np.arange(n * c).reshape(n, c, 1, 1) * (h * w) + rows * w + cols).ravel()
        if sh >= ph and sw >= pw:  # windows do not overlap: every target is hit at most once
            dx = np.zeros(n * c * h * w, dtype=grad.dtype)
            dx[flat] = grad.ravel()
        else:
            dx = np.bincount(flat, weights=grad.ravel(), minlength=n * c * h * w)
            dx = dx.astype(grad.dtype, copy=False)
        return dx.reshape(n, c, h, w)


@register("layer")
class AvgPool2D(_Pool2D):
    """Averages each window: shrinks feature maps smoothly."""
    formula = ("forward:  Y = mean over each window of X\n"
               "dX = dY / (window area), spread evenly over each window")

    def forward(self, x, training=False):
        n, c, h, w = x.shape
        _, oh, ow = self.output_shape
        ph, pw, sh, sw = self._geometry()
        return _windows(x, ph, pw, sh, sw, oh, ow).mean(axis=(-2, -1), dtype=x.dtype)

    def backward(self, grad):
        n, c, oh, ow = grad.shape
        ph, pw, sh, sw = self._geometry()
        dx = np.zeros((n,) + self.input_shape, dtype=grad.dtype)
        g = grad / grad.dtype.type(ph * pw)
        for i in range(ph):
            for j in range(pw):
                dx[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw] += g
        return dx


@register("layer")
class Flatten(Layer):
    """Unrolls each image (C, H, W) into one long vector, as Dense layers need."""
    formula = "forward:  Y = X reshaped to (N, C·H·W)\ndX = dY reshaped back to (N, C, H, W)"

    def compute_output_shape(self, input_shape):
        return (int(np.prod(input_shape, dtype=np.int64)),)

    def forward(self, x, training=False):
        return x.reshape(x.shape[0], -1)

    def backward(self, grad):
        return grad.reshape((grad.shape[0],) + self.input_shape)
