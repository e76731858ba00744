"""The sheets around the data sheets: the hidden Lists sheet, the Guidance sheet and the Checklist.

None of them holds what a submitter types. Lists stamps the template id and version and keeps the options
behind every dropdown and the area table that formulas look up; Guidance says how to fill in the workbook;
the Checklist has one live Yes/No checker per required item, linked to its cell, and rolls them up per sheet
and for the whole template. Their wording and geometry are the constants below.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from openpyxl import Workbook
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from bcf.areas import Areas
from bcf.generate.cells import Cached, Filled, Layout, Values, quote
from bcf.generate.styles import BOLD, CALC, GREEN, HEADER, HEADER_FONT, INPUT, LINK_FONT, RED, fit_height, font, protect_and_page
from bcf.spec import CHECKLIST_SHEET, LISTS_SHEET, TAG_COLUMN, Sheet, Spec, col_letter

FIRST_LIST_COLUMN = 4  # D: A and B hold the stamp
LOOKUP_COLUMNS = ("hwb_name", "ons_code", "plan_code", "region_name", "minimum_pooled_000")
COLOUR_KEY: tuple[tuple[str, PatternFill, Font | None], ...] = (
    ("Yellow: enter your data here", INPUT, None),
    ("Grey: calculated or pre-filled; these cells are locked", CALC, None),
    ("Blue: table headings", HEADER, Font(color="FFFFFF")),
)
CHECKLIST_COLUMNS = (("B", "Sheet", 18), ("C", "Item", 60), ("D", "Cell", 14), ("E", "Complete?", 12))
CHECKLIST_HEADER_ROW = 4
TOTAL_ROW = 3  # the overall result, repeated at the top
GUIDANCE_WIDTH = 100  # the Guidance sheet's text column, in characters: a landscape page wide


@dataclass(frozen=True)
class Lists:
    """Where the Lists sheet keeps things: each dropdown's range and the area lookup table."""

    dropdowns: dict[str, str]  # list name -> "=Lists!$D$2:$D$5", as a validation's formula
    lookup_range: str
    lookup_columns: dict[str, int]  # column name -> its number within lookup_range


def write_lists(wb: Workbook, spec: Spec, areas: Areas) -> Lists:
    """The Lists sheet: the stamp, one column per dropdown list (HWBs included), then the area table."""
    ws = wb.create_sheet(LISTS_SHEET)
    for r, (tag, value) in enumerate([("template_id", spec.template_id), ("version", spec.version)], 1):
        ws[f"A{r}"], ws[f"B{r}"] = tag, value
    options = {**spec.lists, "hwb": tuple(a.hwb_name for a in areas.all)}
    dropdowns = {name: "=" + _column(ws, FIRST_LIST_COLUMN + i, name, values)
                 for i, (name, values) in enumerate(options.items())}
    first = FIRST_LIST_COLUMN + len(options) + 1  # one empty column between
    for k, name in enumerate(LOOKUP_COLUMNS):
        _column(ws, first + k, name, [a.get(name) for a in areas.all])
    last = f"{col_letter(first + len(LOOKUP_COLUMNS) - 1)}${len(areas.all) + 1}"
    return Lists(dropdowns, f"{LISTS_SHEET}!${col_letter(first)}$2:${last}",
                 {name: k for k, name in enumerate(LOOKUP_COLUMNS, 1)})


def _column(ws: Worksheet, col: int, heading: str, values: Sequence[Any]) -> str:
    """Write a heading and its values down one column; the values' range."""
    letter = col_letter(col)
    ws[f"{letter}1"] = heading
    for r, v in enumerate(values, 2):
        ws[f"{letter}{r}"] = v
    return f"{LISTS_SHEET}!${letter}$2:${letter}${len(values) + 1}"


def hide_lists(wb: Workbook) -> None:
    """Move the Lists sheet last, very hidden and protected."""
    lists = wb[LISTS_SHEET]
    wb.move_sheet(lists, offset=len(wb.sheetnames))
    lists.sheet_state = "veryHidden"
    lists.protection.sheet = True


