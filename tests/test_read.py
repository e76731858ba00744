"""The reader gives back exactly what was written, finds moved tables, and records problems as data."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bcf.findings import ProblemKind
from bcf.generate import Layout
from bcf.read import Submission, read_submission
from bcf.samples import Plan
from tests.support import PLAN

from .conftest import write_and_read


def _norm(v: Any) -> Any:
    if v in ("", None):
        return None
    return float(v) if isinstance(v, int) and not isinstance(v, bool) else v


def _typed_back(sub: Submission, plan: Plan) -> list[tuple[str, Any, Any]]:
    """(what, written, read) for every input value that did not come back exactly."""
    s = PLAN.spec()
    diffs = []
    for f in s.fields:
        if f.is_input and _norm(plan.filled.fields.get(f.id)) != sub.fields.get(f.id):
            diffs.append((f.id, plan.filled.fields.get(f.id), sub.fields.get(f.id)))
    for t in s.tables:
        written = [r for r in plan.filled.tables.get(t.id, []) if r] if not t.fixed_rows else plan.filled.tables[t.id]
        df = sub.tables[t.id]
        for i, row in enumerate(written):
            for c in t.columns:
                if c.is_input:
                    got = df.iloc[i][c.id]
                    got = None if got != got else got  # NaN -> None
                    if _norm((row or {}).get(c.id)) != got:
                        diffs.append((f"{t.id}[{i}].{c.id}", (row or {}).get(c.id), got))
    return diffs


def test_round_trip_gives_exactly_the_values_written(tmp_path: Path, clean_plan: Plan) -> None:
    sub = write_and_read(tmp_path, clean_plan.filled)
    assert _typed_back(sub, clean_plan) == []
    assert sub.problems == []
    assert (sub.template_id, sub.version) == ("bcf-2015-16-plan", "1.2")
    assert sub.fields["total_pooled"] == sum(r["amount_this_year"] for r in clean_plan.filled.tables["funding"] if r)
    assert sub.where("schemes.spend_this_year", 5) == ("Schemes", "K5")
    assert sub.where("contact_email") == ("Cover", "C12")


def test_rows_inserted_above_a_table_do_not_shift_values(tmp_path: Path, clean_plan: Plan) -> None:
    sub = write_and_read(tmp_path, clean_plan.filled, Layout(inserted={"Schemes": (2, 3), "Governance": (5, 1)}))
    assert _typed_back(sub, clean_plan) == []
    moved = {(p.kind, p.sheet, p.cell) for p in sub.problems}
    governance_rows_below_4 = range(6, 17)  # fields on rows 5-15, one row down
    assert moved == {("table_moved", "Schemes", "B7")} | {("field_moved", "Governance", f"A{r}")
                                                          for r in governance_rows_below_4}
    assert sub.where("schemes.spend_this_year", sub.tables["schemes"].index[0]) == ("Schemes", "K8")
    assert sub.where("exit_agreed") == ("Governance", "C15")


def test_blank_rows_inside_a_table_are_skipped_but_cells_kept(tmp_path: Path, clean_plan: Plan) -> None:
    schemes = clean_plan.filled.tables["schemes"]
    clean_plan.filled.tables["schemes"] = [schemes[0], None, None, *schemes[1:]]
    sub = write_and_read(tmp_path, clean_plan.filled)
    assert list(sub.tables["schemes"].index[:2]) == [5, 8]
    assert sub.tables["schemes"]["scheme_id"].tolist() == [s["scheme_id"] for s in schemes]


@pytest.mark.parametrize("typed, expected", [("£1,234", "a number"), ("n/a", "a number"), ("approx 5%", "a number"),
                                             (True, "a number"), ("1250", None)])
def test_text_in_a_number_cell_is_a_problem_not_a_crash(tmp_path: Path, clean_plan: Plan, typed: Any,
                                                        expected: str | None) -> None:
    clean_plan.filled.tables["schemes"][2]["spend_last_year"] = typed  # type: ignore[index]
    sub = write_and_read(tmp_path, clean_plan.filled)
    wrong = [(p.cell, p.found, p.expected) for p in sub.problems if p.kind == "wrong_type"]
    if expected is None:
        assert wrong == [] and sub.tables["schemes"]["spend_last_year"].iloc[2] == 1250.0
    else:
        assert wrong == [("J7", typed, expected)]
        assert sub.tables["schemes"]["spend_last_year"].isna().iloc[2]


def test_dates_as_text_and_error_values(tmp_path: Path, clean_plan: Plan) -> None:
    clean_plan.filled.fields["date_agreed"] = "10th Sept"
    clean_plan.filled.fields["contingency"] = "#REF!"
    sub = write_and_read(tmp_path, clean_plan.filled)
    assert sorted((p.kind, p.sheet, p.cell, p.found, p.expected) for p in sub.problems
                  if p.kind in ("wrong_type", "error_value")) == [
        ("error_value", "Governance", "C12", "#REF!", "a value"), ("wrong_type", "Cover", "C14", "10th Sept", "a date")]
    assert sub.fields["date_agreed"] is None


def test_missing_renamed_and_hidden_sheets(tmp_path: Path, clean_plan: Plan) -> None:
    layout = Layout(titles={"Provider impact": "", "Risks": "Risk log v3"})
    sub = write_and_read(tmp_path, clean_plan.filled, layout)
    assert sorted((p.kind, p.sheet, p.expected) for p in sub.problems) == [
        ("sheet_missing", "Provider impact", "Provider impact"),
        ("sheet_renamed", "Risk log v3", "Risks")]
    assert sub.tables["providers"].empty
    assert len(sub.tables["risks"]) == len(clean_plan.filled.tables["risks"])
    assert sub.where("risks.risk_id", 5) == ("Risk log v3", "B5")


def test_formulas_without_cached_values_are_recorded(tmp_path: Path, clean_plan: Plan) -> None:
    sub = write_and_read(tmp_path, clean_plan.filled, cached_values=False)
    missing = {(p.sheet, p.cell) for p in sub.problems if p.kind == "no_cached_value"}
    assert ("Cover", "C9") in missing and ("Risks", "G5") in missing
    assert sub.fields["total_pooled"] is None and sub.fields["contact_name"] == clean_plan.filled.fields["contact_name"]


def test_superseded_version_is_read_with_its_own_layout(tmp_path: Path, clean_plan: Plan) -> None:
    sub = write_and_read(tmp_path, clean_plan.filled, version="1.1")
    assert sub.version == "1.1" and sub.spec.version == "1.1"
    assert sub.fields["nel_unit_cost"] == 1490 and sub.where("nel_unit_cost") == ("NEL & P4P", "C19")
    assert "arbitration_agreed" not in sub.fields and sub.problems == []


def test_not_our_template(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active["A1"] = "Some other return"
    wb.save(tmp_path / "other.xlsx")
    sub = read_submission(tmp_path / "other.xlsx")
    assert sub.template_id is None and sub.problems[0].kind == "not_template"


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_file_saved_by_libreoffice_reads_the_same(tmp_path: Path, clean_plan: Plan) -> None:
    src = tmp_path / "src"
    src.mkdir()
    write_and_read(src, clean_plan.filled, cached_values=False)
    subprocess.run(["soffice", "--headless", "--calc", "--convert-to", "xlsx", "--outdir", str(tmp_path),
                    str(src / "plan.xlsx")], check=True, capture_output=True, timeout=120)
    sub = read_submission(tmp_path / "plan.xlsx")
    assert _typed_back(sub, clean_plan) == []
    assert [p for p in sub.problems if p.kind != "no_cached_value"] == []
    # LibreOffice recalculates and saves the values the openpyxl-written file lacked
    assert sub.fields["total_pooled"] == sum(r["amount_this_year"] for r in clean_plan.filled.tables["funding"] if r)
    assert sub.tables["risks"]["score"].iloc[0] == 16


def test_a_workbook_in_the_mac_date_system_gives_the_same_dates(tmp_path: Path, clean_plan: Plan) -> None:
    import openpyxl
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    write_and_read(tmp_path, clean_plan.filled)
    wb = openpyxl.load_workbook(tmp_path / "plan.xlsx")
    wb.epoch = CALENDAR_MAC_1904  # serials written 1,462 days smaller, and the workbook says so
    wb.save(tmp_path / "mac.xlsx")
    sub = read_submission(tmp_path / "mac.xlsx")
    assert (sub.fields["date_agreed"], sub.fields["date_submitted"]) == (
        clean_plan.filled.fields["date_agreed"], clean_plan.filled.fields["date_submitted"])


def test_numbers_as_text_options_and_placeholders_are_read_and_noted(tmp_path: Path, clean_plan: Plan) -> None:
    clean_plan.filled.tables["funding"][1]["amount_this_year"] = "27512"  # type: ignore[index]
    clean_plan.filled.tables["signoffs"][0] = {"signed": " yes "}
    clean_plan.filled.fields["overspend"] = "TBC"
    sub = write_and_read(tmp_path, clean_plan.filled)
    assert sorted((p.kind, p.sheet, p.cell, p.found) for p in sub.problems) == [
        ("list_normalised", "Cover", "C29", "yes"), ("placeholder", "Governance", "C7", "TBC"),
        ("text_number", "Funding", "F13", "27512")]
    assert sub.tables["funding"]["amount_this_year"].iloc[1] == 27512.0 and ("funding.amount_this_year", 13) in sub.as_text
    assert sub.tables["signoffs"]["signed"].iloc[0] == "Yes" and sub.fields["overspend"] is None


def _calculated_values(sub: Submission) -> dict[str, Any]:
    """Every calculated field, every calculated column row by row and every Total row, as read (NaN as None)."""
    out: dict[str, Any] = {f.id: sub.fields.get(f.id) for f in sub.spec.fields if f.calc}
    for t in sub.spec.tables:
        for c in t.columns:
            if c.calc:
                out |= {f"{t.id}.{c.id}@{row}": values[c.id] for row, values in sub.rows(t.id)}
    out |= {f"{name} total": v for name, v in sub.totals.items()}
    return {k: None if v != v else v for k, v in out.items()}


@pytest.mark.parametrize("how", ["placeholders", "calculation off"])
def test_formulas_saved_without_their_results_are_given_what_their_inputs_give(how: str) -> None:
    """A script's placeholder zeros, or totals kept from before the last edits, are not read as what the workbook
    shows: each calculated cell gets what its inputs give, as a calculated workbook would show it."""
    import io

    from tests.corpus import base, calculation_off, xlsxwriter_copy

    clean = read_submission(io.BytesIO(base()))
    if how == "placeholders":
        sub = read_submission(io.BytesIO(xlsxwriter_copy(base(), results=False)))
        assert _calculated_values(sub) == _calculated_values(clean)
        assert sub.not_calculated == "every calculated cell was saved as 0"
        assert sub.raw[sub.where("total_pooled")] == 0  # what the file saved is kept as it was saved
    else:
        sub = read_submission(io.BytesIO(calculation_off(base(), {("funding.amount_this_year", 0): 250})))
        assert sub.fields["total_pooled"] == clean.fields["total_pooled"] + 250
        assert sub.totals["funding.amount_this_year"] == clean.totals["funding.amount_this_year"] + 250
        assert sub.uncalculated == {sub.where("total_pooled"), sub.where("funding.amount_this_year")}
        assert sub.not_calculated == "calculation was set to manual when it was saved"
    assert not clean.uncalculated and clean.not_calculated is None


def test_a_submission_sent_to_another_process_arrives_whole(tmp_path: Path, clean_plan: Plan) -> None:
    import pickle

    sub = write_and_read(tmp_path, clean_plan.filled)
    got = pickle.loads(pickle.dumps(sub))
    assert "raw" not in got.__dict__  # the maps by cell travel packed, unpacked on first use
    assert (got.raw, got.names, got.fields, got.table_rows) == (sub.raw, sub.names, sub.fields, sub.table_rows)
    assert got.spec is sub.spec and got.raw
    assert pickle.loads(pickle.dumps(pickle.loads(pickle.dumps(sub)))).names == sub.names  # sent on unopened
    with pytest.raises(AttributeError):
        got.no_such_thing  # noqa: B018


def test_a_sheet_the_template_does_not_have_is_named_when_anything_is_typed_on_it(tmp_path: Path,
                                                                                  clean_plan: Plan) -> None:
    import openpyxl

    write_and_read(tmp_path, clean_plan.filled)
    wb = openpyxl.load_workbook(tmp_path / "plan.xlsx")
    wb.create_sheet("Notes")["C7"] = "ask Sue about the DFG"
    wb.copy_worksheet(wb["Funding"])  # "Funding Copy": a whole sheet of figures the template does not read
    wb.create_sheet("Empty")["B2"].number_format = "0.00"  # formatted, nothing typed
    wb.create_sheet("Spaces")["A1"] = "   "
    wb.save(tmp_path / "extra.xlsx")
    sub = read_submission(tmp_path / "extra.xlsx")
    extra = {p.sheet: (p.cell, p.found) for p in sub.problems if p.kind == ProblemKind.EXTRA_SHEET}
    assert extra.keys() == {"Notes", "Funding Copy"}
    assert extra["Notes"] == ("C7", "its one filled cell (C7)")
    assert re.fullmatch(r"its [\d,]+ filled cells \([A-Z]+\d+ to [A-Z]+\d+\)", extra["Funding Copy"][1])
    assert _typed_back(sub, clean_plan) == []  # what the template's own sheets hold is read as before


def test_values_hidden_under_merged_cells_are_named_where_they_are_read(tmp_path: Path, clean_plan: Plan) -> None:
    import zipfile

    sub = write_and_read(tmp_path, clean_plan.filled)
    part = f"xl/worksheets/sheet{[s.name for s in PLAN.spec().sheets].index('Schemes') + 1}.xml"
    src, out = tmp_path / "plan.xlsx", tmp_path / "merged.xlsx"
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as w:
        for item in z.infolist():  # C5:E5 merged as LibreOffice saves it: D5 and E5 keep what they held
            data = z.read(item)
            if item.filename == part:
                merge = b'<mergeCells count="2"><mergeCell ref="C5:E5"/><mergeCell ref="B70:C70"/></mergeCells>'
                data = data.replace(b"</sheetData>", b"</sheetData>" + merge)
            w.writestr(item, data)
    merged = read_submission(out)
    (p,) = [p for p in merged.problems if p.kind == ProblemKind.MERGED_HIDDEN]
    assert (p.sheet, p.cell, p.expected, p.also) == ("Schemes", "D5", "C5:E5", "as is 1 more cell of it")
    assert p.found == sub.raw[("Schemes", "D5")] and p.found  # what the hidden cell holds, as read
    assert merged.table_rows == sub.table_rows  # read as before: named, not dropped


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_a_row_inserted_just_above_a_total_is_read_and_the_total_that_leaves_it_out_named(tmp_path: Path,
                                                                                         clean_plan: Plan) -> None:
    import openpyxl

    from bcf.validate import complete, inspect_file

    src = tmp_path / "src"
    src.mkdir()
    sub = write_and_read(src, clean_plan.filled)
    total, last = sub.end_rows["schemes"], sub.rows("schemes")[-1][0]
    wb = openpyxl.load_workbook(src / "plan.xlsx")
    ws = wb["Schemes"]
    ws.insert_rows(total)  # as a spreadsheet does: the Total row moves down, its SUM stays as it was
    for col in range(2, ws.max_column + 1):
        ws.cell(total, col).value = ws.cell(last, col).value
    ws.cell(total, 2).value = "S99"
    wb.save(src / "inserted.xlsx")
    subprocess.run(["soffice", "--headless", "--calc", "--convert-to", "xlsx", "--outdir", str(tmp_path),
                    str(src / "inserted.xlsx")], check=True, capture_output=True, timeout=120)
    (report,) = complete([inspect_file(tmp_path / "inserted.xlsx")])
    short = [f for f in report.findings if f.rule_id == "BCF-ARITH-011"]
    spend = sub.columns["schemes"]["spend_this_year"]
    assert {f.cell for f in short} >= {f"{spend}{total + 1}"} and all(f.sheet == "Schemes" for f in short)
    assert all(f"leaves out row {total}" in f.message and f.expected.endswith(f"{total})") for f in short)
    assert not any(f.rule_id == "BCF-STRUCT-012" for f in report.findings)  # not "saved without being calculated"
    got = report.submission
    assert got is not None and got.totals["schemes.spend_this_year"] == pytest.approx(
        sum(v["spend_this_year"] for _, v in got.rows("schemes")))  # the plan's total takes the row in
