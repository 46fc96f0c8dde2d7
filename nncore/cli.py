"""``nn-train``: train a network from a spec file without the window.

    nn-train SPEC.json --dataset mnist --epochs 10 --out runs/mlp

SPEC.json is a network spec ({"input_shape": ..., "layers": [...]}) or a preset file
({"name", "description", "spec", "training"}, what the app's Network > Export spec writes) whose
training settings become the defaults; a preset may also be named directly (``nn-train mlp``,
see resources/presets/). A project or model file (.nnproj from the app, .nns from nn-train) works
too: its network and training settings are used, and training starts afresh. Flags override the
settings. Training goes through ``nncore.session`` exactly as in the app, so the same spec and
settings give the same numbers.

While training, a progress bar runs on stderr (when it is a terminal, or with --progress); each
finished epoch adds a row to a table on stdout. The output folder receives:

    model.nns            the trained model: spec, weights, optimizer state, settings, history
    history.csv          one row per epoch: losses, accuracies, samples/s, seconds
    batches.csv          one row per training batch: loss and accuracy (on long runs, older
                         batches merged into groups: see nncore.history)
    confusion.csv        confusion matrix on the evaluation set (rows: true class)
    confusion.png        the same as a picture      (both PNGs skipped with --no-plots)
    loss.png             training and evaluation loss curves

Bad input (a missing or invalid file, an invalid spec or setting, unusable data) prints one
line, ``nn-train: error: ...``, and exits with status 2; training that diverges stops with the
reason, keeps the last good state, writes the outputs and exits with status 1.
"""
from __future__ import annotations

import argparse
import copy
import io
import json
import math
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np

from .errors import DataError, ModelFileError, NNCoreError, SpecError
from .network import infer_shapes
from .threads import ThreadChooser, every_core_but_one, user_chose_threads

EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 1
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """Something the user can fix; the message is printed as one line."""


# ---- reading the spec -----------------------------------------------------------------------
def presets_folder() -> Path:
    import resources
    return resources.path("presets")


def preset_names() -> list[str]:
    return sorted(p.stem for p in presets_folder().glob("*.json"))


def _model_file_settings(ck) -> dict:
    """The training settings a project or model file holds: the app's (extra["app"]["config"]),
    nn-train's (extra["config"]), else what the checkpoint itself says."""
    extra = ck.extra if isinstance(ck.extra, dict) else {}
    app = extra.get("app") if isinstance(extra.get("app"), dict) else {}
    for found in (app.get("config"), extra.get("config")):
        if isinstance(found, dict):
            return copy.deepcopy(found)
    training = {"loss": ck.loss}
    if ck.optimizer.get("type"):
        training["optimizer"] = {"type": ck.optimizer["type"],
                                 "config": dict(ck.optimizer.get("config") or {})}
    for key in ("batch_size", "schedule"):
        if ck.training.get(key) is not None:
            training[key] = ck.training[key]
    return training


def read_model_file(path: Path, arg: str) -> tuple[dict, dict, str]:
    """(spec, training settings, name) of a project (.nnproj) or model (.nns) file: the
    network as the app's builder has it (as trained, for nn-train's models)."""
    from . import io as nn_io
    from .network import Network
    try:
        loaded = nn_io.load(path)
    except ModelFileError as e:
        raise UserError(str(e)) from None
    if isinstance(loaded, Network):
        return loaded.to_spec(), {}, path.stem
    extra = loaded.extra if isinstance(loaded.extra, dict) else {}
    app = extra.get("app") if isinstance(extra.get("app"), dict) else {}
    spec = app.get("builder_spec") if isinstance(app.get("builder_spec"), dict) else loaded.spec
    try:
        infer_shapes(spec)
    except SpecError as e:
        raise UserError(f"{arg}: the network in this file is not valid: {e}") from None
    name = extra.get("name") if isinstance(extra.get("name"), str) and extra.get("name") \
        else path.stem
    return copy.deepcopy(spec), _model_file_settings(loaded), name


