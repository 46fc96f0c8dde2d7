"""Activation functions, each with its derivative, and the layers that apply them.

Plain functions come in pairs, ``f(x)`` and ``f_derivative(x)`` (dy/dx elementwise). A layer
subclasses ``Activation`` and defines ``f(x)`` and ``df(x, y)``, where ``y = f(x)`` is passed in so
derivatives that are cheaper in terms of the output (sigmoid, tanh) can use it. The backward pass
is then always the chain rule: dL/dx = dL/dy * f'(x).

Softmax is the exception: each output depends on every input of its row, so its derivative is a
Jacobian, applied as a vector-Jacobian product (``softmax_backward``).
"""
from __future__ import annotations

import numpy as np

from ..hparams import HParam
from ..registry import register
from .base import Layer
from .halves import over_halves

_SQRT_2_OVER_PI = np.sqrt(2.0 / np.pi)
_GELU_C = 0.044715


# ---- plain functions and their derivatives --------------------------------------------------
def relu(x):
    """max(x, 0)"""
    return np.maximum(x, 0)


def relu_derivative(x):
    """1 where x > 0, else 0 (PyTorch's choice at x = 0)."""
    return (x > 0).astype(x.dtype)


def leaky_relu(x, alpha=0.01):
    """x for x > 0, alpha·x otherwise."""
    return np.where(x > 0, x, x * x.dtype.type(alpha))


def leaky_relu_derivative(x, alpha=0.01):
    return np.where(x > 0, x.dtype.type(1), x.dtype.type(alpha))


def elu(x, alpha=1.0):
    """x for x > 0, alpha·(eˣ − 1) otherwise."""
    return np.where(x > 0, x, x.dtype.type(alpha) * np.expm1(np.minimum(x, 0)))


def elu_derivative(x, alpha=1.0):
    return np.where(x > 0, x.dtype.type(1), x.dtype.type(alpha) * np.exp(np.minimum(x, 0)))


def sigmoid(x):
    """1 / (1 + e⁻ˣ), computed as (1 + tanh(x/2)) / 2, which never overflows."""
    half = x.dtype.type(0.5)
    return half * (np.tanh(half * x) + 1)


def sigmoid_derivative(x):
    s = sigmoid(x)
    return s * (1 - s)


def tanh(x):
    return np.tanh(x)


def tanh_derivative(x):
    return 1 - np.tanh(x) ** 2


def gelu(x):
    """GELU, tanh form: x/2 · (1 + tanh(√(2/π)·(x + 0.044715·x³))) (PyTorch approximate="tanh")."""
    t = np.tanh(x.dtype.type(_SQRT_2_OVER_PI) * (x + x.dtype.type(_GELU_C) * x ** 3))
    return x.dtype.type(0.5) * x * (1 + t)


def gelu_derivative(x):
    c = x.dtype.type(_SQRT_2_OVER_PI)
    t = np.tanh(c * (x + x.dtype.type(_GELU_C) * x ** 3))
    half = x.dtype.type(0.5)
    return half * (1 + t) + half * x * (1 - t * t) * c * (1 + x.dtype.type(3 * _GELU_C) * x * x)


def softmax(x, axis=1):
    """e^(x_i − max) / Σ_j e^(x_j − max) along ``axis``: subtracting the max avoids overflow."""
    e = np.subtract(x, x.max(axis=axis, keepdims=True))
    if e.dtype.kind != "f":          # integer scores: exp needs floats
        e = e.astype(np.float64)
    np.exp(e, out=e)
    e /= e.sum(axis=axis, keepdims=True)
    return e


def softmax_backward(y, grad, axis=1):
    """Vector-Jacobian product of softmax: dL/dx = y ⊙ (dL/dy − Σ dL/dy ⊙ y)."""
    return y * (grad - (grad * y).sum(axis=axis, keepdims=True))


# ---- layers ---------------------------------------------------------------------------------
class Activation(Layer):
    """Base of elementwise activations: subclasses define ``f(x)`` and ``df(x, y)``."""

    formula = "forward:  Y = f(X)\ndX = dY ⊙ f′(X)"

    def f(self, x):
        raise NotImplementedError

    def df(self, x, y):
        """dy/dx elementwise; ``y`` is ``f(x)``."""
        raise NotImplementedError

    def forward(self, x, training=False):
        self.x = x
        self.y = self.f(x)
        return self.y

    def backward(self, grad):
        return grad * self.df(self.x, self.y)


