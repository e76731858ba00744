"""Read a submitted workbook into a typed submission, keeping every value's sheet and cell.

Nothing here raises on a user's mistake: a missing sheet, a moved table, text in a number cell or a
formula with no saved value is recorded as a ``Problem`` and the read goes on. Tables, their columns and
single-value rows are found by their tags and by what they show (``locate``), never by fixed coordinates,
so rows or columns inserted, moved or cleared do not shift what is read; what cannot be found is recorded
as unreadable, and nothing is read from it. Every non-empty cell of a template sheet that is not read is
recorded too (``outside``), so nothing typed is lost without a word.

Values are read as the officer meant them and as the workbook shows them: a number stored as text is read
as the number (and noted, as the workbook's own sums leave it out); a drop-down option typed in another
case or spacing is read as the option (and noted); a placeholder such as "n/a" or "TBC" in a text cell is
no answer; dates follow the workbook's own date system (Windows or Mac). A calculated cell that still holds its
formula is given what its inputs give (``recalc``), whatever value the file saved for it.
"""

from __future__ import annotations

import math
import pickle
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache, cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from bcf import recalc, rounds
from bcf import spec as specs
from bcf.areas import Area
from bcf.findings import ProblemKind
from bcf.locate import LABEL_COLUMN, Problem, TablePlace, find_field_row, find_table, norm, tags
from bcf.outside import REFERENCE_COLUMNS, Found, outside_cells, template_texts
from bcf.spec import CHECKLIST_SHEET, LISTS_SHEET, Field, Spec, Table, col_letter, split_ref
from bcf.words import plural
from bcf.xlsx import MAC_EPOCH, MAX_CELL_TEXT, WINDOWS_EPOCH, Limits, RawWorkbook, SheetCells, col_number, read_cells

Row = tuple[int, dict[str, Any]]  # (sheet row, values by column id)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Problem", "Row", "Submission", "convert", "read_submission", "template_stamp", "describe"]

MAX_ROW = 400  # the template's last row is ~70; past this nothing of ours can be (cells there are still noted)
MAX_COL = 40
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T[\d:.]+)?")
_PUNCTUATION = re.compile(r"[\W_]+")


