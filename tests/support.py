"""What many tests share: the sample round's return, its areas, and findings as tables."""

from __future__ import annotations

from typing import Any

from bcf import rounds

ROUND = "2015-16"
PLAN = rounds.get(ROUND).ret("plan")
QUARTERLY = rounds.get(ROUND).ret("quarterly")
AREAS = PLAN.round.areas


def findings_table(report: Any, *fields: str) -> list[tuple[Any, ...]]:
    """The report's findings projected onto some fields, for assertions that read like tables."""
    return [tuple(getattr(f, name) for name in fields) for f in report.findings]
