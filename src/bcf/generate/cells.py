"""Where each cell lands and what it holds, before anything is written.

A submitter's workbook may have rows inserted or sheets renamed (``Layout``) and holds what they typed
(``Filled``). From those two and the specification this module answers the two questions every sheet writer
asks of a cell: which Excel reference a ``calc`` expression should use for it (``Formulas``, the
``calc.Resolver``) and what value the workbook will compute there (``Values``), so the formula and its cached
value are worked out from one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bcf.areas import Areas
from bcf.spec import Field, Spec, Table, split_ref

Row = dict[str, Any]
TableRow = tuple[Table, int]  # a table and the worksheet row being written
Cached = dict[tuple[str, str], Any]  # (sheet title, A1) -> the value its formula computes, stored in the file


@dataclass
class Filled:
    """What a submitter typed: single values by field id and table rows (``None`` = a blank row)."""

    fields: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Any] | None]] = field(default_factory=dict)
    typed_over: dict[tuple[str, int | None], Any] = field(default_factory=dict)  # calc cells typed over

    def table_cell(self, spec: Spec, layout: Layout, table: str, index: int, column: str) -> tuple[str, str]:
        """(sheet title, A1) of a table row's cell, as written with this layout."""
        t = spec.table(table)
        return layout.title(t.sheet), f"{t.letter(column)}{layout.row(t.sheet, t.header_row + 1 + index)}"


@dataclass
class Layout:
    """Where things land: sheet titles and rows inserted by the submitter (as Excel shifts them)."""

    titles: dict[str, str] = field(default_factory=dict)  # "" drops the sheet
    inserted: dict[str, tuple[int, int]] = field(default_factory=dict)  # sheet -> (at row, how many)
    headers: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, column) -> heading typed over

    def title(self, sheet: str) -> str:
        """The sheet's title in the workbook ("" when the sheet is dropped)."""
        return self.titles.get(sheet, sheet)

    def row(self, sheet: str, row: int) -> int:
        """Where a row of the specification lands once the inserted rows push it down."""
        at, n = self.inserted.get(sheet, (0, 0))
        return row + n if at and row >= at else row

    def cell(self, sheet: str, ref: str) -> str:
        """Where a cell of the specification lands."""
        col, row = split_ref(ref)
        return f"{col}{self.row(sheet, row)}"

    def field_ref(self, f: Field) -> str:
        """Where a single-value field lands."""
        assert f.cell
        return self.cell(f.sheet, f.cell)

    def table_rows(self, t: Table) -> range:
        """The worksheet rows of a table's data rows."""
        first = self.row(t.sheet, t.header_row + 1)
        return range(first, first + t.max_rows)

    def end_row(self, t: Table) -> int:
        """The worksheet row of a table's totals row."""
        return self.row(t.sheet, t.end_row)


def quote(title: str) -> str:
    """A sheet title quoted for use in a formula."""
    return "'" + title.replace("'", "''") + "'"


@dataclass(frozen=True)
class Formulas:
    """The ``calc.Resolver``: Excel references as seen from the sheet (and table row) a formula is written on."""

    spec: Spec
    layout: Layout
    lookup_range: str  # the area table on the Lists sheet
    lookup_columns: Mapping[str, int]  # its column numbers, for VLOOKUP
    sheet: str = ""
    row: TableRow | None = None

    def at(self, sheet: str, row: TableRow | None = None) -> Formulas:
        """The resolver for a formula on this sheet (and table row)."""
        return replace(self, sheet=sheet, row=row)

    def ref(self, name: str) -> str:
        """A field, or a column of the current table row, as a cell reference."""
        if self.row and any(c.id == name for c in self.row[0].columns):
            return f"{self.row[0].letter(name)}{self.row[1]}"
        f = self.spec.field(name)
        return self._prefix(f.sheet) + self.layout.field_ref(f)

    def column_range(self, table: str, column: str) -> str:
        """A table column's data rows as an absolute range."""
        t = self.spec.table(table)
        rows, col = self.layout.table_rows(t), t.letter(column)
        return f"{self._prefix(t.sheet)}${col}${rows[0]}:${col}${rows[-1]}"

    def lookup(self, key_ref: str, column: str) -> str:
        """A column of the area table, looked up by key."""
        return f"VLOOKUP({key_ref},{self.lookup_range},{self.lookup_columns[column]},FALSE)"

    def _prefix(self, sheet: str) -> str:
        return "" if sheet == self.sheet else quote(self.layout.title(sheet)) + "!"


@dataclass(frozen=True)
class Values:
    """What the workbook computes from what was typed: the cached value of each formula."""

    spec: Spec
    filled: Filled
    areas: Areas

    def of(self, name: str) -> Any:
        """A field's value (typed or calculated), or a table column's typed values (``table.column``)."""
        if "." in name:
            t, c = name.split(".")
            return [r.get(c) for r in self.filled.tables.get(t, []) if r]
        f = self.spec.field(name)
        if f.calc:
            return f.calc.evaluate(self.of, self._lookup)
        return self.filled.fields.get(name)

    def in_row(self, t: Table, row: Row, name: str) -> Any:
        """A value as seen from a table row: the row's own columns first, then fields."""
        col = next((c for c in t.columns if c.id == name), None)
        return self.of(name) if col is None else self.in_column(t, row, col)

    def in_column(self, t: Table, row: Row, col: Field) -> Any:
        """A table row's value in one of its columns: typed, or calculated from the row."""
        return col.calc.evaluate(lambda n: self.in_row(t, row, n)) if col.calc else row.get(col.id)

    def _lookup(self, key: Any, column: str) -> Any:
        a = self.areas.find(key)
        return a.get(column) if a else None
