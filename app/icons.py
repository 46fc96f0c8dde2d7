"""Icons from resources/icons (SVG, drawn for NN Studio). ``icon("play")`` -> QIcon."""
from __future__ import annotations

from functools import lru_cache

from PySide6.QtGui import QIcon

import resources


@lru_cache(maxsize=None)
def icon(name: str) -> QIcon:
    """The icon ``name`` (file resources/icons/<name>.svg); an empty icon if it is missing."""
    path = resources.path("icons", f"{name}.svg")
    return QIcon(str(path)) if path.is_file() else QIcon()
