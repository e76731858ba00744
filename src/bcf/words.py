"""The one vocabulary every output speaks: status and category words, money, counts and percentages.

A figure is formatted here and nowhere else, so the CLI, the console, letters, reports and exports show the
same figure the same way. Money is held in £000 throughout, as the template asks for it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Category(StrEnum):
    """The assurance categories, worst first (reference section 6)."""

    NOT_APPROVED = "Not approved"
    CONDITIONS = "Approved subject to conditions"
    SUPPORT = "Approved with support"
    APPROVED = "Approved"

    @property
    def css(self) -> str:
        return {"Not approved": "c-not", "Approved subject to conditions": "c-conditions",
                "Approved with support": "c-support", "Approved": "c-approved"}[self.value]

    @property
    def colour(self) -> str:
        return {"Not approved": "#d4351c", "Approved subject to conditions": "#f47738",
                "Approved with support": "#ffdd00", "Approved": "#00703c"}[self.value]


CATEGORIES = tuple(c.value for c in Category)
STATUSES = ("ready", "not ready", "unreadable", "missing")
RETURN_WORDS = {"plan": "plans", "quarterly": "quarterly returns"}


def _missing(v: Any) -> bool:
    return v is None or v != v


def money(value_000: Any, places: int = 1) -> str:
    """£000 → '£4.2m', '£850k', '£420' (never '£0k'); nothing at all is '£0'."""
    if _missing(value_000):
        return "—"
    v = float(value_000)
    sign = "-" if v < 0 else ""
    a = abs(v)
    if a >= 1000:
        return f"{sign}£{a / 1000:,.{places}f}m"
    if a >= 1 or a == 0:
        return f"{sign}£{a:,.0f}k" if a else "£0"
    return f"{sign}£{a * 1000:,.0f}"


def money_pair(a: Any, b: Any) -> tuple[str, str]:
    """Two amounts shown with enough places that different amounts never read the same."""
    for places in (1, 2, 3):
        pair = money(a, places), money(b, places)
        if pair[0] != pair[1] or _missing(a) or _missing(b) or round(float(a)) == round(float(b)):
            return pair
    return money(a, 3), money(b, 3)


def moved(a: Any, b: Any) -> str:
    """'moved from £2.61m to £2.64m', or 'stayed at £2.6m' when the amounts are the same to £1k."""
    if not _missing(a) and not _missing(b) and round(float(a)) == round(float(b)):
        return f"stayed at {money(a)}"
    x, y = money_pair(a, b)
    return f"moved from {x} to {y}"


def count(v: Any) -> str:
    return "—" if _missing(v) else f"{float(v):,.0f}"


def pct(v: Any, places: int = 1) -> str:
    return "—" if _missing(v) else f"{float(v):.{places}f}%"


def ratio(claimed: Any, credible: Any) -> str:
    """The optimism ratio as words: '2.4', or 'none backed' when no savings are backed by evidence."""
    if _missing(claimed) or float(claimed) <= 0:
        return "no claims"
    if _missing(credible) or float(credible) <= 0:
        return "none backed"
    return f"{float(claimed) / float(credible):.2f}"


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else many or word + 's'}"
