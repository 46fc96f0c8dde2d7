"""The Layer base class: what every layer has and does.

A layer is built once its input shape is known (``build``), then maps a batch forward and a
gradient backward::

    y = layer.forward(x, training)        # x: (N, *input_shape) -> y: (N, *output_shape)
    dx = layer.backward(dy)               # dy = dL/dy -> dx = dL/dx; also fills layer.grads

``params`` and ``grads`` are dicts with the same keys. ``backward`` *overwrites* ``grads`` with the
gradient of the current batch (it never accumulates), so no ``zero_grad`` is needed between steps.
Optimizers update ``params`` in place, so the arrays in ``params`` keep their identity.
"""
from __future__ import annotations

import inspect
import sys
from typing import ClassVar

import numpy as np

from ..hparams import HParam


class Layer:
    """Base class. Subclasses set ``hparams`` and override ``forward``/``backward`` and, if the
    shape changes or there are weights, ``compute_output_shape``/``init_params``."""

    #: hyper-parameter name -> description; defaults come from ``__init__``'s signature.
    hparams: ClassVar[dict[str, HParam]] = {}
    #: the backward formulas, shown by the app's backward-pass inspector.
    formula: ClassVar[str] = ""

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.input_shape: tuple[int, ...] | None = None
        self.output_shape: tuple[int, ...] | None = None
        self.dtype = np.dtype(np.float32)
        self.rng: np.random.Generator | None = None

    # ---- description -------------------------------------------------------------------------
    @classmethod
    def type_name(cls) -> str:
        return cls.__name__

    @classmethod
    def describe(cls) -> str:
        """One-line explanation: the first line of the class docstring."""
        doc = inspect.getdoc(cls) or ""
        return doc.strip().splitlines()[0] if doc.strip() else cls.__name__

    @classmethod
    def defaults(cls) -> dict:
        """Hyper-parameter defaults from ``__init__`` (a name without default is required)."""
        sig = inspect.signature(cls.__init__)
        return {name: p.default for name, p in sig.parameters.items()
                if name in cls.hparams and p.default is not inspect.Parameter.empty}

    def get_config(self) -> dict:
        """The hyper-parameters as they appear in a spec (without "type")."""
        return {name: getattr(self, name) for name in self.hparams}

    def __repr__(self):
        defaults = self.defaults()
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items()
                         if k not in defaults or defaults[k] != v)
        return f"{type(self).__name__}({args})"

    # ---- shapes and weights ------------------------------------------------------------------
    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Output shape (without the batch axis) for ``input_shape``; raise ShapeError if the
        layer cannot take it. The default keeps the shape."""
        return tuple(input_shape)

    def count_params(self, input_shape: tuple[int, ...]) -> int:
        """Number of weights the layer would have on ``input_shape``, without allocating them."""
        return 0

    def build(self, input_shape, rng: np.random.Generator, dtype=np.float32) -> None:
        """Fix the input shape, allocate weights drawn from ``rng``."""
        self.input_shape = tuple(int(d) for d in input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.dtype = np.dtype(dtype)
        self.rng = rng
        self.init_params(rng)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def init_params(self, rng: np.random.Generator) -> None:
        """Allocate ``self.params`` (nothing for layers without weights)."""

    @property
    def num_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Arrays besides params that define the layer's state (e.g. running statistics)."""
        return {}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        for k, v in arrays.items():
            getattr(self, k)[...] = v

    # ---- computation -------------------------------------------------------------------------
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def scratch(self, name: str, shape, dtype) -> np.ndarray:
        """An uninitialised work array kept from one call to the next (for large temporaries
        that never leave the layer, such as Conv2D's im2col matrix): allocating a fresh one of
        several MB each step costs page faults that can take longer than filling it."""
        buffers = self.__dict__.setdefault("_scratch", {})
        a = buffers.get(name)
        if a is None or a.shape != tuple(shape) or a.dtype != dtype:
            a = buffers[name] = np.empty(shape, dtype=dtype)
        return a

    def recycled(self, name: str, like, dtype=None, keep: bool = True) -> np.ndarray:
        """An uninitialised array for a result the layer hands out or keeps (its output,
        dL/dx): like ``np.empty_like(like, dtype)`` (shape, memory layout, and like's dtype
        unless ``dtype`` is given) when ``like`` is an array, else ``np.empty(like, dtype)``.

        A fresh array of a few MB costs a page fault for every 4 kB when it is first written
        — on the machine this was written on, 2.8 MB took 2.3 ms that way and 0.07 ms when
        reused. So the arrays of earlier calls are handed out again, but only those that
        nothing outside this method holds any more (not the layer's own attributes, not a
        caller, not a view of them: their reference count says so): a result that someone
        still uses is never overwritten. Two are kept per name, enough for a training loop,
        where the previous step's result is still held (e.g. by the next layer) when the new
        one is made. ``keep=False`` (forward passes outside training) makes a new array and
        lets go of the kept ones: evaluation batches are often much larger, their arrays
        should not outlive them, and the training step's should not be held during them."""
        if not keep:
            self.__dict__.get("_recycled", {}).pop(name, None)
        if isinstance(like, np.ndarray):
            key = (like.shape, like.strides, np.dtype(dtype or like.dtype))
        else:
            key = (tuple(like), None, np.dtype(dtype))
        if not keep:
            return self._new_result(like, key)
        kept = self.__dict__.setdefault("_recycled", {}).setdefault(name, [])
        for i in range(len(kept)):
            # 2 references when free: the entry's tuple and getrefcount's argument
            if kept[i][0] == key and sys.getrefcount(kept[i][1]) == 2:
                return kept[i][1]
        a = self._new_result(like, key)
        kept.append((key, a))
        if len(kept) > 2:
            del kept[0]
        return a

    @staticmethod
    def _new_result(like, key):
        if key[1] is None:
            return np.empty(key[0], key[2])
        return np.empty_like(like, dtype=key[2])

    def backward_params(self, grad: np.ndarray) -> None:
        """Only the weight gradients (``grads``), not dL/dx: what the first layer of a network
        needs in a training step. Layers with weights may override it to skip the work of dx."""
        self.backward(grad)
