"""The one vocabulary: a figure stated only when it says something."""

from __future__ import annotations

import pytest

from bcf.words import Category, money, moved, ratio


@pytest.mark.parametrize(("value", "shown"), [
    (2635.4, "£2.6m"), (850, "£850k"), (0.42, "£420"), (0, "£0"), (-250, "-£250k"), (None, "—"), (float("nan"), "—")])
def test_money_never_says_zero_thousand(value: float | None, shown: str) -> None:
    assert money(value) == shown


def test_a_move_is_stated_only_when_the_amounts_differ() -> None:
    assert moved(2610, 2640) == "moved from £2.61m to £2.64m"  # the same at one place is shown with two
    assert moved(2610.2, 2610.4) == "stayed at £2.6m"
    assert moved(900, 1200) == "moved from £900k to £1.2m"


def test_the_optimism_ratio_says_why_it_has_no_number() -> None:
    assert ratio(300, 100) == "3.00"
    assert ratio(300, 0) == "none backed"
    assert ratio(0, 0) == "no claims"


def test_categories_are_worst_first_with_one_style_each() -> None:
    assert [c.value for c in Category][0] == "Not approved" and [c.value for c in Category][-1] == "Approved"
    assert len({c.css for c in Category}) == len({c.colour for c in Category}) == 4
