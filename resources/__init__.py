"""Data files shipped with NN Studio: the built-in MNIST, preset networks and icons."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def path(*parts: str) -> Path:
    """Absolute path of a file or folder inside the resources package."""
    return ROOT.joinpath(*parts)