def write_guidance(ws: Worksheet, spec: Spec) -> None:
    """The Guidance sheet: the template's title, version, deadline, the steps and the colour key."""
    ws.column_dimensions[TAG_COLUMN].width = 3
    ws.column_dimensions["B"].width = GUIDANCE_WIDTH
    lines: list[tuple[str, Font | None, PatternFill | None]] = [
        (spec.title, font(16), None),
        (f"Template {spec.template_id}, version {spec.version}, issued {spec.released:%d %B %Y}. "
         "Discard any earlier version.", BOLD, None),
        (f"Return the completed workbook by {spec.deadline:%d %B %Y}.", BOLD, None),
        ("", None, None),
        ("How to complete this workbook", font(12), None),
        *((f"{i}. {step}", None, None) for i, step in enumerate(spec.how_to, 1)),
        ("", None, None),
        ("Colour key", font(12), None),
        *((text, key_font, fill) for text, fill, key_font in COLOUR_KEY),
    ]
    for r, (text, line_font, fill) in enumerate(lines, 1):
        cell = ws[f"B{r}"]
        cell.value, cell.alignment = text, Alignment(wrap_text=True, vertical="top")
        fit_height(ws, r, [(GUIDANCE_WIDTH, text)], (line_font.size or 11) if line_font else 11)
        if line_font:
            cell.font = line_font
        if fill:
            cell.fill = fill
    protect_and_page(ws)


class Item(NamedTuple):
    """One required item: what it is, the cell to go to, its checker formula and whether it is filled in now."""

    label: str
    target: str
    formula: str
    ok: bool


