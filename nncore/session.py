"""Training settings and the glue from (spec, settings, data set) to a ready Trainer.

The app's worker and the ``nn-train`` command both go through here, so the same settings give
the same training in both.
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field

import numpy as np

from .errors import SpecError
from .hparams import HParam, HParamError, SettingError, check_settings, short_repr
from .network import Network
from .registry import get, names


def _default_loss():
    return {"type": "CrossEntropyLoss", "config": {}}


def _default_optimizer():
    # SGD with momentum: the seed MLP reaches ~98% on MNIST in 10 epochs with it (plain SGD at
    # lr 0.1 only ~97.6%); matches resources/presets/mlp.json.
    return {"type": "SGD", "config": {"lr": 0.05, "momentum": 0.9}}


@dataclass
class TrainingConfig:
    """Everything besides the network that defines a training run (JSON-able)."""
    dataset: str = "mnist"
    loss: dict = field(default_factory=_default_loss)
    optimizer: dict = field(default_factory=_default_optimizer)
    schedule: dict | None = None
    batch_size: int = 64
    epochs: int = 10
    seed: int = 0
    val_split: float = 0.0          # 0: evaluate on the test set after each epoch
    standardize: bool = False
    subset_per_class: int | None = None

    FIELDS = {
        "batch_size": HParam("int", "Samples per training step.", min=1, max=1_000_000),
        "epochs": HParam("int", "Passes over the training set that one Train runs (after a "
                                "finished run, Train goes on for this many more).", min=1,
                         max=100_000),
        "seed": HParam("int", "Seed of every random draw: same seed, same training.", min=0,
                       max=2**32 - 1),
        "val_split": HParam("float", "Fraction of the training set held out for validation "
                                     "(0 = evaluate on the test set).", min=0.0, max=0.9),
        "standardize": HParam("bool", "Standardise inputs with the training set's mean and "
                                      "standard deviation."),
    }

    def validate(self) -> "TrainingConfig":
        """Raise SpecError naming the field for anything invalid; return self."""
        def fail(field, expected, received, message=None):
            raise SpecError(message or f"expected {expected}, received {short_repr(received)}",
                            field=field, expected=expected, received=received)

        if not isinstance(self.dataset, str) or not self.dataset:
            fail("dataset", "the name of a data set", self.dataset)
        for name, hp in self.FIELDS.items():
            try:
                hp.check(getattr(self, name))
            except HParamError as e:
                fail(name, e.expected, getattr(self, name))
        if self.subset_per_class is not None:
            try:
                HParam("int", min=1, max=10_000_000).check(self.subset_per_class)
            except HParamError as e:
                fail("subset_per_class", e.expected, self.subset_per_class)
        parts = [("loss", self.loss), ("optimizer", self.optimizer)]
        if self.schedule is not None:
            parts.append(("schedule", self.schedule))
        for kind, value in parts:
            shape = '{"type": ..., "config": {...}}'
            if not isinstance(value, dict) or not isinstance(value.get("type"), str):
                fail(kind, shape, value)
            extra = sorted(map(str, set(value) - {"type", "config"}))
            if extra:
                fail(kind, shape, value, f"unknown part {extra[0]!r}; expected {shape}")
            try:
                cls = get(kind, value["type"])
            except ValueError as e:
                fail(f"{kind}.type", f"one of {', '.join(names(kind))}", value["type"], str(e))
            try:
                check_settings(cls, value.get("config", {}))
            except SettingError as e:
                fail(f"{kind}.{e.name}", e.expected, e.received, str(e) if e.unknown else None)
        return self

    def to_dict(self) -> dict:
        return copy.deepcopy(asdict(self))

    @classmethod
    def from_dict(cls, d: dict) -> "TrainingConfig":
        if not isinstance(d, dict):
            raise SpecError(f"training settings must be an object, received {short_repr(d)}",
                            expected="an object", received=d)
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            field = sorted(unknown, key=str)[0]     # keys need not be strings outside JSON
            raise SpecError(f"unknown setting; expected some of {', '.join(sorted(known))}",
                            field=str(field), expected=", ".join(sorted(known)),
                            received=d[field])
        return cls(**copy.deepcopy(d)).validate()


@dataclass
class PreparedData:
    """Float inputs ready for training, plus what views need to show the evaluation images."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_eval: np.ndarray
    y_eval: np.ndarray
    eval_images: np.ndarray     # the evaluation images as stored (uint8, N C H W)
    eval_name: str              # "validation" or "test"
    class_names: list[str]
    preprocessing: object


def prepare_data(config: TrainingConfig, dataset=None) -> PreparedData:
    """Load (unless given), subset, split and scale the data set named in ``config``."""
    from . import data
    ds = dataset if dataset is not None else data.load_dataset(config.dataset)
    x_tr, y_tr = ds.x_train, ds.y_train
    if config.subset_per_class:
        x_tr, y_tr = data.subset(x_tr, y_tr, config.subset_per_class, seed=config.seed)
    if config.val_split > 0:
        (x_tr, y_tr), (x_ev, y_ev) = data.train_val_split(x_tr, y_tr, config.val_split,
                                                          seed=config.seed)
        eval_name = "validation"
    else:
        x_ev, y_ev, eval_name = ds.x_test, ds.y_test, "test"
    pre = data.Preprocessing.fit(x_tr, standardize=config.standardize)
    return PreparedData(pre.apply(x_tr), y_tr, pre.apply(x_ev), y_ev, x_ev, eval_name,
                        list(ds.class_names), pre)


def build_trainer(spec: dict, config: TrainingConfig, prepared: PreparedData,
                  dtype: str = "float32"):
    """Network, loss, optimizer and Trainer for ``spec`` and ``config`` on ``prepared`` data."""
    from .train import Trainer
    config.validate()
    net = Network.from_spec(spec, seed=config.seed, dtype=dtype)
    loss = get("loss", config.loss["type"])(**config.loss.get("config", {}))
    opt = get("optimizer", config.optimizer["type"])(net, **config.optimizer.get("config", {}))
    schedule = None
    if config.schedule:
        schedule = get("schedule", config.schedule["type"])(**config.schedule.get("config", {}))
    return Trainer(net, loss, opt, prepared.x_train, prepared.y_train, prepared.x_eval,
                   prepared.y_eval, batch_size=config.batch_size, seed=config.seed,
                   schedule=schedule)
