"""Cell-level rules, derived from the template specification and run as pandera schemas.

Nothing here restates the template: required, bounds, dropdown lists, unique ids, email and date ranges
all come from ``spec``. Each table, and each sheet's single-value fields as a one-row frame, is validated
lazily; every failure case is mapped back to its rule id and, through the reader's cell map, to its A1 cell.
What the reader finds in a value (text in a number cell, a number stored as text, an option typed in
another case, a placeholder for a required answer) cannot reach a typed frame and is reported here too.
Columns the reader could not find are left out of their frames: one structure finding says so, and no
cell of theirs is reported as blank.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import pandas as pd
import pandera.pandas as pa

from bcf import rounds
from bcf.findings import PROBLEM_RULES, Finding, ProblemKind, finding
from bcf.read import Submission
from bcf.spec import Field, Spec

FIELDS = "fields"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# pandera's own names for the failures that carry no rule id of ours
BUILTIN = {"not_nullable": "BCF-CELL-001", "multiple_fields_uniqueness": "BCF-CELL-005"}
# pandera's dtype and column-presence checks: the reader guarantees both, so their failures are never findings
IGNORED = ("dtype(", "column_in_dataframe", "column_in_schema")
SUB = "_sub"


def _checks_params(spec: Spec) -> dict[str, Any]:
    return rounds.of(spec).round.values()["checks"]


def _checks(f: Field, spec: Spec) -> list[pa.Check]:
    checks = []
    if f.numeric and f.min is not None:
        checks.append(pa.Check.in_range(f.min, f.max, error="BCF-CELL-003"))
    if f.list:
        if f.list != "hwb":  # an unknown HWB is a gate finding of its own
            checks.append(pa.Check.isin(list(spec.lists[f.list]), error="BCF-CELL-004"))
    if f.type == "email":
        checks.append(pa.Check.str_matches(EMAIL, error="BCF-CELL-006"))
    if f.type == "date":
        p = _checks_params(spec)
        checks.append(pa.Check.in_range(p["date_earliest"], p["date_latest"], error="BCF-CELL-009"))
    return checks


def _column(f: Field, spec: Spec) -> pa.Column:
    return pa.Column(nullable=not f.required, checks=_checks(f, spec), required=False)


def schemas(spec: Spec) -> dict[str, pa.DataFrameSchema]:
    """One schema per table, and one ("fields") for every single-value field as a one-row frame.

    Frames carry a ``_sub`` column naming the submission, so one call can validate a whole batch;
    ids must be unique within a submission, hence uniqueness over (``_sub``, id).
    """
    return _schemas(spec)


@cache
def _schemas(spec: Spec) -> dict[str, pa.DataFrameSchema]:
    out = {}
    for t in spec.tables:
        unique = [c.id for c in t.columns if c.unique]
        out[t.id] = pa.DataFrameSchema({c.id: _column(c, spec) for c in t.columns if c.is_input}, name=t.id,
                                       unique=[SUB, *unique] if unique else None, report_duplicates="exclude_first")
    out[FIELDS] = pa.DataFrameSchema({f.id: _column(f, spec) for f in spec.fields if f.is_input}, name=FIELDS)
    return out


def failures(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """pandera's failure cases for one frame (empty when it passes)."""
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as e:
        return e.failure_cases
    return pd.DataFrame(columns=["column", "check", "failure_case", "index"])


def _bounds(spec: Spec, f: Field) -> str:
    if f.type == "date":
        p = _checks_params(spec)
        return f"{p['date_earliest']:%d/%m/%Y} to {p['date_latest']:%d/%m/%Y}"
    return f"{f.min:,.0f} to {f.max:,.0f}"


def _finding(sub: Submission, f: Field, rule_id: str, sheet: str, cell: str, value: Any) -> Finding:
    expected: Any = None
    if rule_id == "BCF-CELL-003" or rule_id == "BCF-CELL-009":
        expected = _bounds(sub.spec, f)
    elif rule_id == "BCF-CELL-004":
        expected = ", ".join(sub.spec.lists.get(f.list or "", ()))
    found = sub.raw.get((sheet, cell), value)
    return finding(rule_id, sheet, cell, found=found, expected=expected, label=f.label)