_PACKED = ("raw", "names")  # a submission's maps by cell, sent packed between processes


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
    table_rows: dict[str, list[Row]] = field(default_factory=dict)  # table id -> its rows as read
    raw: dict[tuple[str, str], Any] = field(default_factory=dict)  # (sheet, A1) -> value as typed
    problems: list[Problem] = field(default_factory=list)
    end_rows: dict[str, int] = field(default_factory=dict)  # table id -> totals row as found
    start_rows: dict[str, int] = field(default_factory=dict)  # table id -> heading row as found
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # table id -> column id -> letter as found
    totals: dict[str, Any] = field(default_factory=dict)  # "table.column" -> what its totals row shows
    names: dict[tuple[str, str], str] = field(default_factory=dict)  # (sheet, A1) -> field id or "table.column"
    unreadable: set[str] = field(default_factory=set)  # fields, tables and "table.column"s that could not be read
    as_text: set[tuple[str, int | None]] = field(default_factory=set)  # (name, row) of numbers stored as text
    formulas: set[tuple[str, str]] = field(default_factory=set)  # (sheet, A1) of the cells read that hold a formula
    uncalculated: set[tuple[str, str]] = field(default_factory=set)  # formulas whose saved value was not their result
    short_totals: dict[str, tuple[str, str, list[int]]] = field(default_factory=dict)  # "table.column" -> (Total
    # row's formula, the formula adding every row, the rows it leaves out)
    not_calculated: str | None = None  # why the workbook's formulas were saved uncalculated, when some were

    def __getstate__(self) -> dict[str, Any]:
        """Sent between processes as rows, without frames (rebuilt if asked for) or the specification, which the
        receiver loads by name. The maps by cell (``raw``, ``names``), half the cost of receiving a submission, go
        packed: only a finding at a cell needs them, so the receiver unpacks them on first use."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("tables", *_PACKED)}
        return {**state, "spec": (self.spec.round_id, self.spec.kind, self.spec.version),
                "packed": pickle.dumps(tuple(getattr(self, k) for k in _PACKED), pickle.HIGHEST_PROTOCOL)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        round_id, kind, version = state["spec"]
        self.__dict__.update(state, spec=rounds.get(round_id).ret(kind).spec(version))

    if not TYPE_CHECKING:  # hidden from the type checker, which would otherwise take any attribute as valid
        def __getattr__(self, name: str) -> Any:
            """A packed map by cell, unpacked when first asked for (attributes found the usual way never come
            here)."""
            if name in _PACKED and "packed" in self.__dict__:
                self.__dict__.update(zip(_PACKED, pickle.loads(self.__dict__.pop("packed")), strict=True))
                return self.__dict__[name]
            raise AttributeError(name)

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

    def rows(self, table: str) -> list[Row]:
        """(sheet row, values by column) for each row of a table; a blank number is NaN, blank text None."""
        return self.table_rows[table]

    @cached_property
    def tables(self) -> Mapping[str, pd.DataFrame]:
        """Each table as a frame indexed by sheet row, built when first asked for (pandas is loaded only then)."""
        from bcf.frames import Frames

        return Frames(self)

    def sheet_of(self, spec_sheet: str) -> str:
        return self.sheet_names.get(spec_sheet, spec_sheet)

    def letter(self, table: str, column: str) -> str:
        """A table column's letter as found (the template's, if the column was not found)."""
        return self.columns.get(table, {}).get(column) or self.spec.table(table).letter(column)

    def where(self, name: str, row: int | None = None) -> tuple[str, str]:
        """(sheet, A1) of a field, or of a table column at a sheet row (the totals row if row is None)."""
        if self.spec.has(name) and not row and name in self.field_cells:
            f = self.spec.field(name)
            return self.sheet_of(f.sheet), self.field_cells[name]
        table, column = name.split(".")
        t = self.spec.table(table)
        return self.sheet_of(t.sheet), f"{self.letter(table, column)}{row or self.end_rows.get(table, t.end_row)}"

    def heading(self, name: str) -> tuple[str, str]:
        """(sheet, A1) of a table column's heading."""
        table, column = name.split(".")
        t = self.spec.table(table)
        return self.sheet_of(t.sheet), f"{self.letter(table, column)}{self.start_rows.get(table, t.header_row)}"

    def found(self, name: str, row: int | None = None) -> Any:
        return self.raw.get(self.where(name, row))

    def readable(self, name: str) -> bool:
        """Whether a field, a table or a "table.column" could be read (a table: every column of it)."""
        table = name.split(".")[0]
        return name not in self.unreadable and table not in self.unreadable and not (
            "." not in name and any(u.startswith(name + ".") for u in self.unreadable))


def _to_date(v: Any, mac_dates: bool = False) -> date | None:
    if isinstance(v, float) and 1 < v < 2958466:
        return (MAC_EPOCH if mac_dates else WINDOWS_EPOCH) + timedelta(days=int(v))
    if isinstance(v, str) and _ISO_DATE.fullmatch(v.strip()):
        try:
            return datetime.fromisoformat(v.strip()).date()
        except ValueError:  # an impossible date such as 30 February: a wrong value in its cell, nothing worse
            return None
    return None


def convert(f: Field, v: Any, mac_dates: bool = False) -> tuple[Any, str | None]:
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
        d = _to_date(v, mac_dates)
        return (d, None) if d else (None, "a date")
    if isinstance(v, float):
        return (str(int(v)) if v.is_integer() else str(v)), None
    return (str(v).strip() if not isinstance(v, bool) else ("TRUE" if v else "FALSE")), None


@cache
def _options(spec: Spec, list_name: str) -> dict[str, str]:
    """A drop-down list's options by their normalised text."""
    values = ([a.hwb_name for a in rounds.of(spec).round.areas.all] if list_name == "hwb"
              else spec.lists.get(list_name, ()))
    return {norm(v): v for v in values}


@cache
def _placeholders(spec: Spec) -> frozenset[str]:
    return frozenset(norm(p) for p in rounds.of(spec).round.values()["checks"]["placeholders"])


