"""The BLAS thread chooser: it keeps the faster thread count, by its own timings."""
import numpy as np
import pytest

from nncore import Network
from nncore.losses import CrossEntropyLoss
from nncore.optim import SGD
from nncore.threads import ThreadChooser, user_chose_threads
from nncore.train import Trainer


class FakeMachine:
    """Seconds per sample for each thread count, changeable mid-run; records what was set."""

    def __init__(self, speed):
        self.speed = dict(speed)
        self.threads = None
        self.calls = []

    def set(self, n):
        self.threads = n
        self.calls.append(n)

    def run(self, chooser, steps, samples=64):
        for _ in range(steps):
            chooser.observe(self.speed[self.threads] * samples, samples)


def steps_with_two(chooser, steps=1000):
    """Run ``steps`` steps on the chooser's FakeMachine; how many ran with 2 threads."""
    m = chooser.set_threads.__self__
    count = 0
    for _ in range(steps):
        count += m.threads == 2
        chooser.observe(m.speed[m.threads] * 64, 64)
    return count


def make(machine, **kw):
    kw = {"probe": 5, "settle": 2, "interval": 50, "max_interval": 400, **kw}
    chooser = ThreadChooser((1, 2), machine.set, original=2, **kw)
    chooser.start()
    return chooser


def test_moves_to_two_threads_on_a_quiet_machine_and_trials_get_rarer():
    m = FakeMachine({1: 1.0e-5, 2: 0.9e-5})
    c = make(m)
    assert m.threads == 1                 # starts safe: every core but one
    m.run(c, 20)
    assert c.current == 2 and m.threads == 2 and c.switches == 1     # tried early, and won
    on_two = steps_with_two(c, 2000)
    assert c.current == 2 and c.switches == 1
    # every trial of 1 thread lost: the waits doubled up to max_interval, so few trials
    assert 3 <= c.trials <= 2000 // 400 + 4 and c.interval == 400
    assert on_two >= 2000 - 7 * c.trials      # only trials (settle + probe steps) ran on 1


def test_moves_to_one_thread_when_a_core_gets_busy_and_back_when_it_is_free():
    m = FakeMachine({1: 1.0e-5, 2: 0.9e-5})
    c = make(m)
    m.run(c, 300)
    assert c.current == 2
    m.speed[2] = 5e-5                     # another program takes a core: 2 threads crawl
    m.run(c, 600)
    assert c.current == 1 and m.threads == 1
    m.speed[2] = 0.8e-5                   # it ends
    m.run(c, 2000)
    assert c.current == 2 and m.threads == 2
    assert c.switches == 3
    assert c.describe() == "2 threads at the end (auto: 14 trials, 3 switches)"


def test_a_difference_within_the_margin_does_not_switch():
    m = FakeMachine({1: 1.0e-5, 2: 0.99e-5})     # 2 threads 1% faster: not worth a switch
    c = make(m, margin=0.03)
    m.run(c, 1000)
    assert c.current == 1 and c.switches == 0 and c.trials >= 2


def test_noisy_steps_are_judged_by_medians():
    rng = np.random.default_rng(0)
    m = FakeMachine({1: 2.0e-5, 2: 1.0e-5})
    c = make(m)
    for i in range(1500):
        spike = 50.0 if rng.random() < 0.15 else 1.0     # 15% of steps disturbed, both counts
        c.observe(m.speed[m.threads] * spike * 64, 64)
    assert c.current == 2 and c.switches == 1


def test_a_plainly_losing_trial_ends_after_a_few_steps():
    m = FakeMachine({1: 1.0e-5, 2: 10e-5})     # a core taken: 2 threads ten times slower
    c = make(m, give_up=3)
    m.run(c, 1000)
    assert c.current == 1 and c.switches == 0
    slow_steps = sum(1 for n in m.calls if n == 2)   # one set per trial
    assert slow_steps == c.trials >= 2
    # each trial cost 3 steps with 2 threads, not settle + probe = 7
    patient = make(FakeMachine(m.speed), give_up=100)
    quick = make(FakeMachine(m.speed), give_up=3)
    assert steps_with_two(quick) == 3 * quick.trials < steps_with_two(patient)


def test_finish_puts_back_the_original_count_and_bad_counts_are_refused():
    m = FakeMachine({1: 1e-5, 2: 2e-5})
    c = make(m)
    m.run(c, 100)
    assert c.current == 1
    c.finish()
    assert m.threads == 2
    with pytest.raises(ValueError, match="two different"):
        ThreadChooser((2, 2), m.set)


def test_the_users_environment_wins():
    assert user_chose_threads({"OPENBLAS_NUM_THREADS": "1"})
    assert not user_chose_threads({"OPENBLAS_NUM_THREADS": ""})
    assert ThreadChooser.for_this_machine({"OMP_NUM_THREADS": "2"}, cores=2) is None
    assert ThreadChooser.for_this_machine({}, cores=1) is None
    c = ThreadChooser.for_this_machine({}, cores=2)
    assert c is not None and c.counts == (1, 2)      # threadpoolctl is a dependency


def test_trainer_reports_every_step_and_training_is_unchanged():
    """The chooser only sees timings: the same seed trains to the same weights with it."""
    rng = np.random.default_rng(0)
    x = rng.random((96, 12), dtype=np.float32)
    y = rng.integers(0, 3, 96)
    spec = {"input_shape": [12], "layers": [{"type": "Dense", "units": 8}, {"type": "ReLU"},
                                            {"type": "Dense", "units": 3}, {"type": "Softmax"}]}

    def train(chooser):
        net = Network.from_spec(spec, seed=1)
        t = Trainer(net, CrossEntropyLoss(), SGD(net, lr=0.1), x, y, batch_size=16)
        t.threads = chooser
        t.fit(3)
        return [a.copy() for layer in net.layers for a in layer.params.values()]

    seen = []

    class Recorder:
        def observe(self, seconds, samples):
            seen.append((seconds, samples))

    plain, watched = train(None), train(Recorder())
    assert len(seen) == 3 * 6 and all(s > 0 and n == 16 for s, n in seen)
    assert all(np.array_equal(a, b) for a, b in zip(plain, watched))
