"""Preparation: scaling and standardisation, stratified splits, subsets, batches."""
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nncore import DataError
from nncore.data import Preprocessing, batches, split_counts, subset, train_val_split


def _data(n=100, k=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 1, 3, 3), dtype=np.uint8)
    y = rng.integers(0, k, n).astype(np.int64)
    return x, y


# ---- Preprocessing -------------------------------------------------------------------------------
def test_default_scales_pixels_to_unit_interval():
    p = Preprocessing.fit(np.array([[0, 255]], dtype=np.uint8))
    out = p.apply(np.array([0, 51, 255], dtype=np.uint8))
    assert out.dtype == np.float32 and out.tolist() == pytest.approx([0.0, 0.2, 1.0])
    assert p.apply(np.array([51.0])).dtype == np.float32   # float input too


def test_standardisation_uses_the_training_split_only():
    x_train, _ = _data(200)
    x_test = np.full((5, 1, 3, 3), 255, np.uint8)
    p = Preprocessing.fit(x_train, standardize=True)
    xs = x_train.astype(np.float64) / 255
    assert p.mean == pytest.approx(xs.mean(), abs=1e-12)
    assert p.std == pytest.approx(xs.std(), abs=1e-12)
    z = p.apply(x_train)
    assert abs(float(z.mean())) < 1e-5 and float(z.std()) == pytest.approx(1.0, abs=1e-5)
    t = p.apply(x_test)                      # the test set is transformed, never measured
    assert t[0, 0, 0, 0] == pytest.approx((1.0 - xs.mean()) / xs.std(), rel=1e-6)


def test_constant_images_do_not_divide_by_zero():
    p = Preprocessing.fit(np.full((3, 1, 2, 2), 7, np.uint8), standardize=True)
    assert p.std == 1.0 and np.isfinite(p.apply(np.uint8([7]))).all()


def test_round_trip_through_a_dict_gives_the_same_output():
    x, _ = _data()
    p = Preprocessing.fit(x, standardize=True)
    q = Preprocessing.from_dict(p.to_dict())
    np.testing.assert_array_equal(p.apply(x), q.apply(x))
    assert Preprocessing.from_dict({}) == Preprocessing()


@pytest.mark.parametrize("d,msg", [({"std": 0.0}, "positive"), ({"mean": "a"}, "finite number"),
                                   ({"shift": 1}, "unknown"), ([1, 2], "must be an object"),
                                   ({"std": float("nan")}, "finite")])
def test_bad_saved_preprocessing_is_a_data_error(d, msg):
    with pytest.raises(DataError, match=msg):
        Preprocessing.from_dict(d)


# ---- splits -------------------------------------------------------------------------------------
def test_split_is_stratified_seeded_and_complete():
    x, y = _data(103, k=4)
    (xt, yt), (xv, yv) = train_val_split(x, y, 0.2, seed=5)
    assert len(yv) == round(103 * 0.2) and len(yt) + len(yv) == 103
    counts, vcounts = np.bincount(y), np.bincount(yv, minlength=4)
    assert np.all(np.abs(vcounts - counts * 0.2) < 1)       # each class in proportion
    rows = {r.tobytes() for r in np.concatenate([xt, xv])}
    assert len(rows) == len({r.tobytes() for r in x})       # nothing lost or duplicated
    (_, _), (xv2, yv2) = train_val_split(x, y, 0.2, seed=5)
    np.testing.assert_array_equal(xv, xv2)
    (_, _), (xv3, _) = train_val_split(x, y, 0.2, seed=6)
    assert not np.array_equal(xv, xv3)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=8), st.floats(0.01, 0.99))
def test_split_counts_are_exact_and_fair(counts, fraction):
    take = split_counts(counts, fraction)
    assert int(take.sum()) == round(sum(counts) * fraction)
    assert np.all(take <= np.array(counts)) and np.all(take >= 0)
    assert np.all(np.abs(take - np.array(counts) * fraction) < 1)


def test_split_errors_are_explained():
    x, y = _data(3)
    with pytest.raises(DataError, match="between 0 and 1"):
        train_val_split(x, y, 1.0)
    with pytest.raises(DataError, match="both need at least one"):
        train_val_split(x, y, 0.01)
    with pytest.raises(DataError, match="3 images but 2 labels"):
        train_val_split(x, y[:2], 0.5)


def test_subset_takes_n_per_class_seeded_in_order():
    x, y = _data(200, k=4)
    xs, ys = subset(x, y, 5, seed=1)
    assert np.bincount(ys).tolist() == [5, 5, 5, 5]
    idx = [int(np.flatnonzero((x == r).all(axis=(1, 2, 3)))[0]) for r in xs]
    assert idx == sorted(idx)
    np.testing.assert_array_equal(subset(x, y, 5, seed=1)[0], xs)
    xs_all, _ = subset(x, y, 10_000)
    assert len(xs_all) == 200
    with pytest.raises(DataError, match="integer >= 1"):
        subset(x, y, 0)


# ---- batches ------------------------------------------------------------------------------------
def test_batches_cover_the_set_once_in_a_seeded_order():
    x, y = _data(50)
    seen = list(batches(x, y, 16, seed=3))
    assert [len(b[1]) for b in seen] == [16, 16, 16, 2]
    order = np.concatenate([b[1] for b in seen])
    assert sorted(order.tolist()) == sorted(y.tolist())
    xb = np.concatenate([b[0] for b in seen])
    assert sorted(r.tobytes() for r in xb) == sorted(r.tobytes() for r in x)
    again = np.concatenate([b[0] for b in batches(x, y, 16, seed=3)])
    np.testing.assert_array_equal(xb, again)
    assert not np.array_equal(xb, x)              # shuffled


def test_a_generator_gives_a_new_order_each_epoch_and_drop_last_works():
    x, y = _data(50)
    rng = np.random.default_rng(0)
    e1 = np.concatenate([b[0] for b in batches(x, y, 10, seed=rng)])
    e2 = np.concatenate([b[0] for b in batches(x, y, 10, seed=rng)])
    assert not np.array_equal(e1, e2)
    assert [len(b[0]) for b in batches(x, y, 16, drop_last=True)] == [16, 16, 16]
    plain = list(batches(x, y, 20, shuffle=False))
    assert np.shares_memory(plain[0][0], x)       # views, no copy
    np.testing.assert_array_equal(np.concatenate([b[0] for b in plain]), x)


def test_transform_is_applied_per_batch():
    x, y = _data(20)
    p = Preprocessing()
    for xb, yb in batches(x, y, 8, transform=p.apply):
        assert xb.dtype == np.float32 and float(xb.max()) <= 1.0


def test_batches_never_copy_the_whole_set():
    x = np.zeros((20_000, 1, 10, 10), np.uint8)    # 2 MB
    y = np.zeros(20_000, np.int64)
    tracemalloc.start()
    try:
        for _ in batches(x, y, 32, seed=0):
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 400_000                          # the permutation (160 kB) and one batch


def test_batch_errors():
    x, y = _data(5)
    with pytest.raises(DataError, match="batch size"):
        batches(x, y, 0)
    with pytest.raises(DataError, match="5 images but 4 labels"):
        batches(x, y[:4], 2)
