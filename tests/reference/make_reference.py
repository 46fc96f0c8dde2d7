"""Regenerate the PyTorch reference fixtures that tests/test_torch_parity.py compares nncore with.

    .venv/bin/python tests/reference/make_reference.py      # needs torch (2.13.0 was used)

For every case below this script builds the network of an nncore spec *in PyTorch*, with its own
translation of each layer (it does not import nncore), gives it weights and inputs drawn here with
NumPy, and records what PyTorch computes: the output, the loss, dL/dx, every weight gradient, the
BatchNorm running statistics after the pass, and the weights after 1 and 3 steps of each
optimizer. Everything is done twice, in float32 and in float64, from the same float64 draws.

One file per case, ``<case>.npz``, stored with nncore's names and layouts so the test needs no
torch: weights are keyed "<layer index>.<name>" (e.g. "0.W", "2.gamma", "2.running_mean"), and a
Dense weight is stored as nncore's (in_features, units), the transpose of torch's Linear.weight.

Keys in each file:
    spec, meta                          JSON strings: the nncore spec; loss, training mode,
                                        optimizers, torch version
    <dtype>/x, <dtype>/target           the batch (target: int64 class indices or float rows)
    <dtype>/weights/<key>               the weights (and running statistics) before the pass
    <dtype>/output, <dtype>/loss        forward pass and loss
    <dtype>/grad_input                  dL/dx
    <dtype>/grads/<key>                 dL/dW for every weight
    <dtype>/state_after/<key>           running statistics after the forward pass (training)
    <dtype>/<optimizer>/step<k>         weights and running statistics after k optimizer steps
                                        (each step: forward in the case's mode, loss, backward,
                                        step, on the same batch), flattened and concatenated in
                                        the order of meta["weight_keys"] (one array instead of
                                        one per weight keeps the files small)
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
# torch notes that "same" padding with an even kernel copies the input; that is expected here.
warnings.filterwarnings("ignore", message="Using padding='same'")
STEPS = (1, 3)

OPTIMIZERS = {
    "sgd": ("SGD", {"lr": 0.1}),
    "sgd_momentum": ("SGD", {"lr": 0.1, "momentum": 0.9}),
    "sgd_nesterov": ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    "sgd_weight_decay": ("SGD", {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.01}),
    "adam": ("Adam", {"lr": 0.01}),
    "adam_weight_decay": ("Adam", {"lr": 0.01, "betas": [0.8, 0.99], "weight_decay": 0.05}),
    "rmsprop": ("RMSprop", {"lr": 0.01}),
    "rmsprop_momentum_weight_decay": ("RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.5,
                                                  "weight_decay": 0.05}),
}


def dense(units, **kw):
    return {"type": "Dense", "units": units, **kw}


CASES = {
    # Every activation, Softmax + cross-entropy on probabilities, int targets.
    "mlp_softmax_ce": dict(
        spec={"input_shape": [6], "layers": [
            dense(5), {"type": "ReLU"}, dense(5), {"type": "LeakyReLU", "alpha": 0.2},
            dense(4), {"type": "ELU", "alpha": 0.7}, dense(4), {"type": "Sigmoid"},
            dense(4), {"type": "Tanh"}, dense(4), {"type": "GELU"},
            dense(4), {"type": "Identity"}, dense(3), {"type": "Softmax"}]},
        batch=5, loss=("CrossEntropyLoss", {}), target="int",
        optimizers=["sgd_momentum", "adam", "rmsprop"]),
    # Softmax + cross-entropy on probabilities, one-hot targets.
    "mlp_softmax_ce_onehot": dict(
        spec={"input_shape": [5], "layers": [dense(4), {"type": "Tanh"}, dense(3),
                                             {"type": "Softmax"}]},
        batch=4, loss=("CrossEntropyLoss", {}), target="onehot"),
    # Cross-entropy on logits (fused log-softmax), int targets.
    "mlp_logits_ce": dict(
        spec={"input_shape": [5], "layers": [dense(6), {"type": "GELU"}, dense(4, use_bias=False),
                                             {"type": "ELU"}, dense(3)]},
        batch=6, loss=("CrossEntropyLoss", {"from_logits": True}), target="int"),
    # Cross-entropy on logits, one-hot targets.
    "mlp_logits_ce_onehot": dict(
        spec={"input_shape": [4], "layers": [dense(5), {"type": "Sigmoid"}, dense(3)]},
        batch=5, loss=("CrossEntropyLoss", {"from_logits": True}), target="onehot"),
    # Mean squared error on real-valued targets.
    "mlp_mse": dict(
        spec={"input_shape": [4], "layers": [dense(5), {"type": "Tanh"}, dense(2)]},
        batch=5, loss=("MSELoss", {}), target="real", optimizers=["sgd_momentum", "adam"]),
    # Convolutions with stride and padding (symmetric, asymmetric "same" with an even kernel,
    # a pair), overlapping max-pool, non-overlapping average-pool, odd sizes.
    "cnn_softmax_ce": dict(
        spec={"input_shape": [2, 9, 8], "layers": [
            {"type": "Conv2D", "filters": 3, "kernel_size": 3, "stride": 2, "padding": 1},
            {"type": "ReLU"},
            {"type": "Conv2D", "filters": 4, "kernel_size": [2, 4], "padding": "same"},
            {"type": "Tanh"},
            {"type": "MaxPool2D", "pool_size": 2, "stride": 1},
            {"type": "AvgPool2D", "pool_size": 2},
            {"type": "Flatten"}, dense(3), {"type": "Softmax"}]},
        batch=3, loss=("CrossEntropyLoss", {}), target="int",
        optimizers=["sgd_nesterov", "adam_weight_decay", "rmsprop"]),
    "cnn_logits_ce": dict(
        spec={"input_shape": [1, 8, 7], "layers": [
            {"type": "Conv2D", "filters": 3, "kernel_size": [3, 2], "stride": [2, 1],
             "padding": [1, 0]},
            {"type": "LeakyReLU"},
            {"type": "AvgPool2D", "pool_size": [2, 3], "stride": 1},
            {"type": "Conv2D", "filters": 2, "kernel_size": 1, "use_bias": False},
            {"type": "MaxPool2D", "pool_size": 3, "stride": 2},
            {"type": "Flatten"}, dense(3)]},
        batch=4, loss=("CrossEntropyLoss", {"from_logits": True}), target="int"),
    # BatchNorm after Dense and after Conv2D, in training mode (batch statistics, running
    # statistics updated) and in evaluation mode (running statistics).
    "batchnorm_dense_train": dict(
        spec={"input_shape": [5], "layers": [
            dense(6, use_bias=False), {"type": "BatchNorm"}, {"type": "ReLU"},
            dense(4, use_bias=False), {"type": "BatchNorm", "momentum": 0.3, "eps": 1e-3},
            {"type": "Tanh"}, dense(3)]},
        batch=7, loss=("CrossEntropyLoss", {"from_logits": True}), target="int",
        training=True, optimizers=list(OPTIMIZERS)),
    "batchnorm_dense_eval": dict(
        spec={"input_shape": [5], "layers": [dense(6), {"type": "BatchNorm"}, {"type": "ReLU"},
                                             dense(3)]},
        batch=4, loss=("CrossEntropyLoss", {"from_logits": True}), target="int",
        training=False),
    "batchnorm_conv_train": dict(
        spec={"input_shape": [2, 6, 5], "layers": [
            {"type": "Conv2D", "filters": 3, "kernel_size": 3, "padding": 1, "use_bias": False},
            {"type": "BatchNorm"}, {"type": "ReLU"}, {"type": "MaxPool2D", "pool_size": 2},
            {"type": "Flatten"}, dense(3), {"type": "Softmax"}]},
        batch=3, loss=("CrossEntropyLoss", {}), target="int", training=True,
        optimizers=["sgd_momentum", "adam"]),
    "batchnorm_conv_eval": dict(
        spec={"input_shape": [2, 6, 5], "layers": [
            {"type": "Conv2D", "filters": 3, "kernel_size": 3}, {"type": "BatchNorm"},
            {"type": "GELU"}, {"type": "Flatten"}, dense(3)]},
        batch=3, loss=("MSELoss", {}), target="real", training=False),
}


# ---- nncore spec -> torch modules ---------------------------------------------------------------
def _pair(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


def torch_layers(spec):
    """One torch module per nncore layer, and each layer's input shape."""
    shape = list(spec["input_shape"])
    mods = []
    for cfg in spec["layers"]:
        t = cfg["type"]
        if t == "Dense":
            m = torch.nn.Linear(shape[0], cfg["units"], bias=cfg.get("use_bias", True))
        elif t == "Conv2D":
            pad = cfg.get("padding", 0)
            m = torch.nn.Conv2d(shape[0], cfg["filters"], _pair(cfg.get("kernel_size", 3)),
                                stride=_pair(cfg.get("stride", 1)),
                                padding=pad if isinstance(pad, str) else _pair(pad),
                                bias=cfg.get("use_bias", True))
        elif t in ("MaxPool2D", "AvgPool2D"):
            cls = torch.nn.MaxPool2d if t == "MaxPool2D" else torch.nn.AvgPool2d
            size = _pair(cfg.get("pool_size", 2))
            stride = cfg.get("stride")
            m = cls(size, stride=size if stride is None else _pair(stride))
        elif t == "Flatten":
            m = torch.nn.Flatten()
        elif t == "BatchNorm":
            cls = torch.nn.BatchNorm1d if len(shape) == 1 else torch.nn.BatchNorm2d
            m = cls(shape[0], eps=cfg.get("eps", 1e-5), momentum=cfg.get("momentum", 0.1))
        elif t == "ReLU":
            m = torch.nn.ReLU()
        elif t == "LeakyReLU":
            m = torch.nn.LeakyReLU(cfg.get("alpha", 0.01))
        elif t == "ELU":
            m = torch.nn.ELU(cfg.get("alpha", 1.0))
        elif t == "Sigmoid":
            m = torch.nn.Sigmoid()
        elif t == "Tanh":
            m = torch.nn.Tanh()
        elif t == "GELU":
            m = torch.nn.GELU(approximate="tanh")
        elif t == "Softmax":
            m = torch.nn.Softmax(dim=1)
        elif t == "Identity":
            m = torch.nn.Identity()
        else:
            raise ValueError(f"no torch translation for {t}")
        mods.append(m)
        with torch.no_grad():
            shape = list(m(torch.zeros([2] + shape)).shape[1:]) if t != "BatchNorm" else shape
    return mods


