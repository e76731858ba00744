"""The xlsx export is a workbook an analyst can use: headings, formats, frozen headings, filters and a README."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest

from bcf import aggregate, store, stress
from tests.support import PLAN, ROUND


@pytest.fixture(scope="module")
def exported(national: Path, tmp_path_factory: pytest.TempPathFactory) -> openpyxl.Workbook:
    db = tmp_path_factory.mktemp("export") / "n.duckdb"
    shutil.copy(national, db)
    with store.connect(db, read_only=False) as con:
        stress.run(con, ROUND, PLAN.round.params())
    out = db.parent / "out"
    with aggregate.connect(db) as con:
        (path,) = aggregate.export(con, "xlsx", out, ROUND)
    return openpyxl.load_workbook(path)


def test_a_readme_names_the_round_and_every_sheet(exported: openpyxl.Workbook) -> None:
    readme = exported["README"]
    assert exported.sheetnames[0] == "README" and ROUND in str(readme["A1"].value)
    listed = [r[0] for r in readme.iter_rows(min_row=5, values_only=True) if r[0]]
    assert listed == exported.sheetnames[1:]
    assert {"Categories", "Stress test", "Findings"} <= set(exported.sheetnames)
    rows = {r[0]: r[2] for r in readme.iter_rows(min_row=5, values_only=True) if r[0]}
    assert rows["Categories"] == rows["Stress test"] == 151 and rows["Findings"] > 100


def test_every_sheet_has_human_headings_frozen_and_filtered(exported: openpyxl.Workbook) -> None:
    for ws in exported.worksheets[1:]:
        headings = [c.value for c in ws[1]]
        assert all(h and "_" not in h and h[0].isupper() for h in headings), (ws.title, headings)
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), ws.title
        assert all((ws.column_dimensions[c.column_letter].width or 0) >= len(str(c.value)) for c in ws[1]), ws.title


def test_money_percentages_and_dates_are_formatted(exported: openpyxl.Workbook) -> None:
    def fmt(sheet: str, heading: str) -> str:
        ws = exported[sheet]
        col = next(c.column_letter for c in ws[1] if c.value == heading)
        return str(ws[f"{col}2"].number_format)

    assert fmt("Stress test", "Claimed £000") == fmt("Pooled by hwb".replace("hwb", "HWB"), "Pooled £000") == "#,##0;-#,##0"
    assert fmt("Stress test", "Reduction %") == '0.0"%"'
    assert fmt("Submission status", "Received at") == "dd/mm/yyyy"
    categories = exported["Categories"]
    assert {c.value for c in next(categories.iter_cols(min_col=4, max_col=4, min_row=2))} <= {
        "Approved", "Approved with support", "Approved subject to conditions", "Not approved"}
