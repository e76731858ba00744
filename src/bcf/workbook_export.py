"""The national views of one round as a workbook an analyst can use straight away.

A README sheet says what each sheet is and which round it shows; every sheet has human headings, widths that
fit, number formats (£000, %, dates), a frozen heading row and filters. Besides the national views it carries
the team's own products: the assurance categories, the stress test and every finding at its cell. Text that a
spreadsheet would run as a formula is made plain text, and control characters are shown, never written.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bcf import rounds
from bcf.generate.styles import fit_height, print_to_width
from bcf.national.door import National
from bcf.present import formula_safe
from bcf.render import heading
from bcf.shown import escaped

HEADER = PatternFill("solid", fgColor="1D3557")
PORTRAIT_WIDTH = 85  # characters across an A4 page in portrait; a wider sheet prints landscape
MONEY, PCT, COUNT, NUMBER, DATE = '#,##0;-#,##0', '0.0"%"', "#,##0", "#,##0.00", "dd/mm/yyyy"
# the team's own products, beside the national views: sheet name -> (what it is, query over one round)
PRODUCTS = {  # sheet name -> (what it is, its named query over one round)
    "Categories": ("Each current plan's assurance category and the reasons that decided it.", "exports.categories"),
    "Stress test": ("Each plan's savings stress-tested: claimed, re-priced, backed by evidence, ambition and P4P at risk.",
                    "exports.stress_test"),
    "Findings": ("Every finding of every current file (plans and quarterly returns, named in the Return kind column), at its "
                 "sheet and cell, with what to do.", "exports.findings"),
}
DESCRIPTIONS = {
    "submission_status": "Every plan: whether its current file is ready, not ready, unreadable or missing.",
    "pooled_by_hwb": "Each valid plan's pooled budget against its minimum.",
    "pooled_by_region": "Pooled budgets by region.",
    "funding_by_stream": "Funding by stream.",
    "spend_by_scheme_type": "Scheme spend by type of scheme.",
    "spend_by_commissioner": "Scheme spend by commissioner.",
    "nel_by_hwb": "Each valid plan's emergency admissions, planned reduction and pay for performance.",
    "nel_distribution": "How many plans plan each size of cut in emergency admissions.",
    "p4p_total": "Emergency admissions and pay for performance, nationally.",
    "savings_by_benefit_type": "Claimed savings by type of benefit.",
    "savings_by_accrues_to": "Claimed savings by who they accrue to.",
    "risk_by_boundary": "Risk exposure by organisational boundary.",
    "risk_by_falls_on": "Risk exposure by who bears it.",
    "conditions_not_met": "National conditions not met, plan by plan.",
    "findings_by_family": "Findings by family and severity, for each return (plans and quarterly returns).",
    "findings_by_rule": "The rules found most often, for each return (plans and quarterly returns).",
}


def _format(column: str, values: pd.Series) -> str | None:
    if column.endswith("_000") or column in ("claimed", "credible"):
        return MONEY
    if column.endswith("_pct"):
        return PCT
    if pd.api.types.is_datetime64_any_dtype(values) or any(isinstance(v, dt.date) for v in values.head(20)):
        return DATE
    if pd.api.types.is_integer_dtype(values) or column in ("hwbs", "files", "findings", "schemes", "risks"):
        return COUNT
    if pd.api.types.is_float_dtype(values):
        return COUNT if (values.dropna() % 1 == 0).all() else NUMBER
    return None


def _cell(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, str):
        return formula_safe(escaped(v, lines=True))
    if isinstance(v, (list, tuple)):
        return formula_safe(escaped("; ".join(map(str, v)), lines=True))
    return v.item() if hasattr(v, "item") else v


def _sheet(wb: Workbook, title: str, df: pd.DataFrame) -> Worksheet:
    ws = wb.create_sheet(title[:31])
    ws.append([heading(str(c)) for c in df.columns])
    for row in df.itertuples(index=False):
        ws.append([_cell(v) for v in row])
    for i, column in enumerate(df.columns, 1):
        letter = get_column_letter(i)
        head = ws.cell(1, i)
        head.font, head.fill = Font(bold=True, color="FFFFFF"), HEADER
        head.alignment = Alignment(wrap_text=True, vertical="top")
        fmt = _format(str(column), df[column])
        lengths = [len(str(head.value))] + [len(f"{v:,.0f}" if isinstance(v, float) and v == v else str(v))
                                            for v in df[column].head(500) if v is not None]
        ws.column_dimensions[letter].width = min(max(lengths) + 2, 60)
        for cells in ws.iter_rows(min_row=2, min_col=i, max_col=i):
            if fmt:
                cells[0].number_format = fmt
            if ws.column_dimensions[letter].width >= 60:
                cells[0].alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    if len(df.columns):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(df.columns))}{max(len(df) + 1, 2)}"
    _fit_rows(ws)
    print_to_width(ws, landscape=_width(ws) > PORTRAIT_WIDTH, title_rows="1:1")
    return ws


def _width(ws: Worksheet) -> float:
    """The sheet's width in characters, all its columns added up."""
    return sum(d.width or 0 for d in ws.column_dimensions.values())


def _fit_rows(ws: Worksheet) -> None:
    """Every row as tall as the wrapped text in it, the heading row included."""
    widths = {letter: d.width or 8 for letter, d in ws.column_dimensions.items()}
    for row in ws.iter_rows():
        wrapped = [(widths.get(c.column_letter, 8), c.value) for c in row if c.alignment.wrap_text and c.value]
        if wrapped:
            fit_height(ws, row[0].row, wrapped)


def write(nat: National, path: Path, round_: str, views: tuple[str, ...]) -> Path:
    """The round's workbook: a README, the national views, categories, the stress test and the findings."""
    wb = Workbook()
    readme = wb.active
    assert readme is not None
    readme.title = "README"
    rnd = rounds.get(round_)
    sheets: list[tuple[str, str, pd.DataFrame]] = [
        (view, DESCRIPTIONS.get(view, ""), nat.frame("exports.view", view=view, round=round_)) for view in views]
    have_stress = bool(nat.scalar("exports.has_stress"))
    for title, (what, query) in PRODUCTS.items():
        if have_stress or title == "Findings":
            sheets.append((title, what, nat.frame(query, round=round_)))
    lines: list[list[Any]] = [[f"Better Care Fund national views: {rnd.label} round ({round_})"],
             [f"Written {dt.date.today():%d %B %Y} from the national store. Money is in £000 unless a heading says otherwise; "
              "percentages are shown as percentages."],
             [] if have_stress else ["The stress test has not been run on this round yet (bcf stress), so the categories and "
                                     "stress test sheets are left out."], ["Sheet", "What it holds", "Rows"]]
    for title, what, df in sheets:
        _sheet(wb, heading(title) if title in DESCRIPTIONS else title, df)
        lines.append([heading(title)[:31] if title in DESCRIPTIONS else title, what, len(df)])
    for row in lines:
        readme.append(row)
    readme["A1"].font = Font(bold=True, size=14)
    for c in readme[4]:
        c.font = Font(bold=True)
    readme.column_dimensions["A"].width, readme.column_dimensions["B"].width = 32, 90
    for row in readme.iter_rows(min_row=2, max_row=2):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    readme.merge_cells("A2:C2")
    fit_height(readme, 2, [(130, readme["A2"].value)])
    for row in readme.iter_rows(min_row=5):
        for c in row:
            c.alignment = Alignment(wrap_text=c.column == 2, vertical="top")
    _fit_rows(readme)
    print_to_width(readme, landscape=True, title_rows="4:4")
    wb.save(path)
    return path
