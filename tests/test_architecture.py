"""nncore must stay GUI-free: nothing in it may import Qt, pyqtgraph or the app."""
import ast
import subprocess
import sys
from pathlib import Path

NNCORE = Path(__file__).resolve().parents[1] / "nncore"
FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "PySide2", "pyqtgraph", "superqt", "qtpy", "app")


def _imported_modules(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def test_nncore_sources_import_no_gui_module():
    offenders = []
    for path in NNCORE.rglob("*.py"):
        for mod in _imported_modules(path):
            if mod.split(".")[0] in FORBIDDEN:
                offenders.append(f"{path.relative_to(NNCORE.parent)} imports {mod}")
    assert offenders == []


def test_importing_nncore_loads_no_gui_module():
    code = ("import sys, nncore, nncore.train, nncore.io, nncore.data, nncore.metrics\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in %r]\n"
            "print(','.join(bad))" % (FORBIDDEN,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