def draw_weights(mods, rng):
    """float64 weights in nncore's names and layouts."""
    w = {}
    for i, m in enumerate(mods):
        if isinstance(m, torch.nn.Linear):
            n_in = m.in_features
            w[f"{i}.W"] = rng.normal(0, 1 / np.sqrt(n_in), (n_in, m.out_features))
            if m.bias is not None:
                w[f"{i}.b"] = rng.normal(0, 0.3, m.out_features)
        elif isinstance(m, torch.nn.Conv2d):
            fan_in = m.weight[0].numel()
            w[f"{i}.W"] = rng.normal(0, 1 / np.sqrt(fan_in), tuple(m.weight.shape))
            if m.bias is not None:
                w[f"{i}.b"] = rng.normal(0, 0.3, m.out_channels)
        elif isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            c = m.num_features
            w[f"{i}.gamma"] = rng.uniform(0.5, 1.5, c)
            w[f"{i}.beta"] = rng.normal(0, 0.3, c)
            w[f"{i}.running_mean"] = rng.normal(0, 0.5, c)
            w[f"{i}.running_var"] = rng.uniform(0.5, 2.0, c)
    return w


def _torch_params(mods):
    """nncore key -> (torch tensor, transposed?) for every weight and running statistic."""
    out = {}
    for i, m in enumerate(mods):
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
            out[f"{i}.W"] = (m.weight, isinstance(m, torch.nn.Linear))
            if m.bias is not None:
                out[f"{i}.b"] = (m.bias, False)
        elif isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            out[f"{i}.gamma"] = (m.weight, False)
            out[f"{i}.beta"] = (m.bias, False)
            out[f"{i}.running_mean"] = (m.running_mean, False)
            out[f"{i}.running_var"] = (m.running_var, False)
    return out


