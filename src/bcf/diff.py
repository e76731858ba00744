"""What changed between two submissions of one plan: values, table rows and findings.

Table rows are matched by their key (a scheme's id, a condition's label, a contribution's organisation and
stream; see ``Table.key``), never by position, so a row inserted in the middle is one added row rather than
a shift of everything below it. Findings are matched by rule and by where they are in the plan's own terms
(the field, or the table row's key and column), so a finding on a row that moved is "still there", not
resolved and new. The same comparison works on two workbooks and on two submissions in the store.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from bcf.errors import BcfError
from bcf.findings import Finding
from bcf.read import Row, Submission
from bcf.spec import Spec, Table, split_ref

if TYPE_CHECKING:
    from bcf.validate import Report

CHANGED, ADDED, REMOVED = "changed", "added", "removed"
NEW, RESOLVED, STILL = "new", "resolved", "still there"


@dataclass(frozen=True)
class Contents:
    """What a submission holds, however it was read: its fields, its tables' rows and where cells are."""

    spec: Spec
    fields: dict[str, Any]
    tables: Mapping[str, list[Row]]
    field_cells: dict[str, str]
    sheet_names: dict[str, str]

    @classmethod
    def of(cls, sub: Submission) -> Contents:
        return cls(sub.spec, sub.fields, sub.table_rows, sub.field_cells, sub.sheet_names)

    def sheet(self, spec_sheet: str) -> str:
        return self.sheet_names.get(spec_sheet, spec_sheet)

    def rows(self, t: Table) -> dict[tuple[Any, ...], tuple[int, dict[str, Any]]]:
        """Row key -> (sheet row, values), for the rows that have a key."""
        out: dict[tuple[Any, ...], tuple[int, dict[str, Any]]] = {}
        for i, (row, values) in enumerate(self.tables.get(t.id, [])):
            key = tuple(plain(values.get(k)) for k in t.key) if t.key else (i,)
            if any(k is not None for k in key):
                out.setdefault(key, (int(row), values))
        return out

    def locate(self, sheet: str, cell: str | None) -> str | None:
        """A finding's place in the plan's own terms ("schemes[S03].spend_this_year", "total_pooled"), if known."""
        if not cell:
            return None
        for fid, ref in self.field_cells.items():
            if ref == cell and self.sheet(self.spec.field(fid).sheet) == sheet:
                return fid
        col, row = split_ref(cell)
        for t in self.spec.tables:
            if self.sheet(t.sheet) != sheet:
                continue
            column = next((c for c, letter in t.letters.items() if letter == col), None)
            key = next((k for k, (r, _) in self.rows(t).items() if r == row), None)
            if column and key:
                return f"{t.id}[{_key_text(key)}].{column}"
        return None


_PLACE = re.compile(r"^(\w+)\[(.*)\]\.(\w+)$")


def in_words(spec: Spec, location: str) -> str:
    """A stored place as a reader says it: "Halton Hospitals NHS Foundation Trust: change in income", "Total
    pooled budget", "Risks sheet, cell K4"."""
    if m := _PLACE.match(location):
        table, key, column = m.groups()
        t = next((t for t in spec.tables if t.id == table), None)
        col = next((c for c in t.columns if c.id == column), None) if t else None
        return f"{key}: {col.label[:1].lower() + col.label[1:]}" if col else f"{key}: {column}"
    if spec.has(location):
        return spec.field(location).label
    sheet, _, cell = location.partition("!")
    return f"{sheet} sheet, cell {cell}" if cell else location


@dataclass(frozen=True)
class Change:
    """One difference: a value changed, or a table row added or removed."""

    kind: str  # changed | added | removed
    sheet: str
    cell: str | None  # where it is now (where it was, for a removed row)
    what: str  # the field, or "<table label> <row key>: <column label>"
    old: Any = None
    new: Any = None


@dataclass(frozen=True)
class FindingChange:
    status: str  # new | resolved | still there
    finding: Finding


@dataclass(frozen=True)
class Diff:
    changes: tuple[Change, ...]
    findings: tuple[FindingChange, ...]

    def count(self, kind: str) -> int:
        return sum(c.kind == kind for c in self.changes)

    def findings_by(self, status: str) -> list[Finding]:
        return [f.finding for f in self.findings if f.status == status]


