"""How cells look and what they accept: colours, number formats, named styles, data validations, protection.

Every sheet writer takes its colours and fonts from here, so the colour key printed on the Guidance sheet,
the input cells and the checklist agree. Input and calculated cells use named styles (one per role and
format), far cheaper in a large workbook than a style per cell; dropdowns, bounds, dates and email addresses
become Excel data validations with a message naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import TIME_FORMATS, Cell
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Protection, Side
from openpyxl.styles.numbers import BUILTIN_FORMATS_REVERSE
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from bcf.spec import Field

INPUT = PatternFill("solid", fgColor="FFF2A8")
CALC = PatternFill("solid", fgColor="D9D9D9")
HEADER = PatternFill("solid", fgColor="1D3557")
RED = PatternFill("solid", fgColor="F4C7C3")
GREEN = PatternFill("solid", fgColor="C6EFCE")
THIN = Border(*(Side(style="thin", color="999999"),) * 4)
UNLOCKED = Protection(locked=False)
BOLD = Font(bold=True)
HEADER_FONT = Font(bold=True, color="FFFFFF")
LINK_FONT = Font(color="0563C1", underline="single")
NOTE_FONT = Font(italic=True, color="555555")
FORMATS = {"date": "dd/mm/yyyy", "integer": "#,##0", "number": "#,##0.0", "text": "@", "email": "@"}
MONEY_UNITS = ("£000", "£")
WRAP_WIDTH = 30  # text fields at least this wide wrap
EXCEL_EPOCH = date(1899, 12, 30)
LINE_HEIGHT = 15  # points: one line of 11 pt text


def font(size: int) -> Font:
    """A bold font of this size, for titles and headings."""
    return Font(bold=True, size=size)


@dataclass
class Styles:
    """The workbook's named styles, each registered the first time a cell uses it."""

    wb: Workbook
    names: set[str] = field(default_factory=set)

    def name(self, role: str, f: Field) -> str:
        """The named style for a field's cells in a role (input, calc or fixed)."""
        fmt = "#,##0" if f.unit in MONEY_UNITS else FORMATS.get(f.type, "General")
        wrap = f.type == "text" and (f.width or 0) >= WRAP_WIDTH
        name = f"bcf {role} {fmt}{' wrap' if wrap else ''}"
        if name not in self.names:
            self.wb.add_named_style(NamedStyle(
                name, border=THIN, fill=INPUT if role == "input" else CALC, number_format=fmt,
                alignment=Alignment(wrap_text=wrap, vertical="top"),
                protection=UNLOCKED if role == "input" else Protection(locked=True)))
            self.names.add(name)
        return name


def register_time_formats(wb: Workbook) -> None:
    """Register the formats openpyxl gives a date or time as it is typed into a cell, before any is typed.

    openpyxl registers such a format in the workbook even when the cell's style then replaces it, so without this
    a workbook's styles would depend on whether a date was typed, not on the template alone.
    """
    for fmt in TIME_FORMATS.values():
        if fmt not in BUILTIN_FORMATS_REVERSE:
            wb._number_formats.add(fmt)


def style_header(cell: Cell) -> None:
    """A table heading: white bold on blue, wrapped."""
    cell.fill, cell.font, cell.border = HEADER, HEADER_FONT, THIN
    cell.alignment = Alignment(wrap_text=True, vertical="top")


def style_total(cell: Cell) -> None:
    """A table's total: bold on grey."""
    cell.fill, cell.font, cell.number_format = CALC, BOLD, FORMATS["number"]


@dataclass(frozen=True)
class Validations:
    """Builds each input's data validation: the dropdown, the bounds, the date range or the email check."""

    dropdowns: dict[str, str]  # list name -> its range on the Lists sheet
    dates: tuple[date, date]  # earliest and latest date accepted
    example_date: date

    def add(self, ws: Worksheet, f: Field, sqref: str) -> None:
        """Validate an input field's cells (``sqref``); nothing for a calculated or fixed one."""
        dv = self._rule(f, sqref) if f.is_input else None
        if dv is None:
            return
        dv.showErrorMessage, dv.errorTitle = dv.type is not None, "Check this entry"
        if f.help:
            dv.showInputMessage, dv.promptTitle, dv.prompt = True, f.label[:32], f.help[:255]
        ws.add_data_validation(dv)
        dv.add(sqref)

    def _rule(self, f: Field, sqref: str) -> DataValidation | None:
        if f.list:
            return _dv(f, "choose an option from the list.", type="list", formula1=self.dropdowns[f.list])
        if f.numeric and f.min is not None:
            whole = f.type == "integer"
            return _dv(f, f"enter a {'whole ' if whole else ''}number between {f.min:,.0f} and {f.max:,.0f}.",
                       type="whole" if whole else "decimal", operator="between", formula1=str(f.min), formula2=str(f.max))
        if f.type == "date":
            lo, hi = (str(d.toordinal() - EXCEL_EPOCH.toordinal()) for d in self.dates)
            return _dv(f, f"enter a date, for example {self.example_date:%d/%m/%Y}.",
                       type="date", operator="between", formula1=lo, formula2=hi)
        if f.type == "email":
            first = sqref.split(":")[0]
            return _dv(f, "enter an email address, for example name@council.gov.uk.",
                       type="custom", formula1=f'ISNUMBER(FIND("@",{first}))')
        if f.help:  # any value: the validation only carries the input message
            return DataValidation(allow_blank=True)
        return None


def _dv(f: Field, error: str, **rule: Any) -> DataValidation:
    dv = DataValidation(allow_blank=True, **rule)
    dv.error = f"{f.label}: {error}"
    return dv


def protect_and_page(ws: Worksheet) -> None:
    """Lock all but the input cells (no password; column widths and row heights stay adjustable); print landscape."""
    ws.protection.sheet = True
    ws.protection.formatColumns = ws.protection.formatRows = False
    print_to_width(ws, landscape=True)


def print_to_width(ws: Worksheet, landscape: bool, title_rows: str | None = None) -> None:
    """Printed on A4 as wide as the page and as long as it needs, with its heading rows on every page."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = False
    if title_rows:
        ws.print_title_rows = title_rows


def wrapped_lines(text: Any, width: float) -> int:
    """About how many lines ``text`` takes once wrapped in a column ``width`` characters wide (a little wider
    characters than Excel's own font assumed, so that a row is tall enough wherever the workbook is opened)."""
    per_line = max(int(width * 0.95) - 1, 1)
    return sum(max(1, -(-len(part) // per_line)) for part in str(text or "").split("\n"))


def fit_height(ws: Worksheet, row: int, cells: Iterable[tuple[float, Any]], size: float = 11) -> None:
    """Make a row tall enough for the wrapped text of its cells, given as (column width, text): a spreadsheet
    does not grow a row for text that a program wrote."""
    lines = max((wrapped_lines(text, width) for width, text in cells), default=1)
    if lines > 1 or size > 11:
        ws.row_dimensions[row].height = round(LINE_HEIGHT * size / 11 * lines + 3)
