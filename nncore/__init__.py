"""nncore: a neural-network library written from scratch in NumPy, meant to be read.

The pieces, each in its own module: layers (nncore.layers), losses, optimizers (nncore.optim),
the Network built from a JSON spec, the training loop (nncore.train), metrics, data sets
(nncore.data) and saving (nncore.io).
"""
from .errors import DataError, ModelFileError, NNCoreError, ShapeError, SpecError, TrainingError
from . import initializers  # noqa: F401  (registers initializers)
from . import layers
from .losses import CrossEntropyLoss, MSELoss
from . import optim
from .network import Network, infer_shapes
from . import gradcheck  # a callable module: nncore.gradcheck(fn, inputs, grads)
from .io import load, save

__all__ = ["Network", "infer_shapes", "layers", "optim", "CrossEntropyLoss", "MSELoss",
           "gradcheck", "save", "load", "SpecError", "DataError", "ModelFileError", "NNCoreError", "ShapeError",
           "TrainingError"]