def plain(v: Any) -> Any:
    """A value as Python holds it: blanks (None, NaN, NaT) as None, pandas and numpy scalars unwrapped."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    if hasattr(v, "item"):
        return v.item()
    return v


def _same(a: Any, b: Any) -> bool:
    a, b = plain(a), plain(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) < 1e-9
    return bool(a == b)


def _field_changes(old: Contents, new: Contents) -> Iterable[Change]:
    for f in new.spec.fields:
        if f.is_input and f.id in old.fields and not _same(old.fields.get(f.id), new.fields.get(f.id)):
            yield Change(CHANGED, new.sheet(f.sheet), new.field_cells.get(f.id, f.cell), f.label,
                         plain(old.fields.get(f.id)), plain(new.fields.get(f.id)))


def _row_changes(t: Table, old: Contents, new: Contents) -> Iterable[Change]:
    before, after = old.rows(t), new.rows(t)
    sheet = new.sheet(t.sheet)
    first = t.columns[0]
    for key, (row, values) in after.items():
        name = f"{t.label} {_key_text(key)}"
        if key not in before:
            yield Change(ADDED, sheet, f"{t.letter(first.id)}{row}", name, None, _summary(t, values))
            continue
        was = before[key][1]
        for c in t.columns:
            if c.is_input and not _same(was.get(c.id), values.get(c.id)):
                yield Change(CHANGED, sheet, f"{t.letter(c.id)}{row}", f"{name}: {c.label}", plain(was.get(c.id)),
                             plain(values.get(c.id)))
    for key, (row, values) in before.items():
        if key not in after:
            yield Change(REMOVED, old.sheet(t.sheet), f"{t.letter(first.id)}{row}",
                         f"{t.label} {_key_text(key)}", _summary(t, values), None)


def _key_text(key: tuple[Any, ...]) -> str:
    return ", ".join(str(k) for k in key if k is not None)


def _summary(t: Table, values: dict[str, Any]) -> str:
    shown = [str(plain(values.get(c.id))) for c in t.columns if c.is_input and plain(values.get(c.id)) not in (None, "")]
    return "; ".join(shown[:4])


def _finding_key(f: Finding, where: Contents) -> tuple[str, str]:
    return f.rule_id, where.locate(f.sheet, f.cell) or f"{f.sheet}!{f.cell or ''}"


def compare(old: Contents, new: Contents, old_findings: Iterable[Finding] = (), new_findings: Iterable[Finding] = ()) -> Diff:
    """Every change from ``old`` to ``new``, and each finding labelled new, resolved or still there."""
    changes = list(_field_changes(old, new))
    for t in new.spec.tables:
        if any(x.id == t.id for x in old.spec.tables):
            changes += _row_changes(t, old, new)
    before = {_finding_key(f, old): f for f in old_findings}
    after = {_finding_key(f, new): f for f in new_findings}
    labelled = [FindingChange(STILL if k in before else NEW, f) for k, f in after.items()]
    labelled += [FindingChange(RESOLVED, f) for k, f in before.items() if k not in after]
    return Diff(tuple(changes), tuple(labelled))


def files(before: Report, after: Report) -> tuple[Diff, str | None]:
    """Two checked workbooks compared, and a warning when they are different boards' (or quarters') returns.

    Two files of different rounds or returns share too little for a comparison to mean anything: refused."""
    for r in (before, after):
        if r.submission is None:
            raise BcfError(f"{r.file} could not be read: " + "; ".join(f.message for f in r.findings))
    assert before.submission is not None and after.submission is not None
    a, b = before.submission.spec, after.submission.spec
    if (a.round_id, a.kind) != (b.round_id, b.kind):
        raise BcfError(f"{before.file} is a {a.round_id} {RETURNS.get(a.kind, a.kind)} and {after.file} is a "
                       f"{b.round_id} {RETURNS.get(b.kind, b.kind)}: bcf diff compares two files of the same round "
                       "and return.")
    warning = None
    if before.plan_code != after.plan_code:
        warning = (f"Warning: these are two different boards' returns ({before.hwb or 'unknown'} and "
                   f"{after.hwb or 'unknown'}), so most values differ for that reason alone.")
    elif before.period != after.period:
        warning = (f"Warning: these are returns for two different quarters ({before.period} and {after.period}), so "
                   "the figures are not meant to be the same.")
    return compare(Contents.of(before.submission), Contents.of(after.submission), before.findings,
                   after.findings), warning


RETURNS = {"plan": "plan", "quarterly": "quarterly return"}


def as_dict(diff: Diff) -> dict[str, Any]:
    """The diff for scripts (``bcf diff --format json``)."""
    return {"changes": [{"kind": c.kind, "sheet": c.sheet, "cell": c.cell, "what": c.what, "old": _json(c.old),
                         "new": _json(c.new)} for c in diff.changes],
            "findings": [{"status": f.status, **f.finding.as_dict()} for f in diff.findings]}


def _json(v: Any) -> Any:
    return v if v is None or isinstance(v, (str, int, float, bool)) else str(v)


def as_text(diff: Diff, old_name: str, new_name: str) -> str:
    """The diff for people: changes by sheet, then findings by status; each line of it one line on a terminal,
    whatever the submitted text holds (a line break or a direction override in a cell is shown as an escape)."""
    from bcf.findings import show
    from bcf.shown import escaped

    lines = [f"What changed from {old_name} to {new_name}",
             f"{diff.count(CHANGED)} value(s) changed, {diff.count(ADDED)} row(s) added, {diff.count(REMOVED)} row(s) removed.",
             ""]
    for sheet in dict.fromkeys(c.sheet for c in diff.changes):
        lines.append(sheet)
        for c in (c for c in diff.changes if c.sheet == sheet):
            detail = {CHANGED: f"{show(c.old) or '(blank)'} → {show(c.new) or '(blank)'}", ADDED: show(c.new),
                      REMOVED: show(c.old)}[c.kind]
            lines.append(f"  {c.kind:<8} {c.cell or '-':<6} {c.what}: {detail}")
        lines.append("")
    for status in (RESOLVED, NEW, STILL):
        found = diff.findings_by(status)
        if found:
            lines.append(f"Findings {status} ({len(found)})")
            lines += [f"  {f.rule_id:<14} {f.sheet} {f.cell or ''}  {f.message}" for f in found]
            lines.append("")
    return "\n".join(escaped(line) for line in lines).rstrip()


NEL = "Fewer NEL admissions"
BRIDGE = ("benefits removed", "benefits added", "unit cost changed", "admissions claimed changed", "other savings changed")


def bridge(old: Contents, new: Contents, weights: dict[str, float]) -> dict[str, float]:
    """How a plan's claimed savings (£000) moved between two submissions, by reason; and how the part backed by
    evidence moved because evidence ratings changed ("better evidence")."""
    t = new.spec.table("benefits")
    before, after = old.rows(t), new.rows(t)
    out = dict.fromkeys(BRIDGE, 0.0)
    out["better evidence"] = 0.0

    def num(v: Any) -> float:
        v = plain(v)
        return float(v) if isinstance(v, (int, float)) else 0.0

    def weight(b: dict[str, Any]) -> float:
        return weights.get(str(b.get("confidence")), 0.0) if plain(b.get("evidence")) else 0.0

    for key, (_, b) in before.items():
        if key not in after:
            out["benefits removed"] -= num(b.get("planned_saving"))
    for key, (_, b) in after.items():
        if key not in before:
            out["benefits added"] += num(b.get("planned_saving"))
            continue
        a = before[key][1]
        change = num(b.get("planned_saving")) - num(a.get("planned_saving"))
        if b.get("benefit_type") == NEL and a.get("benefit_type") == NEL:
            admissions_old, admissions_new = -num(a.get("planned_change")), -num(b.get("planned_change"))
            cost = (num(b.get("unit_cost")) - num(a.get("unit_cost"))) * admissions_old / 1000
            volume = (admissions_new - admissions_old) * num(b.get("unit_cost")) / 1000
            out["unit cost changed"] += cost
            out["admissions claimed changed"] += volume
            out["other savings changed"] += change - cost - volume
        else:
            out["other savings changed"] += change
        out["better evidence"] += num(b.get("planned_saving")) * (weight(b) - weight(a))
    return out