class _Reader:
    def __init__(self, raw: RawWorkbook, spec: Spec, sub: Submission):
        self.raw, self.spec, self.sub = raw, spec, sub
        self.seen: set[tuple[int, int]] = set()  # (row, col) read on the sheet being read
        self.found: list[Found] = []

    def problem(self, *args: Any, **kw: Any) -> None:
        self.sub.problems.append(Problem(*args, **kw))

    def cell_value(self, sheet: SheetCells, r: int, col: int, f: Field, name: str, row: int | None = None,
                   letter: str = "") -> Any:
        """The typed value of the cell at row ``r``, column ``col`` (whose ``letter`` a caller may have worked out);
        ``row`` is the table row it belongs to."""
        ref = f"{letter or col_letter(col)}{r}"
        self.seen.add((r, col))
        self.sub.names[(sheet.name, ref)] = name
        c = sheet.get(r, col)
        if c is None:
            return None
        if c.formula:
            self.sub.formulas.add((sheet.name, ref))
        if c.formula and not c.cached:
            self.problem(ProblemKind.NO_CACHED_VALUE, sheet.name, ref, name=name)
            return None
        if c.clipped:
            self.problem(ProblemKind.TEXT_TOO_LONG, sheet.name, ref, c.clipped, f"{MAX_CELL_TEXT:,} characters", name)
        value = c.error if c.error else c.value
        self.sub.raw[(sheet.name, ref)] = value
        if c.error:
            if f.is_input:
                self.problem(ProblemKind.ERROR_VALUE, sheet.name, ref, value, "a value", name)
            return None
        typed, expected = convert(f, value, self.raw.mac_dates)
        if expected and f.is_input:  # a fraction where a whole number is wanted is shown whole-less, never rounded
            shown = format(value, ",") if isinstance(value, float) and not value.is_integer() else value
            self.problem(ProblemKind.WRONG_TYPE, sheet.name, ref, shown, expected, name)
        elif f.numeric and isinstance(value, str) and typed is not None:
            self.sub.as_text.add((name, row))
            if f.is_input:
                self.problem(ProblemKind.TEXT_NUMBER, sheet.name, ref, value, "a number", name)
        elif isinstance(typed, str) and f.is_input:
            return self.answer(sheet, ref, f, name, typed)
        return typed

    def answer(self, sheet: SheetCells, ref: str, f: Field, name: str, text: str) -> str | None:
        """A text input: an option of its list as the list spells it, or None for a placeholder."""
        key = norm(text)
        if f.list:
            option = _options(self.spec, f.list).get(key)
            if option is not None and option != text:
                self.problem(ProblemKind.LIST_NORMALISED, sheet.name, ref, text, option, name)
            return option if option is not None else text
        if key in _placeholders(self.spec) or _PUNCTUATION.fullmatch(key):
            self.problem(ProblemKind.PLACEHOLDER, sheet.name, ref, text, "an answer", name)
            return None
        return text

    def read_fields(self, s: specs.Sheet, sheet: SheetCells, found_tags: dict[str, int]) -> None:
        rows: dict[int, list[Field]] = {}
        for f in s.fields:
            rows.setdefault(split_ref(f.cell or "A1")[1], []).append(f)
        for spec_row, fs in rows.items():
            row, shift = find_field_row(sheet, s, fs, found_tags, spec_row)
            if row != spec_row:
                key = min(fs, key=lambda f: col_number(split_ref(f.cell or "A1")[0])).id
                self.problem(ProblemKind.FIELD_MOVED, sheet.name, f"{specs.TAG_COLUMN}{row}", key, f"row {spec_row}")
            self.seen.add((row, LABEL_COLUMN + shift))
            for f in fs:
                col = col_number(split_ref(f.cell or "A1")[0]) + shift
                self.sub.field_cells[f.id] = f"{col_letter(col)}{row}"
                self.sub.fields[f.id] = self.cell_value(sheet, row, col, f, f.id)

    def read_totals(self, t: Table, sheet: SheetCells, place: TablePlace, rows: list[int]) -> None:
        """The values the table's Total row shows, as saved, and which of them are formulas; a formula that
        leaves out some of the table's ``rows`` (a row inserted just above the Total row) is noted."""
        cols = place.columns
        for c in t.columns:
            if c.total and c.id in cols:
                ref = f"{place.letter(c.id)}{place.end}"
                self.sub.names[(sheet.name, ref)] = f"{t.id}.{c.id}"
                cell = sheet.get(place.end, cols[c.id])
                if cell is not None and cell.cached and cell.error is None:
                    self.sub.totals[f"{t.id}.{c.id}"] = cell.value
                    self.sub.raw[(sheet.name, ref)] = cell.value
                    if cell.formula:
                        self.sub.formulas.add((sheet.name, ref))
                        if short := _short_sum(cell.source, place.letter(c.id), rows):
                            self.sub.short_totals[f"{t.id}.{c.id}"] = short

    def read_table(self, t: Table, sheet: SheetCells, found_tags: dict[str, int]) -> list[Row]:
        place = find_table(sheet, t, found_tags, self.sub.problems)
        if place is None:
            self.sub.unreadable.add(t.id)
            return []
        self.found.append(Found(t, place))
        self.sub.start_rows[t.id], self.sub.end_rows[t.id] = place.start, place.end
        self.sub.columns[t.id] = {c: place.letter(c) for c in place.columns}
        self.sub.unreadable |= {f"{t.id}.{c.id}" for c in t.columns if c.id not in place.columns}
        cols = place.columns
        for r in (place.start - 1, place.start, place.end):
            self.seen |= {(r, col) for col in cols.values()}
        for col in place.lost:  # a lost column is one structure finding, not one per cell
            self.seen |= {(r, col) for r in range(place.start, place.end + 1)}
        records: list[dict[str, Any]] = []
        index: list[int] = []
        inputs = [cols[c.id] for c in t.columns if c.is_input and c.id in cols]
        read = [(c, cols[c.id], f"{t.id}.{c.id}", place.letter(c.id)) for c in t.columns if c.id in cols]
        for r in range(place.start + 1, place.end):
            here = sheet.row(r)
            if not t.fixed_rows and (not here or all(_blank(here.get(col)) for col in inputs)):
                self.seen |= {(r, col) for col in cols.values()}
                continue  # blank row (or a row of calculated cells only)
            record = dict.fromkeys(c.id for c in t.columns)
            for c, col, name, letter in read:
                record[c.id] = self.cell_value(sheet, r, col, c, name, r, letter)
            records.append(record)
            index.append(r)
        self.read_totals(t, sheet, place, index)
        if not t.fixed_rows and len(records) > t.max_rows:
            self.problem(ProblemKind.TOO_MANY_ROWS, sheet.name, f"B{index[t.max_rows]}", len(records),
                         f"at most {t.max_rows} rows")
        numeric = [c.id for c in t.columns if c.numeric]
        for record in records:
            for cid in numeric:
                if record[cid] is None:
                    record[cid] = math.nan
        return list(zip(index, records, strict=True))

    def read(self) -> None:
        unmatched = [n for n in self.raw.names if n != LISTS_SHEET]
        for s in self.spec.data_sheets:
            sheet = self.raw.sheets.get(s.name)
            if sheet is None:  # renamed? look for its tags on a sheet we have not matched
                wanted = _spec_tags(s)
                sheet = next((self.raw.sheets[n] for n in unmatched
                              if n not in self.spec_names and wanted & set(tags(self.raw.sheets[n]))), None)
                if sheet is None:
                    if not s.optional:
                        self.problem(ProblemKind.SHEET_MISSING, s.name, None, None, s.name)
                    for t in s.tables:
                        self.sub.table_rows[t.id] = []
                    for f in s.fields:
                        self.sub.fields[f.id] = None
                    self.sub.unreadable |= {f.id for f in s.fields} | {t.id for t in s.tables}
                    continue
                self.problem(ProblemKind.SHEET_RENAMED, sheet.name, None, sheet.name, s.name)
            self.sub.sheet_names[s.name] = sheet.name
            if sheet.state != "visible":
                self.problem(ProblemKind.SHEET_HIDDEN, sheet.name, None, sheet.state, "visible")
            found_tags = tags(sheet)
            self.seen, self.found = set(), []
            self.read_fields(s, sheet, found_tags)
            for t in s.tables:
                self.sub.table_rows[t.id] = self.read_table(t, sheet, found_tags)
            if all(t.id not in self.sub.unreadable for t in s.tables):  # else where its rows end is unknown
                self.sub.problems += outside_cells(sheet, self.seen, template_texts(self.spec, s.name), self.found)
            self.under_merges(sheet)
        self.read_the_rest()

    def under_merges(self, sheet: SheetCells) -> None:
        """Cells read that lie hidden under merged cells (a spreadsheet shows only a merge's first cell, and
        LibreOffice keeps what the others held): one problem a merge, at its first such cell that holds a value."""
        for span in sheet.merged:
            first, _, last = span.partition(":")
            (c0, r0), (c1, r1) = split_ref(first), split_ref(last or first)
            left, right = col_number(c0), col_number(c1)
            hidden = [(r, c) for r in range(r0, r1 + 1) for c in range(left, right + 1)
                      if (r, c) != (r0, left) and (r, c) in self.seen and not _blank(sheet.get(r, c))]
            if hidden:
                r, c = hidden[0]
                ref = f"{col_letter(c)}{r}"
                more = len(hidden) - 1
                also = f"as {'is' if more == 1 else 'are'} {plural(more, 'more cell')} of it" if more else ""
                self.problem(ProblemKind.MERGED_HIDDEN, sheet.name, ref, self.sub.raw.get((sheet.name, ref)), span,
                             also=also)

    def read_the_rest(self) -> None:
        """What is typed where nothing is read: on the reference sheets, and on sheets the template does not have."""
        for name, columns in REFERENCE_COLUMNS.items():
            if name in self.raw.sheets:
                self.sub.problems += outside_cells(self.raw.sheets[name], set(), frozenset(), [], columns)
        ours = self.spec_names | set(self.sub.sheet_names.values()) | {LISTS_SHEET, CHECKLIST_SHEET}
        for name in self.raw.names:
            if name not in ours and name in self.raw.sheets:
                self.extra_sheet(self.raw.sheets[name])

    def extra_sheet(self, sheet: SheetCells) -> None:
        """A sheet the template does not have: nothing on it is read, so what is typed on it is named."""
        filled = sorted(at for at, c in (*sheet.cells.items(), *sheet.beyond.items()) if not _blank(c))
        if not filled:
            return
        first = f"{col_letter(filled[0][1])}{filled[0][0]}"
        rows, cols = [r for r, _ in filled], [c for _, c in filled]
        span = f"{col_letter(min(cols))}{min(rows)} to {col_letter(max(cols))}{max(rows)}"
        found = f"its one filled cell ({first})" if len(filled) == 1 else f"its {len(filled):,} filled cells ({span})"
        self.problem(ProblemKind.EXTRA_SHEET, sheet.name, first, found, "")

    @property
    def spec_names(self) -> set[str]:
        return {s.name for s in self.spec.sheets}


