"""nncore.inspect: the numbers behind the inspection views."""
import json

import numpy as np
import pytest

from nncore import CrossEntropyLoss, DataError, Network
from nncore.inspect import (activations, cell_indices, centre_of_mass, confusion_summary,
                            evaluation_summary, format_reports, history_summary, layer_reports,
                            normalise_rows, per_class_accuracy, prepare_drawing, saliency,
                            saliency_map, write_confusion_csv, write_json)
from nncore.metrics import confusion_matrix
from nncore.optim import SGD
from nncore.train import EpochEvent, Trainer, evaluate

SPEC = {"input_shape": [1, 6, 6],
        "layers": [{"type": "Conv2D", "filters": 2, "kernel_size": 3}, {"type": "ReLU"},
                   {"type": "Flatten"}, {"type": "Dense", "units": 5}, {"type": "BatchNorm"},
                   {"type": "ReLU"}, {"type": "Dense", "units": 3}, {"type": "Softmax"}]}


def _data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 6, 6)).astype(np.float32), rng.integers(0, 3, n)


def test_layer_reports_after_a_trainer_step():
    x, y = _data()
    net = Network.from_spec(SPEC, seed=1)
    trainer = Trainer(net, CrossEntropyLoss(), SGD(net, lr=0.5), x, y, batch_size=8)
    before = net.get_weights()
    trainer.step_batch()
    reps = layer_reports(net, before)
    assert [r.type for r in reps] == ["Conv2D", "ReLU", "Flatten", "Dense", "BatchNorm", "ReLU",
                                      "Dense", "Softmax"]
    assert reps[0].input_shape == (8, 1, 6, 6) and reps[0].output_shape == (8, 2, 4, 4)
    assert reps[3].input_shape == (8, 32) and reps[3].grad_output_shape == (8, 5)
    # ReLU zeroes about half its inputs; softmax rows sum to 1.
    assert 0.0 < reps[1].activation.zero_fraction < 1.0 and reps[1].activation.min == 0.0
    assert reps[7].activation.mean == pytest.approx(1 / 3, rel=1e-5)
    dense = net.layers[6]
    w = reps[6].param("W")
    np.testing.assert_array_equal(w.grad, dense.grads["W"])
    assert w.grad_norm == pytest.approx(np.linalg.norm(dense.grads["W"]), rel=1e-6)
    assert w.norm == pytest.approx(np.linalg.norm(dense.params["W"]), rel=1e-6)
    # plain SGD: ΔW = lr·dW exactly
    assert w.update_ratio == pytest.approx(
        0.5 * np.linalg.norm(dense.grads["W"]) / np.linalg.norm(before["6.W"]), rel=1e-4)
    assert reps[6].param("b").update_ratio is None        # b started at 0: ratio undefined
    assert [p.name for p in reps[4].params] == ["gamma", "beta"]
    assert reps[6].grad_output_norm == pytest.approx(
        np.linalg.norm(dense.last_grad_output), rel=1e-6)
    assert "dW = Xᵀ·dY" in reps[6].formula
    assert all(p.update_ratio is None for p in layer_reports(net, None)[6].params)


def test_layer_reports_of_an_untrained_network_has_no_activations():
    net = Network.from_spec(SPEC)
    reps = layer_reports(net, None)
    assert reps[0].activation is None and reps[0].grad_output_norm is None
    assert reps[0].input_shape == (1, 6, 6)


def test_format_reports_is_a_table_with_one_row_per_weight():
    x, y = _data()
    net = Network.from_spec(SPEC, seed=1)
    trainer = Trainer(net, CrossEntropyLoss(), SGD(net, lr=0.1), x, y, batch_size=8)
    before = net.get_weights()
    trainer.step_batch()
    text = format_reports(layer_reports(net, before))
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["#", "layer", "output"]
    # 8 layers, and layers with two weights take a second line
    assert len(lines) == 1 + 8 + 4          # Conv2D, Dense, BatchNorm, Dense
    assert any(line.lstrip().startswith("6  Dense") and "W 5×3" in line for line in lines)


