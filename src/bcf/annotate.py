"""An annotated copy of the submitter's own workbook: findings coloured in place, explained in comments.

The original file is only read. The copy keeps the submitter's data, validations and formulas, gains a
first sheet "Findings" with a link to every cell, and is meant for reviewing, not for resubmitting
(openpyxl drops saved formula values, so the copy itself would not pass the checks unopened).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from bcf.generate import quote
from bcf.preview import Preview
from bcf.validate import Report

FILL = {"blocking": PatternFill("solid", fgColor="F4A09A"), "advisory": PatternFill("solid", fgColor="FFD966")}
HEADINGS = ("Severity", "Rule", "Sheet", "Cell", "Problem", "How to fix it")
PREVIEW_SHEET = "Assurance preview"


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
            cell = wb[f.sheet][f.cell]
            if cell.fill != FILL["blocking"]:  # blocking wins where both apply
                cell.fill = FILL[f.severity]
            text = "\n\n".join(notes.pop(key))
            height = min(60 + 15 * text.count("\n") + len(text) // 3, 400)
            cell.comment = Comment(text, "bcf self-check", width=360, height=height)
            marked += 1
    ws = wb.create_sheet("Findings", 0)
    ws.append(HEADINGS)
    for c in ws[1]:
        c.font = Font(bold=True)
    for f in report.findings:
        ws.append([f.severity, f.rule_id, f.sheet or "(whole file)", f.cell or "", f.message, f.fix])
        if f.cell and f.sheet in wb.sheetnames:
            link = ws.cell(ws.max_row, 4)
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"{quote(f.sheet)}!{f.cell}")
            link.font = Font(color="0563C1", underline="single")
        ws.cell(ws.max_row, 1).fill = FILL[f.severity]
    for col, width in zip("ABCDEF", (10, 16, 18, 8, 70, 60), strict=True):
        ws.column_dimensions[col].width = width
    for row in ws.iter_rows(min_row=2):
        for c in row[4:]:
            c.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    if pv:
        _preview_sheet(wb.create_sheet(PREVIEW_SHEET, 1), pv)
    wb.active = 0
    for other in wb.worksheets[1:]:
        other.sheet_view.tabSelected = False
    wb.save(out)
    return marked


def _preview_sheet(ws: Worksheet, pv: Preview) -> None:
    """The provisional category, the figures that decide it and what would change it, as on the check page."""
    from bcf.present import preview_lines

    lines = preview_lines(pv)
    ws.append([lines[0]])
    ws["A1"].font = Font(bold=True, size=14)
    for line in lines[1:]:
        ws.append([line.strip()])
    ws.column_dimensions["A"].width = 120
    for row in ws.iter_rows(min_row=2):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