def read_spec_file(arg: str) -> tuple[dict, dict, str]:
    """(spec, training settings, name) from a spec or preset file, a preset's name, or a
    project or model file."""
    path = Path(arg).expanduser()
    if not path.exists() and not arg.endswith(".json") and (presets_folder() /
                                                           f"{arg}.json").is_file():
        path = presets_folder() / f"{arg}.json"
    try:
        with open(path, "rb") as f:
            magic = f.read(len(b"NNSTUDIO"))
    except OSError:
        magic = b""                 # reported below, where it is read as text
    if magic == b"NNSTUDIO":
        return read_model_file(path, arg)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        known = ", ".join(preset_names())
        raise UserError(f"{arg}: no such file (nor a preset name; presets: {known})") from None
    except IsADirectoryError:
        raise UserError(f"{arg}: is a folder, expected a JSON spec file") from None
    except UnicodeDecodeError:
        raise UserError(f"{arg}: not a text file; expected a JSON network spec, a preset, or "
                        f"a project (.nnproj) or model (.nns) file") from None
    except OSError as e:
        raise UserError(f"{arg}: cannot be read ({e.strerror or e})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise UserError(f"{arg}: not valid JSON (line {e.lineno}, column {e.colno}: "
                        f"{e.msg})") from None
    if not isinstance(doc, dict):
        raise UserError(f"{arg}: expected a JSON object (a network spec or a preset), "
                        f"received {type(doc).__name__}")
    if "spec" in doc:
        spec, training = doc["spec"], doc.get("training") or {}
        if not isinstance(training, dict):
            raise UserError(f"{arg}: 'training' must be an object of settings, received "
                            f"{type(training).__name__}")
        name = str(doc.get("name") or path.stem)
    else:
        spec, training, name = doc, {}, path.stem
    try:
        infer_shapes(spec)
    except SpecError as e:
        raise UserError(f"{arg}: invalid network spec: {e}") from None
    return spec, training, name


# ---- settings -------------------------------------------------------------------------------
def build_config(training: dict, args):
    """The preset's settings with the command-line flags applied on top."""
    from .session import TrainingConfig
    d = TrainingConfig().to_dict()
    d.update(copy.deepcopy(training))
    for flag, key in (("dataset", "dataset"), ("epochs", "epochs"), ("batch_size", "batch_size"),
                      ("seed", "seed"), ("val_split", "val_split"),
                      ("subset", "subset_per_class")):
        value = getattr(args, flag)
        if value is not None:
            d[key] = value
    if args.standardize:
        d["standardize"] = True
    if args.optimizer is not None and args.optimizer != d["optimizer"].get("type"):
        d["optimizer"] = {"type": args.optimizer, "config": {}}
    opt_config = dict(d["optimizer"].get("config", {}))
    for flag in ("lr", "momentum", "weight_decay"):
        value = getattr(args, flag)
        if value is not None:
            opt_config[flag] = value
    d["optimizer"] = {"type": d["optimizer"]["type"], "config": opt_config}
    try:
        return TrainingConfig.from_dict(d)
    except TypeError as e:
        raise UserError(f"invalid training settings: {e}") from None


# ---- progress and table ---------------------------------------------------------------------
class ProgressBar:
    """A one-line bar on a stream, redrawn at most every ``interval`` seconds."""

    def __init__(self, stream, width: int = 28, interval: float = 0.1):
        self.stream, self.width, self.interval = stream, width, interval
        self._last = 0.0
        self._shown = False

    def update(self, epoch: int, epochs: int, done: int, total: int, loss: float,
               speed: float, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        filled = int(self.width * done / max(total, 1))
        bar = "█" * filled + "·" * (self.width - filled)
        self.stream.write(f"\repoch {epoch}/{epochs} {bar} {done}/{total}  loss {loss:.4f}  "
                          f"{speed:,.0f} samples/s ")
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._shown = False


def table_header(eval_name: str) -> str:
    short = "val" if eval_name == "validation" else "test"
    return (f"{'epoch':>5}  {'train loss':>10}  {'train acc':>9}  {short + ' loss':>10}  "
            f"{short + ' acc':>9}  {'samples/s':>9}  {'seconds':>7}")


def table_row(ev) -> str:
    val_loss = "—" if ev.val_loss is None else f"{ev.val_loss:.4f}"
    val_acc = "—" if ev.val_accuracy is None else f"{ev.val_accuracy:.2%}"
    return (f"{ev.epoch:>5}  {ev.train_loss:>10.4f}  {ev.train_accuracy:>9.2%}  {val_loss:>10}  "
            f"{val_acc:>9}  {ev.samples_per_sec:>9,.0f}  {ev.seconds:>7.1f}")


def count(n: int, word: str, plural: str = "") -> str:
    """"1 epoch", "3 epochs", "60,000 training samples": the count and its noun, plural
    right (``plural`` when adding an s is wrong)."""
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


# ---- outputs --------------------------------------------------------------------------------
def _csv(rows) -> bytes:
    return ("\n".join(",".join(str(v) for v in row) for row in rows) + "\n").encode("utf-8")


def _num(v) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.6g}"


def history_csv(history) -> bytes:
    rows = [("epoch", "step", "train_loss", "train_accuracy", "eval_loss", "eval_accuracy",
             "samples_per_sec", "seconds")]
    for e in history.epochs:
        rows.append((e.epoch, e.step, _num(e.train_loss), _num(e.train_accuracy),
                     _num(e.val_loss), _num(e.val_accuracy), _num(e.samples_per_sec),
                     _num(e.seconds)))
    return _csv(rows)


def batches_csv(history) -> bytes:
    rows = [("step", "loss", "accuracy")]
    rows += [(step, _num(loss), _num(acc)) for step, loss, acc in
             zip(history.batch_steps, history.batch_loss, history.batch_accuracy)]
    return _csv(rows)


def confusion_csv(matrix: np.ndarray, class_names: list[str]) -> bytes:
    names = [str(c).replace(",", " ") for c in class_names]
    rows = [["true \\ predicted"] + names]
    rows += [[names[i]] + [int(v) for v in row] for i, row in enumerate(matrix)]
    return _csv(rows)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def confusion_png(matrix: np.ndarray, class_names: list[str], title: str) -> bytes:
    from matplotlib.figure import Figure
    k = len(matrix)
    fig = Figure(figsize=(1.2 + 0.45 * max(k, 6), 1.0 + 0.45 * max(k, 6)))
    ax = fig.add_subplot()
    shade = np.log1p(matrix)          # log colours: the few mistakes stay visible
    ax.imshow(shade, cmap="Blues")
    ax.set_xticks(range(k), [str(c) for c in class_names], rotation=90 if k > 12 else 0)
    ax.set_yticks(range(k), [str(c) for c in class_names])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    if k <= 20:
        top = shade.max() if shade.size else 0
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", fontsize=7,
                        color="white" if shade[i, j] > top * 0.6 else "black")
    fig.tight_layout()
    return _png(fig)