# ---- activations and saliency --------------------------------------------------------------
def test_activations_are_each_layers_output_for_one_image():
    net = Network.from_spec(SPEC, seed=2)
    x, _ = _data(1)
    acts = activations(net, x[0])
    assert [a.shape for a in acts] == [(2, 4, 4), (2, 4, 4), (32,), (5,), (5,), (5,), (3,), (3,)]
    np.testing.assert_allclose(acts[-1], net.forward(x)[0], rtol=1e-6)
    assert acts[-1].sum() == pytest.approx(1.0, rel=1e-5)


def test_saliency_of_a_linear_network_is_the_class_weight_column():
    spec = {"input_shape": [1, 3, 3], "layers": [{"type": "Flatten"},
                                                 {"type": "Dense", "units": 4},
                                                 {"type": "Softmax"}]}
    net = Network.from_spec(spec, seed=3, dtype="float64")
    x = np.random.default_rng(0).random((2, 1, 3, 3))
    g = saliency(net, x, [1, 3])
    w = net.layers[1].params["W"]
    np.testing.assert_allclose(g[0].ravel(), w[:, 1])
    np.testing.assert_allclose(g[1].ravel(), w[:, 3])
    np.testing.assert_allclose(saliency(net, x[1], 3), g[1])      # one image, no batch axis


def test_saliency_matches_central_differences_of_the_logit():
    spec = {"input_shape": [1, 5, 5],
            "layers": [{"type": "Conv2D", "filters": 2, "kernel_size": 3}, {"type": "Tanh"},
                       {"type": "Flatten"}, {"type": "Dense", "units": 3}, {"type": "Softmax"}]}
    net = Network.from_spec(spec, seed=4, dtype="float64")
    x = np.random.default_rng(1).standard_normal((1, 1, 5, 5))
    g = saliency(net, x, 2)

    def logit(xx):
        out = xx
        for layer in net.layers[:-1]:
            out = layer.forward(out, False)
        return out[0, 2]
    num = np.zeros_like(x)
    h = 1e-6
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        num[idx] = (logit(xp) - logit(xm)) / (2 * h)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9)
    assert saliency_map(g[0]).shape == (5, 5)


def test_saliency_rejects_a_class_the_network_does_not_have():
    net = Network.from_spec(SPEC)
    x, _ = _data(1)
    with pytest.raises(DataError, match=r"0\.\.2"):
        saliency(net, x, 3)


# ---- drawings as MNIST input ---------------------------------------------------------------
def _ring(size=200, cy=100, cx=100, ry=70, rx=40, width=14):
    """A hand-drawn-looking '0' on a canvas: ink 255 on the ellipse ring."""
    yy, xx = np.mgrid[:size, :size]
    r = np.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)
    return np.where(np.abs(r - 1) * min(rx, ry) < width / 2, 255.0, 0.0)