_SUM = re.compile(r"\s*=?\s*SUM\(\s*\$?([A-Z]{1,3})\$?(\d+)\s*:\s*\$?([A-Z]{1,3})\$?(\d+)\s*\)\s*", re.I)


def _short_sum(formula: str, letter: str, rows: list[int]) -> tuple[str, str, list[int]] | None:
    """(the formula, the one that adds every row, the rows it leaves out) when a Total row's formula is a SUM
    down its own column that leaves out rows of the table; else None (any other formula is not judged)."""
    m = _SUM.fullmatch(formula)
    if not m or not rows or {m[1].upper(), m[3].upper()} != {letter}:
        return None
    low, high = sorted((int(m[2]), int(m[4])))
    out = [r for r in rows if not low <= r <= high]
    whole = f"SUM({letter}{min(low, rows[0])}:{letter}{max(high, rows[-1])})"
    return (formula.strip(), whole, out) if out else None


def _blank(c: Any) -> bool:
    return c is None or (not c.formula and c.error is None and (c.value is None or (isinstance(c.value, str)
                                                                                     and not c.value.strip())))


def _spec_tags(s: specs.Sheet) -> set[str]:
    return {f.id for f in s.fields} | {t.start_tag for t in s.tables}


def template_stamp(raw: RawWorkbook) -> tuple[str | None, str | None]:
    """The template id and version written on the hidden lists sheet, if there is one."""
    sheet = raw.sheets.get(LISTS_SHEET)
    if sheet is None:
        return None, None
    values = {str(c.value): sheet.get(r, 2) for (r, col), c in sheet.cells.items() if col == 1}
    tid, ver = values.get("template_id"), values.get("version")
    return (str(tid.value) if tid else None,
            (str(ver.value) if not isinstance(ver.value, float) else f"{ver.value:.1f}") if ver else None)


