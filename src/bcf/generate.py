"""Write planning workbooks from the template specification: blank templates and filled sample returns.

Every cell position, formula, dropdown, bound and checklist item comes from ``spec``. Calculated cells get
their value computed here too and stored as the formula's cached value, as a spreadsheet program would,
so a file written here reads back like one saved by Excel.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Protection, Side
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from bcf import rounds
from bcf.areas import Area
from bcf.errors import UnknownArea
from bcf.spec import CHECKLIST_SHEET, LISTS_SHEET, TAG_COLUMN, Field, Sheet, Spec, Table, col_letter, split_ref, version_line

INPUT = PatternFill("solid", fgColor="FFF2A8")
CALC = PatternFill("solid", fgColor="D9D9D9")
HEADER = PatternFill("solid", fgColor="1D3557")
RED = PatternFill("solid", fgColor="F4C7C3")
GREEN = PatternFill("solid", fgColor="C6EFCE")
THIN = Border(*(Side(style="thin", color="999999"),) * 4)
UNLOCKED = Protection(locked=False)
FORMATS = {"date": "dd/mm/yyyy", "integer": "#,##0", "number": "#,##0.0", "text": "@", "email": "@"}
EXCEL_EPOCH = date(1899, 12, 30)


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
        return self.titles.get(sheet, sheet)

    def row(self, sheet: str, row: int) -> int:
        at, n = self.inserted.get(sheet, (0, 0))
        return row + n if at and row >= at else row

    def cell(self, sheet: str, ref: str) -> str:
        col, row = split_ref(ref)
        return f"{col}{self.row(sheet, row)}"


def quote(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


class _Writer:
    """One workbook being written; also the formula resolver for ``calc`` expressions."""

    def __init__(self, spec: Spec, filled: Filled, layout: Layout):
        self.spec, self.filled, self.layout = spec, filled, layout
        self.wb = Workbook()
        self.wb.remove(self.wb.active)
        self.cached: dict[tuple[str, str], Any] = {}
        self.styles: set[str] = set()
        self.sheet = ""  # sheet being written
        self.row_ctx: tuple[Table, int] | None = None
        self.list_ranges: dict[str, str] = {}
        self.lookup_cols: dict[str, int] = {}
        self.lookup_range = ""
        self.field_sheet = {f.id: f.sheet for f in spec.fields}
        self.round = rounds.of(spec).round
        self.areas = self.round.areas

    # -- positions -------------------------------------------------------------------------
    def field_ref(self, f: Field) -> str:
        assert f.cell
        return self.layout.cell(f.sheet, f.cell)

    def table_rows(self, t: Table) -> range:
        first = self.layout.row(t.sheet, t.header_row + 1)
        return range(first, first + t.max_rows)

    def end_row(self, t: Table) -> int:
        return self.layout.row(t.sheet, t.end_row)

    # -- calc.Resolver ---------------------------------------------------------------------
    def ref(self, name: str) -> str:
        if self.row_ctx and any(c.id == name for c in self.row_ctx[0].columns):
            return f"{self.row_ctx[0].letter(name)}{self.row_ctx[1]}"
        f = self.spec.field(name)
        prefix = "" if f.sheet == self.sheet else quote(self.layout.title(f.sheet)) + "!"
        return prefix + self.field_ref(f)

    def column_range(self, table: str, column: str) -> str:
        t = self.spec.table(table)
        rows, col = self.table_rows(t), t.letter(column)
        prefix = "" if t.sheet == self.sheet else quote(self.layout.title(t.sheet)) + "!"
        return f"{prefix}${col}${rows[0]}:${col}${rows[-1]}"

    def lookup(self, key_ref: str, column: str) -> str:
        return f"VLOOKUP({key_ref},{self.lookup_range},{self.lookup_cols[column]},FALSE)"

    # -- values ----------------------------------------------------------------------------
    def value_of(self, name: str, row: dict[str, Any] | None = None) -> Any:
        """An input or calculated value, as the workbook would compute it."""
        if row is not None and self.row_ctx and any(c.id == name for c in self.row_ctx[0].columns):
            col = self.row_ctx[0].column(name)
            return col.calc.evaluate(lambda n: self.value_of(n, row)) if col.calc else row.get(name)
        if "." in name:
            t, c = name.split(".")
            return [r.get(c) for r in self.filled.tables.get(t, []) if r]
        f = self.spec.field(name)
        if f.calc:
            return f.calc.evaluate(self.value_of, self._lookup)
        return self.filled.fields.get(name)

    def _lookup(self, key: Any, column: str) -> Any:
        a = self.areas.find(key)
        return a.get(column) if a else None

    # -- writing ---------------------------------------------------------------------------
    def build(self) -> Workbook:
        self._lists_sheet()
        for s in self.spec.sheets:
            self.sheet = s.name
            if not self.layout.title(s.name):
                continue
            ws = self.wb.create_sheet(self.layout.title(s.name))
            if s.guidance:
                self._guidance(ws)
                continue
            self._data_sheet(ws, s)
        self._checklist()
        lists = self.wb[LISTS_SHEET]
        self.wb.move_sheet(lists, offset=len(self.wb.sheetnames))
        lists.sheet_state = "veryHidden"
        lists.protection.sheet = True
        self.wb.calculation.fullCalcOnLoad = True
        return self.wb

    def _style(self, role: str, f: Field) -> str:
        """A named style per (input/calc/fixed, format): assigning a name is far cheaper than per-cell styles."""
        fmt = "#,##0" if f.unit in ("£000", "£") else FORMATS.get(f.type, "General")
        wrap = f.type == "text" and (f.width or 0) >= 30
        name = f"bcf {role} {fmt}{' wrap' if wrap else ''}"
        if name not in self.styles:
            st = NamedStyle(name, border=THIN, fill=INPUT if role == "input" else CALC, number_format=fmt,
                            alignment=Alignment(wrap_text=wrap, vertical="top"),
                            protection=UNLOCKED if role == "input" else Protection(locked=True))
            self.wb.add_named_style(st)
            self.styles.add(name)
        return name

    def _put(self, ws: Worksheet, ref: str, f: Field, value: Any, formula_ctx: tuple[Table, int] | None = None) -> None:
        c = ws[ref]
        over: tuple[str, int | None] = (f.id, None)
        if formula_ctx:
            over = (f"{formula_ctx[0].id}.{f.id}", formula_ctx[1] - self.table_rows(formula_ctx[0])[0])
        if f.calc and over in self.filled.typed_over:
            c.value, c.style = self.filled.typed_over[over], self._style("calc", f)
        elif f.calc:
            self.row_ctx = formula_ctx
            c.value = f.calc.to_excel(self)
            self.cached[(ws.title, ref)] = value
            self.row_ctx = None
            c.style = self._style("calc", f)
        else:
            c.value, c.style = value, self._style("fixed" if f.fixed else "input", f)

    def _data_sheet(self, ws: Worksheet, s: Sheet) -> None:
        L = self.layout
        ws.column_dimensions[TAG_COLUMN].hidden = True
        ws.column_dimensions["B"].width = 48 if s.fields else 14
        ws.column_dimensions["C"].width = 34 if s.fields else 14
        for col in "DEFG" if s.fields else "":
            ws.column_dimensions[col].width = 14
        ws["B1"], ws["B1"].font = s.title, Font(bold=True, size=14)
        ws["B2"] = version_line(self.spec.version)
        ws["B2"].font = Font(italic=True, color="555555")
        rows_tagged: set[int] = set()
        for f in s.fields:
            ref = self.field_ref(f)
            col, row = split_ref(ref)
            if row not in rows_tagged:  # the row's first field names the row
                ws[f"{TAG_COLUMN}{row}"] = f.id
                rows_tagged.add(row)
            if col == "C":
                ws[f"B{row}"] = f.label + (" *" if f.required else "")
            self._put(ws, ref, f, self.value_of(f.id) if f.calc else self.filled.fields.get(f.id))
            self._validate(ws, f, ref)
        for ref, text in s.texts.items():
            ws[L.cell(s.name, ref)] = text
            ws[L.cell(s.name, ref)].font = Font(bold=True)
        for t in s.tables:
            self._table(ws, t)
        if s.tables and not s.fields:
            t = s.tables[0]
            ws.freeze_panes = f"C{self.layout.row(s.name, t.header_row) + 1}"
            ws.print_title_rows = f"{self.layout.row(s.name, t.header_row)}:{self.layout.row(s.name, t.header_row)}"
        _protect_and_page(ws)

    def _table(self, ws: Worksheet, t: Table) -> None:
        header = self.layout.row(t.sheet, t.header_row)
        ws[f"{TAG_COLUMN}{header}"] = t.start_tag
        ws[f"{TAG_COLUMN}{self.end_row(t)}"] = t.end_tag
        if t.label != self.spec.sheets[[x.name for x in self.spec.sheets].index(t.sheet)].title:
            ws[f"B{header - 1}"], ws[f"B{header - 1}"].font = t.label, Font(bold=True, size=12)
        for c in t.columns:
            cell = ws[f"{t.letter(c.id)}{header}"]
            cell.value = self.layout.headers.get((t.id, c.id), c.label + (" *" if c.required else ""))
            cell.fill, cell.font, cell.border = HEADER, Font(bold=True, color="FFFFFF"), THIN
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            ws.column_dimensions[t.letter(c.id)].width = max(c.width or 14, ws.column_dimensions[t.letter(c.id)].width or 0)
        ws.row_dimensions[header].height = 62
        rows = self.filled.tables.get(t.id, [])
        for i, r in enumerate(self.table_rows(t)):
            data = dict(t.fixed_rows[i]) if i < len(t.fixed_rows) else {}
            data.update((rows[i] or {}) if i < len(rows) else {})
            for c in t.columns:
                self.row_ctx = (t, r)
                value = self.value_of(c.id, data) if c.calc else data.get(c.id)
                self._put(ws, f"{t.letter(c.id)}{r}", c, value, (t, r))
        self.row_ctx = None
        end = self.end_row(t)
        ws[f"B{end}"], ws[f"B{end}"].font = "Total" if any(c.total for c in t.columns) else "", Font(bold=True)
        for c in t.columns:
            if c.is_input:
                self._validate(ws, c, f"{t.letter(c.id)}{self.table_rows(t)[0]}:{t.letter(c.id)}{self.table_rows(t)[-1]}")
            if c.total:
                ref = f"{t.letter(c.id)}{end}"
                ws[ref] = f"=SUM({self.column_range(t.id, c.id)})"
                ws[ref].fill, ws[ref].font, ws[ref].number_format = CALC, Font(bold=True), FORMATS["number"]
                self.cached[(ws.title, ref)] = float(sum(v for v in self.value_of(f"{t.id}.{c.id}")
                                                         if isinstance(v, (int, float))))

    def _validate(self, ws: Worksheet, f: Field, sqref: str) -> None:
        if not f.is_input:
            return
        what = f"{f.label}: "
        if f.list:
            dv = DataValidation(type="list", formula1=self.list_ranges[f.list], allow_blank=True)
            dv.error = what + "choose an option from the list."
        elif f.numeric and f.min is not None:
            dv = DataValidation(type="whole" if f.type == "integer" else "decimal", operator="between",
                                formula1=str(f.min), formula2=str(f.max), allow_blank=True)
            dv.error = what + f"enter a {'whole ' if f.type == 'integer' else ''}number between {f.min:,.0f} and {f.max:,.0f}."
        elif f.type == "date":
            checks = self.round.values()["checks"]
            lo, hi = (d.toordinal() - EXCEL_EPOCH.toordinal() for d in (checks["date_earliest"], checks["date_latest"]))
            dv = DataValidation(type="date", operator="between", formula1=str(lo), formula2=str(hi), allow_blank=True)
            dv.error = what + f"enter a date, for example {self.spec.deadline:%d/%m/%Y}."
        elif f.type == "email":
            first = sqref.split(":")[0]
            dv = DataValidation(type="custom", formula1=f'ISNUMBER(FIND("@",{first}))', allow_blank=True)
            dv.error = what + "enter an email address, for example name@council.gov.uk."
        else:
            return
        dv.showErrorMessage, dv.errorTitle = True, "Check this entry"
        if f.help:
            dv.showInputMessage, dv.prompt = True, f.help[:255]
        ws.add_data_validation(dv)
        dv.add(sqref)

    def _lists_sheet(self) -> None:
        ws = self.wb.create_sheet(LISTS_SHEET)
        for i, (tag, value) in enumerate([("template_id", self.spec.template_id), ("version", self.spec.version)], 1):
            ws[f"A{i}"], ws[f"B{i}"] = tag, value
        lists = dict(self.spec.lists)
        lists["hwb"] = tuple(a.hwb_name for a in self.areas.all)
        col = 4
        for name, values in lists.items():
            letter = col_letter(col)
            ws[f"{letter}1"] = name
            for r, v in enumerate(values, 2):
                ws[f"{letter}{r}"] = v
            self.list_ranges[name] = f"={LISTS_SHEET}!${letter}$2:${letter}${len(values) + 1}"
            col += 1
        col += 1
        lookup_columns = ["hwb_name", "ons_code", "plan_code", "region_name", "minimum_pooled_000"]
        for k, name in enumerate(lookup_columns):
            ws[f"{col_letter(col + k)}1"] = name
            for r, a in enumerate(self.areas.all, 2):
                ws[f"{col_letter(col + k)}{r}"] = a.get(name)
            self.lookup_cols[name] = k + 1
        last = len(self.areas.all) + 1
        self.lookup_range = f"{LISTS_SHEET}!${col_letter(col)}$2:${col_letter(col + len(lookup_columns) - 1)}${last}"

    def _guidance(self, ws: Worksheet) -> None:
        ws.column_dimensions[TAG_COLUMN].width = 3
        ws.column_dimensions["B"].width = 110
        lines = [
            (self.spec.title, Font(bold=True, size=16)),
            (f"Template {self.spec.template_id}, version {self.spec.version}, issued {self.spec.released:%d %B %Y}. "
             "Discard any earlier version.", Font(bold=True)),
            (f"Return the completed workbook by {self.spec.deadline:%d %B %Y}.", Font(bold=True)),
            ("", None),
            ("How to complete this workbook", Font(bold=True, size=12)),
            *((f"{i}. {step}", None) for i, step in enumerate(self.spec.how_to, 1)),
            ("", None),
            ("Colour key", Font(bold=True, size=12)),
            ("Yellow: enter your data here", None),
            ("Grey: calculated or pre-filled; these cells are locked", None),
            ("Blue: table headings", None),
        ]
        for r, (text, font) in enumerate(lines, 1):
            ws[f"B{r}"] = text
            if font:
                ws[f"B{r}"].font = font
            ws[f"B{r}"].alignment = Alignment(wrap_text=True)
        key = {"Yellow": INPUT, "Grey": CALC, "Blue": HEADER}
        for r in range(len(lines) - 2, len(lines) + 1):
            ws[f"B{r}"].fill = key[ws[f"B{r}"].value.split(":")[0]]
        ws[f"B{len(lines)}"].font = Font(color="FFFFFF")
        _protect_and_page(ws)

    def _checklist(self) -> None:
        ws = self.wb.create_sheet(CHECKLIST_SHEET)
        self.sheet = CHECKLIST_SHEET
        ws.column_dimensions[TAG_COLUMN].hidden = True
        for col, width in zip("BCDE", (18, 60, 14, 12), strict=True):
            ws.column_dimensions[col].width = width
        ws["B1"], ws["B1"].font = "Checklist", Font(bold=True, size=14)
        ws["B2"] = "Each checker turns from a red No to a green Yes when the item is filled in."
        for col, text in zip("BCDE", ("Sheet", "Item", "Cell", "Complete?"), strict=True):
            ws[f"{col}4"], ws[f"{col}4"].fill, ws[f"{col}4"].font = text, HEADER, Font(bold=True, color="FFFFFF")
        row, sheet_rows = 5, []
        for s in self.spec.data_sheets:
            if not self.layout.title(s.name):
                continue
            first = row
            for item, target, formula, ok in self._checklist_items(s):
                title = self.layout.title(s.name)
                ws[f"B{row}"], ws[f"C{row}"], ws[f"D{row}"], ws[f"E{row}"] = title, item, f"Go to {target}", formula
                ws[f"D{row}"].hyperlink = Hyperlink(ref=f"D{row}", location=f"{quote(title)}!{target}",
                                                    tooltip=f"Go to {title} {target}")
                ws[f"D{row}"].font = Font(color="0563C1", underline="single")
                self.cached[(CHECKLIST_SHEET, f"E{row}")] = "Yes" if ok else "No"
                row += 1
            if row > first:
                sheet_rows.append((s.name, first, row - 1))
        summary = row + 1
        ws[f"C{summary}"], ws[f"C{summary}"].font = "Sheet complete", Font(bold=True)
        for i, (name, a, b) in enumerate(sheet_rows, summary + 1):
            ws[f"B{i}"], ws[f"C{i}"] = self.layout.title(name), f"All items on {name}"
            ws[f"E{i}"] = f'=IF(COUNTIF(E{a}:E{b},"No")=0,"Yes","No")'
            self.cached[(CHECKLIST_SHEET, f"E{i}")] = (
                "Yes" if all(self.cached[(CHECKLIST_SHEET, f"E{r}")] == "Yes" for r in range(a, b + 1)) else "No")
        last = summary + len(sheet_rows)
        total = last + 2
        ws[f"C{total}"], ws[f"C{total}"].font = "Complete template", Font(bold=True, size=12)
        ws[f"E{total}"] = f'=IF(COUNTIF(E{summary + 1}:E{last},"No")=0,"Yes","No")'
        self.cached[(CHECKLIST_SHEET, f"E{total}")] = (
            "Yes" if all(self.cached[(CHECKLIST_SHEET, f"E{r}")] == "Yes" for r in range(summary + 1, last + 1)) else "No")
        ws["C3"], ws["C3"].font = "Complete template (all items below)", Font(bold=True, size=12)
        ws["E3"] = f"=E{total}"
        self.cached[(CHECKLIST_SHEET, "E3")] = self.cached[(CHECKLIST_SHEET, f"E{total}")]
        ws.freeze_panes = "B5"
        checks = f"E3:E{total}"
        ws.conditional_formatting.add(checks, CellIsRule(operator="equal", formula=['"No"'], fill=RED))
        ws.conditional_formatting.add(checks, CellIsRule(operator="equal", formula=['"Yes"'], fill=GREEN))
        _protect_and_page(ws)

    def _checklist_items(self, s: Sheet) -> Iterator[tuple[str, str, str, bool]]:
        """(item, cell, checker formula, filled now?) for each required item on a sheet."""
        title = quote(self.layout.title(s.name))
        for f in s.fields:
            if f.required and f.is_input:
                ref = self.field_ref(f)
                yield (f.label, ref, f'=IF(COUNTA({title}!{ref})>0,"Yes","No")',
                       self.filled.fields.get(f.id) not in (None, ""))
        for t in s.tables:
            rows = self.table_rows(t)
            for c in t.columns:
                if not (c.required and c.is_input) or not (t.fixed_rows or c == t.columns[0]):
                    continue
                rng = f"{title}!{t.letter(c.id)}{rows[0]}:{t.letter(c.id)}{rows[-1]}"
                values = [v for v in self.value_of(f"{t.id}.{c.id}") if v not in (None, "")]
                if t.fixed_rows:  # every fixed row needs an answer
                    yield (f"{t.label}: {c.label} for every row", f"{t.letter(c.id)}{rows[0]}",
                           f'=IF(COUNTA({rng})={len(t.fixed_rows)},"Yes","No")', len(values) == len(t.fixed_rows))
                else:
                    yield (f"{t.label}: at least one row", f"{t.letter(c.id)}{rows[0]}",
                           f'=IF(COUNTA({rng})>0,"Yes","No")', bool(values))


def _protect_and_page(ws: Worksheet) -> None:
    """Lock all but the input cells (no password; column widths and row heights stay adjustable); print landscape."""
    ws.protection.sheet = True
    ws.protection.formatColumns = ws.protection.formatRows = False
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


_FORMULA_CELL = re.compile(rb'<c r="([A-Z]+\d+)"([^>]*)><f>(.*?)</f><v\s*/></c>', re.S)


def _with_cached_values(xlsx: bytes, titles: list[str], cached: dict[tuple[str, str], Any]) -> bytes:
    """Store each formula's computed value in the file, as Excel does on save."""
    src, out = zipfile.ZipFile(io.BytesIO(xlsx)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            m = re.fullmatch(r"xl/worksheets/sheet(\d+)\.xml", info.filename)
            if m:
                title = titles[int(m.group(1)) - 1]

                def fill(mo: re.Match[bytes], title: str = title) -> bytes:
                    ref, attrs, formula = mo.group(1).decode(), mo.group(2), mo.group(3)
                    v = cached.get((title, ref))
                    if isinstance(v, bool) or v is None or isinstance(v, str):
                        text = "" if v is None else escape(str(v))
                        return b'<c r="%s"%s t="str"><f>%s</f><v>%s</v></c>' % (
                            ref.encode(), attrs, formula, text.encode())
                    return b'<c r="%s"%s><f>%s</f><v>%s</v></c>' % (ref.encode(), attrs, formula, repr(float(v)).encode())

                data = _FORMULA_CELL.sub(fill, data)
            dst.writestr(info, data)
    return out.getvalue()


def write_workbook(spec: Spec, path: Path | io.BytesIO, filled: Filled | None = None, layout: Layout | None = None,
                   cached_values: bool = True) -> None:
    """Write one workbook: blank when ``filled`` is None; ``cached_values=False`` mimics a never-opened file."""
    w = _Writer(spec, filled or Filled(), layout or Layout())
    wb = w.build()
    buf = io.BytesIO()
    wb.save(buf)
    data = _with_cached_values(buf.getvalue(), wb.sheetnames, w.cached) if cached_values else buf.getvalue()
    if isinstance(path, io.BytesIO):
        path.write(data)
    else:
        Path(path).write_bytes(data)


def new_template(spec: Spec, path: Path, hwb: str | None = None) -> Area | None:
    """The blank workbook, with the Cover pre-filled for one HWB when given (name or ONS code)."""
    area = rounds.of(spec).round.areas.find(hwb) if hwb else None
    if hwb and area is None:
        raise UnknownArea(f"{hwb!r} is not a Health and Wellbeing Board in the {spec.round_id} list.")
    filled = Filled(fields={"hwb_name": area.hwb_name, "lead_council": area.hwb_name} if area else {})
    write_workbook(spec, path, filled)
    return area

