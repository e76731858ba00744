"""Figures a return quotes, checked against the official statistics they come from (the reference family).

Which figures, from which reference file and which of its columns, is content (``reference/checks.yaml``);
the tolerance is a parameter (``reference_tolerance``). A finding says both numbers, the source and its vintage.
A reference file that is not installed, or has no figures for the plan's area, makes each figure "not checked"
(BCF-REF-003, saying which), never a pass. The rules register themselves with the other logic rules, so they run
only where the template has the figure and the reader found it.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from bcf import reference
from bcf.findings import Finding, finding
from bcf.read import Submission
from bcf.reference import Check, checks
from bcf.validate.registry import num, p, rule

NOT_CHECKED = "BCF-REF-003"


def _same(a: Any, b: Any) -> bool:
    return " ".join(str(a).split()).casefold() == " ".join(str(b).split()).casefold()


def places(sub: Submission, check: Check) -> list[tuple[str, str, Any]]:
    """(sheet, cell, value) of each place the return states the figure."""
    if "." not in check.reads:
        return [(*sub.where(check.reads), sub.fields.get(check.reads))]
    table, column = check.reads.split(".")
    return [(*sub.where(check.reads, row), values[column]) for row, values in sub.rows(table)
            if all(_same(values.get(k), v) for k, v in check.row.items())]


def _percent(x: float) -> str:
    return f"{x * 100:.1f}%" if x < 0.1 else f"{x * 100:.0f}%"


def _gap(stated: float, expected: float) -> str:
    """How far the stated figure is from the reference, in words: 18% more, 20% less, 4.5 times as much."""
    if expected and stated >= 2 * expected:
        return f"{stated / expected:.1f} times as much"
    return f"{_percent(abs(stated - expected) / expected)} {'more' if stated > expected else 'less'}"


def compare(check: Check, sub: Submission) -> Iterator[Finding]:
    """Each place the figure is stated, against the reference figure for the plan's area."""
    area = sub.area
    stated = [(sheet, cell, v) for sheet, cell, v in places(sub, check) if num(v) is not None]
    if area is None or not stated:
        return
    try:
        src = reference.source(check.source)
        expected = reference.plan_value(sub.ret.round.areas, area.plan_code, check.columns, check.source)
    except reference.ReferenceMissing:
        yield from _not_checked(check, stated, "is not installed")
        return
    except (KeyError, ValueError) as e:  # no row for a council of the plan (a newer vintage), or a blank figure
        code = str(e.args[0]) if isinstance(e, KeyError) else area.plan_code
        council = sub.ret.round.areas.find(code)
        yield from _not_checked(check, stated, f"has no figures for {council.hwb_name if council else code}")
        return
    tolerance = p(sub, "reference_tolerance")
    for sheet, cell, v in stated:
        gap = abs(float(v) - expected) / expected if expected else float("inf")
        if gap > tolerance:
            yield finding(check.rule, sheet, cell, found=float(v), expected=expected, source=src.publisher,
                          vintage=src.vintage, area=area.plan_name, gap=_gap(float(v), expected),
                          tolerance=_percent(tolerance))


def _not_checked(check: Check, stated: list[tuple[str, str, Any]], why: str) -> Iterator[Finding]:
    """BCF-REF-003 at each place the figure is stated: not checked, and why in words."""
    for sheet, cell, _ in stated:
        yield finding(NOT_CHECKED, sheet, cell, found=f"{check.source}.csv", label=check.what.capitalize(), why=why)


for _check in checks():
    rule(_check.rule, _check.reads)(partial(compare, _check))
