"""Structure findings: what the reader met while finding sheets, tables and values."""

from __future__ import annotations

from collections import Counter

from bcf.read import Submission
from bcf.validate.catalogue import Finding, finding

# reader problem kind -> rule; value problems (wrong_type) are cell findings, see cells.py
RULE_FOR = {"sheet_missing": "BCF-STRUCT-001", "sheet_renamed": "BCF-STRUCT-002", "table_not_found": "BCF-STRUCT-003",
            "table_moved": "BCF-STRUCT-004", "field_moved": "BCF-STRUCT-004", "header_changed": "BCF-STRUCT-005",
            "sheet_hidden": "BCF-STRUCT-007", "too_many_rows": "BCF-STRUCT-008"}


def structure_findings(sub: Submission) -> list[Finding]:
    """One finding per structural problem; moved fields and unsaved formulas are summed up, not listed."""
    out, moved_sheets = [], set()
    for p in sub.problems:
        rule_id = RULE_FOR.get(p.kind)
        if rule_id is None:
            continue
        if p.kind == "field_moved":  # every field below an inserted row moves: say so once per sheet
            if p.sheet in moved_sheets:
                continue
            moved_sheets.add(p.sheet)
            field = sub.spec.field(str(p.found))
            out.append(finding(rule_id, p.sheet, p.cell, found=field.label, expected=p.expected))
            continue
        out.append(finding(rule_id, p.sheet, p.cell, found=p.found, expected=p.expected))
    unsaved = Counter(p.sheet for p in sub.problems if p.kind == "no_cached_value")
    if unsaved:
        out.append(finding("BCF-STRUCT-006", "", None, found=sum(unsaved.values()),
                           expected=", ".join(unsaved)))
    return out
