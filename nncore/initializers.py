"""Weight initializers. Each takes (shape, fan_in, fan_out, rng) and returns a float64 array;
the layer casts it to its dtype. All randomness comes from the given ``np.random.Generator``."""
from __future__ import annotations

import numpy as np

from .registry import register


@register("initializer")
def glorot_uniform(shape, fan_in, fan_out, rng):
    """Glorot/Xavier uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out))."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


@register("initializer")
def glorot_normal(shape, fan_in, fan_out, rng):
    """Glorot/Xavier normal: N(0, 2 / (fan_in + fan_out))."""
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=shape)


@register("initializer")
def he_uniform(shape, fan_in, fan_out, rng):
    """He/Kaiming uniform (for ReLU): U(-a, a) with a = sqrt(6 / fan_in)."""
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape)


@register("initializer")
def he_normal(shape, fan_in, fan_out, rng):
    """He/Kaiming normal (for ReLU): N(0, 2 / fan_in)."""
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


@register("initializer")
def zeros(shape, fan_in, fan_out, rng):
    """All zeros (the usual choice for biases)."""
    return np.zeros(shape)


# The names PyTorch uses for the same rules.
register("initializer", "xavier_uniform")(glorot_uniform)
register("initializer", "xavier_normal")(glorot_normal)
register("initializer", "kaiming_uniform")(he_uniform)
register("initializer", "kaiming_normal")(he_normal)
