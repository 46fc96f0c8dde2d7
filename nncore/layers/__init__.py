"""Every built-in layer type. Importing this package registers them all.

To add your own layer or activation, write it in one small file in this folder and add one line
below, e.g. ``from .swish import Swish`` (see the README's "Extending nncore").
"""
from .base import Layer
from .activations import (ELU, GELU, Activation, Identity, LeakyReLU, ReLU, Sigmoid, Softmax,
                          Tanh)
from .dense import Dense
from .conv import Conv2D, Flatten
from .pooling import AvgPool2D, MaxPool2D
from .regularization import BatchNorm, Dropout

__all__ = ["Layer", "Activation", "Dense", "Conv2D", "MaxPool2D", "AvgPool2D", "Flatten",
           "Dropout", "BatchNorm", "ReLU", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "GELU",
           "Softmax", "Identity"]