def loss_png(history, eval_name: str) -> bytes:
    from matplotlib.figure import Figure
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    batches = history.batch_steps[-1] if history.batch_steps else 1
    epochs = [e.epoch for e in history.epochs]
    steps_per_epoch = history.epochs[0].step if history.epochs else batches
    ax.plot(np.asarray(history.batch_steps) / max(steps_per_epoch, 1),
            history.batch_loss, color="#9ab", linewidth=0.6, label="training loss (per batch)")
    if history.epochs:
        ax.plot(epochs, [e.train_loss for e in history.epochs], "o-", color="#1f5f99",
                label="training loss (epoch mean)")
        if history.epochs[0].val_loss is not None:
            ax.plot(epochs, [e.val_loss for e in history.epochs], "s-", color="#d0641c",
                    label=f"{eval_name} loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return _png(fig)


def write_outputs(out: Path, trainer, prepared, config, name: str,
                  plots: bool = True) -> dict[str, Path]:
    """Save the model and write history, confusion matrix and plots; name -> path."""
    from .io import atomic_write_bytes, checkpoint_from_trainer, save
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{out}: cannot create the output folder "
                        f"({e.strerror or e})") from None
    ck = checkpoint_from_trainer(trainer, class_names=list(prepared.class_names),
                                 preprocessing=prepared.preprocessing.to_dict(),
                                 extra={"name": name, "config": config.to_dict()})
    epochs = trainer.history.epochs
    if trainer.batch == 0 and epochs and epochs[-1].confusion is not None:
        confusion, accuracy = epochs[-1].confusion, epochs[-1].val_accuracy  # already measured
    else:   # stopped inside an epoch: evaluate the weights as they are
        ev = trainer.evaluate(prepared.x_eval, prepared.y_eval)
        confusion, accuracy = ev.confusion, ev.accuracy
    k = confusion.shape[0]
    names = list(prepared.class_names) or [str(i) for i in range(k)]
    names = (names + [str(i) for i in range(len(names), k)])[:k]
    files = {"model": out / "model.nns", "history": out / "history.csv",
             "batches": out / "batches.csv", "confusion": out / "confusion.csv"}
    if plots:
        files.update(confusion_png=out / "confusion.png", loss_png=out / "loss.png")
    title = f"{name}: {prepared.eval_name} accuracy {accuracy:.2%}"
    try:
        save(ck, files["model"])
        atomic_write_bytes(files["history"], history_csv(trainer.history))
        atomic_write_bytes(files["batches"], batches_csv(trainer.history))
        atomic_write_bytes(files["confusion"], confusion_csv(confusion, names))
        if plots:
            atomic_write_bytes(files["confusion_png"], confusion_png(confusion, names, title))
            atomic_write_bytes(files["loss_png"], loss_png(trainer.history, prepared.eval_name))
    except OSError as e:
        raise UserError(f"{out}: cannot write the outputs ({e.strerror or e})") from None
    return files


