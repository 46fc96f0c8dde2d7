"""Metrics against values computed by hand."""
import numpy as np
import pytest

from nncore import DataError
from nncore.metrics import accuracy, confusion_matrix, most_confused, per_class_report

# 10 samples, 5 classes; class 3 is never predicted right, class 4 has no samples at all.
Y_TRUE = [0, 0, 0, 1, 1, 2, 2, 2, 2, 3]
Y_PRED = [0, 1, 0, 1, 1, 2, 0, 2, 1, 0]
CM = [[2, 1, 0, 0, 0],
      [0, 2, 0, 0, 0],
      [1, 1, 2, 0, 0],
      [1, 0, 0, 0, 0],
      [0, 0, 0, 0, 0]]


def test_confusion_matrix_rows_are_truth_columns_are_predictions():
    cm = confusion_matrix(Y_TRUE, Y_PRED, 5)
    assert cm.dtype == np.int64
    assert cm.tolist() == CM


def test_accuracy():
    assert accuracy(Y_TRUE, Y_PRED) == 0.6
    assert accuracy([], []) == 0.0
    assert accuracy(np.array([1, 2]), np.array([1, 2])) == 1.0


def test_per_class_report_by_hand():
    r = per_class_report(np.array(CM))
    # precision = TP / predicted as the class: 2/4, 2/4, 2/2, never predicted, never predicted
    np.testing.assert_allclose(r["precision"], [0.5, 0.5, 1.0, 0.0, 0.0])
    # recall = TP / samples of the class: 2/3, 2/2, 2/4, 0/1, no samples
    np.testing.assert_allclose(r["recall"], [2 / 3, 1.0, 0.5, 0.0, 0.0])
    # F1 = 2PR / (P + R): (2/3)/(7/6) = 4/7, 1/1.5, 1/1.5, 0, 0
    np.testing.assert_allclose(r["f1"], [4 / 7, 2 / 3, 2 / 3, 0.0, 0.0])
    assert r["support"].tolist() == [3, 2, 4, 1, 0]
    for v in r.values():
        assert not np.isnan(v).any()


def test_report_of_an_empty_confusion_matrix_has_no_nan():
    r = per_class_report(np.zeros((3, 3), dtype=np.int64))
    for v in r.values():
        assert v.tolist() == [0, 0, 0]


def test_most_confused_pairs():
    cm = np.array([[50, 3, 0, 7],
                   [1, 40, 0, 0],
                   [0, 9, 30, 3],
                   [7, 0, 0, 60]])
    assert most_confused(cm, top=3) == [(2, 1, 9), (0, 3, 7), (3, 0, 7)]   # ties: reading order
    assert most_confused(cm) == [(2, 1, 9), (0, 3, 7), (3, 0, 7), (0, 1, 3), (2, 3, 3)]
    assert most_confused(cm, top=100)[-1] == (1, 0, 1)
    assert len(most_confused(cm, top=100)) == 6


def test_most_confused_never_lists_correct_predictions():
    # a nearly perfect model: fewer confusions than asked for
    cm = confusion_matrix(Y_TRUE, Y_PRED, 5)
    assert most_confused(cm) == [(0, 1, 1), (2, 0, 1), (2, 1, 1), (3, 0, 1)]
    assert most_confused(np.diag([5, 6, 7])) == []


@pytest.mark.parametrize("y_true,y_pred,n,words", [
    ([0, 1, 2], [0, 1, 3], 3, ["predictions must be in 0..2, received 3"]),
    ([0, -1, 2], [0, 1, 2], 3, ["true labels must be in 0..2, received -1"]),
    ([0, 1], [0, 1, 2], 3, ["2 true labels but 3 predictions"]),
    ([0.5, 1], [0, 1], 3, ["whole numbers"]),
    ([[0, 1]], [[0, 1]], 3, ["shape (1, 2)"]),
    (["a"], [0], 3, ["whole numbers"]),
    ([0], [0], 0, ["number of classes"]),
])
def test_bad_labels_are_data_errors(y_true, y_pred, n, words):
    with pytest.raises(DataError) as e:
        confusion_matrix(y_true, y_pred, n)
    for w in words:
        assert w in str(e.value)


def test_whole_float_labels_are_accepted():
    assert confusion_matrix([0.0, 1.0], np.array([1, 1], dtype=np.uint8), 2).tolist() == [
        [0, 1], [0, 1]]
