"""Speed benchmark: ``python -m nncore.bench``.

Measures, in one run on one machine:

* the machine's float32 GEMM peak (NumPy matmul of large square matrices), in GFLOP/s;
* a full MLP training step, 784-256-128-10 (batch 128, also 32 and 512);
* a full CNN training step, conv3x3 1->16, ReLU, maxpool 2, conv3x3 16->32, ReLU, maxpool 2,
  Dense 10 (batch 64);

where a *full step* is forward, softmax + cross-entropy, backward and an SGD update. When PyTorch
is importable, the same networks are timed in PyTorch on the CPU with the same number of threads,
interleaved round by round with nncore so that both see the same machine load, and the ratio
``nncore samples/s ÷ PyTorch samples/s`` is printed (> 1 means nncore is faster).

Every number is the median over several rounds; the spread (min–max of the per-round values)
is printed beside it, because shared machines are noisy. ``--quick`` runs a tiny version (used
by the tests) whose numbers mean nothing.

nncore runs the seed's explicit way (a Softmax layer, then cross-entropy on probabilities);
PyTorch runs its idiomatic way (logits into nn.CrossEntropyLoss). Neither computes the gradient
with respect to the input images, which no training step needs.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

from .layers import halves
from .losses import CrossEntropyLoss
from .network import Network
from .optim import SGD

MLP_SIZES = (784, 256, 128, 10)
#: A tiny learning rate keeps the weights where they started, so every round times the same
#: computation (with a real one, thousands of steps on one batch memorise it and the network
#: drifts into a state no real training reaches). The work of a step does not depend on it.
LR = 1e-6


# ---- the networks --------------------------------------------------------------------------
def mlp_spec(sizes=MLP_SIZES) -> dict:
    layers = []
    for units in sizes[1:-1]:
        layers += [{"type": "Dense", "units": units}, {"type": "ReLU"}]
    layers += [{"type": "Dense", "units": sizes[-1]}, {"type": "Softmax"}]
    return {"input_shape": [sizes[0]], "layers": layers}


def cnn_spec() -> dict:
    return {"input_shape": [1, 28, 28], "layers": [
        {"type": "Conv2D", "filters": 16, "kernel_size": 3}, {"type": "ReLU"},
        {"type": "MaxPool2D", "pool_size": 2},
        {"type": "Conv2D", "filters": 32, "kernel_size": 3}, {"type": "ReLU"},
        {"type": "MaxPool2D", "pool_size": 2},
        {"type": "Flatten"}, {"type": "Dense", "units": 10}, {"type": "Softmax"}]}


def mlp_step_flops(batch: int, sizes=MLP_SIZES) -> int:
    """Floating-point operations of the matrix products one MLP step needs: forward X·W and
    backward Xᵀ·dY for every layer, dY·Wᵀ for all but the first (2 per multiply-add)."""
    pairs = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 2 * batch * (2 * sum(pairs) + sum(pairs[1:]))


class NNCoreStep:
    """One full nncore training step on a fixed batch, as ``Trainer.step_batch`` does it."""

    def __init__(self, spec, x, y, lr=LR):
        self.net = Network.from_spec(spec, seed=0)
        self.loss = CrossEntropyLoss()
        self.opt = SGD(self.net, lr=lr)
        self.x, self.y = x, y

    def __call__(self):
        out = self.x
        for layer in self.net.layers:
            out = layer.forward(out, True)
        self.loss.forward(out, self.y)
        self.net.backward(self.loss.backward(), input_grad=False)
        self.opt.step()


class TrainerStep:
    """``Trainer.step_batch`` itself (adds batch selection, gradient norms, accuracy, history)."""

    def __init__(self, spec, x, y, lr=LR):
        from .train import Trainer
        net = Network.from_spec(spec, seed=0)
        n = len(x)
        # A training set of 20 batches, so that no epoch-end evaluation falls inside a round.
        xs, ys = np.concatenate([x] * 20), np.concatenate([y] * 20)
        self.trainer = Trainer(net, CrossEntropyLoss(), SGD(net, lr=lr), xs, ys, batch_size=n,
                               shuffle=False)

    def __call__(self):
        t = self.trainer
        if t.batch == t.batches_per_epoch - 1:   # keep away from the epoch end
            t.batch = 0
        t.step_batch()


def torch_step(spec_name, x, y, lr=LR):
    """The same step in PyTorch: returns a callable, or None when torch is not importable."""
    import torch
    from torch import nn
    torch.manual_seed(0)
    if spec_name == "mlp":
        sizes = MLP_SIZES
        mods = []
        for a, b in zip(sizes[:-2], sizes[1:-1]):
            mods += [nn.Linear(a, b), nn.ReLU()]
        mods.append(nn.Linear(sizes[-2], sizes[-1]))
        model = nn.Sequential(*mods)
    else:
        model = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(32 * 5 * 5, 10))
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
    return step


# ---- timing --------------------------------------------------------------------------------
def _time_calls(fn, number: int) -> float:
    """Seconds per call of ``fn`` over ``number`` back-to-back calls."""
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def _calibrate(fn, target: float) -> int:
    """How many calls take about ``target`` seconds."""
    fn()
    per_call = _time_calls(fn, 3)
    return max(1, int(target / max(per_call, 1e-9)))


def interleaved(fns: dict, rounds: int, target: float, pause: float = 0.0
                ) -> dict[str, list[float]]:
    """Time every function in ``fns`` round by round (A, B, A, B, ...) so that they share the
    machine's load: name -> per-call seconds of each round. ``pause`` seconds of sleep before
    each block let the previous library's worker threads, which spin for a while after their
    last task (OpenBLAS, OpenMP), go idle instead of competing with the next block."""
    numbers = {name: _calibrate(fn, target) for name, fn in fns.items()}
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            if pause:
                time.sleep(pause)
            times[name].append(_time_calls(fn, numbers[name]))
    return times


def gemm(n: int):
    """A callable doing one (n, n) @ (n, n) float32 product, and its FLOP count."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), dtype=np.float32)
    return (lambda: np.matmul(a, b, out=out)), 2 * n ** 3


