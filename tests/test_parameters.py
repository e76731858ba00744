"""Every assumption is named for a reader, and an override reaches it everywhere."""

from __future__ import annotations

import re

import pytest

from bcf import rounds
from bcf.errors import BadParameter
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


@pytest.mark.parametrize("name, text", [("unit_cost", "-1"), ("unit_cost", "0"), ("weight_high", "1.5"),
                                        ("delivery_scenarios", "[1.0, 2]"), ("track_record_credibility", "-0.1")])
def test_an_override_that_makes_no_sense_is_refused_in_one_sentence(name: str, text: str) -> None:
    with pytest.raises(BadParameter, match=rf"^{name} \(.+\) must be at (least|most) .+, not {re.escape(text)}\.$"):
        rounds.get("2015-16").params({name: text})


def test_an_override_within_its_range_is_taken_a_falling_trend_too() -> None:
    params = rounds.get("2015-16").params({"trend_growth": "-0.01", "unit_cost": "1615"})
    assert (params.v["trend_growth"], params.v["unit_cost"]) == (-0.01, 1615)
