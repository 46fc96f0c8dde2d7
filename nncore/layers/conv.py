"""Convolution and flattening for images in NCHW layout: (batch, channels, height, width).

Output sizes follow PyTorch: out = floor((in + pad_before + pad_after − kernel) / stride) + 1.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import ShapeError
from ..hparams import HParam, pair
from ..registry import get, register
from .base import Layer
from .halves import over_batch


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


@register("layer")
class Conv2D(Layer):
    """2-D convolution: slides learned kernels (filters) over the image, one feature map each."""

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

    # ---- computation -------------------------------------------------------------------------
    # Inside, images are kept *batch-last*, (C, H, W, N): the sample index is the fastest-moving
    # one in memory. Then every piece of work below moves long contiguous runs: the im2col
    # matrix is built by kh·kw copies of whole shifted images (runs of OW·N numbers), its
    # product with the weights, (F, K)·(K, OH·OW·N), already is the output in batch-last
    # memory, and col2im is kh·kw slice-adds of such runs. The output is returned as an
    # (N, filters, OH, OW) *view* of that memory; ReLU and pooling keep the layout (NumPy's
    # element-wise operations follow the input's memory order, and a pooling slot is then a
    # run of N samples, not of single numbers), and the next Conv2D takes it back without a
    # copy. (Channels-last, (N, H, W, C), was tried first: pooling then moves runs of only C
    # numbers, and OpenBLAS runs the products with F or C as the long side more slowly.)

    # The bias rides along in the matrix product as one more weight, applied to an input that
    # is always 1: the im2col matrix gets a last row of ones and the weight matrix a last
    # column b. Adding b separately would cost a full pass over the output, and its gradient
    # then comes out of the same product as dW.

    def _weight_matrix(self):
        """W (F, C, kh, kw) as (F, kh·kw·C [+ 1]): columns in the order of the im2col matrix's
        rows (tap row, tap column, channel), then the bias; so that Y = matrix · cols."""
        w = self.params["W"]
        m = w.transpose(0, 2, 3, 1).reshape(w.shape[0], -1)
        if self.use_bias:
            m = np.concatenate([m, self.params["b"][:, None]], axis=1)
        return m

    def _padded_batch_last(self, x):
        """(N, C, H, W) -> batch-last (C, H + pads, W + pads, N); no copy when x already is a
        view of unpadded batch-last memory (the output of a Conv2D, ReLU or pooling layer)."""
        x = x.transpose(1, 2, 3, 0)
        pt, pb, pl, pr = self._pads()
        if not (pt or pb or pl or pr):
            return np.ascontiguousarray(x)
        c, h, w, n = x.shape
        xp = np.zeros((c, h + pt + pb, w + pl + pr, n), dtype=x.dtype)
        xp[:, pt:pt + h, pl:pl + w] = x
        return xp

    def _im2col(self, xp):
        """Batch-last padded input (C, Hp, Wp, N) -> (kh·kw·C [+ 1], OH·OW·N): one column per
        output position, holding the window under the kernel in (tap row, tap column,
        channel) order, then a 1 for the bias. Row block (i, j) is the input shifted by the
        tap (i, j): one copy of whole images."""
        c, _, _, n = xp.shape
        _, oh, ow = self.output_shape
        kh, kw = pair(self.kernel_size)
        sh, sw = pair(self.stride)
        k = kh * kw * c
        width = k + 1 if self.use_bias else k
        cols = self.scratch("cols", (width, oh, ow, n), xp.dtype)
        taps = cols[:k].reshape(kh, kw, c, oh, ow, n)

        def copy_taps(s):
            for i in range(kh):
                for j in range(kw):
                    taps[i, j, s] = xp[s, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]
        over_batch(c, copy_taps, cols.size)
        cols[k:] = 1
        return cols.reshape(width, oh * ow * n)

    def forward(self, x, training=False):
        """x: (N, C, H, W) -> (N, filters, OH, OW) (a view of batch-last memory)."""
        n = x.shape[0]
        f, oh, ow = self.output_shape
        self.cols = self._im2col(self._padded_batch_last(x))
        y = self.recycled("y", (f, self.cols.shape[1]), self.cols.dtype, keep=training)
        np.matmul(self._weight_matrix(), self.cols, out=y)     # (F, OH·OW·N), bias included
        return y.reshape(f, oh, ow, n).transpose(3, 0, 1, 2)

    def _weight_grads(self, grad):
        """Fill grads from dL/dY (N, F, OH, OW); return dL/dY as an (F, OH·OW·N) matrix."""
        f = grad.shape[1]
        g2 = grad.transpose(1, 2, 3, 0).reshape(f, -1)     # no copy when grad is batch-last
        c = self.input_shape[0]
        kh, kw = pair(self.kernel_size)
        # dY·colsᵀ, (F, kh·kw·C [+ 1]). OpenBLAS splits a product over its threads by rows
        # and columns, never along the long inner dimension: with the longer side as rows it
        # runs about 1.7x faster on two threads (conv 16->32: 0.72 vs 1.21 ms).
        if self.cols.shape[0] >= f:
            dw = (self.cols @ g2.T).T
        else:
            dw = g2 @ self.cols.T
        k = kh * kw * c
        dw_taps = dw[:, :k].reshape(f, kh, kw, c)
        self.grads["W"] = np.ascontiguousarray(dw_taps.transpose(0, 3, 1, 2))
        if self.use_bias:
            self.grads["b"] = dw[:, k].copy()               # Σ dY: the column of the ones
        return g2

    def backward_params(self, grad):
        self._weight_grads(grad)

    def backward(self, grad):
        """grad: (N, filters, OH, OW) -> (N, C, H, W) (a view of batch-last memory)."""
        n, f, oh, ow = grad.shape
        c, h, w = self.input_shape
        kh, kw = pair(self.kernel_size)
        sh, sw = pair(self.stride)
        g2 = self._weight_grads(grad)
        # col2im, tap-major: for each tap (i, j), dL/d(input under the tap) = W[:, :, i, j]ᵀ·dY
        # for every output position at once, a (C, OH, OW, N) block that lands on a shifted,
        # strided slice of the padded input; overlapping windows add up.
        w_taps = self.params["W"].transpose(2, 3, 1, 0).reshape(kh * kw * c, f)
        dcols = self.scratch("dcols", (kh * kw * c, oh * ow * n), grad.dtype)
        np.matmul(w_taps, g2, out=dcols)
        dcols = dcols.reshape(kh, kw, c, oh, ow, n)
        pt, pb, pl, pr = self._pads()
        dx = self.recycled("dx", (c, h + pt + pb, w + pl + pr, n), grad.dtype)
        dx.fill(0)

        def add_taps(s):
            for i in range(kh):
                for j in range(kw):
                    dx[s, i:i + sh * (oh - 1) + 1:sh,
                       j:j + sw * (ow - 1) + 1:sw] += dcols[i, j, s]
        over_batch(c, add_taps, dcols.size)
        return dx[:, pt:pt + h, pl:pl + w].transpose(3, 0, 1, 2)


@register("layer")
class Flatten(Layer):
    """Unrolls each image (C, H, W) into one long vector, as Dense layers need."""
    formula = "forward:  Y = X reshaped to (N, C·H·W)\ndX = dY reshaped back to (N, C, H, W)"

    def compute_output_shape(self, input_shape):
        return (int(np.prod(input_shape, dtype=np.int64)),)

    def forward(self, x, training=False):
        self.x = x
        return x.reshape((x.shape[0],) + self.output_shape)   # not -1: N may be 0

    def backward(self, grad):
        # Hand the gradient back in the input's memory layout (e.g. batch-last after a
        # Conv2D), so that the layers below work on matching, contiguous memory.
        dx = self.recycled("dx", self.x)
        dx[...] = grad.reshape(dx.shape)
        return dx
