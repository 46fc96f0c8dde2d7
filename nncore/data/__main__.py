"""``python -m nncore.data list`` shows the data sets; ``... download NAME [FOLDER]`` fetches one."""
from __future__ import annotations

import argparse
import sys

from ..errors import DataError
from .catalog import list_datasets
from .downloads import DOWNLOADS, download


def _progress(out):
    last = {}

    def report(name, done, total):
        step = done * 20 // total if total else done // (1 << 20)
        if last.get(name) != step or done == total:
            last[name] = step
            size = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
            print(f"\r{name}: {size}", end="\n" if done == total else "", file=out, flush=True)
    return report


def main(argv=None, out=None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="python -m nncore.data",
                                     description="List or download NN Studio's data sets.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the named data sets and where their files are")
    dl = sub.add_parser("download", help="fetch a data set (needs internet)")
    dl.add_argument("name", choices=sorted(DOWNLOADS))
    dl.add_argument("folder", nargs="?", help="default: the user data folder")
    args = parser.parse_args(argv)
    if args.command == "list":
        for i in list_datasets():
            sizes = f"{i.train_size:,} + {i.test_size:,}" if i.available else "-"
            where = i.location if i.available else f"not available: {i.reason}"
            print(f"{i.name:14} {sizes:18} {where}", file=out)
        return 0
    try:
        folder = download(args.name, args.folder, progress=_progress(out))
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{args.name} is in {folder}", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
