"""Descriptions of layer hyper-parameters: type, range and a one-line help text.

A layer class lists its hyper-parameters in ``hparams``; defaults come from its ``__init__``.
The same descriptions validate specs (``SpecError`` names field, expectation and received value)
and let the app build a property form with tooltips for any layer, including ones a learner adds.
"""
from __future__ import annotations

import math
import numbers
import reprlib
from dataclasses import dataclass

_SHORT = reprlib.Repr()
_SHORT.maxstring = 60
_SHORT.maxother = 60
_SHORT.maxlevel = 3


def short_repr(value) -> str:
    """repr() cut to a readable length, safe on huge or deeply nested values."""
    try:
        return _SHORT.repr(value)
    except Exception:  # a foreign object whose repr fails
        return f"<{type(value).__name__}>"


class HParamError(ValueError):
    """A value does not fit its hyper-parameter; ``expected`` says what would."""

    def __init__(self, expected: str, received):
        self.expected = expected
        self.received = received
        super().__init__(f"expected {expected}, received {short_repr(received)}")


def _fmt(v) -> str:
    return f"{int(v):,}" if float(v).is_integer() and abs(v) < 1e15 else f"{v:g}"


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class HParam:
    """One hyper-parameter.

    kind: "int", "float", "bool", "choice", "size2" (an int or a pair of ints, e.g. a kernel size)
    or "padding" (an int, a pair of ints, "valid" or "same"). A "choice" takes ``choices``, or
    every name registered under ``registry`` (e.g. "initializer").
    min/max: inclusive bounds for numbers (``min_open`` makes the lower bound exclusive).
    """
    kind: str
    help: str = ""
    min: float | None = None
    max: float | None = None
    min_open: bool = False
    choices: tuple = ()
    registry: str | None = None

    def options(self) -> tuple:
        """The allowed values of a "choice": fixed, or every name in a registry table."""
        if self.registry is not None:
            from .registry import names
            return tuple(names(self.registry))
        return self.choices

    def expected(self) -> str:
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.options())
        base = {"int": "an integer", "float": "a number", "size2": "an integer or a pair of integers",
                "padding": "'valid', 'same', an integer or a pair of integers"}[self.kind]
        bounds = []
        if self.min is not None:
            bounds.append(f"{'>' if self.min_open else '>='} {_fmt(self.min)}")
        if self.max is not None:
            bounds.append(f"<= {_fmt(self.max)}")
        return base + (" " + " and ".join(bounds) if bounds else "")

    def _in_range(self, x) -> bool:
        if self.min is not None and (x <= self.min if self.min_open else x < self.min):
            return False
        return self.max is None or x <= self.max

    def check(self, value):
        """Return ``value`` in its canonical JSON-able form, or raise HParamError."""
        fail = HParamError(self.expected(), value)
        if self.kind == "int":
            if not _is_int(value) or not self._in_range(value):
                raise fail
            return int(value)
        if self.kind == "float":
            try:  # an int too large for a float overflows here
                finite = _is_real(value) and math.isfinite(value)
            except OverflowError:
                finite = False
            if not finite or not self._in_range(value):
                raise fail
            return float(value)
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise fail
            return value
        if self.kind == "choice":
            if not isinstance(value, str | bool | int | float) or value not in self.options():
                raise fail
            return value
        if self.kind in ("size2", "padding"):
            if self.kind == "padding" and isinstance(value, str) and value in ("valid", "same"):
                return value
            if _is_int(value):
                if not self._in_range(value):
                    raise fail
                return int(value)
            if (isinstance(value, (list, tuple)) and len(value) == 2
                    and all(_is_int(v) and self._in_range(v) for v in value)):
                return [int(v) for v in value]
            raise fail
        raise ValueError(f"unknown hyper-parameter kind {self.kind!r}")


def pair(value) -> tuple[int, int]:
    """(h, w) from an int or a pair."""
    if isinstance(value, (list, tuple)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


class SettingError(HParamError):
    """A constructor setting is unknown or does not fit; ``name`` says which."""

    def __init__(self, name: str, expected: str, received, unknown: bool = False):
        super().__init__(expected, received)
        self.name = name
        self.unknown = unknown
        self.args = (f"unknown setting {name!r} (received {short_repr(received)}); expected "
                     f"{expected}" if unknown else f"{name}: {self.args[0]}",)


def check_settings(cls, config) -> dict:
    """Validate keyword settings for ``cls`` (an optimizer, loss or schedule class) before it is
    built: every name must be a parameter of its ``__init__``; a value is checked by
    ``cls.hparams[name]`` when described there, else it must have the type of the default
    (true/false for a bool default, a number for a numeric one, a pair of numbers for a pair).
    Returns ``config``; raises SettingError naming the setting."""
    import inspect
    if not isinstance(config, dict):
        raise SettingError("config", "an object of settings", config)
    hparams = getattr(cls, "hparams", None) or {}
    params = {n: p for n, p in inspect.signature(cls.__init__).parameters.items()
              if n not in ("self", "net") and p.kind is p.POSITIONAL_OR_KEYWORD}
    for name, value in config.items():
        if name not in params:
            raise SettingError(str(name), ", ".join(params) or "no settings", value,
                               unknown=True)
        if name in hparams:
            try:
                hparams[name].check(value)
            except HParamError as e:
                raise SettingError(name, e.expected, value) from None
            continue
        default = params[name].default
        if name == "betas" and {"beta1", "beta2"} <= set(hparams):
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise SettingError(name, "a pair of numbers", value)
            for sub, v in zip(("beta1", "beta2"), value):
                try:
                    hparams[sub].check(v)
                except HParamError as e:
                    raise SettingError(name, "a pair of " + e.expected.replace(
                        "a number", "numbers"), value) from None
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise SettingError(name, "true or false", value)
        elif isinstance(default, (int, float)):
            try:
                HParam("float").check(value)
            except HParamError:
                raise SettingError(name, "a number", value) from None
    return config
