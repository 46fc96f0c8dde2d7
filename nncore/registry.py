"""Name -> class tables for every layer, loss, optimizer and initializer.

A registry is a plain dict. ``register`` adds a class under its own name, ``get`` turns a name (or an
already built object) into the class, with a clear error for names it does not know::

    from nncore.registry import register

    @register("layer")
    class Swish(Activation): ...
"""
from __future__ import annotations

LAYERS: dict[str, type] = {}
LOSSES: dict[str, type] = {}
OPTIMIZERS: dict[str, type] = {}
INITIALIZERS: dict[str, object] = {}
SCHEDULES: dict[str, type] = {}

_TABLES = {"layer": LAYERS, "loss": LOSSES, "optimizer": OPTIMIZERS,
           "initializer": INITIALIZERS, "schedule": SCHEDULES}


def register(kind: str, name: str | None = None):
    """Class (or function) decorator: add the object to the ``kind`` table under ``name``.

    ``kind`` is one of "layer", "loss", "optimizer", "initializer", "schedule"; ``name`` defaults to
    the object's ``__name__``. Registering a second object under a taken name replaces the first,
    so a learner can reload their own file while experimenting.
    """
    if kind not in _TABLES:
        raise ValueError(f"Could not interpret registry kind: {kind!r}; expected one of "
                         f"{', '.join(_TABLES)}")

    def add(obj):
        _TABLES[kind][name or obj.__name__] = obj
        return obj
    return add


def get(kind: str, identifier):
    """Return the registered object for ``identifier`` (a name, or the object itself)."""
    table = _TABLES[kind]
    if not isinstance(identifier, str):
        if identifier in table.values() or isinstance(identifier, tuple(
                v for v in table.values() if isinstance(v, type))):
            return identifier
        raise ValueError(f"Could not interpret {kind}: {identifier!r}")
    try:
        return table[identifier]
    except KeyError:
        raise ValueError(f"Could not interpret {kind}: {identifier!r}; known: "
                         f"{', '.join(sorted(table))}") from None


def names(kind: str) -> list[str]:
    """Registered names of one kind, in registration order."""
    return list(_TABLES[kind])
