"""Optimizers: turn gradients into weight updates. The plainest is ``w = w − lr · dL/dw``.

Semantics match PyTorch's optimizers of the same names and arguments (weight decay is added to
the gradient, momentum buffers start at the first gradient, Adam's bias corrections), so the
same settings give the same trajectory. Hyper-parameters are plain attributes: ``opt.lr = 0.01``
takes effect at the next ``step()``.
"""
from __future__ import annotations

import numpy as np

from .errors import SpecError
from .hparams import HParam
from .registry import register


class Optimizer:
    """Base class. ``step()`` updates every parameter of ``net`` in place from its gradient."""
    hparams: dict[str, HParam] = {}
    formula = ""

    def __init__(self, net, lr: float):
        self.net = net
        self.lr = lr
        self.t = 0  # number of steps taken
        self.state: dict[str, dict[str, np.ndarray]] = {}

    @classmethod
    def describe(cls) -> str:
        return (cls.__doc__ or cls.__name__).strip().splitlines()[0]

    def get_config(self) -> dict:
        return {name: getattr(self, name) for name in self.hparams}

    def _params(self):
        """(key, param, grad) for every weight array, e.g. key "1.W" for layer 1's W."""
        for i, layer in enumerate(self.net.layers):
            for name, p in layer.params.items():
                yield f"{i}.{name}", p, layer.grads[name]

    def zero_grad(self):
        for layer in self.net.layers:
            for g in layer.grads.values():
                g[...] = 0

    def step(self):
        self.t += 1
        for key, p, g in self._params():
            self.update(p, g, self.state.setdefault(key, {}))

    def update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        raise NotImplementedError

    # ---- state for snapshots and files -------------------------------------------------------
    def state_dict(self) -> dict:
        """Copies of all state: {"t": int, "config": {...}, "buffers": {"1.W/momentum": array}}."""
        buffers = {f"{key}/{name}": arr.copy() for key, st in self.state.items()
                   for name, arr in st.items()}
        return {"t": self.t, "config": self.get_config(), "buffers": buffers}

    def load_state_dict(self, sd: dict) -> None:
        self.t = int(sd["t"])
        for name, value in sd.get("config", {}).items():
            if name in self.hparams:
                setattr(self, name, value)
        self.state = {}
        for full, arr in sd["buffers"].items():
            key, name = full.rsplit("/", 1)
            self.state.setdefault(key, {})[name] = np.array(arr, copy=True)


_LR = HParam("float", "Learning rate: how big a step each update takes.", min=0.0, max=1e6,
             min_open=True)
_WD = HParam("float", "L2 penalty: adds weight_decay·w to every gradient.", min=0.0, max=1e3)


