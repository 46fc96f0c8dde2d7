"""Input fields validated as typed (app.widgets.fields)."""
from __future__ import annotations

import pytest

from app.widgets.fields import ValidatedField, _Invalid, parse
from nncore.hparams import HParam

INT = HParam("int", "units", min=1, max=1000)
FLOAT = HParam("float", "lr", min=0.0, max=10.0, min_open=True)
SIZE = HParam("size2", "kernel", min=1, max=100)
PAD = HParam("padding", "padding", min=0, max=100)


@pytest.mark.parametrize("hp,text,value", [
    (INT, "12", 12), (INT, " 1_000 ", 1000), (INT, "7.0", 7),
    (FLOAT, "1e-3", 0.001), (FLOAT, "0.5", 0.5),
    (SIZE, "3", 3), (SIZE, "3, 5", [3, 5]), (SIZE, "3x5", [3, 5]), (SIZE, "3 × 5", [3, 5]),
    (PAD, "same", "same"), (PAD, "Valid", "valid"), (PAD, "2", 2)])
def test_valid_text_gives_the_canonical_value(hp, text, value):
    assert parse(text, hp) == value


@pytest.mark.parametrize("hp,text,message", [
    (INT, "0", "expected an integer >= 1 and <= 1,000, received 0"),
    (INT, "1.5", "expected an integer"), (INT, "ten", "expected an integer"),
    (INT, "", "a value is needed"), (FLOAT, "0", "> 0"), (FLOAT, "nan", "a number"),
    (FLOAT, "1e9", "<= 10"), (SIZE, "3,4,5", "a pair of integers"),
    (PAD, "full", "'valid', 'same'")])
def test_invalid_text_says_what_is_expected(hp, text, message):
    with pytest.raises(_Invalid) as e:
        parse(text, hp)
    assert message in e.value.message


def test_a_field_emits_only_valid_values_and_explains_combinations(qtbot):
    seen = []
    f = ValidatedField(INT, 10, check=lambda v: "too big for the data" if v > 50 else None)
    qtbot.addWidget(f)
    f.show()
    f.valueEdited.connect(seen.append)
    f.edit.selectAll()
    qtbot.keyClicks(f.edit, "60")
    # "6" was a valid value; "60" is not: the model gets back 10, from before the edit
    assert seen == [6, 10] and f.error() == "too big for the data"
    assert f.edit.property("invalid") is True and f.value() == 10
    qtbot.keyClick(f.edit, "\b")
    assert seen == [6, 10, 6] and f.error() is None
    f.set_value(42)                                 # from the model: shown, not emitted
    assert f.edit.text() == "42" and seen == [6, 10, 6]
