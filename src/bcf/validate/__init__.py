"""Check one workbook: the gate first, then structure, cells, arithmetic, policy and consistency.

``check_file`` never raises on a bad file: whatever happens while reading becomes a gate finding,
and a gate finding that stops the check is the only finding reported, so nothing piles on top of it.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException

from bcf import areas
from bcf.read import Submission, read_submission
from bcf.spec import split_ref
from bcf.validate.catalogue import Finding, finding
from bcf.validate.gate import file_findings, template_findings
from bcf.xlsx import damage

SHEET_ORDER = ["", "Cover", "Funding", "Schemes", "Benefits", "NEL & P4P", "Metrics", "Conditions", "Risks",
               "Governance", "Provider impact", "Lists"]


@dataclass
class Report:
    """The outcome of checking one file."""

    file: str
    findings: list[Finding]
    submission: Submission | None = field(default=None, repr=False)
    plan_hint: str | None = None  # the plan a central team filed it under, when the workbook cannot say

    @property
    def stopped(self) -> bool:
        return any(f.stops for f in self.findings)

    @property
    def blocking(self) -> int:
        return sum(f.severity == "blocking" for f in self.findings)

    @property
    def advisory(self) -> int:
        return sum(f.severity == "advisory" for f in self.findings)

    @property
    def status(self) -> str:
        return "unreadable" if self.stopped else "not ready" if self.blocking else "ready"

    @property
    def exit_code(self) -> int:
        return 2 if self.stopped else 1 if self.blocking else 0

    @property
    def hwb(self) -> str | None:
        return self.submission.fields.get("hwb_name") if self.submission else None

    @property
    def plan_code(self) -> str | None:
        a = areas.find(self.hwb)
        return a.plan_code if a else self.plan_hint

    def as_dict(self) -> dict[str, Any]:
        sub = self.submission
        return {
            "file": self.file, "hwb": self.hwb, "plan_code": self.plan_code,
            "template": {"id": sub.template_id, "version": sub.version} if sub else None,
            "status": self.status, "blocking": self.blocking, "advisory": self.advisory,
            "findings": [f.as_dict() for f in self.findings],
        }


def _sort_key(f: Finding) -> tuple[Any, ...]:
    sheet = SHEET_ORDER.index(f.sheet) if f.sheet in SHEET_ORDER else len(SHEET_ORDER)
    col, row = split_ref(f.cell) if f.cell else ("", 0)
    return (sheet, f.sheet, row, len(col), col, f.rule_id)


def _merge(found: list[Finding]) -> list[Finding]:
    """One finding per (rule, sheet, cell), the first kept, sorted by sheet, cell and rule."""
    unique = {(f.rule_id, f.sheet, f.cell): f for f in reversed(found)}
    return sorted(unique.values(), key=_sort_key)


def inspect_file(path: Path | str) -> Report:
    """Gate, read, structure and cross-sheet rules for one file; cell rules are added by ``complete``.

    The split lets a batch run this part in worker processes and the pandera part once for all files.
    Never raises for anything the file contains.
    """
    from bcf.validate.logic import logic_findings
    from bcf.validate.structure import structure_findings

    path = Path(path)
    gate = file_findings(path)
    if any(f.stops for f in gate):
        return Report(path.name, [next(f for f in gate if f.stops)])
    try:
        sub = read_submission(path)
    except DefusedXmlException:
        return Report(path.name, [finding("BCF-GATE-010", "", found="entity declarations in its XML")])
    except (zipfile.BadZipFile, ParseError, KeyError, EOFError, ValueError, UnicodeDecodeError) as e:
        return Report(path.name, [finding("BCF-GATE-004", "", found=damage(e)[:160])])
    gate += template_findings(sub)
    if any(f.stops for f in gate):
        return Report(path.name, [next(f for f in gate if f.stops)], sub)
    return Report(path.name, gate + structure_findings(sub) + logic_findings(sub), sub)


def complete(reports: list[Report]) -> None:
    """Add the cell-level findings to every readable report (one pandera pass for all) and sort."""
    from bcf.validate.cells import cell_findings_many

    todo = [r for r in reports if r.submission is not None and not r.stopped]
    for r, cells in zip(todo, cell_findings_many([r.submission for r in todo if r.submission]), strict=True):
        r.findings = _merge(r.findings + cells)


def check_file(path: Path | str) -> Report:
    """Check one workbook file. Never raises for anything the file contains."""
    report = inspect_file(path)
    complete([report])
    return report
