"""Preset networks: resources/presets/*.json, each {"name", "description", "spec", "training"}.

Files that cannot be read or do not describe a valid network are skipped (and listed in
``problems``), so one broken preset never hides the others. The seed's network is always
available as "Seed MLP", even when no preset files exist.

A preset brings its recipe (optimizer, learning rate and schedule, batch size, epochs,
standardisation) but leaves the learner's choice of data alone: the data set, the images per
class, the validation split and the seed stay as they were. ``changes`` says what it changed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import resources
from nncore import infer_shapes
from nncore.errors import SpecError
from nncore.session import TrainingConfig

from ..defaults import default_spec

#: Settings that are the learner's choice of data, not part of a network's recipe.
KEPT = ("dataset", "subset_per_class", "val_split", "seed")


@dataclass
class Preset:
    name: str
    description: str
    spec: dict
    training: dict = field(default_factory=dict)
    source: str = ""

    def config(self, base: TrainingConfig) -> TrainingConfig | None:
        """``base`` with the preset's training settings applied, or None if it has none."""
        if not self.training:
            return None
        merged = base.to_dict()
        merged.update({k: v for k, v in self.training.items() if k not in KEPT})
        try:
            return TrainingConfig.from_dict(merged)
        except (SpecError, TypeError, ValueError):
            return None


def describe_part(part: dict | None) -> str:
    """"SGD (lr 0.05, momentum 0.9)", "CosineDecay (t_max 10, min_lr 0)", "none"."""
    if not part:
        return "none"
    config = part.get("config") or {}
    inner = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                      for k, v in config.items())
    return f"{part.get('type')} ({inner})" if inner else str(part.get("type"))


def changes(before: TrainingConfig, after: TrainingConfig) -> list[str]:
    """The training settings that differ, in words: ["optimizer SGD (lr 0.05), ...", ...]."""
    b, a = before.to_dict(), after.to_dict()
    out = []
    for key, label in (("optimizer", "optimizer"), ("schedule", "learning-rate schedule"),
                       ("loss", "loss"), ("batch_size", "batch size"), ("epochs", "epochs"),
                       ("standardize", "standardise inputs")):
        if a[key] != b[key]:
            value = describe_part(a[key]) if isinstance(a[key], (dict, type(None))) else a[key]
            out.append(f"{label} {value}")
    return out


def load_presets() -> tuple[list[Preset], list[str]]:
    """(presets, problems): the seed's network first, then every valid preset file."""
    presets = [Preset("Seed MLP", "Flatten → Dense 128 → ReLU → Dense 10 → Softmax: the "
                      "network NN Studio starts with (101,770 weights).", default_spec())]
    problems = []
    folder = resources.path("presets")
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    for path in files:
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(d, dict) or not isinstance(d.get("spec"), dict):
                raise ValueError("expected an object with a 'spec'")
            infer_shapes(d["spec"])
            preset = Preset(str(d.get("name") or path.stem), str(d.get("description") or ""),
                            d["spec"], d.get("training") if isinstance(d.get("training"), dict)
                            else {}, str(path))
        except (OSError, ValueError, SpecError) as e:
            problems.append(f"{path.name}: {e}")
            continue
        if any(p.spec == preset.spec for p in presets):
            presets = [preset if p.spec == preset.spec else p for p in presets]
        else:
            presets.append(preset)
    return presets, problems
