"""TrainingConfig: every setting is validated and the error names the field; the glue from
(spec, settings, data) to a Trainer."""
import numpy as np
import pytest

from nncore import DataError, SpecError
from nncore.session import TrainingConfig, build_trainer, prepare_data


@pytest.mark.parametrize("changes,field,words", [
    ({"batch_size": 0}, "batch_size", "an integer >= 1"),
    ({"batch_size": 2.5}, "batch_size", "received 2.5"),
    ({"batch_size": "64"}, "batch_size", "received '64'"),
    ({"epochs": True}, "epochs", "an integer"),
    ({"epochs": 0}, "epochs", ">= 1"),
    ({"seed": -1}, "seed", ">= 0"),
    ({"seed": 2**40}, "seed", "<= 4,294,967,295"),
    ({"val_split": 0.95}, "val_split", "<= 0.9"),
    ({"val_split": float("nan")}, "val_split", "a number"),
    ({"standardize": "yes"}, "standardize", "true or false"),
    ({"subset_per_class": 0}, "subset_per_class", ">= 1"),
    ({"dataset": 3}, "dataset", "data set"),
    ({"dataset": ""}, "dataset", "data set"),
    ({"loss": "ce"}, "loss", '{"type"'),
    ({"loss": {"type": "Hinge"}}, "loss.type", "CrossEntropyLoss, MSELoss"),
    ({"loss": {"type": "CrossEntropyLoss", "config": {"from_logits": 1}}}, "loss.from_logits",
     "true or false"),
    ({"loss": {"type": "MSELoss", "config": {"reduction": "sum"}}}, "loss.reduction",
     "unknown setting"),
    ({"optimizer": {"type": "SGD", "config": {"lr": 0}}}, "optimizer.lr", "> 0"),
    ({"optimizer": {"type": "SGD", "config": {"lr": 1e7}}}, "optimizer.lr", "<= 1,000,000"),
    ({"optimizer": {"type": "SGD", "config": {"lr": "fast"}}}, "optimizer.lr", "'fast'"),
    ({"optimizer": {"type": "SGD", "config": {"momentum": 1.5}}}, "optimizer.momentum", "<= 1"),
    ({"optimizer": {"type": "SGD", "config": {"nesterov": 1}}}, "optimizer.nesterov",
     "true or false"),
    ({"optimizer": {"type": "SGD", "config": {"mom": 0.9}}}, "optimizer.mom",
     "lr, momentum, nesterov, weight_decay"),
    ({"optimizer": {"type": "Adam", "config": {"betas": [0.9]}}}, "optimizer.betas",
     "a pair of numbers"),
    ({"optimizer": {"type": "Adam", "config": {"betas": [0.9, 1.5]}}}, "optimizer.betas",
     "<= 1"),
    ({"optimizer": {"type": "RMSprop", "config": {"alpha": -0.1}}}, "optimizer.alpha", ">= 0"),
    ({"optimizer": {"type": "SGD", "config": []}}, "optimizer.config", "an object"),
    ({"optimizer": {"type": "SGD", "cfg": {}}}, "optimizer", "unknown part 'cfg'"),
    ({"optimizer": {"type": "Sgd"}}, "optimizer.type", "SGD"),
    ({"schedule": 5}, "schedule", '{"type"'),
    ({"schedule": {"type": "StepDecay", "config": {"gamma": 3}}}, "schedule.gamma", "<= 1"),
    ({"schedule": {"type": "Linear"}}, "schedule.type", "StepDecay"),
])
def test_every_setting_is_validated_and_names_its_field(changes, field, words):
    with pytest.raises(SpecError) as e:
        TrainingConfig(**changes).validate()
    assert e.value.field == field
    assert str(e.value).startswith(f"field '{field}': ")
    assert words in str(e.value)
    assert e.value.expected


def test_defaults_and_good_settings_validate():
    assert TrainingConfig().validate() == TrainingConfig()
    TrainingConfig(optimizer={"type": "Adam", "config": {"lr": 1e-3, "betas": [0.9, 0.99]}},
                   schedule={"type": "CosineDecay", "config": {"t_max": 5}},
                   loss={"type": "CrossEntropyLoss", "config": {"from_logits": True}},
                   batch_size=1, val_split=0.1, subset_per_class=10).validate()


def test_dict_round_trip_and_unknown_settings():
    c = TrainingConfig(batch_size=32, optimizer={"type": "Adam", "config": {"lr": 0.01}})
    d = c.to_dict()
    assert TrainingConfig.from_dict(d) == c
    d["optimizer"]["config"]["lr"] = 5.0            # to_dict is a copy
    assert c.optimizer["config"]["lr"] == 0.01
    with pytest.raises(SpecError) as e:
        TrainingConfig.from_dict({"batch_size": 32, "epoch": 3})
    assert e.value.field == "epoch" and "epochs" in str(e.value)
    with pytest.raises(SpecError):
        TrainingConfig.from_dict({1: 2})
    with pytest.raises(SpecError):
        TrainingConfig.from_dict([])


class _TinySet:
    """Stands in for a data set: 3 classes of 6x6 uint8 images."""
    name = "tiny"
    class_names = ["a", "b", "c"]

    def __init__(self, n=30):
        rng = np.random.default_rng(0)
        self.y_train = np.arange(n) % 3
        self.x_train = rng.integers(0, 255, (n, 1, 6, 6), dtype=np.uint8)
        self.y_test = np.arange(9) % 3
        self.x_test = rng.integers(0, 255, (9, 1, 6, 6), dtype=np.uint8)


SPEC = {"input_shape": [1, 6, 6], "layers": [{"type": "Flatten"}, {"type": "Dense", "units": 3},
                                             {"type": "Softmax"}]}


def test_build_trainer_from_settings():
    config = TrainingConfig(dataset="tiny", batch_size=8, seed=3,
                            optimizer={"type": "Adam", "config": {"lr": 0.01}},
                            schedule={"type": "StepDecay", "config": {"step_size": 1}})
    prepared = prepare_data(config, _TinySet())
    assert prepared.x_train.dtype == np.float32 and prepared.eval_name == "test"
    t = build_trainer(SPEC, config, prepared)
    assert t.batch_size == 8 and type(t.optimizer).__name__ == "Adam"
    t.run_epoch()
    assert t.optimizer.lr == pytest.approx(0.005)
    again = build_trainer(SPEC, config, prepare_data(config, _TinySet()))
    again.run_epoch()
    assert again.history.batch_loss == t.history.batch_loss      # same settings, same run


def test_batch_size_larger_than_the_training_set_is_explained():
    config = TrainingConfig(dataset="tiny", batch_size=64)
    with pytest.raises(DataError, match="batch size 64 is larger than the training set "
                                        r"\(30 samples\)"):
        build_trainer(SPEC, config, prepare_data(config, _TinySet()))


def test_network_that_does_not_fit_the_data():
    config = TrainingConfig(dataset="tiny", batch_size=8)
    prepared = prepare_data(config, _TinySet())
    spec = dict(SPEC, input_shape=[1, 5, 5])
    with pytest.raises(DataError, match=r"\(N, 1, 5, 5\)"):
        build_trainer(spec, config, prepared)
    two = {"input_shape": [1, 6, 6], "layers": [{"type": "Flatten"},
                                                {"type": "Dense", "units": 2}]}
    with pytest.raises(DataError, match="0..1"):
        build_trainer(two, config, prepared)