RECOGNISED_SHARE = 0.5  # of a template's titles, labels and headings a workbook must show to be taken for it


def recognised(raw: RawWorkbook) -> Spec | None:
    """For a workbook without its template stamp (the hidden lists sheet deleted or replaced): the known template
    and version whose titles, labels and headings it shows most of, if it shows at least half of them. Labels
    carry the year, so a round's template is told from the next round's; the current version wins a tie."""
    shown = {norm(c.value) for sheet in raw.sheets.values() for c in sheet.cells.values() if isinstance(c.value, str)}
    best, share = None, RECOGNISED_SHARE
    for rnd in rounds.all_rounds().values():
        for ret in rnd.returns.values():
            for version in ret.versions():
                spec = ret.spec(version)
                texts = _all_texts(spec)
                if texts and len(texts & shown) / len(texts) > share:
                    best, share = spec, len(texts & shown) / len(texts)
    return best


@cache
def _all_texts(spec: Spec) -> frozenset[str]:
    return frozenset().union(*(template_texts(spec, s.name) for s in spec.data_sheets))


def _limits(sheet: str) -> Limits:
    """What to read of a sheet: the hidden lists sheet's stamp only; of every other sheet, as far as ours can go."""
    return Limits(2, 2, beyond=False) if sheet == LISTS_SHEET else Limits(MAX_ROW, MAX_COL)