def _extent(img):
    rows = np.flatnonzero((img > 0).any(axis=1))
    cols = np.flatnonzero((img > 0).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def test_a_drawing_is_scaled_into_a_20_pixel_box_and_centred_by_mass():
    out = prepare_drawing(_ring())
    assert out.shape == (28, 28) and out.dtype == np.uint8 and out.max() == 255
    h, w = _extent(out)
    assert h in (20, 21)                                    # longer side: 20 (+ grey fringe)
    assert w == pytest.approx(20 * 80 / 140 + 1, abs=1.5)   # aspect ratio kept
    cy, cx = centre_of_mass(out)
    assert cy == pytest.approx(14.0, abs=0.05) and cx == pytest.approx(14.0, abs=0.05)
    # anti-aliased: grey edge pixels, not just black and white
    assert np.count_nonzero((out > 20) & (out < 235)) > 20


def test_position_and_size_of_the_drawing_do_not_matter():
    base = prepare_drawing(_ring())
    shifted = prepare_drawing(_ring(size=330, cy=220, cx=70))        # off-centre
    np.testing.assert_array_equal(shifted, base)
    bigger = prepare_drawing(_ring(size=400, cy=200, cx=200, ry=140, rx=80, width=28))
    assert np.abs(bigger.astype(int) - base).mean() < 3
    small = prepare_drawing(_ring(size=60, cy=30, cx=30, ry=10.5, rx=6, width=2.1))  # enlarged
    assert np.corrcoef(small.ravel(), base.ravel())[0, 1] > 0.9


def test_a_thin_stroke_keeps_its_aspect_ratio():
    ink = np.zeros((100, 100))
    ink[10:90, 48:52] = 1.0                      # a "1": 80 tall, 4 wide
    out = prepare_drawing(ink)
    h, w = _extent(out)
    assert h in (20, 21) and w <= 2


def test_blank_and_bad_drawings():
    np.testing.assert_array_equal(prepare_drawing(np.zeros((50, 40))), np.zeros((28, 28)))
    assert prepare_drawing(np.zeros((1, 50, 40))).shape == (28, 28)
    with pytest.raises(DataError, match=r"\(H, W\).*\(3, 4, 5\)"):
        prepare_drawing(np.zeros((3, 4, 5)))
    bad = np.zeros((10, 10))
    bad[2, 2] = np.nan
    with pytest.raises(DataError, match="NaN"):
        prepare_drawing(bad)


# ---- confusion matrices --------------------------------------------------------------------
def test_cell_indices_are_exactly_the_samples_of_the_cell():
    t = np.array([0, 1, 1, 2, 1, 0, 1])
    p = np.array([0, 2, 1, 2, 2, 1, 2])
    probs = np.full((7, 3), 0.1)
    probs[1, 2], probs[4, 2], probs[6, 2] = 0.5, 0.9, 0.7
    np.testing.assert_array_equal(cell_indices(t, p, 1, 2), [1, 4, 6])
    np.testing.assert_array_equal(cell_indices(t, p, 1, 2, probs), [4, 6, 1])
    assert len(cell_indices(t, p, 2, 0)) == 0
    cm = confusion_matrix(t, p, 3)
    assert all(len(cell_indices(t, p, i, j)) == cm[i, j] for i in range(3) for j in range(3))


def test_per_class_accuracy_and_summaries(tmp_path):
    cm1 = np.array([[8, 2], [5, 5]])
    cm2 = np.array([[9, 1], [1, 9]])
    np.testing.assert_allclose(per_class_accuracy([cm1, cm2]), [[0.8, 0.5], [0.9, 0.9]])
    np.testing.assert_allclose(normalise_rows(cm1), [[0.8, 0.2], [0.5, 0.5]])
    s = confusion_summary(cm1, ["cat", "dog"])
    assert s["samples"] == 20 and s["accuracy"] == pytest.approx(0.65)
    assert s["per_class"][1] == {"class": "dog", "precision": 5 / 7, "recall": 0.5,
                                 "f1": pytest.approx(2 * (5 / 7) * 0.5 / (5 / 7 + 0.5)),
                                 "support": 10}
    assert s["most_confused"][0] == {"true": "dog", "predicted": "cat", "count": 5}
    with pytest.raises(DataError, match="2 classes.*3 class names"):
        confusion_summary(cm1, ["a", "b", "c"])
    events = [EpochEvent(1, 10, 1.0, 0.5, 1.0, 0.65, 1.0, 10.0, cm1),
              EpochEvent(2, 20, 0.5, 0.8, 0.4, 0.9, 1.0, 10.0, cm2)]
    hist = history_summary(events, ["cat", "dog"])
    assert [h["epoch"] for h in hist] == [1, 2] and hist[1]["accuracy"] == pytest.approx(0.9)
    write_json(tmp_path / "h.json", hist)
    assert json.loads((tmp_path / "h.json").read_text())[0]["confusion"] == [[8, 2], [5, 5]]
    write_confusion_csv(tmp_path / "cm.csv", cm1, ["cat", "dog"])
    assert (tmp_path / "cm.csv").read_text() == "true\\predicted,cat,dog\ncat,8,2\ndog,5,5\n"


def test_evaluation_summary_matches_nncore_evaluate():
    x, y = _data(30)
    net = Network.from_spec(SPEC, seed=5)
    ev = evaluate(net, CrossEntropyLoss(), x, y)
    s = evaluation_summary(ev)
    assert s["samples"] == 30 and s["accuracy"] == pytest.approx(ev.accuracy)
    assert s["confusion"] == confusion_matrix(y, ev.predictions, 3).tolist()
    assert s["loss"] == pytest.approx(ev.loss)
