"""An annotated copy of the submitter's own workbook: findings coloured in place, explained in comments.

The original file is only read. The copy keeps the submitter's data, validations and formulas, gains a
first sheet "Findings" with a link to every cell; a comment the submitter left on a marked cell is kept, the
findings written after it. The copy is meant for reviewing, not for resubmitting
(openpyxl drops saved formula values, so the copy itself would not pass the checks unopened).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import openpyxl
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from bcf.generate import quote
from bcf.preview import Preview
from bcf.validate import Report

FILL = {"blocking": PatternFill("solid", fgColor="F4A09A"), "advisory": PatternFill("solid", fgColor="FFD966")}
HEADINGS = ("Severity", "Rule", "Sheet", "Cell", "Problem", "How to fix it")
WIDTHS = {"A": 10, "B": 15, "C": 13, "D": 7, "E": 55, "F": 55}  # the Findings sheet's columns, in characters
PREVIEW_WIDTH = 70  # the Assurance preview sheet's one column: a portrait page wide
LINE_HEIGHT = 15  # points, a line of 11 pt text
PREVIEW_SHEET = "Assurance preview"
AUTHOR = "bcf self-check"  # the author of the comments the copy adds


def annotate(source: Path | IO[bytes], report: Report, out: Path, pv: Preview | None = None) -> int:
    """Write the annotated copy to ``out`` (never the source: callers compare the files), with the provisional
    assurance category when there is one; returns how many cells were marked."""
    wb = openpyxl.load_workbook(source, keep_vba=False, keep_links=False)
    marked = 0
    notes: dict[tuple[str, str], list[str]] = {}
    for f in report.findings:
        if f.cell and f.sheet in wb.sheetnames:
            notes.setdefault((f.sheet, f.cell), []).append(f"{f.rule_id} ({f.severity}): {f.message}\nFix: {f.fix}")
    for f in report.findings:
        key = (f.sheet, f.cell or "")
        if key in notes:
            cell = _writable(wb[f.sheet], f.cell or "")
            if cell.fill != FILL["blocking"]:  # blocking wins where both apply
                cell.fill = FILL[f.severity]
            cell.comment = _note(cell.comment, "\n\n".join(notes.pop(key)))
            marked += 1
    _findings_sheet(wb, report, pv)
    if pv:
        _preview_sheet(wb.create_sheet(PREVIEW_SHEET, 1), pv, report.status)
    wb.active = 0
    for other in wb.worksheets[1:]:
        other.sheet_view.tabSelected = False
    wb.save(out)
    return marked


def _note(own: Comment | None, findings: str) -> Comment:
    """The cell's comment: the findings, after the submitter's own comment when the cell has one (kept word for
    word, under its author)."""
    text, author = findings, AUTHOR
    if own is not None and own.text and own.text.strip():
        text, author = f"{own.text.rstrip()}\n\n{AUTHOR}:\n{findings}", own.author or AUTHOR
    height = min(60 + 15 * text.count("\n") + len(text) // 3, 400)
    return Comment(text, author, width=360, height=height)


def _writable(ws: Worksheet, ref: str) -> Cell:
    """The cell that holds what ``ref`` shows: itself, or the first cell of the merged range it lies in."""
    merged = next((r for r in ws.merged_cells.ranges if ref in r), None)
    return ws.cell(merged.min_row, merged.min_col) if merged else ws[ref]


def _findings_sheet(wb: Workbook, report: Report, pv: Preview | None) -> None:
    """The first sheet: every finding with a link to its cell, then the verdict and the category it would get."""
    ws = wb.create_sheet("Findings", 0)
    ws.append(HEADINGS)
    for c in ws[1]:
        c.font = Font(bold=True)
        c.alignment = Alignment(wrap_text=True, vertical="top")
    for f in report.findings:
        ws.append([f.severity, f.rule_id, f.sheet or "(whole file)", f.cell or "", f.message, f.fix])
        if f.cell and f.sheet in wb.sheetnames:
            link = ws.cell(ws.max_row, 4)
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"{quote(f.sheet)}!{f.cell}")
            link.font = Font(color="0563C1", underline="single")
        ws.cell(ws.max_row, 1).fill = FILL[f.severity]
        fit_row(ws, ws.max_row, {c: w for c, w in WIDTHS.items() if c in "EF"}, f.message, f.fix)
    for col, width in WIDTHS.items():
        ws.column_dimensions[col].width = width
    for row in ws.iter_rows(min_row=2):
        for c in row:
            c.alignment = Alignment(wrap_text=True, vertical="top")
    summary = [verdict(report)] + ([pv.joining(report.status), f'The figures that decide it, and what would change '
                                    f'it, are on the sheet "{PREVIEW_SHEET}".'] if pv else [])
    ws.append([])
    for line in summary:
        ws.append([line])
        at = ws.max_row
        ws.merge_cells(start_row=at, start_column=1, end_row=at, end_column=len(HEADINGS))
        ws.cell(at, 1).alignment = Alignment(wrap_text=True, vertical="top")
        fit_row(ws, at, {"A": sum(WIDTHS.values())}, line)
    ws.cell(ws.max_row - len(summary) + 1, 1).font = Font(bold=True)
    ws.freeze_panes = "A2"
    printed(ws, landscape=True)


def verdict(report: Report) -> str:
    """The verdict of the checks, as the first line under the findings."""
    status = {"ready": "Ready to submit", "not ready": "Not ready to submit",
              "unreadable": "The file could not be checked"}[report.status]
    return f"{status}: {report.blocking} blocking, {report.advisory} advisory."


def fit_row(ws: Worksheet, row: int, widths: dict[str, float], *texts: str) -> None:
    """A row tall enough for its wrapped text: spreadsheets do not grow a row for text written by a program."""
    lines = max(wrapped_lines(text, widths[col]) for col, text in zip(widths, texts, strict=False))
    ws.row_dimensions[row].height = LINE_HEIGHT * lines + 3


def wrapped_lines(text: str, width: float) -> int:
    """About how many lines ``text`` takes in a column ``width`` characters wide, once wrapped."""
    per_line = max(int(width * 1.05) - 2, 1)  # a column of width w holds about w average characters
    return sum(max(1, -(-len(part) // per_line)) for part in str(text).split("\n"))


def printed(ws: Worksheet, landscape: bool) -> None:
    """Printed to the width of an A4 page, its heading row on every page."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"


def _preview_sheet(ws: Worksheet, pv: Preview, status: str) -> None:
    """The provisional category, the figures that decide it and what would change it, as on the check page."""
    from bcf.present import preview_lines

    lines = preview_lines(pv, status)
    ws.append([lines[0]])
    ws["A1"].font = Font(bold=True, size=14)
    for line in lines[1:]:
        ws.append([line.strip()])
        fit_row(ws, ws.max_row, {"A": PREVIEW_WIDTH}, line.strip())
    ws.column_dimensions["A"].width = PREVIEW_WIDTH
    for row in ws.iter_rows(min_row=2):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    printed(ws, landscape=False)
