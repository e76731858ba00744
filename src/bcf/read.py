"""Read a submitted workbook into a typed submission, keeping every value's sheet and cell.

Nothing here raises on a user's mistake: a missing sheet, a moved table, text in a number cell or a
formula with no saved value is recorded as a ``Problem`` and the read goes on. Fields and tables are
found by the tags the generator writes in the hidden column A, never by fixed coordinates, so rows
inserted above a table or blank rows inside it do not shift what is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pandas as pd

from bcf import rounds
from bcf import spec as specs
from bcf.areas import Area
from bcf.findings import ProblemKind
from bcf.spec import CHECKLIST_SHEET, LISTS_SHEET, Field, Spec, Table, split_ref
from bcf.xlsx import MAX_CELL_TEXT, RawWorkbook, SheetCells, col_number, read_cells

MAX_ROW = 400  # the template's last row is ~70; past this nothing of ours can be
MAX_COL = 40
LAST_READ = f"row {MAX_ROW} or column AN"  # column MAX_COL
_A1 = re.compile(r"[A-Z]{1,3}\d+")
_EXCEL_EPOCH = date(1899, 12, 30)
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T[\d:.]+)?")


@dataclass(frozen=True)
class Problem:
    """Something met while reading: kind, where (sheet as found in the file, A1 cell) and what was there."""

    kind: ProblemKind
    sheet: str
    cell: str | None = None
    found: Any = None
    expected: str = ""
    name: str | None = None  # the field id, or "table.column", where the problem is in a value


@dataclass
class Submission:
    """A workbook's contents, typed by the specification it was read with."""

    path: str
    spec: Spec
    template_id: str | None
    version: str | None
    sheets_found: list[str]
    sheet_names: dict[str, str]  # spec sheet -> name in the file
    fields: dict[str, Any] = field(default_factory=dict)
    field_cells: dict[str, str] = field(default_factory=dict)  # field id -> A1 as found
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # index: sheet row number
    raw: dict[tuple[str, str], Any] = field(default_factory=dict)  # (sheet, A1) -> value as typed
    problems: list[Problem] = field(default_factory=list)
    end_rows: dict[str, int] = field(default_factory=dict)  # table id -> totals row as found

    def __getstate__(self) -> dict[str, Any]:
        """Sent between processes without the specification, which the receiver loads by name."""
        return {**self.__dict__, "spec": (self.spec.round_id, self.spec.kind, self.spec.version)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        round_id, kind, version = state["spec"]
        self.__dict__.update(state, spec=rounds.get(round_id).ret(kind).spec(version))

    @property
    def ret(self) -> rounds.Return:
        """The return this workbook was read as."""
        return rounds.of(self.spec)

    @property
    def area(self) -> Area | None:
        """The HWB the Cover names, in the list of the round the workbook belongs to."""
        return self.ret.round.areas.find(self.fields.get("hwb_name"))

    @property
    def period(self) -> str | None:
        """The period a return covers (a quarter), where its template has one."""
        value = self.fields.get(self.spec.period_field) if self.spec.period_field else None
        return str(value) if value is not None else None

    def sheet_of(self, spec_sheet: str) -> str:
        return self.sheet_names.get(spec_sheet, spec_sheet)

    def where(self, name: str, row: int | None = None) -> tuple[str, str]:
        """(sheet, A1) of a field, or of a table column at a sheet row (the totals row if row is None)."""
        if self.spec.has(name) and not row and name in self.field_cells:
            f = self.spec.field(name)
            return self.sheet_of(f.sheet), self.field_cells[name]
        table, column = name.split(".")
        t = self.spec.table(table)
        return self.sheet_of(t.sheet), f"{t.letter(column)}{row or self.end_rows.get(table, t.end_row)}"

    def found(self, name: str, row: int | None = None) -> Any:
        return self.raw.get(self.where(name, row))


def _to_date(v: Any) -> date | None:
    if isinstance(v, float) and 1 < v < 2958466:
        return _EXCEL_EPOCH + timedelta(days=int(v))
    if isinstance(v, str) and _ISO_DATE.fullmatch(v.strip()):
        try:
            return datetime.fromisoformat(v.strip()).date()
        except ValueError:  # an impossible date such as 30 February: a wrong value in its cell, nothing worse
            return None
    return None


def convert(f: Field, v: Any) -> tuple[Any, str | None]:
    """The typed value of a cell for a field, and the expected type if the value is not of it."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return None, None
    if f.numeric:
        if isinstance(v, str) and _NUMBER.fullmatch(v.strip()):
            v = float(v)
        if isinstance(v, bool) or not isinstance(v, float):
            return None, "a whole number" if f.type == "integer" else "a number"
        if f.type == "integer" and not v.is_integer():
            return None, "a whole number"
        return v, None
    if f.type == "date":
        d = _to_date(v)
        return (d, None) if d else (None, "a date")
    if isinstance(v, float):
        return (str(int(v)) if v.is_integer() else str(v)), None
    return (str(v).strip() if not isinstance(v, bool) else ("TRUE" if v else "FALSE")), None


def _tags(sheet: SheetCells) -> dict[str, int]:
    tag_col = col_number(specs.TAG_COLUMN)
    return {c.value.strip(): r for (r, col), c in sheet.cells.items()
            if col == tag_col and isinstance(c.value, str) and c.value.strip()}


def _spec_tags(s: specs.Sheet) -> set[str]:
    return {f.id for f in s.fields} | {t.start_tag for t in s.tables}


class _Reader:
    def __init__(self, raw: RawWorkbook, spec: Spec, sub: Submission):
        self.raw, self.spec, self.sub = raw, spec, sub

    def problem(self, *args: Any, **kw: Any) -> None:
        self.sub.problems.append(Problem(*args, **kw))

    def cell_value(self, sheet: SheetCells, ref: str, f: Field, name: str) -> Any:
        col, row = split_ref(ref)
        c = sheet.get(row, col_number(col))
        if c is None:
            return None
        if c.formula and not c.cached:
            self.problem(ProblemKind.NO_CACHED_VALUE, sheet.name, ref, name=name)
            return None
        if c.clipped:
            self.problem(ProblemKind.TEXT_TOO_LONG, sheet.name, ref, c.clipped, f"{MAX_CELL_TEXT:,} characters", name)
        value = c.error if c.error else c.value
        self.sub.raw[(sheet.name, ref)] = value
        if c.error:
            if f.is_input:
                self.problem(ProblemKind.WRONG_TYPE, sheet.name, ref, value, f"a value, not the error {value}", name)
            return None
        typed, expected = convert(f, value)
        if expected and f.is_input:
            self.problem(ProblemKind.WRONG_TYPE, sheet.name, ref, value, expected, name)
        return typed

    def read_fields(self, s: specs.Sheet, sheet: SheetCells, tags: dict[str, int]) -> None:
        rows: dict[int, list[Field]] = {}
        for f in s.fields:
            rows.setdefault(split_ref(f.cell or "A1")[1], []).append(f)
        for spec_row, fs in rows.items():
            key = min(fs, key=lambda f: col_number(split_ref(f.cell or "A1")[0])).id
            row = tags.get(key, spec_row)
            if row != spec_row:
                self.problem(ProblemKind.FIELD_MOVED, sheet.name, f"{specs.TAG_COLUMN}{row}", key, f"row {spec_row}")
            for f in fs:
                ref = f"{split_ref(f.cell or 'A1')[0]}{row}"
                self.sub.field_cells[f.id] = ref
                self.sub.fields[f.id] = self.cell_value(sheet, ref, f, f.id)

    def read_table(self, t: Table, sheet: SheetCells, tags: dict[str, int]) -> pd.DataFrame:
        columns = [c.id for c in t.columns]
        start = tags.get(t.start_tag)
        if start is None:
            self.problem(ProblemKind.TABLE_NOT_FOUND, sheet.name, f"B{t.header_row}", None, f"the {t.label} table")
            return _frame(t, [], [])
        if start != t.header_row:
            self.problem(ProblemKind.TABLE_MOVED, sheet.name, f"B{start}", t.label, f"row {t.header_row}")
        for c in t.columns:
            h = sheet.get(start, col_number(t.letter(c.id)))
            text = str(h.value).rstrip(" *") if h and h.value is not None else ""
            if text != c.label:
                self.problem(ProblemKind.HEADER_CHANGED, sheet.name, f"{t.letter(c.id)}{start}", text, c.label)
        end = tags.get(t.end_tag, 0)
        if end <= start:  # the totals row is gone: read on to the next tag, or to the last row read
            later = [r for r in tags.values() if r > start]
            end = (start + t.max_rows + 1 if t.fixed_rows
                   else min(later) if later else max((r for r, _ in sheet.cells), default=start) + 1)
        self.sub.end_rows[t.id] = end
        records, index = [], []
        for r in range(start + 1, end):
            cells = {c.id: sheet.get(r, col_number(t.letter(c.id))) for c in t.columns}
            if not t.fixed_rows and all(cells[c.id] is None for c in t.columns if c.is_input):
                continue  # blank row (or a row of calculated cells only)
            records.append({c.id: self.cell_value(sheet, f"{t.letter(c.id)}{r}", c, f"{t.id}.{c.id}") for c in t.columns})
            index.append(r)
        if not t.fixed_rows and len(records) > t.max_rows:
            self.problem(ProblemKind.TOO_MANY_ROWS, sheet.name, f"B{index[t.max_rows]}", len(records),
                         f"at most {t.max_rows} rows")
        return _frame(t, records, index, columns)

    def read(self) -> None:
        unmatched = [n for n in self.raw.names if n != LISTS_SHEET]
        for s in self.spec.data_sheets:
            sheet = self.raw.sheets.get(s.name)
            if sheet is None:  # renamed? look for its tags on a sheet we have not matched
                wanted = _spec_tags(s)
                sheet = next((self.raw.sheets[n] for n in unmatched
                              if n not in self.spec_names and wanted & set(_tags(self.raw.sheets[n]))), None)
                if sheet is None:
                    if not s.optional:
                        self.problem(ProblemKind.SHEET_MISSING, s.name, None, None, f"a sheet called {s.name}")
                    for t in s.tables:
                        self.sub.tables[t.id] = _frame(t, [], [])
                    for f in s.fields:
                        self.sub.fields[f.id] = None
                    continue
                self.problem(ProblemKind.SHEET_RENAMED, sheet.name, None, sheet.name, s.name)
            self.sub.sheet_names[s.name] = sheet.name
            if sheet.state != "visible":
                self.problem(ProblemKind.SHEET_HIDDEN, sheet.name, None, sheet.state, "visible")
            if sheet.beyond:  # reading stopped at the last row or column read, and there is more
                cell = sheet.beyond if _A1.fullmatch(sheet.beyond) else None
                self.problem(ProblemKind.NOT_READ, sheet.name, cell, sheet.beyond, LAST_READ)
            tags = _tags(sheet)
            self.read_fields(s, sheet, tags)
            for t in s.tables:
                self.sub.tables[t.id] = self.read_table(t, sheet, tags)

    @property
    def spec_names(self) -> set[str]:
        return {s.name for s in self.spec.sheets}


def _frame(t: Table, records: list[dict[str, Any]], index: list[int], columns: list[str] | None = None) -> pd.DataFrame:
    data = {}
    for c in t.columns:
        values = [r[c.id] for r in records]
        if c.numeric:
            data[c.id] = pd.Series([float("nan") if v is None else v for v in values], dtype="float64")
        else:
            data[c.id] = pd.Series(values, dtype=object)
    df = pd.DataFrame(data, columns=columns or [c.id for c in t.columns])
    df.index = pd.Index(index, name="row", dtype="int64")
    return df


def template_stamp(raw: RawWorkbook) -> tuple[str | None, str | None]:
    """The template id and version written on the hidden lists sheet, if there is one."""
    sheet = raw.sheets.get(LISTS_SHEET)
    if sheet is None:
        return None, None
    values = {str(c.value): sheet.get(r, 2) for (r, col), c in sheet.cells.items() if col == 1}
    tid, ver = values.get("template_id"), values.get("version")
    return (str(tid.value) if tid else None,
            (str(ver.value) if not isinstance(ver.value, float) else f"{ver.value:.1f}") if ver else None)


def _limits(sheet: str) -> tuple[int, int]:
    """Rows and columns worth reading on a sheet: the lists sheet's stamp only, nothing of our own reference sheets."""
    return {LISTS_SHEET: (2, 2), "Guidance": (0, 0), CHECKLIST_SHEET: (0, 0)}.get(sheet, (MAX_ROW, MAX_COL))


def read_submission(source: str | Path | IO[bytes], raw: RawWorkbook | None = None,
                    expect: rounds.Return | None = None, name: str | None = None) -> Submission:
    """Read a workbook (path or open binary file) with the specification of the return and version it declares.

    A workbook that is not a known template is read with ``expect`` (default: the latest round's plan), so
    that the gate can say what it should have been.
    """
    raw = raw or read_cells(source if not isinstance(source, Path) else str(source), _limits)
    template_id, version = template_stamp(raw)
    ret = rounds.for_template(template_id) or expect or rounds.latest().ret("plan")
    spec = ret.spec(version) if version in ret.versions() else ret.spec()
    sub = Submission(path=name or str(getattr(source, "name", source)), spec=spec, template_id=template_id,
                     version=version, sheets_found=raw.names, sheet_names={})
    if raw.too_large:  # reading stopped part way: the gate reports it and checks nothing else
        big = raw.too_large
        sub.problems.append(Problem(ProblemKind.TOO_LARGE, big.sheet, None, big.found, big.expected))
    if template_id is None:
        sub.problems.append(Problem(ProblemKind.NOT_TEMPLATE, raw.names[0] if raw.names else "", None, None,
                                    f"the {spec.title}"))
    _Reader(raw, spec, sub).read()
    return sub



def describe(sub: Submission) -> dict[str, Any]:
    """A one-line account of what was read from a workbook, for people and for JSON."""
    return {
        "file": Path(sub.path).name,
        "hwb": sub.fields.get("hwb_name"),
        "template": f"{sub.template_id} v{sub.version}" if sub.template_id else "not the template",
        "rows": {t: len(df) for t, df in sub.tables.items()},
        "total_pooled_000": (sum(v for v in sub.tables["funding"]["amount_this_year"] if v == v)
                             if "funding" in sub.tables else None),
        "problems": len(sub.problems),
    }