@register("layer")
class ReLU(Activation):
    """Rectified linear unit: max(x, 0). Passes positive values, blocks negative ones."""
    formula = "forward:  Y = max(X, 0)\ndX = dY ⊙ [X > 0]"

    _zeros = None

    def f(self, x):
        return relu(x)

    def df(self, x, y):
        return relu_derivative(x)

    def forward(self, x, training=False):
        # The same max(x, 0), against an array of zeros: NumPy runs its vectorised loop for
        # two arrays but a ~3x slower one for an array and the scalar 0. Both halves of the
        # batch at once (see halves.py).
        z = self._zeros
        if z is None or z.shape != x.shape or z.dtype != x.dtype or z.strides != x.strides:
            self._zeros = np.zeros_like(x)
        y = self.recycled("y", x, keep=training)
        over_halves(x, lambda s: np.maximum(x[s], self._zeros[s], out=y[s]), x.size)
        self.x, self.y = x, y
        return y

    def backward(self, grad):
        # A product with the mask, not np.where(mask, grad, 0): the same numbers (a blocked
        # entry may come out as −0.0, which equals 0), several times faster.
        dx = self.recycled("dx", grad)
        over_halves(grad, lambda s: np.multiply(grad[s], self.y[s] > 0, out=dx[s]), grad.size)
        return dx


@register("layer")
class LeakyReLU(Activation):
    """ReLU with a small slope alpha for negative inputs, so they still get a gradient."""
    hparams = {"alpha": HParam("float", "Slope for negative inputs.", min=0.0, max=1.0)}
    formula = "forward:  Y = X if X > 0 else α·X\ndX = dY ⊙ (1 if X > 0 else α)"

    def __init__(self, alpha: float = 0.01):
        super().__init__()
        self.alpha = alpha

    def f(self, x):
        return leaky_relu(x, self.alpha)

    def df(self, x, y):
        return leaky_relu_derivative(x, self.alpha)


@register("layer")
class ELU(Activation):
    """Exponential linear unit: x for x > 0, alpha·(eˣ − 1) below, smooth at 0 when alpha = 1."""
    hparams = {"alpha": HParam("float", "Value the output tends to for very negative inputs is "
                                        "−alpha.", min=0.0, max=100.0)}
    formula = "forward:  Y = X if X > 0 else α(eˣ − 1)\ndX = dY ⊙ (1 if X > 0 else α·eˣ)"

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = alpha

    def f(self, x):
        return elu(x, self.alpha)

    def df(self, x, y):
        return elu_derivative(x, self.alpha)


@register("layer")
class Sigmoid(Activation):
    """Logistic sigmoid 1/(1 + e⁻ˣ): squashes any value into (0, 1)."""
    formula = "forward:  Y = 1/(1 + e⁻ˣ)\ndX = dY ⊙ Y(1 − Y)"

    def f(self, x):
        return sigmoid(x)

    def df(self, x, y):
        return y * (1 - y)


@register("layer")
class Tanh(Activation):
    """Hyperbolic tangent: squashes any value into (−1, 1), centred on 0."""
    formula = "forward:  Y = tanh(X)\ndX = dY ⊙ (1 − Y²)"

    def f(self, x):
        return np.tanh(x)

    def df(self, x, y):
        return 1 - y * y


@register("layer")
class GELU(Activation):
    """Gaussian error linear unit (tanh form): a smooth ReLU used in transformers."""
    formula = ("forward:  Y = X/2 · (1 + tanh(√(2/π)(X + 0.044715X³)))\n"
               "dX = dY ⊙ GELU′(X)")

    def f(self, x):
        return gelu(x)

    def df(self, x, y):
        return gelu_derivative(x)


@register("layer")
class Identity(Activation):
    """Passes its input through unchanged (a linear output)."""
    formula = "forward:  Y = X\ndX = dY"

    def forward(self, x, training=False):
        return x

    def backward(self, grad):
        return grad


@register("layer")
class Softmax(Layer):
    """Turns scores into probabilities that sum to 1: p_i = e^(x_i) / Σ_j e^(x_j)."""
    formula = ("forward:  P = softmax(X) per row\n"
               "dX = P ⊙ (dP − Σ_j dP_j·P_j)\n"
               "with cross-entropy this becomes dX = (P − Y)/N")

    def forward(self, x, training=False):
        self.y = softmax(x, axis=1)
        return self.y

    def backward(self, grad):
        return softmax_backward(self.y, grad, axis=1)
