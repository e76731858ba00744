"""The blank workbook carries what the specification says: sheets, inputs, validations, formulas, checklist."""

from __future__ import annotations

import io
import itertools
import random
import zipfile
from pathlib import Path

import openpyxl
import pytest

from bcf import generate, samples
from bcf.errors import UnknownArea
from bcf.spec import CHECKLIST_SHEET, LISTS_SHEET
from tests.support import PLAN


@pytest.fixture(scope="module")
def kent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("t") / "kent.xlsx"
    generate.new_template(PLAN.spec(), path, "Kent")
    return path


def test_sheets_and_hidden_stamp(kent: Path) -> None:
    wb = openpyxl.load_workbook(kent)
    data = [s.name for s in PLAN.spec().sheets]
    assert wb.sheetnames == data + [CHECKLIST_SHEET, LISTS_SHEET]
    lists = wb[LISTS_SHEET]
    assert lists.sheet_state == "veryHidden" and lists.protection.sheet
    assert (lists["A1"].value, lists["B1"].value, lists["A2"].value, lists["B2"].value) == (
        "template_id", "bcf-2015-16-plan", "version", "1.2")


def test_inputs_unlocked_calculated_locked_and_sheets_protected(kent: Path) -> None:
    wb = openpyxl.load_workbook(kent)
    s = PLAN.spec()
    for f in s.fields:
        cell = wb[f.sheet][f.cell]
        assert cell.protection.locked is (not f.is_input), f.id
        if f.calc:
            assert str(cell.value).startswith("="), f.id
    for sheet in s.data_sheets:
        assert wb[sheet.name].protection.sheet is True
        assert wb[sheet.name].column_dimensions["A"].hidden is True


def test_formulas_for_totals_rates_scores_and_p4p(kent: Path) -> None:
    wb = openpyxl.load_workbook(kent)
    s = PLAN.spec()
    risks, metrics = s.table("risks"), s.table("metrics")
    r = risks.header_row + 1
    assert wb["Risks"][f"G{r}"].value == f'=IF(COUNT(F{r},E{r})<2,"",IFERROR((E{r}*F{r}),""))'
    assert "/" in wb["Metrics"][f"{metrics.letter('rate_plan')}{metrics.header_row + 1}"].value
    assert wb["Cover"]["C9"].value.startswith("=IFERROR(SUM('Funding'!$F$")
    assert "MIN(" in wb["NEL & P4P"]["C15"].value and "'Funding'!C5" in wb["NEL & P4P"]["C15"].value
    funding = s.table("funding")
    assert wb["Funding"][f"F{funding.end_row}"].value.startswith("=SUM(")


def test_dropdowns_and_bounds(kent: Path) -> None:
    ws = openpyxl.load_workbook(kent)["Schemes"]
    by_cell = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    t = PLAN.spec().table("schemes")
    rows = f"{t.header_row + 1}:{t.letter('scheme_type')}{t.header_row + t.max_rows}"
    scheme_type = by_cell[f"{t.letter('scheme_type')}{rows}"]
    assert scheme_type.type == "list" and scheme_type.formula1.startswith("=Lists!$")
    spend = by_cell[f"{t.letter('spend_this_year')}{t.header_row + 1}:{t.letter('spend_this_year')}{t.header_row + t.max_rows}"]
    assert (spend.type, spend.formula1, spend.formula2) == ("decimal", "0", "100000000")


def test_cover_prefilled_for_an_hwb(kent: Path) -> None:
    ws = openpyxl.load_workbook(kent, data_only=True)["Cover"]
    assert (ws["C4"].value, ws["C5"].value, ws["C6"].value) == ("Kent", "E10000016", "South East")
    assert ws["C8"].value > 50_000  # Kent's (synthetic) minimum pooled budget, £000


def test_checklist_starts_red_and_links_to_each_required_cell(kent: Path) -> None:
    wb = openpyxl.load_workbook(kent)
    ws = wb[CHECKLIST_SHEET]
    values = openpyxl.load_workbook(kent, data_only=True)[CHECKLIST_SHEET]
    items = [r for r in range(5, ws.max_row + 1) if ws[f"D{r}"].hyperlink]
    required = [f for f in PLAN.spec().fields if f.required and f.is_input]
    assert len(items) >= len(required)
    links = {ws[f"D{r}"].hyperlink.location for r in items}
    assert "'Cover'!C11" in links and "'Governance'!C15" in links
    assert all(ws[f"E{r}"].value.startswith("=IF(COUNTA(") for r in items)
    contact = next(r for r in items if ws[f"C{r}"].value == "Contact name")
    assert values[f"E{contact}"].value == "No"
    hwb = next(r for r in items if ws[f"C{r}"].value == "Health and Wellbeing Board")
    assert values[f"E{hwb}"].value == "Yes"
    rules = [r for cf in ws.conditional_formatting for r in cf.rules]
    assert {tuple(r.formula) for r in rules} == {('"No"',), ('"Yes"',)}
    assert values[f"E{ws.max_row}"].value == "No"  # "Complete template" on a blank workbook


def test_formulas_carry_cached_values_like_a_saved_file(kent: Path) -> None:
    xml = zipfile.ZipFile(kent).read("xl/worksheets/sheet2.xml").decode()  # Cover
    assert '<c r="C6"' in xml and "<v>South East</v>" in xml


def test_unknown_hwb_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnknownArea):
        generate.new_template(PLAN.spec(), tmp_path / "x.xlsx", "Borsetshire")


def test_superseded_version_can_be_written(tmp_path: Path) -> None:
    generate.new_template(PLAN.spec("1.1"), tmp_path / "old.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "old.xlsx")
    assert wb[LISTS_SHEET]["B2"].value == "1.1"
    assert wb["Governance"]["C15"].value is None and wb["NEL & P4P"]["A19"].value == "nel_unit_cost"


def _parts(data: bytes) -> dict[str, bytes]:
    """Every part of a saved workbook but its timestamps."""
    z = zipfile.ZipFile(io.BytesIO(data))
    return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


@pytest.mark.parametrize("kind", ["plan", "quarterly"])
def test_sheets_serialised_once_are_the_bytes_serialised_afresh(kind: str) -> None:
    """The Lists and Guidance sheets a process reuses give the very file it would write without reusing them,
    for returns of different shapes written one after another (and a layout that renames a sheet)."""
    from bcf.generate import cached
    from bcf.samples.quarterly import quarters

    returns = list(itertools.islice(samples.plans(PLAN), 3))
    if kind == "quarterly":
        returns = [q for p in returns for q in quarters(p, PLAN.round.ret("quarterly"), random.Random(1))][:6]
    returns[1].layout.titles["Cover"] = "Front page"

    def written(p: samples.Plan) -> dict[str, bytes]:
        buf = io.BytesIO()
        generate.write_workbook(p.spec, buf, p.filled, p.layout, cached_values=p.cached_values)
        return _parts(buf.getvalue())

    warm = [written(p) for p in returns]
    fresh = []
    for p in returns:
        cached._SHARED.clear()
        fresh.append(written(p))
    assert warm == fresh