@dataclass(frozen=True)
class Checklist:
    """The Checklist sheet, and the value each checker shows now (stored as its cached value)."""

    spec: Spec
    layout: Layout
    filled: Filled
    values: Values

    def write(self, ws: Worksheet) -> None:
        """Headings, one checker per required item, one per sheet, and the overall result (repeated at the top)."""
        _checklist_heading(ws)
        items, per_sheet = self._items()
        for row, title, item in items:
            self._item_row(ws, row, title, item)
        summary, total = _roll_up_rows(per_sheet)
        ws[f"C{summary}"], ws[f"C{summary}"].font = "Sheet complete", BOLD
        for r, (name, first, last) in enumerate(per_sheet, summary + 1):
            ws[f"B{r}"], ws[f"C{r}"] = self.layout.title(name), f"All items on {name}"
            ws[f"E{r}"] = _all_yes(first, last)
        ws[f"C{total}"], ws[f"C{total}"].font = "Complete template", font(12)
        ws[f"E{total}"] = _all_yes(summary + 1, summary + len(per_sheet))
        ws[f"C{TOTAL_ROW}"], ws[f"C{TOTAL_ROW}"].font = "Complete template (all items below)", font(12)
        ws[f"E{TOTAL_ROW}"] = f"=E{total}"
        ws.freeze_panes = f"B{CHECKLIST_HEADER_ROW + 1}"
        checks = f"E{TOTAL_ROW}:E{total}"
        ws.conditional_formatting.add(checks, CellIsRule(operator="equal", formula=['"No"'], fill=RED))
        ws.conditional_formatting.add(checks, CellIsRule(operator="equal", formula=['"Yes"'], fill=GREEN))
        protect_and_page(ws)
        ws.print_title_rows = f"{CHECKLIST_HEADER_ROW}:{CHECKLIST_HEADER_ROW}"

    def answers(self) -> Cached:
        """What each checker shows now: Yes or No per item, per sheet, for the whole template and at the top."""
        items, per_sheet = self._items()
        out: Cached = {(CHECKLIST_SHEET, f"E{row}"): "Yes" if item.ok else "No" for row, _, item in items}
        summary, total = _roll_up_rows(per_sheet)
        rolled = [(summary + 1 + k, first, last) for k, (_, first, last) in enumerate(per_sheet)]
        rolled.append((total, summary + 1, summary + len(per_sheet)))
        for row, first, last in rolled:
            done = all(out[(CHECKLIST_SHEET, f"E{r}")] == "Yes" for r in range(first, last + 1))
            out[(CHECKLIST_SHEET, f"E{row}")] = "Yes" if done else "No"
        out[(CHECKLIST_SHEET, f"E{TOTAL_ROW}")] = out[(CHECKLIST_SHEET, f"E{total}")]
        return out

    def _items(self) -> tuple[list[tuple[int, str, Item]], list[tuple[str, int, int]]]:
        """Each required item with its row and sheet title, sheet by sheet; (sheet, first row, last row) of each
        sheet with items."""
        row, items, per_sheet = CHECKLIST_HEADER_ROW + 1, [], []
        for s in self.spec.data_sheets:
            title = self.layout.title(s.name)
            if not title:
                continue
            first = row
            for item in self._sheet_items(s):
                items.append((row, title, item))
                row += 1
            if row > first:
                per_sheet.append((s.name, first, row - 1))
        return items, per_sheet

    def _item_row(self, ws: Worksheet, row: int, title: str, item: Item) -> None:
        ws[f"B{row}"], ws[f"C{row}"], ws[f"D{row}"], ws[f"E{row}"] = title, item.label, f"Go to {item.target}", item.formula
        ws[f"D{row}"].hyperlink = Hyperlink(ref=f"D{row}", location=f"{quote(title)}!{item.target}",
                                            tooltip=f"Go to {title} {item.target}")
        ws[f"D{row}"].font = LINK_FONT

    def _sheet_items(self, s: Sheet) -> Iterator[Item]:
        """The required items of one sheet: its required inputs, then each table's required columns."""
        title = quote(self.layout.title(s.name))
        for f in s.fields:
            if f.required and f.is_input:
                ref, typed = self.layout.field_ref(f), self.filled.fields.get(f.id)
                yield Item(f.label, ref, f'=IF(COUNTA({title}!{ref})>0,"Yes","No")', typed not in (None, ""))
        for t in s.tables:
            rows = self.layout.table_rows(t)
            for c in t.columns:
                if not (c.required and c.is_input) or not (t.fixed_rows or (t.required and c == t.columns[0])):
                    continue
                col = t.letter(c.id)
                cells, target = f"{title}!{col}{rows[0]}:{col}{rows[-1]}", f"{col}{rows[0]}"
                typed = [v for v in self.values.of(f"{t.id}.{c.id}") if v not in (None, "")]
                if t.fixed_rows:  # every fixed row needs an answer
                    yield Item(f"{t.label}: {c.label} for every row", target,
                               f'=IF(COUNTA({cells})={len(t.fixed_rows)},"Yes","No")', len(typed) == len(t.fixed_rows))
                else:
                    yield Item(f"{t.label}: at least one row", target, f'=IF(COUNTA({cells})>0,"Yes","No")', bool(typed))


def _roll_up_rows(per_sheet: list[tuple[str, int, int]]) -> tuple[int, int]:
    """Below the items, one empty row on: the "Sheet complete" heading's row, then the whole template's."""
    summary = (per_sheet[-1][2] if per_sheet else CHECKLIST_HEADER_ROW) + 2
    return summary, summary + len(per_sheet) + 2


def _all_yes(first: int, last: int) -> str:
    """A checker that is Yes when every checker in rows first..last is."""
    return f'=IF(COUNTIF(E{first}:E{last},"No")=0,"Yes","No")'


def _checklist_heading(ws: Worksheet) -> None:
    ws.column_dimensions[TAG_COLUMN].hidden = True
    for col, _, width in CHECKLIST_COLUMNS:
        ws.column_dimensions[col].width = width
    ws["B1"], ws["B1"].font = "Checklist", font(14)
    ws["B2"] = "Each checker turns from a red No to a green Yes when the item is filled in."
    for col, heading, _ in CHECKLIST_COLUMNS:
        cell = ws[f"{col}{CHECKLIST_HEADER_ROW}"]
        cell.value, cell.fill, cell.font = heading, HEADER, HEADER_FONT