def read_submission(source: str | Path | IO[bytes], raw: RawWorkbook | None = None,
                    expect: rounds.Return | None = None, name: str | None = None) -> Submission:
    """Read a workbook (path or open binary file) with the specification of the return and version it declares.

    A workbook that is not a known template is read with ``expect``, or else as the template it shows most of
    (``recognised``; failing that, the latest round's plan), so that the gate can say what it should have been.
    """
    raw = raw or read_cells(source if not isinstance(source, Path) else str(source), _limits)
    template_id, version = template_stamp(raw)
    own = rounds.for_template(template_id)
    if own is not None or expect is not None:
        ret = own or expect
        spec = ret.spec(version) if version in ret.versions() else ret.spec()  # type: ignore[union-attr]
    else:
        spec = recognised(raw) or rounds.latest().ret("plan").spec()
    sub = Submission(path=name or str(getattr(source, "name", source)), spec=spec, template_id=template_id,
                     version=version, sheets_found=raw.names, sheet_names={})
    if raw.too_large:  # reading stopped part way: the gate reports it and checks nothing else
        big = raw.too_large
        sub.problems.append(Problem(ProblemKind.TOO_LARGE, big.sheet, None, big.found, big.expected))
    if template_id is None:
        sub.problems.append(Problem(ProblemKind.NOT_TEMPLATE, raw.names[0] if raw.names else "", None, None,
                                    f"the {spec.title}"))
    _Reader(raw, spec, sub).read()
    recalc.settle(sub, raw)
    return sub


def describe(sub: Submission) -> dict[str, Any]:
    """A one-line account of what was read from a workbook, for people and for JSON."""
    return {
        "file": Path(sub.path).name,
        "hwb": sub.fields.get("hwb_name"),
        "template": f"{sub.template_id} v{sub.version}" if sub.template_id else "not the template",
        "rows": {t: len(rows) for t, rows in sub.table_rows.items()},
        "total_pooled_000": (sum(a for _, v in sub.rows("funding") if (a := v["amount_this_year"]) == a)
                             if "funding" in sub.table_rows else None),
        "problems": len(sub.problems),
    }