def set_weights(mods, weights, dtype):
    with torch.no_grad():
        for key, (t, transposed) in _torch_params(mods).items():
            v = weights[key].T if transposed else weights[key]
            t.copy_(torch.from_numpy(np.ascontiguousarray(v.astype(dtype))))


def read(mods, what="data"):
    """{nncore key: array} of the weights (what="data") or their gradients (what="grad")."""
    out = {}
    for key, (t, transposed) in _torch_params(mods).items():
        if what == "grad":
            if not t.requires_grad:
                continue
            v = t.grad
        else:
            v = t
        v = v.detach().numpy().copy()
        out[key] = v.T.copy() if transposed else v
    return out


def torch_loss(name, config, out, target):
    if name == "MSELoss":
        return F.mse_loss(out, target)
    if config.get("from_logits"):
        return F.cross_entropy(out, target)      # int indices or probability rows
    # The explicit way: the network ends with Softmax, the loss takes log of the probabilities.
    log_p = torch.log(out)
    if target.dtype == torch.int64:
        return F.nll_loss(log_p, target)
    return -(target * log_p).sum(dim=1).mean()


def run_case(name, case, dtype, rng_seed):
    rng = np.random.default_rng(rng_seed)
    torch.manual_seed(0)
    spec, batch = case["spec"], case["batch"]
    training = case.get("training", True)
    mods = torch_layers(spec)
    for m in mods:
        m.to(getattr(torch, dtype))
    net = torch.nn.Sequential(*mods)
    net.train(training)
    weights = draw_weights(mods, rng)
    x = rng.normal(0, 1, [batch] + spec["input_shape"])
    n_out = mods[-2].out_features if isinstance(mods[-1], torch.nn.Softmax) else None
    n_out = n_out or (mods[-1].out_features if isinstance(mods[-1], torch.nn.Linear) else None)
    if n_out is None:
        raise ValueError(f"{name}: cannot tell the number of outputs")
    kind = case["target"]
    if kind == "int":
        target = rng.integers(0, n_out, batch)
    elif kind == "onehot":
        target = np.eye(n_out)[rng.integers(0, n_out, batch)]
    else:
        target = rng.normal(0, 1, (batch, n_out))
    target_np = target if kind == "int" else target.astype(dtype)
    loss_name, loss_cfg = case["loss"]

    def tensors():
        xt = torch.from_numpy(x.astype(dtype)).requires_grad_(True)
        return xt, torch.from_numpy(np.asarray(target_np))

    rec = {"x": x.astype(dtype), "target": target_np,
           **{f"weights/{k}": v.astype(dtype) for k, v in weights.items()}}
    set_weights(mods, weights, dtype)
    xt, tt = tensors()
    out = net(xt)
    loss = torch_loss(loss_name, loss_cfg, out, tt)
    loss.backward()
    rec["output"] = out.detach().numpy().copy()
    rec["loss"] = np.array(loss.item(), dtype=dtype)
    rec["grad_input"] = xt.grad.numpy().copy()
    rec.update({f"grads/{k}": v for k, v in read(mods, "grad").items()})
    rec.update({f"state_after/{k}": v for k, v in read(mods).items() if "running" in k})

    for opt_name in case.get("optimizers", []):
        opt_type, opt_cfg = OPTIMIZERS[opt_name]
        set_weights(mods, weights, dtype)
        cfg = dict(opt_cfg)
        if "betas" in cfg:
            cfg["betas"] = tuple(cfg["betas"])
        opt = getattr(torch.optim, opt_type)(net.parameters(), **cfg)
        for step in range(1, max(STEPS) + 1):
            opt.zero_grad()
            xt, tt = tensors()
            torch_loss(loss_name, loss_cfg, net(xt), tt).backward()
            opt.step()
            if step in STEPS:
                state = read(mods)
                rec[f"{opt_name}/step{step}"] = np.concatenate(
                    [state[k].ravel() for k in sorted(state)])
    return rec


def main():
    meta_common = {"torch": torch.__version__, "steps": list(STEPS)}
    total = 0
    for seed, (name, case) in enumerate(CASES.items()):
        arrays = {}
        for dtype in ("float32", "float64"):
            rec = run_case(name, case, dtype, rng_seed=1000 + seed)
            arrays.update({f"{dtype}/{k}": v for k, v in rec.items()})
        meta = {**meta_common, "loss": {"type": case["loss"][0], "config": case["loss"][1]},
                "training": case.get("training", True),
                "weight_keys": sorted(k[len("float64/weights/"):] for k in arrays
                                      if k.startswith("float64/weights/")),
                "optimizers": {o: {"type": OPTIMIZERS[o][0], "config": OPTIMIZERS[o][1]}
                               for o in case.get("optimizers", [])}}
        path = HERE / f"{name}.npz"
        np.savez_compressed(path, spec=np.array(json.dumps(case["spec"])),
                            meta=np.array(json.dumps(meta)), **arrays)
        total += path.stat().st_size
        print(f"{path.name}: {len(arrays)} arrays, {path.stat().st_size / 1024:.1f} kB")
    print(f"total {total / 1024:.1f} kB")


if __name__ == "__main__":
    main()
