"""The data sheets: headings, single-value fields and tables, each cell with its style, validation and formula.

This is where the specification's positions become cells. What a submitter's values put in those cells is
worked out first, without a workbook (``Contents``): inputs carry what was typed; calculated cells get their
formula from ``calc`` (through ``Formulas``) and their computed value (from ``Values``) recorded as the
formula's cached value; a calculated cell the submitter typed over keeps the typed value instead. ``DataSheets``
then writes the sheets around those contents: positions, labels, styles, validations.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from openpyxl.worksheet.worksheet import Worksheet

from bcf import rounds
from bcf.generate.cells import Cached, Filled, Formulas, Layout, Row, TableRow, Values
from bcf.generate.reference import Checklist
from bcf.generate.styles import BOLD, NOTE_FONT, Styles, Validations, font, protect_and_page, style_header, style_total
from bcf.spec import TAG_COLUMN, Field, Sheet, Spec, Table, split_ref, version_line

LABEL_COLUMN, VALUE_COLUMN = "B", "C"  # a field in the value column is labelled in the label column
FIELD_SHEET_WIDTHS = {"B": 48, "C": 34, "D": 14, "E": 14, "F": 14, "G": 14}
TABLE_SHEET_WIDTHS = {"B": 14, "C": 14}
COLUMN_WIDTH = 14  # a table column without its own width
HEADER_HEIGHT = 62
Entries = dict[tuple[str, str], Any]  # (sheet title, A1) -> what a field's cell holds: a value or a formula
Slot = tuple[str, Field, TableRow | None, Row | None]  # a field's cell: A1, field, table row, that row's values


@dataclass
class Contents:
    """What the submitter's values put in the workbook: every field cell's entry and every formula's value."""

    spec: Spec
    filled: Filled
    layout: Layout
    formulas: Formulas
    values: Values
    entries: Entries = field(default_factory=dict)
    cached: Cached = field(default_factory=dict)
    formula_text: dict[tuple[str, str], str] = field(default_factory=dict)  # each calc cell's formula, once worked out

    @classmethod
    def of(cls, spec: Spec, filled: Filled, layout: Layout, formulas: Formulas,
           formula_text: dict[tuple[str, str], str] | None = None) -> Contents:
        """The contents of a workbook of this template and layout holding ``filled``; ``formula_text``: the
        formulas of another workbook of this template and layout, which are the same."""
        return cls(spec, filled, layout, formulas, Values(spec, filled, rounds.of(spec).round.areas),
                   formula_text={} if formula_text is None else formula_text).fill()

    def fill(self) -> Contents:
        """Work out every data sheet's entries and cached values, and the Checklist's answers."""
        for s in self.spec.data_sheets:
            title = self.layout.title(s.name)
            if not title:
                continue
            for ref, f, at, data in self.slots(s):
                value = self.values.in_column(at[0], data or {}, f) if at else self.values.of(f.id)
                self.entries[(title, ref)] = self._entry(title, ref, f, value, at)
            for t in s.tables:
                for c in t.columns:
                    if c.total:
                        typed = self.values.of(f"{t.id}.{c.id}")
                        self.cached[(title, f"{t.letter(c.id)}{self.layout.end_row(t)}")] = float(
                            sum(v for v in typed if isinstance(v, (int, float))))
        self.cached.update(Checklist(self.spec, self.layout, self.filled, self.values).answers())
        return self

    def slots(self, s: Sheet) -> Iterator[Slot]:
        """Every cell of a sheet that holds a field: single values first, then each table row by row."""
        yield from self.field_slots(s)
        for t in s.tables:
            yield from self.table_slots(t)

    def field_slots(self, s: Sheet) -> Iterator[Slot]:
        """The cells of a sheet's single-value fields."""
        for f in s.fields:
            yield self.layout.field_ref(f), f, None, None

    def table_slots(self, t: Table) -> Iterator[Slot]:
        """Every cell of a table's data rows: the template's fixed rows overlaid with what was typed."""
        typed = self.filled.tables.get(t.id, [])
        for i, r in enumerate(self.layout.table_rows(t)):
            data = dict(t.fixed_rows[i]) if i < len(t.fixed_rows) else {}
            data.update((typed[i] or {}) if i < len(typed) else {})
            for c in t.columns:
                yield f"{t.letter(c.id)}{r}", c, (t, r), data

    def _entry(self, title: str, ref: str, f: Field, value: Any, at: TableRow | None) -> Any:
        """One field's cell: the typed value, or the formula (its value cached), or what was typed over it."""
        if not f.calc:
            return value
        over = (f"{at[0].id}.{f.id}", at[1] - self.layout.table_rows(at[0])[0]) if at else (f.id, None)
        if over in self.filled.typed_over:
            return self.filled.typed_over[over]
        self.cached[(title, ref)] = value
        if (title, ref) not in self.formula_text:
            self.formula_text[(title, ref)] = f.calc.to_excel(self.formulas.at(f.sheet, at))
        return self.formula_text[(title, ref)]


