"""Optimizers against hand-written versions of PyTorch's documented update rules, over several
steps with changing gradients; state save/restore; dtypes; learning-rate changes; schedules.
(tests/test_torch_parity.py compares one and three real training steps with PyTorch itself.)"""
import numpy as np
import pytest

from nncore import CrossEntropyLoss, Network
from nncore.optim import SGD, Adam, CosineDecay, Constant, RMSprop, StepDecay
from nncore.registry import get, names

SPEC = {"input_shape": [3], "layers": [{"type": "Dense", "units": 4}, {"type": "BatchNorm"},
                                       {"type": "Dense", "units": 2}]}


def gradient_sequence(net, steps, seed=0):
    """Fixed, changing gradients for every weight: {key: [g_1, g_2, ...]}."""
    rng = np.random.default_rng(seed)
    return {k: [rng.standard_normal(p.shape).astype(p.dtype) for _ in range(steps)]
            for k, p in net.parameters()}


def run(opt, net, grads, steps):
    layers = {f"{i}.{name}": (layer, name) for i, layer in enumerate(net.layers)
              for name in layer.params}
    for t in range(steps):
        for key, seq in grads.items():
            layer, name = layers[key]
            layer.grads[name][...] = seq[t]
        opt.step()


# PyTorch's update rules as its documentation writes them, one weight array at a time.
def ref_sgd(p, gs, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    buf = None
    for g in gs:
        g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def ref_adam(p, gs, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    m, v = np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(gs, start=1):
        g = g + weight_decay * p
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        m_hat, v_hat = m / (1 - betas[0] ** t), v / (1 - betas[1] ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def ref_rmsprop(p, gs, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0):
    v, buf = np.zeros_like(p), np.zeros_like(p)
    for g in gs:
        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        avg = np.sqrt(v) + eps
        if momentum:
            buf = momentum * buf + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
    return p


CASES = [
    ("sgd", SGD, ref_sgd, {"lr": 0.1}),
    ("sgd-momentum", SGD, ref_sgd, {"lr": 0.05, "momentum": 0.9}),
    ("sgd-nesterov", SGD, ref_sgd, {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("sgd-weight-decay", SGD, ref_sgd, {"lr": 0.1, "weight_decay": 0.1}),
    ("sgd-all", SGD, ref_sgd, {"lr": 0.1, "momentum": 0.5, "nesterov": True,
                               "weight_decay": 0.01}),
    ("adam", Adam, ref_adam, {"lr": 0.01}),
    ("adam-betas-eps", Adam, ref_adam, {"lr": 0.02, "betas": (0.5, 0.9), "eps": 1e-3}),
    ("adam-weight-decay", Adam, ref_adam, {"lr": 0.01, "weight_decay": 0.1}),
    ("rmsprop", RMSprop, ref_rmsprop, {"lr": 0.01}),
    ("rmsprop-alpha-eps", RMSprop, ref_rmsprop, {"lr": 0.01, "alpha": 0.5, "eps": 1e-2}),
    ("rmsprop-momentum-weight-decay", RMSprop, ref_rmsprop,
     {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.1}),
]


@pytest.mark.parametrize("cls,ref,config", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_several_steps_follow_pytorchs_update_rule(cls, ref, config):
    net = Network.from_spec(SPEC, seed=0, dtype="float64")
    start = dict(net.parameters())
    start = {k: p.copy() for k, p in start.items()}
    grads = gradient_sequence(net, 5)
    run(cls(net, **config), net, grads, 5)
    for key, p in net.parameters():
        np.testing.assert_allclose(p, ref(start[key], grads[key], **config), rtol=1e-12,
                                   atol=1e-14, err_msg=key)


@pytest.mark.parametrize("cls,config", [(c[1], c[3]) for c in CASES], ids=[c[0] for c in CASES])
def test_state_dict_round_trip_continues_identically(cls, config):
    net_a = Network.from_spec(SPEC, seed=0)
    net_b = Network.from_spec(SPEC, seed=0)
    grads = gradient_sequence(net_a, 5, seed=1)
    a = cls(net_a, **config)
    run(a, net_a, {k: v[:2] for k, v in grads.items()}, 2)
    net_b.set_weights(net_a.get_weights())
    b = cls(net_b, lr=123.0)
    b.load_state_dict(a.state_dict())
    assert b.t == a.t == 2 and b.get_config() == a.get_config()
    rest = {k: v[2:] for k, v in grads.items()}
    run(a, net_a, rest, 3)
    run(b, net_b, rest, 3)
    for (k, pa), (_, pb) in zip(net_a.parameters(), net_b.parameters()):
        np.testing.assert_array_equal(pa, pb, err_msg=k)


@pytest.mark.parametrize("cls,config", [(c[1], c[3]) for c in CASES], ids=[c[0] for c in CASES])
def test_float32_updates_in_place_and_stay_float32(cls, config):
    net = Network.from_spec(SPEC, seed=0)
    arrays = {k: p for k, p in net.parameters()}
    opt = cls(net, **config)
    run(opt, net, gradient_sequence(net, 2), 2)
    for k, p in net.parameters():
        assert p is arrays[k] and p.dtype == np.float32
    for buffers in opt.state.values():
        assert all(b.dtype == np.float32 for b in buffers.values())
    assert all(b.dtype == np.float32 for b in opt.state_dict()["buffers"].values())


def test_learning_rate_change_takes_effect_at_the_next_step():
    net = Network.from_spec(SPEC, seed=0, dtype="float64")
    opt = SGD(net, lr=0.1)
    grads = gradient_sequence(net, 2)
    before = {k: p.copy() for k, p in net.parameters()}
    run(opt, net, {k: v[:1] for k, v in grads.items()}, 1)
    opt.lr = 0.01
    mid = {k: p.copy() for k, p in net.parameters()}
    run(opt, net, {k: v[1:] for k, v in grads.items()}, 1)
    for k, p in net.parameters():
        np.testing.assert_allclose(mid[k], before[k] - 0.1 * grads[k][0], rtol=1e-15)
        np.testing.assert_allclose(p, mid[k] - 0.01 * grads[k][1], rtol=1e-15)


def test_zero_grad_zeroes_every_gradient_in_place():
    net = Network.from_spec(SPEC, seed=0)
    arrays = dict(net.gradients())
    for g in arrays.values():
        g[...] = 1.0
    SGD(net, lr=0.1).zero_grad()
    for k, g in net.gradients():
        assert g is arrays[k] and not g.any()


def test_registry_and_config_rebuild_the_same_optimizer():
    assert {"SGD", "Adam", "RMSprop"} <= set(names("optimizer"))
    net = Network.from_spec(SPEC, seed=0)
    for opt in [SGD(net, lr=0.2, momentum=0.9, nesterov=True, weight_decay=1e-4),
                Adam(net, lr=3e-4, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.01),
                RMSprop(net, lr=0.05, alpha=0.9, eps=1e-7, weight_decay=0.1, momentum=0.5)]:
        again = get("optimizer", type(opt).__name__)(net, **opt.get_config())
        assert again.get_config() == opt.get_config()
        assert set(opt.get_config()) == set(type(opt).hparams)


def test_every_optimizer_lowers_the_loss_on_a_small_problem():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    spec = {"input_shape": [3], "layers": [{"type": "Dense", "units": 8}, {"type": "Tanh"},
                                           {"type": "Dense", "units": 2}, {"type": "Softmax"}]}
    for cls, config in [(SGD, {"lr": 0.5}), (SGD, {"lr": 0.1, "momentum": 0.9}),
                        (Adam, {"lr": 0.05}), (RMSprop, {"lr": 0.01})]:
        net = Network.from_spec(spec, seed=1)
        opt, loss = cls(net, **config), CrossEntropyLoss()
        first = None
        for _ in range(60):
            value = loss.forward(net.forward(x, training=True), y)
            first = value if first is None else first
            net.backward(loss.backward())
            opt.step()
        assert value < 0.5 * first, (cls.__name__, config, first, value)


def test_schedules():
    assert [Constant().lr_at(0.1, e) for e in (0, 5)] == [0.1, 0.1]
    step = StepDecay(step_size=2, gamma=0.5)
    assert [step.lr_at(0.8, e) for e in range(5)] == [0.8, 0.8, 0.4, 0.4, 0.2]
    cos = CosineDecay(t_max=4, min_lr=0.1)
    assert cos.lr_at(1.1, 0) == pytest.approx(1.1)
    assert cos.lr_at(1.1, 2) == pytest.approx(0.6)
    assert cos.lr_at(1.1, 4) == pytest.approx(0.1) and cos.lr_at(1.1, 9) == pytest.approx(0.1)