def gemm_peak(n: int, rounds: int, target: float) -> list[float]:
    """GFLOP/s of an (n, n) @ (n, n) float32 product, per round."""
    fn, flops = gemm(n)
    return [flops / s / 1e9 for s in interleaved({"gemm": fn}, rounds, target)["gemm"]]


def _load() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def _spread(values, fmt="{:.2f}") -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–" \
           f"{fmt.format(max(values))})"


# ---- main ----------------------------------------------------------------------------------
def blas_info() -> str:
    """Which BLAS NumPy uses and its threads (via threadpoolctl when installed)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS: unknown (pip install threadpoolctl to show it)"
    rows = [f"{i.get('internal_api')} {i.get('version')} kernel={i.get('architecture')} "
            f"threads={i.get('num_threads')}" for i in threadpool_info()
            if i.get("user_api") == "blas"]
    return "BLAS: " + ("; ".join(rows) or "none found")


def _blas_threads() -> int | None:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    return counts[0] if counts else None


def run(quick: bool = False, use_torch: bool = True, rounds: int | None = None,
        out=sys.stdout, only: str | None = None) -> dict:
    """Run the benchmark, print a report to ``out`` and return the medians as a dict.
    ``only="mlp"`` or ``"cnn"`` times just those steps (the GEMM peak is always measured)."""
    rounds = rounds or (2 if quick else 15)
    target = 0.002 if quick else 0.2   # seconds per round and function
    rng = np.random.default_rng(0)
    torch_ok = False
    if use_torch:
        try:
            import torch
            threads = _blas_threads() or os.cpu_count() or 1
            torch.set_num_threads(threads)
            torch_ok = True
        except ImportError:
            pass
    p = lambda *a: print(*a, file=out, flush=True)  # noqa: E731
    p(f"nncore benchmark — NumPy {np.__version__}, {blas_info()}; element-wise layer work "
      f"on {halves.get_threads()} thread(s) (NNCORE_THREADS)")
    if torch_ok:
        p(f"PyTorch {torch.__version__} on the CPU, {torch.get_num_threads()} threads")
    elif use_torch:
        p("PyTorch is not installed: no ratios")
    p(f"{rounds} rounds per measurement; each number: median (min–max over rounds); load "
      f"average {_load()}\n")

    results = {}
    n_gemm = 256 if quick else 1536
    peak = gemm_peak(n_gemm, rounds, target)
    results["gemm_gflops"] = statistics.median(peak)
    p(f"float32 GEMM peak (NumPy matmul, {n_gemm}²): {_spread(peak, '{:.1f}')} GFLOP/s; "
      f"the MLP's % of peak compares each round with a GEMM timed in the same round\n")

    cases = [("mlp", b) for b in ((8,) if quick else (128, 32, 512))]
    cases.append(("cnn", 4 if quick else 64))
    cases = [c for c in cases if only in (None, c[0])]
    header = f"{'step':<16}{'nncore ms':>24}{'samples/s':>11}"
    if torch_ok:
        header += f"{'PyTorch ms':>26}{'ratio':>20}{'best/best':>10}"
    header += f"{'% of peak':>16}{'best/best':>10}"
    p(header)
    for name, batch in cases:
        if name == "mlp":
            spec = mlp_spec()
            x = rng.random((batch, MLP_SIZES[0]), dtype=np.float32)
        else:
            spec = cnn_spec()
            x = rng.random((batch, 1, 28, 28), dtype=np.float32)
        y = rng.integers(0, 10, size=batch)
        fns = {"nncore": NNCoreStep(spec, x, y)}
        if torch_ok:
            fns["torch"] = torch_step(name, x, y)
        if name == "mlp":
            fns["gemm"], gemm_flops = gemm(n_gemm)
        times = interleaved(fns, rounds, target, pause=0.15 if torch_ok else 0.0)
        ours = times["nncore"]
        row = (f"{name.upper()} batch {batch:<6}{_spread([t * 1e3 for t in ours], '{:.3f}'):>24}"
               f"{batch / statistics.median(ours):>11,.0f}")
        key = f"{name}_{batch}"
        results[key + "_ms"] = statistics.median(ours) * 1e3
        if torch_ok:
            theirs = times["torch"]
            ratios = [b / a for a, b in zip(ours, theirs)]
            results[key + "_ratio"] = statistics.median(ratios)
            best = min(theirs) / min(ours)       # the fastest round of each: least disturbed
            results[key + "_best_ratio"] = best
            row += (f"{_spread([t * 1e3 for t in theirs], '{:.3f}'):>26}{_spread(ratios):>20}"
                    f"{best:>10.2f}")
        if name == "mlp":
            eff = [mlp_step_flops(batch) / t / (gemm_flops / g) * 100
                   for t, g in zip(ours, times["gemm"])]
            results[key + "_peak_pct"] = statistics.median(eff)
            # the fastest MLP round against the fastest GEMM round: each the least disturbed
            best_eff = mlp_step_flops(batch) / min(ours) / (gemm_flops / min(times["gemm"])) * 100
            results[key + "_best_peak_pct"] = best_eff
            row += f"{_spread(eff, '{:.0f}'):>16}{best_eff:>10.0f}"
        p(row)

    if only == "cnn":
        return results
    # What Trainer.step_batch adds on top (gradient norms, accuracy, bookkeeping).
    batch = 8 if quick else 128
    x = rng.random((batch, MLP_SIZES[0]), dtype=np.float32)
    y = rng.integers(0, 10, size=batch)
    t = interleaved({"bare": NNCoreStep(mlp_spec(), x, y),
                     "trainer": TrainerStep(mlp_spec(), x, y)}, rounds, target)
    results["trainer_overhead_pct"] = (statistics.median(t["trainer"])
                                       / statistics.median(t["bare"]) - 1) * 100
    p(f"\nTrainer.step_batch on MLP batch {batch}: "
      f"{statistics.median(t['trainer']) * 1e3:.3f} ms, "
      f"{results['trainer_overhead_pct']:+.0f}% over the bare step")
    p(f"\nload average at the end {_load()} (other jobs on the machine make every number "
      f"noisier, PyTorch's more than nncore's)")
    p("ratio = nncore samples/s ÷ PyTorch samples/s, per round (> 1: nncore is faster); "
      "best/best = the same for each library's fastest round (on a busy machine the closest "
      "to a quiet one); % of peak = MLP matrix-product FLOPs per second ÷ GEMM peak, per "
      "round and (best/best) fastest MLP round ÷ fastest GEMM round")
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m nncore.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, few rounds (a smoke test)")
    ap.add_argument("--no-torch", action="store_true", help="do not time PyTorch")
    ap.add_argument("--rounds", type=int, default=None, help="rounds per measurement")
    ap.add_argument("--only", choices=("mlp", "cnn"), default=None,
                    help="time only the MLP or only the CNN steps")
    ap.add_argument("--threads", type=int, default=None,
                    help="BLAS (and PyTorch) threads; needs threadpoolctl, or set "
                         "OPENBLAS_NUM_THREADS before the start instead")
    args = ap.parse_args(argv)
    if args.threads is None:
        run(quick=args.quick, use_torch=not args.no_torch, rounds=args.rounds, only=args.only)
        return 0
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        ap.error("--threads needs threadpoolctl (pip install threadpoolctl); or run with "
                 "OPENBLAS_NUM_THREADS=N in the environment")
    with threadpool_limits(limits=args.threads, user_api="blas"):
        run(quick=args.quick, use_torch=not args.no_torch, rounds=args.rounds, only=args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