# ---- main -----------------------------------------------------------------------------------
def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="nn-train", description="Train a network spec (or preset) on a data set, print a "
        "per-epoch table and write the model, loss history and confusion matrix.")
    ap.add_argument("spec", help="network spec or preset JSON file, a preset name, or a "
                    "project (.nnproj) or model (.nns) file whose network and settings to use")
    ap.add_argument("--dataset", help="named data set (mnist, fashion-mnist, digits-8x8) or the "
                    "path of a folder of IDX files, a CSV file or an image folder")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--optimizer", help="SGD, Adam or RMSprop")
    ap.add_argument("--lr", type=float, help="learning rate")
    ap.add_argument("--momentum", type=float)
    ap.add_argument("--weight-decay", type=float)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--val-split", type=float,
                    help="fraction of the training set held out for validation (0: test set)")
    ap.add_argument("--standardize", action="store_true",
                    help="standardise inputs with the training set's mean and std")
    ap.add_argument("--subset", type=int, metavar="N",
                    help="train on at most N samples per class (a quick run)")
    ap.add_argument("--plugins", metavar="FOLDER",
                    help="also load the layers, losses and optimizers in FOLDER's .py files "
                         "(the default plugin folder, $NN_STUDIO_PLUGINS or "
                         "~/.nn-studio/plugins, is always loaded)")
    ap.add_argument("--threads", metavar="N|auto",
                    help="BLAS threads for the matrix products: a number, or auto (chosen by "
                         "timing the steps: fastest when other programs load the machine, "
                         "but two runs are then not bit-identical, since the products' "
                         "rounding depends on the threads). Default: every core but one, as "
                         "the window trains; "
                         "OPENBLAS_NUM_THREADS in the environment also sets it")
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    ap.add_argument("--out", help="output folder (default: runs/<spec file name without .json>)")
    ap.add_argument("--no-plots", action="store_true",
                    help="skip the PNG pictures (the CSV files hold the same numbers)")
    bar = ap.add_mutually_exclusive_group()
    bar.add_argument("--progress", action="store_true", default=None,
                     help="show the progress bar even when stderr is not a terminal")
    bar.add_argument("--no-progress", dest="progress", action="store_false")
    return ap.parse_args(argv)


class _StopOnCtrlC:
    """The first Ctrl+C asks training to stop after the current batch (the outputs are still
    written); a second one interrupts at once."""

    def __init__(self):
        self._flag = False
        self._old = None

    def requested(self) -> bool:
        return self._flag

    def _handle(self, signum, frame):
        if self._flag:
            raise KeyboardInterrupt
        self._flag = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False


def _fit_input(x, spec_shape):
    """Images (N, C, H, W) for a spec on flat input [C·H·W] are flattened; else unchanged."""
    spec_shape = tuple(spec_shape)
    if x.shape[1:] != spec_shape and len(spec_shape) == 1 and \
            math.prod(x.shape[1:]) == spec_shape[0]:
        return x.reshape(len(x), -1)
    return x


def load_plugin_folders(extra, stderr) -> None:
    """Load the default plugin folder and ``extra`` (--plugins); a file that fails is reported
    on stderr, one line each, and the others are still loaded."""
    from .plugins import default_folder, load_plugins
    folders = [default_folder()]
    if extra:
        folder = Path(extra)
        if not folder.is_dir():
            raise UserError(f"--plugins {extra}: no such folder")
        if folder.resolve() != folders[0].resolve():
            folders.append(folder)
    for folder in folders:
        for r in load_plugins(folder):
            if r.ok:
                what = ", ".join(r.registered) or "nothing registered"
                print(f"nn-train: plugin {r.path.name}: {what}", file=stderr, flush=True)
            else:
                print(f"nn-train: warning: plugin {r.path} not loaded: {r.error}", file=stderr,
                      flush=True)


def _threads_now():
    from threadpoolctl import threadpool_info
    counts = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    return counts[0] if counts else "?"


def _choose_threads(value):
    """For ``--threads``: a ThreadChooser for "auto"; else a threadpoolctl limiter holding a
    fixed count (to restore afterwards): the number given, or by default every core but one;
    None when the environment sets the threads (and no number was given)."""
    if value is not None and str(value).strip().lower() == "auto":
        chooser = ThreadChooser.for_this_machine()
        if chooser is not None:
            chooser.start()
        return chooser
    if value is None:
        if user_chose_threads():
            return None
        n = every_core_but_one()
    else:
        try:
            n = int(value)
        except ValueError:
            n = 0
        if n < 1:
            raise UserError(f"--threads must be a whole number >= 1 or auto, received {value}")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        if value is None:
            return None
        raise UserError("--threads needs threadpoolctl (pip install threadpoolctl); or set "
                        "OPENBLAS_NUM_THREADS in the environment") from None
    return threadpool_limits(limits=n, user_api="blas")


