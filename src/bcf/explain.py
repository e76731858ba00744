"""Explanations of advisory findings: the officer's, from the workbook's Explanations sheet, matched to the
findings they explain, and the fingerprint an assurer's decision on one holds to (the decisions themselves:
``bcf.national.decisions``).

An explanation names a rule and, optionally, where ("Risks C40"). A decision holds only while the finding it
was made on is unchanged: it carries a fingerprint of the finding (rule, place, what was found and what was
expected), and a resubmission whose finding has another fingerprint reopens it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Any

from bcf.findings import Finding, Severity, finding
from bcf.read import Submission

DECISIONS = ("accepted", "rejected")
_PLACE = re.compile(r"^\s*(?:'?(?P<sheet>.*?)'?\s*[!\s]\s*)?\$?(?P<col>[A-Za-z]{1,3})\$?(?P<row>\d+)\s*$")


def parse_place(text: Any) -> tuple[str | None, str | None]:
    """'Risks C40', 'Risks!C40', "'NEL & P4P'!C13" or 'C40' -> (sheet or None, cell or None)."""
    m = _PLACE.match(str(text or ""))
    if not m:
        return None, None
    return (m.group("sheet") or None), f"{m.group('col').upper()}{m.group('row')}"


def _matches(f: Finding, rule: str, sheet: str | None, cell: str | None) -> bool:
    return (f.rule_id == rule and (cell is None or f.cell == cell)
            and (sheet is None or f.sheet.casefold() == sheet.strip().casefold()))


def attach(findings: list[Finding], sub: Submission | None) -> list[Finding]:
    """The findings with the officer's explanations attached to the advisory ones they name; an explanation
    that names no advisory finding is a finding of its own (BCF-CONS-008)."""
    if sub is None or not sub.table_rows.get("explanations"):
        return findings
    out = list(findings)
    for row, e in sub.rows("explanations"):
        rule, place, reason = (_text(e.get(k)) for k in ("rule_id", "location", "reason"))
        sheet, cell = parse_place(place) if place else (None, None)
        hits = [i for i, f in enumerate(out) if f.severity == Severity.ADVISORY and _matches(f, rule.upper(), sheet, cell)]
        for i in hits:
            out[i] = replace(out[i], explanation=reason)
        if not hits and rule:
            named = f"{rule} at {place}" if place else rule
            out.append(finding("BCF-CONS-008", *sub.where("explanations.rule_id", int(row)), found=named,
                               expected=_explainable(findings)))
    return out


def _explainable(findings: list[Finding]) -> str:
    """The advisory findings an explanation could name, as the Explanations sheet names them."""
    named = [f"{f.rule_id} at {f.sheet} {f.cell}" if f.cell else f.rule_id
             for f in findings if f.severity == Severity.ADVISORY]
    return "; ".join(dict.fromkeys(named)) or "none: the self-check made no advisory finding"


def _text(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and v != v) else str(v).strip()


def fingerprint(rule_id: str, location: str, found: Any, expected: Any) -> str:
    """What a decision was made on; a change to any part of it reopens the decision."""
    text = "\x1f".join(str(x) for x in (rule_id, location, found, expected))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
