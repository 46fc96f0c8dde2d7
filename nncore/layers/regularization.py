"""Layers that help a network generalise: Dropout and batch normalisation."""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..hparams import HParam
from ..registry import register
from .base import Layer


@register("layer")
class Dropout(Layer):
    """During training, zeroes each value with probability rate and scales the rest by 1/(1−rate)."""
    hparams = {"rate": HParam("float", "Fraction of values dropped during training (0 = none).",
                              min=0.0, max=0.99)}
    formula = ("forward (training):  Y = X ⊙ M / (1 − rate),  M ~ Bernoulli(1 − rate)\n"
               "dX = dY ⊙ M / (1 − rate);  in evaluation Y = X, dX = dY")

    def __init__(self, rate: float = 0.5):
        super().__init__()
        self.rate = rate

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            self.mask = None
            return x
        keep = 1.0 - self.rate
        self.mask = (self.rng.random(x.shape, dtype=x.dtype) < keep) * x.dtype.type(1.0 / keep)
        return x * self.mask

    def backward(self, grad):
        return grad if self.mask is None else grad * self.mask


@register("layer")
class BatchNorm(Layer):
    """Normalises each feature (or channel) to zero mean and unit variance over the batch, then
    scales by gamma and shifts by beta."""
    hparams = {
        "momentum": HParam("float", "Weight of the newest batch in the running statistics used "
                                    "for evaluation (PyTorch convention).", min=0.0, max=1.0),
        "eps": HParam("float", "Small number added to the variance to avoid dividing by 0 "
                               "(at least 1e-20, so it does not vanish in float32).",
                      min=1e-20, max=1.0),
    }
    formula = ("forward:  X̂ = (X − μ)/√(σ² + ε),  Y = γ·X̂ + β   (μ, σ² over the batch)\n"
               "dγ = Σ dY ⊙ X̂,   dβ = Σ dY\n"
               "dX = γ/(m·√(σ²+ε)) · (m·dY − Σ dY − X̂·Σ dY ⊙ X̂)")

    def __init__(self, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        self.momentum = momentum
        self.eps = eps

    def compute_output_shape(self, input_shape):
        if len(input_shape) not in (1, 3):
            raise ShapeError(f"BatchNorm expects flat (features,) or image (C, H, W) input, got "
                             f"{tuple(input_shape)}")
        return tuple(input_shape)

    def count_params(self, input_shape):
        return 2 * int(input_shape[0]) if input_shape else 0

    def init_params(self, rng):
        c = self.input_shape[0]
        self.params["gamma"] = np.ones(c, dtype=self.dtype)
        self.params["beta"] = np.zeros(c, dtype=self.dtype)
        self.running_mean = np.zeros(c, dtype=self.dtype)
        self.running_var = np.ones(c, dtype=self.dtype)

    def state_arrays(self):
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def _axes_and_shape(self, x):
        if x.ndim == 2:
            return (0,), (1, -1)
        return (0, 2, 3), (1, -1, 1, 1)

    def forward(self, x, training=False):
        axes, bshape = self._axes_and_shape(x)
        gamma = self.params["gamma"].reshape(bshape)
        beta = self.params["beta"].reshape(bshape)
        self.training = training
        if training:
            m = x.size // x.shape[1]
            mean = x.mean(axis=axes)
            var = x.var(axis=axes)
            mom = self.dtype.type(self.momentum)
            self.running_mean *= 1 - mom
            self.running_mean += mom * mean
            self.running_var *= 1 - mom
            self.running_var += mom * var * self.dtype.type(m / max(m - 1, 1))
        else:
            mean, var = self.running_mean, self.running_var
        self.inv_std = 1.0 / np.sqrt(var + self.dtype.type(self.eps))
        self.xhat = (x - mean.reshape(bshape)) * self.inv_std.reshape(bshape)
        return gamma * self.xhat + beta

    def backward(self, grad):
        axes, bshape = self._axes_and_shape(grad)
        gamma = self.params["gamma"]
        self.grads["gamma"] = (grad * self.xhat).sum(axis=axes)
        self.grads["beta"] = grad.sum(axis=axes)
        scale = (gamma * self.inv_std).reshape(bshape)
        if not self.training:  # running statistics are constants
            return grad * scale
        m = grad.size // grad.shape[1]
        dg = self.grads["gamma"].reshape(bshape)
        db = self.grads["beta"].reshape(bshape)
        return scale / grad.dtype.type(m) * (m * grad - db - self.xhat * dg)
