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

import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from bcf import rounds
from bcf.findings import PROBLEM_RULES, Finding, ProblemKind, finding
from bcf.frames import frame
from bcf.read import Row, Submission
from bcf.spec import Field, Spec, Table

FIELDS = "fields"
EMAIL = r"^[^@\s:]+@[^@\s]+\.[^@\s]+$"  # no colon before the @: "mailto:" is a link's, not an address's
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


def prepare(specs: Iterable[Spec]) -> None:
    """Make the schemas of these template versions, and have pandera load its backends for frames, so that the
    first validation loads nothing."""
    for spec in specs:
        for schema in schemas(spec).values():
            schema.get_backend(check_type=pd.DataFrame)


def failures(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """pandera's failure cases for one frame, as records (none when it passes)."""
    try:
        schema.validate(frame, lazy=True, inplace=True)  # the frame is made for this call alone: no copy of it
    except pa.errors.SchemaErrors as e:
        cases: list[dict[str, Any]] = e.failure_cases.to_dict("records")
        return cases
    return []


def _bounds(spec: Spec, f: Field) -> str:
    if f.type == "date":
        p = _checks_params(spec)
        return f"{p['date_earliest']:%d/%m/%Y} to {p['date_latest']:%d/%m/%Y}"
    return f"{f.min:,.0f} to {f.max:,.0f}"


def _finding(sub: Submission, ref: str, rule_id: str, sheet: str, cell: str, value: Any) -> Finding:
    """A cell rule's finding, with the value or the kind of value the cell would accept."""
    f = field_of(sub.spec, ref)
    expected: Any = None
    likely = ""
    if rule_id == "BCF-CELL-003" or rule_id == "BCF-CELL-009":
        expected = _bounds(sub.spec, f)
    elif rule_id == "BCF-CELL-004":
        expected = ", ".join(sub.spec.lists.get(f.list or "", ()))
    elif rule_id == "BCF-CELL-001":
        expected = wanted(sub.spec, f)
    elif rule_id == "BCF-CELL-005":
        expected = unused_id([v.get(f.id) for _, v in sub.rows(ref.split(".")[0])]) or "one that no other row has"
    elif rule_id == "BCF-CELL-006":
        expected, likely = "an address such as name@council.gov.uk", email_problem(str(value))
    found = sub.raw.get((sheet, cell), value)
    return finding(rule_id, sheet, cell, found=found, expected=expected, label=f.label, likely=likely)


def wanted(spec: Spec, f: Field) -> str:
    """The kind of value a cell needs, as an officer would say it."""
    if f.list and f.list != "hwb":
        return "one of: " + ", ".join(spec.lists.get(f.list, ()))
    kinds = {"email": "an email address", "date": "a date", "integer": "a whole number"}
    kind = kinds.get(f.type) or ("an amount in £000" if f.unit == "£000" else "a number" if f.numeric else "an answer")
    return f"{kind}, for example {f.example}" if f.example else kind


def unused_id(ids: list[Any]) -> str | None:
    """The next ID not used yet in a column of IDs such as R01, R02: R01 … R07 gives R08."""
    parts = [m for v in ids if isinstance(v, str) and (m := re.fullmatch(r"([A-Za-z]*)(\d+)", v.strip()))]
    if not parts:
        return None
    prefix, digits = parts[0][1], parts[0][2]
    return f"{prefix}{max(int(m[2]) for m in parts if m[1] == prefix) + 1:0{len(digits)}d}"


def email_problem(text: str) -> str:
    """What is wrong with a typed email address, when it can be said."""
    if "@" not in text:
        return "It has no @."
    if text.strip().lower().startswith("mailto:"):
        return 'It starts with "mailto:", which belongs to a link: enter the address alone.'
    if re.search(r"\s", text.strip()):
        return "It has a space in it."
    if ":" in text.split("@")[0]:
        return "The part before the @ has a colon in it."
    if text.count("@") > 1:
        return "It has more than one @."
    return "The part after the @ is not a domain such as council.gov.uk."


def _frames(subs: dict[int, Submission]) -> Iterator[tuple[str, pa.DataFrameSchema, pd.DataFrame]]:
    """The frames worth validating, each with its schema: the single-value fields over the submissions of one
    template version, and each table over all the submissions whose templates define it alike (``_alike``: most
    tables are the same in every version of a template). ``row`` and ``_sub`` say whose cell each is. What is
    missing (a sheet, or a column) is one structure finding, not one per cell, so it is left blank here; an empty
    table passes every column check, so none is made of it."""
    present = {i: {s.name for s in sub.spec.data_sheets if s.name in sub.sheet_names} for i, sub in subs.items()}
    versions: dict[Spec, list[int]] = {}
    tables: dict[tuple[Any, ...], tuple[Spec, Table, list[int]]] = {}
    for i, sub in subs.items():
        versions.setdefault(sub.spec, []).append(i)
        for t in sub.spec.tables:
            tables.setdefault(_alike(sub.spec, t.id), (sub.spec, t, []))[2].append(i)
    for spec, members in versions.items():
        yield FIELDS, schemas(spec)[FIELDS], pd.DataFrame(
            [{"row": 0, **{f.id: subs[i].fields.get(f.id) for s in spec.data_sheets if s.name in present[i]
                           for f in s.fields if f.is_input}, SUB: i} for i in members],
            dtype=object)  # values as read: a blank is None
    for spec, t, members in tables.values():
        rows: list[Row] = []
        whose: list[int] = []
        kept: set[str] = set()
        every = {c.id for c in t.columns}
        for i in members:
            sub = subs[i]
            if t.sheet not in present[i] or not sub.rows(t.id):
                continue
            lost = _lost(sub, t) if sub.unreadable else {}  # most files: every column read
            kept |= every - lost.keys()
            rows += [(r, {**v, **lost}) for r, v in sub.rows(t.id)] if lost else sub.rows(t.id)
            whose += [i] * len(sub.rows(t.id))
        if rows:
            yield t.id, schemas(spec)[t.id], frame([c for c in t.columns if c.id in kept], rows,
                                                  **{SUB: whose}).reset_index()


@cache
def _alike(spec: Spec, table: str) -> tuple[Any, ...]:
    """A table as its frame and schema are made from it: its round (the dates it allows), its columns whole but for
    their calculations (only whether a column has one counts here) and the lists they draw on. Two templates' tables
    alike in all of it are checked in one frame (an attribute a column gains later counts too, unlisted)."""
    t = spec.table(table)
    columns = tuple((replace(c, calc=None), c.calc is not None) for c in t.columns)
    return spec.round_id, t.id, t.sheet, columns, tuple(spec.lists.get(c.list) for c in t.columns if c.list)


def _lost(sub: Submission, t: Table) -> dict[str, float]:
    """The table's columns the reader could not find in the file, each as a blank."""
    return dict.fromkeys((c.id for c in t.columns if not sub.readable(f"{t.id}.{c.id}")), np.nan)


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

    pandera's cost is per call, not per row, so a batch concatenates each table over all submissions, of whatever
    template version defines it alike (a ``_sub`` column says whose row it is), and maps each failure back to its
    submission and cell.
    """
    out: list[dict[tuple[str, str], Finding]] = [_type_findings(sub) for sub in subs]
    for name, schema, batch in _frames(dict(enumerate(subs))):
        whose, rows = batch[SUB].to_numpy(), batch["row"].to_numpy()  # by position, as pandera gives its cases
        for case in failures(schema, batch):
            rule_id, column = BUILTIN.get(str(case["check"]), str(case["check"])), str(case["column"])
            if rule_id.startswith(IGNORED) or column == SUB:
                continue
            who, row = int(whose[int(case["index"])]), int(rows[int(case["index"])])
            sub = subs[who]
            ref = column if name == FIELDS else f"{name}.{column}"
            if not sub.readable(ref):  # a column lost in this file, present in another of the batch: blank here
                continue
            sheet, cell = sub.where(ref, None if name == FIELDS else row)
            found = _finding(sub, ref, rule_id, sheet, cell, case["failure_case"])
            out[who].setdefault((sheet, cell), found)
    return [list(o.values()) for o in out]


READER_VALUE = (ProblemKind.WRONG_TYPE, ProblemKind.ERROR_VALUE, ProblemKind.TEXT_NUMBER, ProblemKind.LIST_NORMALISED,
                ProblemKind.PLACEHOLDER)


def _type_findings(sub: Submission) -> dict[tuple[str, str], Finding]:
    """What the reader found in values, which cannot reach a typed frame. A placeholder is reported where an
    answer is required; elsewhere it is simply no answer, and the rule that needs one says so."""
    out = {}
    for p in sub.problems:
        if p.kind in READER_VALUE and p.cell and p.name:
            f = field_of(sub.spec, p.name)
            if p.kind == ProblemKind.PLACEHOLDER and not f.required:
                continue
            known = accepted(f, p.found) if p.kind == ProblemKind.WRONG_TYPE else None
            out[(p.sheet, p.cell)] = finding(
                PROBLEM_RULES[p.kind], p.sheet, p.cell, found=p.found, expected=known[0] if known else p.expected,
                label=f.label, example=f.example or "", wanted=str(p.expected or ""), likely=known[1] if known else "")
    return out


_TYPED_NUMBER = re.compile(r"(-)?\s*£?\s*(-)?\s*(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*(k|m|%)?", re.IGNORECASE)
POUNDS_FROM = 100_000  # an amount typed with a £ sign into a £000 cell from here up is read as pounds


def accepted(f: Field, typed: Any) -> tuple[str, str] | None:
    """The value a number cell would accept, worked out from text typed with £ signs, commas, k, m or %, and a
    sentence naming the likely cause: "£2,635,000" in a £000 cell is ("2635", "This looks like pounds …")."""
    m = _TYPED_NUMBER.fullmatch(typed.strip()) if f.numeric and isinstance(typed, str) else None
    if m is None:
        return None
    sign, suffix = -1 if (m[1] or m[2]) else 1, (m[5] or "").lower()
    n = sign * float(m[3].replace(",", "") + (m[4] or "")) * {"k": 1_000, "m": 1_000_000}.get(suffix, 1)
    thousands = f.unit == "£000" and (suffix in ("k", "m") or abs(n) >= POUNDS_FROM)
    value = n / 1000 if thousands else n
    if f.type == "integer" and not value.is_integer():
        return None
    shown = f"{value:.0f}" if value.is_integer() else f"{value:g}"
    if thousands:
        return shown, f"This looks like pounds and the cell is in £000 (thousands of pounds): enter \"{shown}\"."
    return shown, f"Enter it as \"{shown}\", the number alone."
