"""Structure findings: what the reader met while finding sheets, tables, columns and values."""

from __future__ import annotations

from collections import Counter

from bcf.findings import PROBLEM_RULES, Family, Finding, ProblemKind, finding, rules
from bcf.read import Submission

NOT_CALCULATED = "BCF-STRUCT-012"  # formulas saved with values they do not give: said once, for the whole workbook
SHEET_STATES = {"hidden": "hidden", "veryHidden": "hidden so that Excel's Unhide does not list it"}


def structure_findings(sub: Submission) -> list[Finding]:
    """One finding per structural problem; moved fields, unsaved formulas and uncalculated ones are summed up,
    not listed."""
    out, moved_sheets = [], set()
    for p in sub.problems:
        rule_id = PROBLEM_RULES.get(p.kind)
        if rule_id is None or rules()[rule_id].family != Family.STRUCTURE or p.kind == ProblemKind.NO_CACHED_VALUE:
            continue
        if p.kind == ProblemKind.FIELD_MOVED:  # every field below an inserted row moves: say so once per sheet
            if p.sheet in moved_sheets:
                continue
            moved_sheets.add(p.sheet)
            field = sub.spec.field(str(p.found))
            out.append(finding(rule_id, p.sheet, p.cell, found=field.label, expected=p.expected))
            continue
        found = SHEET_STATES.get(str(p.found), p.found) if p.kind == ProblemKind.SHEET_HIDDEN else p.found
        out.append(finding(rule_id, p.sheet, p.cell, found=found, expected=p.expected, also=p.also))
    unsaved = Counter(p.sheet for p in sub.problems if p.kind == ProblemKind.NO_CACHED_VALUE)
    if unsaved:
        out.append(finding(PROBLEM_RULES[ProblemKind.NO_CACHED_VALUE], "", None, found=sum(unsaved.values()),
                           expected=", ".join(unsaved)))
    if sub.uncalculated:
        out.append(finding(NOT_CALCULATED, "", None, found=len(sub.uncalculated), expected=sub.not_calculated))
    return out
