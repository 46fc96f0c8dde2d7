"""The learner's own pictures: a folder with one sub-folder per class.

    my-digits/                      or     my-digits/
      zero/  a.png b.jpg ...                 train/  zero/ ...  one/ ...
      one/   ...                             test/   zero/ ...  one/ ...

Each image is read with Pillow (PNG, JPEG, BMP, GIF, WebP, TIFF), turned upright by its EXIF
orientation, laid over white where it is transparent, converted to greyscale or RGB and resized
to the chosen size. Files of other kinds and hidden files are skipped; an empty class folder or
an image that cannot be read raises DataError naming it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
COLORS = ("grey", "rgb")
MAX_SIDE = 512


def image_size(size) -> tuple[int, int]:
    """(H, W) from an int or a pair, each 1..MAX_SIDE."""
    hw = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if len(hw) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                               and 1 <= v <= MAX_SIDE for v in hw):
        raise DataError(f"image size must be an integer or (height, width), each 1..{MAX_SIDE}, "
                        f"received {size!r}")
    return int(hw[0]), int(hw[1])


def _subfolders(folder: Path) -> list[Path]:
    try:
        return sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
                      key=lambda p: p.name)
    except FileNotFoundError:
        raise DataError(f"{folder}: no such folder") from None
    except NotADirectoryError:
        raise DataError(f"{folder}: is a file, not a folder") from None
    except OSError as e:
        raise DataError(f"{folder}: cannot be read ({e.strerror or e})") from None


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
                  and p.is_file() and not any(part.startswith(".")
                                              for part in p.relative_to(folder).parts))


def class_folders(root) -> list[tuple[str, list[Path]]]:
    """[(class name, image files)] for the sub-folders of ``root``, sorted by name."""
    root = Path(root)
    classes = []
    for sub in _subfolders(root):
        files = _images_in(sub)
        if not files:
            raise DataError(f"{sub}: the class folder '{sub.name}' has no images (expected "
                            f"PNG or JPEG files)")
        classes.append((sub.name, files))
    if not classes:
        raise DataError(f"{root}: no class folders (expected one sub-folder of images per "
                        f"class, for example {root.name}/cat/ and {root.name}/dog/)")
    return classes


def split_layout(root) -> tuple[Path, Path] | None:
    """(train folder, test folder) if ``root`` holds ``train/`` and ``test/`` sub-folders that
    themselves hold class folders; else None."""
    subs = {p.name.lower(): p for p in _subfolders(Path(root))}
    if "train" in subs and "test" in subs and len(subs) == 2 and \
            _subfolders(subs["train"]) and _subfolders(subs["test"]):
        return subs["train"], subs["test"]
    return None


def read_image(path, size=(28, 28), color: str = "grey", invert: bool = False) -> np.ndarray:
    """One image file as (C, H, W) uint8: C = 1 for "grey", 3 for "rgb"."""
    from PIL import Image, ImageOps, UnidentifiedImageError
    h, w = image_size(size)
    try:
        with Image.open(path) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                im = im.convert("RGBA")
                white = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(white, im)
            im = im.convert("L" if color == "grey" else "RGB")
            im = im.resize((w, h), Image.Resampling.LANCZOS)
            arr = np.asarray(im, dtype=np.uint8)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError) as e:
        raise DataError(f"{path}: cannot read this image ({e})") from None
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return 255 - arr if invert else arr.copy()


def read_class_images(classes, class_names, size, color, invert):
    """Images (N, C, H, W) uint8 and labels (N,) int64 of [(class name, files)]."""
    index = {name: i for i, name in enumerate(class_names)}
    h, w = image_size(size)
    n = sum(len(files) for _, files in classes)
    x = np.empty((n, 1 if color == "grey" else 3, h, w), dtype=np.uint8)
    y = np.empty(n, dtype=np.int64)
    i = 0
    for name, files in classes:
        for f in files:
            x[i] = read_image(f, (h, w), color, invert)
            y[i] = index[name]
            i += 1
    return x, y


def check_color(color) -> str:
    aliases = {"grey": "grey", "gray": "grey", "greyscale": "grey", "grayscale": "grey",
               "l": "grey", "rgb": "rgb", "colour": "rgb", "color": "rgb"}
    c = aliases.get(str(color).lower())
    if c is None:
        raise DataError(f"color must be 'grey' or 'rgb', received {color!r}")
    return c