@register("optimizer")
class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum: w ← w − lr·g."""
    hparams = {
        "lr": _LR,
        "momentum": HParam("float", "Fraction of the previous update kept (0 = plain SGD).",
                           min=0.0, max=1.0),
        "nesterov": HParam("bool", "Nesterov momentum: look ahead along the momentum."),
        "weight_decay": _WD,
    }
    formula = ("g = dL/dw + weight_decay·w\n"
               "v = momentum·v + g        (v = g at the first step)\n"
               "w = w − lr·(g + momentum·v  if nesterov else  v)")

    def __init__(self, net, lr: float = 0.1, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0):
        if nesterov and momentum <= 0:
            raise SpecError("Nesterov momentum needs a momentum > 0 (as in PyTorch)",
                            field="nesterov", expected="momentum > 0", received=momentum)
        super().__init__(net, lr)
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay

    def update(self, p, g, state):
        dt = p.dtype.type
        if self.weight_decay:
            g = g + dt(self.weight_decay) * p
        if self.momentum:
            buf = state.get("momentum")
            if buf is None:
                buf = state["momentum"] = g.copy()
            else:
                buf *= dt(self.momentum)
                buf += g
            g = g + dt(self.momentum) * buf if self.nesterov else buf
        p -= dt(self.lr) * g


@register("optimizer")
class Adam(Optimizer):
    """Adam: per-weight step sizes from running averages of the gradient and its square."""
    hparams = {
        "lr": _LR,
        "beta1": HParam("float", "Decay of the running average of gradients.", min=0.0, max=1.0),
        "beta2": HParam("float", "Decay of the running average of squared gradients.", min=0.0,
                        max=1.0),
        "eps": HParam("float", "Added to the denominator to avoid dividing by 0.", min=0.0,
                      max=1.0),
        "weight_decay": _WD,
    }
    formula = ("g = dL/dw + weight_decay·w\n"
               "m = β₁m + (1−β₁)g,   v = β₂v + (1−β₂)g²\n"
               "w = w − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)")

    def __init__(self, net, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, beta1: float | None = None,
                 beta2: float | None = None):
        super().__init__(net, lr)
        self.beta1 = betas[0] if beta1 is None else beta1
        self.beta2 = betas[1] if beta2 is None else beta2
        self.eps = eps
        self.weight_decay = weight_decay

    @property
    def betas(self):
        return (self.beta1, self.beta2)

    def update(self, p, g, state):
        dt = p.dtype.type
        if self.weight_decay:
            g = g + dt(self.weight_decay) * p
        if "m" not in state:
            state["m"] = np.zeros_like(p)
            state["v"] = np.zeros_like(p)
        m, v = state["m"], state["v"]
        b1, b2 = dt(self.beta1), dt(self.beta2)
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        bias1 = 1 - self.beta1 ** self.t
        bias2 = 1 - self.beta2 ** self.t
        denom = np.sqrt(v) / dt(np.sqrt(bias2))
        denom += dt(self.eps)
        p -= dt(self.lr / bias1) * (m / denom)


@register("optimizer")
class RMSprop(Optimizer):
    """RMSprop: divides each step by a running root-mean-square of recent gradients."""
    hparams = {
        "lr": _LR,
        "alpha": HParam("float", "Decay of the running average of squared gradients.", min=0.0,
                        max=1.0),
        "eps": HParam("float", "Added to the denominator to avoid dividing by 0.", min=0.0,
                      max=1.0),
        "weight_decay": _WD,
        "momentum": HParam("float", "Fraction of the previous update kept.", min=0.0, max=1.0),
    }
    formula = ("g = dL/dw + weight_decay·w\n"
               "s = α·s + (1−α)·g²\n"
               "w = w − lr · g / (√s + ε)")

    def __init__(self, net, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0):
        super().__init__(net, lr)
        self.alpha = alpha
        self.eps = eps
        self.weight_decay = weight_decay
        self.momentum = momentum

    def update(self, p, g, state):
        dt = p.dtype.type
        if self.weight_decay:
            g = g + dt(self.weight_decay) * p
        if "square_avg" not in state:
            state["square_avg"] = np.zeros_like(p)
        s = state["square_avg"]
        s *= dt(self.alpha)
        s += dt(1 - self.alpha) * (g * g)
        avg = np.sqrt(s)
        avg += dt(self.eps)
        if self.momentum:
            buf = state.setdefault("momentum", np.zeros_like(p))
            buf *= dt(self.momentum)
            buf += g / avg
            p -= dt(self.lr) * buf
        else:
            p -= dt(self.lr) * (g / avg)


# ---- learning-rate schedules ----------------------------------------------------------------
class Schedule:
    """Learning rate as a function of the epoch: ``lr_at(base_lr, epoch)``."""
    hparams: dict[str, HParam] = {}

    def get_config(self):
        return {name: getattr(self, name) for name in self.hparams}

    def lr_at(self, base_lr: float, epoch: int) -> float:
        raise NotImplementedError


@register("schedule")
class Constant(Schedule):
    """The same learning rate every epoch."""

    def lr_at(self, base_lr, epoch):
        return base_lr


@register("schedule")
class StepDecay(Schedule):
    """Multiply the learning rate by gamma every step_size epochs."""
    hparams = {"step_size": HParam("int", "Epochs between decays.", min=1, max=10_000),
               "gamma": HParam("float", "Factor applied at each decay.", min=0.0, max=1.0)}

    def __init__(self, step_size: int = 5, gamma: float = 0.5):
        self.step_size = step_size
        self.gamma = gamma

    def lr_at(self, base_lr, epoch):
        return base_lr * self.gamma ** (epoch // self.step_size)


@register("schedule")
class CosineDecay(Schedule):
    """Cosine from the base learning rate down to min_lr over t_max epochs."""
    hparams = {"t_max": HParam("int", "Epochs to reach min_lr.", min=1, max=10_000),
               "min_lr": HParam("float", "Final learning rate.", min=0.0, max=1e6)}

    def __init__(self, t_max: int = 10, min_lr: float = 0.0):
        self.t_max = t_max
        self.min_lr = min_lr

    def lr_at(self, base_lr, epoch):
        e = min(epoch, self.t_max)
        return self.min_lr + (base_lr - self.min_lr) * 0.5 * (1 + np.cos(np.pi * e / self.t_max))
