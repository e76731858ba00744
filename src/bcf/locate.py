"""Where the template's parts are on a submitted sheet: tables, their columns, and single-value rows.

Officers insert rows and columns, clear cells and paste tables back; the template's hidden column-A tags
may survive or not. So each part is found by what it shows as well as by its tag: a table by its tag or,
when the tags are gone, by its visible heading row; each column by its heading (case, spacing, dashes,
quotes and the required mark ignored), wherever it now stands; a single-value row by its tag or by its
label. Only where a heading really is missing is a column said to be not found; nothing is then read
from it, so no finding is built on a misread value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from bcf import spec as specs
from bcf.findings import ProblemKind
from bcf.spec import FIRST_TABLE_COLUMN, Field, Table, col_letter, split_ref
from bcf.xlsx import SheetCells, col_number

LABEL_COLUMN = 2  # single-value fields have their label in column B and their value to its right
_FOLD = str.maketrans({"–": "-", "—": "-", "−": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "\xa0": " "})


@lru_cache(maxsize=16384, typed=True)
def norm(text: Any) -> str:
    """Text as compared with the template's: case, runs of spaces, dashes, quotes and a trailing * ignored."""
    s = " ".join(str(text).translate(_FOLD).casefold().split())
    return s.removesuffix("*").rstrip()


@dataclass(frozen=True)
class Problem:
    """Something met while reading: kind, where (sheet as found in the file, A1 cell) and what was there."""

    kind: ProblemKind
    sheet: str
    cell: str | None = None
    found: Any = None
    expected: str = ""
    name: str | None = None  # the field id, or "table.column", where the problem is in a value
    also: str = ""  # more of the same around it, in words: "as are 41 more entries in B70:M81"


@dataclass
class TablePlace:
    """Where a table was found: its heading row, its totals row, and each readable column's number."""

    start: int
    end: int
    columns: dict[str, int] = field(default_factory=dict)  # column id -> column number; a lost column is absent
    lost: set[int] = field(default_factory=set)  # the columns a column not found may be in

    def letter(self, column_id: str) -> str:
        return col_letter(self.columns[column_id])


def tags(sheet: SheetCells) -> dict[str, int]:
    """Tag text -> row, for every tag in the hidden column A: its first row, where a copy of the rows (pasted
    with their hidden column) repeats it lower down; the copy is then cells the template does not read."""
    tag_col = col_number(specs.TAG_COLUMN)
    out: dict[str, int] = {}
    for (r, col), c in sheet.cells.items():
        if col == tag_col and isinstance(c.value, str) and (tag := c.value.strip()) and r < out.get(tag, r + 1):
            out[tag] = r
    return out


def _row_texts(sheet: SheetCells, row: int) -> dict[int, str]:
    return {col: norm(c.value) for col, c in sheet.row(row).items()
            if col > 1 and isinstance(c.value, str) and c.value.strip()}


