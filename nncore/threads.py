"""How many threads NumPy's BLAS uses for training, chosen by measuring.

OpenBLAS splits every matrix product over its threads and waits for the slowest. On a quiet
machine, two threads make the seed MLP's training step ~10% faster than one. But when another
program keeps a core busy, a BLAS thread that has to share its core holds up every product:
on this project's 2-core machine, with one core taken by other work, ``nn-train`` with two
BLAS threads trained at 8,000–25,000 samples/s where one thread gave 50,000–63,000.

Neither number is right everywhere, and the load changes while a run goes on; so a
``ThreadChooser`` measures. It times the training steps with the thread count in use, now and
then tries the other count for a few steps, and keeps whichever was faster per sample:

* the first trial comes after ``probe`` steps (so a run settles in its first second);
* after a trial the other count lost, the next trial waits twice as long (up to
  ``max_interval`` steps), so a machine where one count is always better wastes little;
* a trial that is won (by more than ``margin``) switches, and trials come often again;
* a trial whose steps are plainly slower (``give_up`` of them, warm-up steps included, more than
  twice the time per sample) ends at once: under load, a step with one thread too many can
  take ten times as long, and a dozen of them would cost more than the trial can win.

A run starts with every core but one (safe when other programs run: the cost of a wrong guess
is ~10%, not 10x), and tries every core early.

Medians of ``probe`` steps are compared, each after ``settle`` steps that are not counted
(threads waking, caches refilling).

It is not the default (``nn-train --threads auto`` asks for it): OpenBLAS rounds a product a
little differently with a different number of threads (its kernels for one thread and for
several are not the same), so a run in which the count changes is not bit-identical to another
run with the same seed, which a learner comparing two runs expects. By default training uses
``every_core_but_one()`` threads, fixed, in the window and in ``nn-train`` alike.

A number the user set in the environment (``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``, ...)
is never overridden: ``ThreadChooser.for_this_machine`` then returns None, as it does without
threadpoolctl or on a single core.
"""
from __future__ import annotations

import os
import statistics

#: Environment variables in which a user may have chosen BLAS's threads.
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "BLIS_NUM_THREADS")


def user_chose_threads(environ=os.environ) -> bool:
    """True when the environment sets BLAS's threads (the user's choice, to respect)."""
    return any(environ.get(var) for var in THREAD_VARIABLES)


def every_core_but_one(cores: int | None = None) -> int:
    """The default number of BLAS threads for training, in the window and in ``nn-train``:
    every core but one (at least one), so that one core is left to the window's drawing or
    to other programs, and a BLAS thread rarely has to share its core."""
    cores = cores if cores is not None else (os.cpu_count() or 1)
    return max(1, cores - 1)


def blas_controls():
    """(set_threads(n), threads now) for NumPy's BLAS via threadpoolctl, or None when that is
    not possible (threadpoolctl missing, or no BLAS library found)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    blas = ThreadpoolController().select(user_api="blas")
    if not blas.lib_controllers:
        return None
    return (lambda n: blas.limit(limits=n)), blas.lib_controllers[0].num_threads


class ThreadChooser:
    """Chooses between BLAS thread counts (``counts``, e.g. (1, 2)) by timing training steps.

    Call ``start()`` once before training, then ``observe(seconds, samples)`` after every step;
    ``current`` is the count in use; ``finish()`` puts back ``original`` (the count before
    ``start``). ``set_threads(n)`` applies a count (threadpoolctl's, in ``for_this_machine``;
    tests pass their own)."""

    def __init__(self, counts, set_threads, probe: int = 12, settle: int = 3,
                 interval: int = 400, max_interval: int = 6400, margin: float = 0.03,
                 give_up: int = 3, original: int | None = None):
        counts = tuple(dict.fromkeys(int(c) for c in counts))
        if len(counts) != 2 or min(counts) < 1:
            raise ValueError(f"expected two different thread counts >= 1, received {counts}")
        self.counts = counts
        self.set_threads = set_threads
        self.original = original
        self.probe, self.settle, self.margin, self.give_up = probe, settle, margin, give_up
        self.base_interval, self.max_interval = interval, max_interval
        self.interval = probe + settle          # the first trial comes early
        self.current = counts[0]                # the safe one (see above)
        self.trial = None                       # the count on trial, or None
        self._times = []                        # seconds per sample, of the count in use
        self._trial_times = []
        self._slow = 0                          # plainly slow steps of the trial so far
        self._skip = settle
        self._since_trial = 0
        self.switches = 0
        self.trials = 0

    @classmethod
    def for_this_machine(cls, environ=os.environ, cores: int | None = None, **kw
                         ) -> "ThreadChooser | None":
        """A chooser between every core but one and every core, or None when the user set
        the threads in the environment, there is one core, or threadpoolctl is missing."""
        cores = cores if cores is not None else (os.cpu_count() or 1)
        if cores < 2 or user_chose_threads(environ):
            return None
        controls = blas_controls()
        if controls is None:
            return None
        setter, now = controls
        return cls((cores - 1, cores), setter, original=now, **kw)

    def start(self) -> None:
        self.set_threads(self.current)

    def finish(self) -> None:
        """Put back the thread count from before ``start`` (if it was known)."""
        if self.original is not None:
            self.set_threads(self.original)

    def observe(self, seconds: float, samples: int) -> None:
        """Note one training step: ``seconds`` it took for ``samples`` samples."""
        if samples <= 0 or seconds <= 0:
            return
        per_sample = seconds / samples
        if self.trial is not None and self._times and \
                per_sample > 2 * statistics.median(self._times):
            self._slow += 1
            if self._slow >= self.give_up:
                self._end_trial(lost=True)
                return
        if self._skip:
            self._skip -= 1
            return
        if self.trial is None:
            self._times.append(per_sample)
            del self._times[:-self.probe]
            self._since_trial += 1
            if self._since_trial >= self.interval and len(self._times) >= self.probe:
                self._begin_trial()
            return
        self._trial_times.append(per_sample)
        if len(self._trial_times) >= self.probe:
            self._end_trial()

    def _begin_trial(self) -> None:
        self.trial = self.counts[0] if self.current == self.counts[1] else self.counts[1]
        self.trials += 1
        self._trial_times = []
        self._slow = 0
        self._skip = self.settle
        self.set_threads(self.trial)

    def _end_trial(self, lost: bool = False) -> None:
        if not lost and statistics.median(self._trial_times) < \
                statistics.median(self._times) * (1 - self.margin):
            self.current = self.trial
            self._times = self._trial_times
            self.interval = self.base_interval
            self.switches += 1
        else:
            self.set_threads(self.current)
            self.interval = min(self.max_interval, max(self.interval, self.base_interval) * 2)
            self._skip = self.settle
        self.trial = None
        self._trial_times = []
        self._since_trial = 0

    def describe(self) -> str:
        """One line for a log: the count in use and how it was chosen."""
        return (f"{self.current} thread{'s' if self.current != 1 else ''} at the end (auto: "
                f"{self.trials} trial{'s' if self.trials != 1 else ''}, {self.switches} "
                f"switch{'es' if self.switches != 1 else ''})")