def _frames(sub: Submission) -> Iterator[tuple[str, pd.DataFrame]]:
    """The frames worth validating; a missing sheet or column is one structure finding, not one per cell."""
    present = [s for s in sub.spec.data_sheets if s.name in sub.sheet_names]
    fields = {f.id: sub.fields.get(f.id) for s in present for f in s.fields if f.is_input}
    yield FIELDS, pd.DataFrame([fields], index=pd.Index([0], name="row"))
    for t in (t for s in present for t in s.tables):
        if len(sub.tables[t.id]):  # an empty table passes every column check: skip it
            lost = [c.id for c in t.columns if not sub.readable(f"{t.id}.{c.id}")]
            yield t.id, sub.tables[t.id].drop(columns=lost)


def field_of(spec: Spec, name: str) -> Field:
    """The field or table column a name ("field_id" or "table.column") refers to."""
    if "." in name:
        table, column = name.split(".")
        return spec.table(table).column(column)
    return spec.field(name)


def cell_findings(sub: Submission) -> list[Finding]:
    """Every cell-level finding for one submission."""
    return cell_findings_many([sub])[0]


def cell_findings_many(subs: list[Submission]) -> list[list[Finding]]:
    """Cell-level findings for many submissions, one pandera call per table for the whole batch.

    pandera's cost is per call, not per row, so a batch concatenates each table over all submissions
    (a ``_sub`` column says whose row it is) and maps each failure back to its submission and cell.
    """
    out: list[dict[tuple[str, str], Finding]] = [_type_findings(sub) for sub in subs]
    by_version: dict[Spec, list[int]] = {}
    for i, sub in enumerate(subs):
        by_version.setdefault(sub.spec, []).append(i)
    for members in by_version.values():
        spec = subs[members[0]].spec
        tables = {t.id for t in spec.tables}
        parts: dict[str, list[pd.DataFrame]] = {}
        for i in members:
            for name, frame in _frames(subs[i]):
                parts.setdefault(name, []).append(frame.assign(**{SUB: i}).reset_index())
        for name, frames in parts.items():
            batch = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
            for case in failures(schemas(spec)[name], batch).to_dict("records"):
                rule_id, column = BUILTIN.get(str(case["check"]), str(case["check"])), str(case["column"])
                if rule_id.startswith(IGNORED) or column == SUB:
                    continue
                at = batch.iloc[int(case["index"])]
                who, row = int(at[SUB]), int(at["row"])
                sub = subs[who]
                ref = f"{name}.{column}" if name in tables else column
                sheet, cell = sub.where(ref, row if name in tables else None)
                found = _finding(sub, field_of(spec, ref), rule_id, sheet, cell, case["failure_case"])
                out[who].setdefault((sheet, cell), found)
    return [list(o.values()) for o in out]


READER_VALUE = (ProblemKind.WRONG_TYPE, ProblemKind.TEXT_NUMBER, ProblemKind.LIST_NORMALISED, ProblemKind.PLACEHOLDER)


def _type_findings(sub: Submission) -> dict[tuple[str, str], Finding]:
    """What the reader found in values, which cannot reach a typed frame. A placeholder is reported where an
    answer is required; elsewhere it is simply no answer, and the rule that needs one says so."""
    out = {}
    for p in sub.problems:
        if p.kind in READER_VALUE and p.cell and p.name:
            f = field_of(sub.spec, p.name)
            if p.kind == ProblemKind.PLACEHOLDER and not f.required:
                continue
            out[(p.sheet, p.cell)] = finding(PROBLEM_RULES[p.kind], p.sheet, p.cell, found=p.found, expected=p.expected,
                                             label=f.label, example=f.example or "")
    return out