def _heading_row(sheet: SheetCells, t: Table) -> int | None:
    """The row that shows most of the table's headings (at least half of them, and two), if any."""
    wanted = {norm(c.label) for c in t.columns}
    counts: dict[int, int] = {}
    for (r, col), c in sheet.cells.items():
        if col > 1 and isinstance(c.value, str) and norm(c.value) in wanted:
            counts[r] = counts.get(r, 0) + 1
    need = max(2, (len(wanted) + 1) // 2)
    best = max(counts.items(), key=lambda kv: (kv[1], -kv[0]), default=(None, 0))
    return best[0] if best[1] >= need else None


def find_table(sheet: SheetCells, t: Table, found_tags: dict[str, int], problems: list[Problem]) -> TablePlace | None:
    """Find a table by its tag or its headings, then each of its columns by heading; None if it is not there."""
    start = found_tags.get(t.start_tag) or _heading_row(sheet, t)
    if start is None:
        problems.append(Problem(ProblemKind.TABLE_NOT_FOUND, sheet.name, f"B{t.header_row}", None, t.label,
                                name=t.id))
        return None
    if start != t.header_row:
        problems.append(Problem(ProblemKind.TABLE_MOVED, sheet.name, f"B{start}", t.label, f"row {t.header_row}"))
    place = TablePlace(start, _end_row(sheet, t, start, found_tags))
    _find_columns(sheet, t, place, problems)
    return place


def _end_row(sheet: SheetCells, t: Table, start: int, found_tags: dict[str, int]) -> int:
    """The totals row, however far down: by its tag, else the first row below the heading that says Total.
    Without one, a table of fixed rows ends where the template's does, and any other is read on to the next
    tag or the last row read, so that reading never stops short without a finding (too many rows); a table
    with no totals row ends where the template's does, and anything typed below it is named as outside it."""
    last = max(sheet.rows(), default=start)
    end = found_tags.get(t.end_tag)
    if end is None and any(c.total for c in t.columns):
        end = next((r for r in range(start + 1, last + 1) if "total" in _row_texts(sheet, r).values()), None)
    if end is not None and end > start:
        return end
    if t.fixed_rows or not any(c.total for c in t.columns):  # rows below it are named as outside the table
        return start + t.max_rows + 1
    later = [r for r in found_tags.values() if r > start]
    return min(later) if later else last + 1


def _find_columns(sheet: SheetCells, t: Table, place: TablePlace, problems: list[Problem]) -> None:
    """Each column by its heading; a column whose heading is not found is the one free column between its
    found neighbours, if there is exactly one (its heading was retyped), else it is lost."""
    headings = _row_texts(sheet, place.start)
    labels = {norm(c.label): c.id for c in t.columns}
    for col, text in sorted(headings.items()):
        cid = labels.get(text)
        if cid and cid not in place.columns:
            place.columns[cid] = col
    found = dict(place.columns)
    ids = [c.id for c in t.columns]
    for i, c in enumerate(t.columns):
        if c.id in found:
            continue
        before = next((j for j in reversed(range(i)) if ids[j] in found), None)
        left = found[ids[before]] if before is not None else FIRST_TABLE_COLUMN - 1
        right = next((found[x] for x in ids[i + 1:] if x in found), None)
        free = [col for col in range(left + 1, right if right is not None else left + 2)
                if col not in place.columns.values() and headings.get(col, "") not in labels]
        if len(free) == 1:
            shown = sheet.get(place.start, free[0])
            problems.append(Problem(ProblemKind.HEADER_CHANGED, sheet.name, f"{col_letter(free[0])}{place.start}",
                                    str(shown.value).rstrip(" *") if shown and shown.value is not None else "", c.label))
            place.columns[c.id] = free[0]
            continue
        place.lost |= set(free)
        at = left + i - (before if before is not None else -1)  # where it would stand, counted from its neighbour
        if right is not None and at >= right:  # no room left for it: a column was deleted
            at = left + 1
        problems.append(Problem(ProblemKind.COLUMN_NOT_FOUND, sheet.name, f"{col_letter(at)}{place.start}",
                                _heading(sheet, place.start, at) if at in free else None, c.label,
                                name=f"{t.id}.{c.id}"))


def _heading(sheet: SheetCells, row: int, col: int) -> str | None:
    """A heading cell's text as typed, without the template's required mark."""
    cell = sheet.get(row, col)
    return str(cell.value).rstrip(" *") if cell is not None and cell.value is not None else None


def row_label(s: specs.Sheet, fs: list[Field]) -> str:
    """The label the template writes for a row of single-value fields (the sheet's own text, else the field's)."""
    col, row = split_ref(fs[0].cell or "A1")
    first = min(fs, key=lambda f: col_number(split_ref(f.cell or "A1")[0]))
    return s.texts.get(f"B{row}") or (first.label if split_ref(first.cell or "A1")[0] == "C" else "")


def find_field_row(sheet: SheetCells, s: specs.Sheet, fs: list[Field], found_tags: dict[str, int],
                   spec_row: int) -> tuple[int, int]:
    """(row, column shift) of a row of single-value fields: by its tag, else by its label, else the template's."""
    key = min(fs, key=lambda f: col_number(split_ref(f.cell or "A1")[0])).id
    label = norm(row_label(s, fs))
    row = found_tags.get(key)
    if row is None and label:
        row = next((r for (r, col), c in sorted(sheet.cells.items())
                    if col > 1 and col <= LABEL_COLUMN + 3 and isinstance(c.value, str) and norm(c.value) == label), None)
    row = row or spec_row
    shift = 0
    if label:
        at = next((col for col, text in sorted(_row_texts(sheet, row).items()) if text == label), None)
        shift = at - LABEL_COLUMN if at is not None else 0
    return row, shift
