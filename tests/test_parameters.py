"""Every assumption is named for a reader, and an override reaches it everywhere."""

from __future__ import annotations

import pytest

from bcf import rounds
from bcf.render import assumption


@pytest.mark.parametrize("round_id", list(rounds.all_rounds()))
def test_every_parameter_has_a_label_and_a_source(round_id: str) -> None:
    params = rounds.get(round_id).params()
    assert [p.name for p in params.values() if not p.label or not p.source] == []
    assert all("_" not in p.label for p in params.values())  # words, never an internal name


def test_an_override_keeps_its_label_and_says_it_was_changed() -> None:
    params = rounds.get("2015-16").params({"unit_cost": "1615"})
    assert params.v["unit_cost"] == 1615 and params["unit_cost"].label == rounds.get("2015-16").params()["unit_cost"].label
    assert [p.name for p in params.overridden()] == ["unit_cost"]


@pytest.mark.parametrize(("value", "unit", "shown"), [
    (0.5, "share", "50%"), (0.02, "share", "2%"), ([1.0, 0.5, 0.0], "share", "100%, 50%, 0%"), (1490, "pounds", "£1,490"),
    (3.5, "percent", "3.5%"), (12, "", "12"), ("seasonal", "", "seasonal")])
def test_assumptions_read_as_a_person_writes_them(value: object, unit: str, shown: str) -> None:
    assert assumption(value, unit) == shown
