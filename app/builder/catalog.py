"""What the palette and the property form know about layer types, read from nncore's registry.

Nothing here lists layers by hand: every class in ``nncore.registry.LAYERS`` — including one a
learner registers — appears, grouped by the module it lives in, with the one-line explanation
from its docstring and a form made from its ``hparams``.
"""
from __future__ import annotations

from dataclasses import dataclass

from nncore.hparams import HParam
from nncore.layers.activations import Activation
from nncore.registry import LAYERS

GROUPS = ("Core", "Convolution", "Activations", "Regularization", "More layers", "Your layers")
_MODULE_GROUPS = {"dense": "Core", "conv": "Convolution", "pooling": "Convolution",
                  "activations": "Activations", "regularization": "Regularization"}
_CORE = {"Flatten"}
#: Starting values for required fields (those without a default in ``__init__``).
_STARTERS = {"units": 64, "filters": 8}


@dataclass(frozen=True)
class LayerType:
    name: str
    group: str
    description: str
    hparams: dict
    defaults: dict

    def tooltip(self) -> str:
        lines = [f"<b>{self.name}</b>: {self.description}"]
        for field, hp in self.hparams.items():
            default = self.defaults.get(field, "required")
            lines.append(f"<br><i>{field}</i> ({default!r}): {hp.help}")
        lines.append("<br><br>Double-click or drag into the network to add it.")
        return "".join(lines)


def _without_name(name: str, description: str) -> str:
    """A docstring that begins with its class's name ("Swish: x * sigmoid(x)") gives its
    explanation without it: the palette and tooltips show the name already."""
    head = description[:len(name)]
    rest = description[len(name):].lstrip()
    if head.lower() == name.lower() and rest[:1] in (":", "-", "–", "—", ",") and \
            rest[1:].strip():
        return rest[1:].strip()
    return description


def group_of(cls) -> str:
    if cls.__name__ in _CORE:
        return "Core"
    module = cls.__module__
    if isinstance(cls, type) and issubclass(cls, Activation):
        return "Activations"
    if module.startswith("nncore.layers."):
        return _MODULE_GROUPS.get(module.rsplit(".", 1)[1], "More layers")
    return "Your layers"


_cache: dict = {}


def layer_types() -> list[LayerType]:
    """Every registered layer type, in palette order (group, then registration order)."""
    key = tuple((name, id(cls)) for name, cls in LAYERS.items())
    if key not in _cache:
        _cache.clear()
        _cache[key] = _collect()
    return _cache[key]


def _collect() -> list[LayerType]:
    out = []
    for name, cls in LAYERS.items():
        try:
            desc = _without_name(name, cls.describe())
            defaults = cls.defaults()
        except Exception:  # noqa: BLE001 - a learner's half-written class must not break the app
            desc, defaults = name, {}
        out.append(LayerType(name, group_of(cls), desc, dict(getattr(cls, "hparams", {})),
                             defaults))
    order = {g: i for i, g in enumerate(GROUPS)}
    return sorted(out, key=lambda t: order.get(t.group, len(GROUPS)))


def layer_type(name: str) -> LayerType | None:
    return next((t for t in layer_types() if t.name == name), None)


def _starter(field: str, hp: HParam):
    if field in _STARTERS:
        return _STARTERS[field]
    if hp.kind == "bool":
        return False
    if hp.kind == "choice":
        opts = hp.options()
        return opts[0] if opts else None
    if hp.kind in ("int", "size2", "padding"):
        return max(int(hp.min or 1), 1)
    if hp.kind == "float":
        return float(hp.min) if hp.min is not None and not hp.min_open else 0.1
    return None


def new_layer(name: str) -> dict:
    """The spec entry for a fresh layer of type ``name``: required fields get a starting value."""
    lt = layer_type(name)
    entry = {"type": name}
    if lt is None:
        return entry
    for field, hp in lt.hparams.items():
        if field not in lt.defaults:
            entry[field] = _starter(field, hp)
    return entry


def field_values(entry: dict) -> dict:
    """Every field of a spec entry: its value, else the layer's default."""
    lt = layer_type(entry.get("type", ""))
    if lt is None:
        return {k: v for k, v in entry.items() if k != "type"}
    return {f: entry.get(f, lt.defaults.get(f)) for f in lt.hparams}


#: Fields whose value speaks for itself in a summary ("Dense 128" rather than "units 128").
_BARE = {"units", "filters"}


def summary(entry: dict) -> str:
    """Short text of the fields that differ from the defaults: "128", "16, kernel size 5"."""
    lt = layer_type(entry.get("type", ""))
    defaults = lt.defaults if lt else {}
    parts = []
    for k, v in entry.items():
        if k == "type" or (k in defaults and defaults[k] == v):
            continue
        if isinstance(v, list):
            v = "×".join(str(x) for x in v)
        parts.append(str(v) if k in _BARE else f"{k.replace('_', ' ')} {v}")
    return ", ".join(parts)
