"""Load a learner's own layers, activations, losses and optimizers from a folder of .py files.

Each file is one small module that registers what it defines (``@register("layer")`` etc., see the
README's "Extending nncore"). ``load_plugins(folder)`` imports every ``*.py`` file there, one at a
time: a file with a mistake is reported, with its error, and does not stop the others.

The app and ``nn-train`` load ``default_folder()`` at start: ``$NN_STUDIO_PLUGINS`` if set, else
``~/.nn-studio/plugins``.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from . import registry


@dataclass
class PluginResult:
    path: Path
    ok: bool
    registered: list[str] = field(default_factory=list)   # e.g. ["layer Swish"]
    error: str = ""                                         # one line: what went wrong
    details: str = ""                                       # the full traceback


def default_folder() -> Path:
    env = os.environ.get("NN_STUDIO_PLUGINS")
    return Path(env) if env else Path.home() / ".nn-studio" / "plugins"


def _registered() -> set[tuple[str, str, int]]:
    return {(kind, name, id(obj)) for kind, table in registry._TABLES.items()
            for name, obj in table.items()}


def load_plugin(path) -> PluginResult:
    """Import one plugin file (again, if it was loaded before) and report what it registered."""
    path = Path(path)
    before = _registered()
    module_name = f"nncore_plugins.{path.stem}"
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {path.name}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except Exception as e:  # a learner's file may raise anything; report it, keep going
        sys.modules.pop(module_name, None)
        where = ""
        tb = traceback.extract_tb(e.__traceback__)
        own = [f for f in tb if Path(f.filename) == path]
        if own:
            where = f" (line {own[-1].lineno})"
        return PluginResult(path, False, error=f"{type(e).__name__}{where}: {e}",
                            details=traceback.format_exc())
    added = sorted(f"{kind} {name}" for kind, name, _ in _registered() - before)
    return PluginResult(path, True, registered=added)


def load_plugins(folder=None) -> list[PluginResult]:
    """Import every ``*.py`` in ``folder`` (default: ``default_folder()``), sorted by name.
    A missing folder is not an error: there are simply no plugins."""
    folder = Path(folder) if folder is not None else default_folder()
    if not folder.is_dir():
        return []
    return [load_plugin(p) for p in sorted(folder.glob("*.py")) if not p.name.startswith("_")]