@dataclass
class DataSheets:
    """Writes the data sheets of one workbook around their contents."""

    spec: Spec
    layout: Layout
    contents: Contents
    styles: Styles
    validations: Validations

    def write(self, ws: Worksheet, s: Sheet) -> None:
        """One data sheet: heading, fields, texts, tables; frozen below the table heading on a table-only sheet."""
        self._heading(ws, s)
        self._fields(ws, s)
        for ref, text in s.texts.items():
            ws[self.layout.cell(s.name, ref)] = text
            ws[self.layout.cell(s.name, ref)].font = BOLD
        for t in s.tables:
            self._table(ws, t, s.title)
        if s.tables and not s.fields:
            header = self.layout.row(s.name, s.tables[0].header_row)
            ws.freeze_panes = f"C{header + 1}"  # the heading rows and the first table column stay in view
            ws.print_title_rows = f"{header}:{header}"
        protect_and_page(ws)

    def _heading(self, ws: Worksheet, s: Sheet) -> None:
        ws.column_dimensions[TAG_COLUMN].hidden = True
        for col, width in (FIELD_SHEET_WIDTHS if s.fields else TABLE_SHEET_WIDTHS).items():
            ws.column_dimensions[col].width = width
        ws["B1"], ws["B1"].font = s.title, font(14)
        ws["B2"] = version_line(self.spec.version)
        ws["B2"].font = NOTE_FONT

    def _fields(self, ws: Worksheet, s: Sheet) -> None:
        """Each single-value field's label and validation, its row tagged with the id of the row's first field."""
        tagged: set[int] = set()
        for f in s.fields:
            ref = self.layout.field_ref(f)
            col, row = split_ref(ref)
            if row not in tagged:
                ws[f"{TAG_COLUMN}{row}"] = f.id
                tagged.add(row)
            if col == VALUE_COLUMN:
                ws[f"{LABEL_COLUMN}{row}"] = f.label + (" *" if f.required else "")
            self.validations.add(ws, f, ref)
        for ref, f, _, _ in self.contents.field_slots(s):
            self._put(ws, ref, f)

    def _put(self, ws: Worksheet, ref: str, f: Field) -> None:
        """One field's cell: its entry, in the style of its role (input, calc or fixed)."""
        cell = ws[ref]
        cell.value = self.contents.entries[(ws.title, ref)]
        cell.style = self.styles.name("calc" if f.calc else "fixed" if f.fixed else "input", f)

    def _table(self, ws: Worksheet, t: Table, sheet_title: str) -> None:
        """A table: start and end tags, its label (unless the sheet's title says it), headings, rows and totals."""
        header = self.layout.row(t.sheet, t.header_row)
        ws[f"{TAG_COLUMN}{header}"] = t.start_tag
        ws[f"{TAG_COLUMN}{self.layout.end_row(t)}"] = t.end_tag
        if t.label != sheet_title:
            ws[f"B{header - 1}"], ws[f"B{header - 1}"].font = t.label, font(12)
        self._table_headings(ws, t, header)
        for ref, c, _, _ in self.contents.table_slots(t):
            self._put(ws, ref, c)
        self._table_totals(ws, t)

    def _table_headings(self, ws: Worksheet, t: Table, header: int) -> None:
        for c in t.columns:
            cell = ws[f"{t.letter(c.id)}{header}"]
            cell.value = self.layout.headers.get((t.id, c.id), c.label + (" *" if c.required else ""))
            style_header(cell)
            width = ws.column_dimensions[t.letter(c.id)].width
            ws.column_dimensions[t.letter(c.id)].width = max(c.width or COLUMN_WIDTH, width or 0)
        ws.row_dimensions[header].height = HEADER_HEIGHT

    def _table_totals(self, ws: Worksheet, t: Table) -> None:
        """Validations down each input column, and the totals row."""
        end, rows = self.layout.end_row(t), self.layout.table_rows(t)
        ws[f"B{end}"], ws[f"B{end}"].font = "Total" if any(c.total for c in t.columns) else "", BOLD
        for c in t.columns:
            col = t.letter(c.id)
            self.validations.add(ws, c, f"{col}{rows[0]}:{col}{rows[-1]}")
            if c.total:
                ws[f"{col}{end}"] = f"=SUM({self.contents.formulas.at(t.sheet).column_range(t.id, c.id)})"
                style_total(ws[f"{col}{end}"])
