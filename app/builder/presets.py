"""Preset networks: resources/presets/*.json, each {"name", "description", "spec", "training"}.

Files that cannot be read or do not describe a valid network are skipped (and listed in
``problems``), so one broken preset never hides the others. The seed's network is always
available as "Seed MLP", even when no preset files exist.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import resources
from nncore import infer_shapes
from nncore.errors import SpecError
from nncore.session import TrainingConfig

from ..defaults import default_spec


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
        merged.update(self.training)
        try:
            return TrainingConfig.from_dict(merged)
        except (SpecError, TypeError, ValueError):
            return None


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
