"""The errors nncore raises for anything a user can get wrong.

All of them are ``ValueError`` subclasses, so ``except ValueError`` catches them, and each message
says what was expected and what was received.
"""
from __future__ import annotations


class NNCoreError(ValueError):
    """Base class of nncore's own errors."""


class SpecError(NNCoreError):
    """A network spec (or one layer of it) is invalid.

    Attributes name where the problem is: ``index`` (layer position in ``spec["layers"]``,
    counted from 0, or None for the spec itself), ``layer_type``, ``field``, ``expected`` and
    ``received``. The message counts layers from 1, as a learner does and as the app's cards
    do: ``index=7`` reads "layer 8 (Dense), field 'units': …" — the 8th layer of the list.
    """

    def __init__(self, message: str, *, index: int | None = None, layer_type: str | None = None,
                 field: str | None = None, expected: str | None = None, received=None):
        self.index = index
        self.layer_type = layer_type
        self.field = field
        self.expected = expected
        self.received = received
        self.reason = message
        where = []
        if index is not None:
            where.append(f"layer {index + 1}" + (f" ({layer_type})" if layer_type else ""))
        if field is not None:
            where.append(f"field '{field}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ShapeError(NNCoreError):
    """A layer cannot take the shape it is given. Network turns it into a SpecError for its layer."""


class DataError(NNCoreError):
    """Data that a network or data set reader cannot take: wrong shape, bad labels, corrupt files."""


class ModelFileError(NNCoreError):
    """A model or project file is corrupt, truncated, foreign, or from a newer version."""


class TrainingError(NNCoreError):
    """Training cannot go on (for example the loss became non-finite)."""
