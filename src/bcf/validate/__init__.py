"""Check one workbook: the gate first, then structure, cells, arithmetic, policy and consistency.

``check_file`` never raises on a bad file: whatever happens while reading becomes a gate finding,
and a gate finding that stops the check is the only finding reported, so nothing piles on top of it.
Nothing piles on a value either: once a cell rule has reported a value (text in a number cell, out of
range, not an option, pounds typed as thousands), no other finding is built on it (``unstacked``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException

from bcf import intake, rounds
from bcf.errors import CheckerFault
from bcf.findings import Finding, Severity, finding
from bcf.intake import Snapshot
from bcf.spec import split_ref
from bcf.validate.gate import FOREIGN, file_findings, max_bytes, template_findings
from bcf.xlsx import Damaged, damage

if TYPE_CHECKING:
    from bcf.read import Submission


@dataclass(frozen=True)
class Report:
    """The outcome of checking one file. Built once; ``with_findings`` makes a new one."""

    file: str
    findings: tuple[Finding, ...]
    submission: Submission | None = field(default=None, repr=False, compare=False)
    plan_hint: str | None = None  # the plan a central team filed it under, when the workbook cannot say

    @property
    def stopped(self) -> bool:
        return any(f.stops for f in self.findings)

    @property
    def foreign(self) -> bool:
        """The workbook belongs to another round or return than the one it was checked for."""
        return any(f.rule_id == FOREIGN for f in self.findings)

    @property
    def blocking(self) -> int:
        return sum(f.severity == Severity.BLOCKING for f in self.findings)

    @property
    def advisory(self) -> int:
        return sum(f.severity == Severity.ADVISORY for f in self.findings)

    @property
    def status(self) -> str:
        return "unreadable" if self.stopped else "not ready" if self.blocking else "ready"

    @property
    def exit_code(self) -> int:
        return 2 if self.stopped else 1 if self.blocking else 0

    @property
    def hwb(self) -> str | None:
        """The board as the round's list names it (a code or another case typed on the Cover is read as the board
        it names); as typed when the list has no such board."""
        if self.submission is None:
            return None
        area = self.submission.area
        return area.hwb_name if area and not self.foreign else self.submission.fields.get("hwb_name")

    @property
    def plan_code(self) -> str | None:
        if self.foreign:
            return None  # never filed under a plan of a round it does not belong to
        a = self.submission.area if self.submission else None
        return a.plan_code if a else self.plan_hint

    @property
    def return_kind(self) -> str | None:
        return self.submission.spec.kind if self.submission and not self.foreign else None

    @property
    def period(self) -> str | None:
        return self.submission.period if self.submission and not self.foreign else None

    def with_findings(self, findings: list[Finding]) -> Report:
        """The same report with these findings, merged and sorted."""
        return replace(self, findings=tuple(_merge(findings, self.submission)))

    def filed_under(self, plan_hint: str | None) -> Report:
        return replace(self, plan_hint=plan_hint)

    def as_dict(self) -> dict[str, Any]:
        sub = self.submission
        return {
            "file": self.file, "hwb": self.hwb, "plan_code": self.plan_code,
            "template": {"id": sub.template_id, "version": sub.version, "round": sub.spec.round_id,
                         "return": sub.spec.kind} if sub else None,
            "status": self.status, "blocking": self.blocking, "advisory": self.advisory,
            "findings": [f.as_dict() for f in self.findings],
        }


def _merge(found: list[Finding], sub: Submission | None) -> list[Finding]:
    """One finding per (rule, sheet, cell), the first kept, sorted by sheet (in template order), cell and rule."""
    order = [""] + ([sub.sheet_of(s.name) for s in sub.spec.sheets] if sub else [])

    def key(f: Finding) -> tuple[Any, ...]:
        sheet = order.index(f.sheet) if f.sheet in order else len(order)
        col, row = split_ref(f.cell) if f.cell else ("", 0)
        return (sheet, f.sheet, row, len(col), col, f.rule_id)

    unique = {(f.rule_id, f.sheet, f.cell): f for f in reversed(found)}
    return sorted(unique.values(), key=key)


def inspect_file(source: Path | str | Snapshot, round_id: str | None = None, kind: str | None = None) -> Report:
    """Gate, read, structure and cross-sheet rules for one file; cell rules are added by ``complete``.

    ``source`` is a file, read here once, or a file already read (a batch reads it in the parent). ``round_id``
    and ``kind`` say what the file must be (default: whatever known return it declares). The split lets a batch
    run this part in worker processes and the pandera part once for all files. Never raises for anything the
    file contains; a fault of the checker itself is raised, not reported as a problem with the file.
    """
    snap = source if isinstance(source, Snapshot) else intake.read(source, keep=max_bytes(), hashed=False)
    name = snap.name
    gate = file_findings(snap)
    if any(f.stops for f in gate):
        return Report(name, (next(f for f in gate if f.stops),))
    assert snap.data is not None  # the gate stops a file it did not keep
    from bcf.read import read_submission  # the reader and the rules need pandas: not imported for a file stopped above
    from bcf.validate.logic import logic_findings
    from bcf.validate.structure import structure_findings

    expect = rounds.get(round_id).ret(kind or "plan") if round_id else None
    try:
        sub = read_submission(io.BytesIO(snap.data), expect=expect, name=name)
    except DefusedXmlException:
        return Report(name, (finding("BCF-GATE-010", "", found="entity declarations in its XML"),))
    except (Damaged, ParseError, UnicodeDecodeError) as e:
        return Report(name, (finding("BCF-GATE-004", "", found=damage(e)[:160]),))
    except (MemoryError, RecursionError):
        raise
    except Exception as e:  # anything else is the reader's own fault, never the file's
        raise CheckerFault(f"{type(e).__name__} while reading {name}") from e
    try:
        gate += template_findings(sub, round_id, kind)
        if any(f.stops for f in gate):
            return Report(name, (next(f for f in gate if f.stops),), sub)
        return Report(name, tuple(gate + structure_findings(sub) + logic_findings(sub)), sub)
    except Exception as e:
        raise CheckerFault(f"{type(e).__name__} while checking {name}") from e


def complete(reports: list[Report]) -> list[Report]:
    """The reports with their cell-level findings added (one pandera pass for all) and the area's explanations
    attached, merged and sorted."""
    todo = [i for i, r in enumerate(reports) if r.submission is not None and not r.stopped]
    if not todo:  # nothing was read: pandera is not needed
        return list(reports)
    from bcf.explain import attach
    from bcf.validate.cells import cell_findings_many

    cells = cell_findings_many([reports[i].submission for i in todo])  # type: ignore[misc]
    out = list(reports)
    for i, found in zip(todo, cells, strict=True):
        sub = reports[i].submission
        assert sub is not None
        out[i] = reports[i].with_findings(attach(unstacked(sub, [*reports[i].findings, *found]), sub))
    return out


def unstacked(sub: Submission, findings: list[Finding]) -> list[Finding]:
    """The findings less any built on a value a cell rule has already reported: at its cell, or by a rule
    that reads it. Of several value findings at one cell, the one that names the cause best is kept."""
    from bcf.validate.logic import VALUE_RULES, derived_from

    best: dict[tuple[str, str | None], Finding] = {}
    for f in findings:
        at = (f.sheet, f.cell)
        if f.rule_id in VALUE_RULES and (at not in best or VALUE_RULES.index(f.rule_id) > VALUE_RULES.index(
                best[at].rule_id)):
            best[at] = f
    reported = {n for f in best.values() if (n := sub.names.get((f.sheet, f.cell or ""))) is not None}
    out = []
    for f in findings:
        at = (f.sheet, f.cell)
        if f.rule_id in VALUE_RULES:
            if best[at] is f:
                out.append(f)
        elif at in best or derived_from(sub, f) & reported:
            continue
        else:
            out.append(f)
    return out


def check_file(path: Path | str | Snapshot, round_id: str | None = None, kind: str | None = None) -> Report:
    """Check one workbook file. Never raises for anything the file contains (a fault of the checker raises
    ``CheckerFault``)."""
    report = inspect_file(path, round_id, kind)
    try:
        return complete([report])[0]
    except Exception as e:
        raise CheckerFault(f"{type(e).__name__} while checking the cells of {report.file}") from e
