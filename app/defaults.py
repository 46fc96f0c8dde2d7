"""What the app starts with: the seed's network (101,770 weights) on the built-in MNIST."""
from __future__ import annotations

import copy

DEFAULT_SPEC = {
    "input_shape": [1, 28, 28],
    "layers": [{"type": "Flatten"}, {"type": "Dense", "units": 128}, {"type": "ReLU"},
               {"type": "Dense", "units": 10}, {"type": "Softmax"}],
}


def default_spec() -> dict:
    return copy.deepcopy(DEFAULT_SPEC)