def run(args, stdout=None, stderr=None) -> int:
    from .session import build_trainer, prepare_data
    from .train import Diverged
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    load_plugin_folders(getattr(args, "plugins", None), stderr)
    spec, training, name = read_spec_file(args.spec)
    config = build_config(training, args)
    prepared = prepare_data(config)
    shape = tuple(prepared.x_train.shape[1:])
    prepared.x_train = _fit_input(prepared.x_train, spec["input_shape"])
    prepared.x_eval = _fit_input(prepared.x_eval, spec["input_shape"])
    if tuple(prepared.x_train.shape[1:]) != tuple(spec["input_shape"]):
        raise UserError(f"the spec's input_shape {list(spec['input_shape'])} does not fit the "
                        f"data set {config.dataset!r}, whose samples have shape {list(shape)}")
    trainer = build_trainer(spec, config, prepared, dtype=args.dtype)
    stem = Path(args.spec).stem if Path(args.spec).suffix else Path(args.spec).name
    out = Path(args.out) if args.out else Path("runs") / stem
    show_bar = args.progress if args.progress is not None else stderr.isatty()
    bar = ProgressBar(stderr) if show_bar else None
    p = lambda *a: print(*a, file=stdout, flush=True)  # noqa: E731
    p(f"{name}: {count(trainer.net.num_params, 'weight')}; "
      f"{count(len(prepared.x_train), 'training sample')} and "
      f"{count(len(prepared.x_eval), prepared.eval_name + ' sample')} of {config.dataset}; "
      f"{config.optimizer['type']} {config.optimizer.get('config', {})}"
      + (f" with {config.schedule['type']} {config.schedule.get('config', {})}"
         if config.schedule else "")
      + f", batch size {config.batch_size}, {count(config.epochs, 'epoch')}")
    p(table_header(prepared.eval_name))

    def on_batch(ev):
        if bar is not None:
            bar.update(ev.epoch + 1, config.epochs, ev.batch, ev.batches_per_epoch, ev.loss,
                       ev.samples_per_sec, force=ev.batch == ev.batches_per_epoch)

    def on_epoch(ev):
        if bar is not None:
            bar.clear()
        p(table_row(ev))

    status, problem = 0, None
    threads = _choose_threads(getattr(args, "threads", None))
    trainer.threads = threads if isinstance(threads, ThreadChooser) else None
    with _StopOnCtrlC() as ctrl_c:
        try:
            trainer.fit(config.epochs, on_batch=on_batch, on_epoch=on_epoch,
                        should_stop=ctrl_c.requested)
        except Diverged as e:
            trainer.restore(trainer.good_state)
            status, problem = EXIT_DIVERGED, (f"training stopped: {e.reason} The model is "
                                              f"saved as it was at the last good state (after "
                                              f"epoch {trainer.epoch}).")
        finally:
            if bar is not None:
                bar.clear()
            if isinstance(threads, ThreadChooser):
                p(f"BLAS: {threads.describe()}")
                threads.finish()
            elif threads is not None:
                n = _threads_now()
                p(f"BLAS: {count(n, 'thread') if isinstance(n, int) else f'{n} threads'}")
                threads.restore_original_limits()
    if ctrl_c.requested():
        status, problem = EXIT_INTERRUPTED, (f"interrupted in epoch {trainer.epoch + 1} after "
                                             f"batch {trainer.batch}; the model is saved as it "
                                             f"is.")
    if problem:
        print(f"nn-train: {problem}", file=stderr, flush=True)
    files = write_outputs(out, trainer, prepared, config, name, plots=not args.no_plots)
    last = trainer.history.epochs[-1] if trainer.history.epochs else None
    if last is not None and last.val_accuracy is not None:
        p(f"final {prepared.eval_name} accuracy: {last.val_accuracy:.2%}")
    p(f"wrote {', '.join(str(f) for f in files.values())}")
    return status


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except (UserError, NNCoreError, ModelFileError) as e:
        kind = {SpecError: "invalid spec or setting", DataError: "data problem"}.get(type(e))
        message = " ".join(str(e).split())
        print(f"nn-train: error: {kind + ': ' if kind else ''}{message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:      # a second Ctrl+C, or one while loading or saving
        print("\nnn-train: interrupted; nothing more was written", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
