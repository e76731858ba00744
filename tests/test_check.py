"""Every rule fires at the right cell on a minimal workbook, and stays quiet on a clean one."""

from __future__ import annotations

import copy
import random
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bcf import samples
from bcf.findings import rules
from bcf.generate import write_workbook
from bcf.samples import Plan
from bcf.spec import Table
from bcf.validate import Report, check_file
from tests.support import AREAS, PLAN, findings_table, write_plan

Mutation = Callable[[Plan], tuple[str, str | None]]


@pytest.fixture(scope="module")
def clean_report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    plan = samples.build_plan(AREAS.find("Leeds"), random.Random(7), PLAN)  # type: ignore[arg-type]
    return check_file(write_plan(plan, tmp_path_factory.mktemp("clean") / "leeds.xlsx"))


def test_a_clean_plan_has_no_findings(clean_report: Report) -> None:
    assert findings_table(clean_report, "rule_id", "cell") == []
    assert (clean_report.status, clean_report.exit_code) == ("ready", 0)


# -- rules that the sample round plants: each defect records the cell its finding must name --------------
@pytest.mark.parametrize("kind", sorted(samples.DEFECTS))
def test_each_planted_defect_is_found_at_its_cell(kind: str, tmp_path: Path, clean_plan: Plan,
                                                  clean_report: Report) -> None:
    rule_id, _, plant = samples.DEFECTS[kind]
    plant(clean_plan, random.Random(3))
    assert clean_plan.defects[0]["rule"] == rule_id  # and any finding that follows from it (a total not checked)
    report = check_file(write_plan(clean_plan, tmp_path / "plan.xlsx"))
    found = {(f.rule_id, f.cell) for f in report.findings}
    for defect in clean_plan.defects:
        assert (defect["rule"], defect["cell"]) in found, findings_table(report, "rule_id", "sheet", "cell")
    assert rule_id not in {f.rule_id for f in clean_report.findings}


# -- rules no sample defect plants ------------------------------------------------------------------------
def _typed_over(name: str, index: int | None, value: object) -> Mutation:
    def mutate(p: Plan) -> tuple[str, str | None]:
        p.filled.typed_over[(name, index)] = value
        return p.cell(name, index)
    return mutate


def _date_out_of_range(p: Plan) -> tuple[str, str | None]:
    p.filled.tables["risks"][0]["review_date"] = date(2031, 1, 1)  # type: ignore[index]
    return p.cell("risks.review_date", 0)


def _condition_late(p: Plan) -> tuple[str, str | None]:
    p.filled.tables["conditions"][1] = {"meets": "In progress", "explanation": "Agreement with providers by summer",
                                        "date_expected": date(2015, 9, 30)}
    return p.cell("conditions.date_expected", 1)


EXTRA: dict[str, Mutation] = {
    "BCF-ARITH-002": _typed_over("total_pooled", None, 1.0),
    "BCF-ARITH-007": _typed_over("nel_reduction", None, 99999.0),
    "BCF-CELL-009": _date_out_of_range,
    "BCF-POL-011": _condition_late,
}


@pytest.mark.parametrize("rule_id", sorted(EXTRA))
def test_rules_without_a_planted_defect(rule_id: str, tmp_path: Path, clean_plan: Plan, clean_report: Report) -> None:
    sheet, cell = EXTRA[rule_id](clean_plan)
    report = check_file(write_plan(clean_plan, tmp_path / "plan.xlsx"))
    assert (rule_id, sheet, cell) in findings_table(report, "rule_id", "sheet", "cell")
    assert rule_id not in {f.rule_id for f in clean_report.findings}


def test_hidden_sheet_and_a_table_found_by_its_headings_or_not_at_all(tmp_path: Path, clean_plan: Plan) -> None:
    import openpyxl

    path = write_plan(clean_plan, tmp_path / "plan.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["Metrics"].sheet_state = "hidden"
    wb["Risks"]["A4"] = None  # the risk table's start tag deleted: found by its visible headings
    wb["Schemes"]["A4"] = None  # the schemes table's tag and headings gone: not found at all
    for col in "BCDEFGHIJKLM":
        wb["Schemes"][f"{col}4"] = None
    wb.save(path)
    table = findings_table(check_file(path), "rule_id", "sheet", "cell")
    assert ("BCF-STRUCT-007", "Metrics", None) in table
    assert ("BCF-STRUCT-003", "Schemes", "B4") in table
    # nothing else on either sheet, and nothing built on the unread schemes (no "£0k of scheme spend",
    # no "scheme S01 is not on the Schemes sheet")
    assert [r for r in table if r[1] in ("Risks", "Schemes", "Benefits")] == [("BCF-STRUCT-003", "Schemes", "B4")]


def test_too_many_rows(tmp_path: Path, clean_plan: Plan) -> None:
    import openpyxl

    path = write_plan(clean_plan, tmp_path / "plan.xlsx")
    wb = openpyxl.load_workbook(path)
    ws, t = wb["Provider impact"], PLAN.spec().table("providers")
    ws.insert_rows(t.end_row, 3)  # three rows inserted just above the totals row, then filled
    for r in range(t.header_row + 1, t.end_row + 3):
        ws[f"B{r}"], ws[f"C{r}"], ws[f"D{r}"], ws[f"E{r}"], ws[f"F{r}"] = f"Provider {r}", "Other", 0, 0, "Yes"
    wb.save(path)
    table = findings_table(check_file(path), "rule_id", "sheet", "cell")
    assert ("BCF-STRUCT-008", "Provider impact", f"B{t.header_row + 1 + t.max_rows}") in table


def _providers(ws: Any, rows: range) -> None:
    for r in rows:
        ws[f"B{r}"], ws[f"C{r}"], ws[f"D{r}"], ws[f"E{r}"], ws[f"F{r}"] = f"Provider {r}", "Other", 0, 0, "Yes"


def _many_rows(ws: Any, t: Table) -> str:
    ws.insert_rows(t.end_row, 250)  # far more rows than the template allows, the totals row still below them
    _providers(ws, range(t.header_row + 1, t.end_row + 250))
    return "BCF-STRUCT-008"


def _totals_row_deleted(ws: Any, t: Table) -> str:
    ws.delete_rows(t.end_row)
    _providers(ws, range(t.header_row + 1, t.header_row + 1 + 3 * t.max_rows))
    return "BCF-STRUCT-008"


def _past_the_last_row_read(ws: Any, t: Table) -> str:
    ws.insert_rows(t.end_row, 500)  # the table runs on past the last row the checker reads
    _providers(ws, range(t.header_row + 1, t.end_row + 500))
    return "BCF-STRUCT-009"


def _past_the_last_column_read(ws: Any, t: Table) -> str:
    ws[f"AZ{t.header_row + 1}"] = 12345
    return "BCF-STRUCT-009"


@pytest.mark.parametrize("edit", [_many_rows, _totals_row_deleted, _past_the_last_row_read, _past_the_last_column_read])
def test_reading_never_stops_without_a_finding(edit: Callable[[Any, Table], str], tmp_path: Path,
                                               clean_plan: Plan) -> None:
    import openpyxl

    path = write_plan(clean_plan, tmp_path / "plan.xlsx")
    wb = openpyxl.load_workbook(path)
    rule_id = edit(wb["Provider impact"], PLAN.spec().table("providers"))
    wb.save(path)
    report = check_file(path)
    assert rule_id in {f.rule_id for f in report.findings if f.sheet == "Provider impact"}
    assert report.status == "not ready"


def test_missing_sheet_does_not_cascade(tmp_path: Path, clean_plan: Plan) -> None:
    clean_plan.layout.titles["Benefits"] = ""
    report = check_file(write_plan(clean_plan, tmp_path / "plan.xlsx"))
    assert findings_table(report, "rule_id", "sheet", "cell") == [("BCF-STRUCT-001", "Benefits", None)]


def test_one_finding_per_cell_type_beats_required(tmp_path: Path, clean_plan: Plan) -> None:
    clean_plan.filled.fields["contingency"] = "£1,234"
    report = check_file(write_plan(clean_plan, tmp_path / "plan.xlsx"))
    assert findings_table(report, "rule_id", "cell", "found") == [("BCF-CELL-002", "C12", "£1,234")]
    (f,) = report.findings
    assert f.message == 'You entered "£1,234" where a number is needed. Enter it as "1234", the number alone.'
    assert f.expected == "1234"  # the value that would be accepted
    assert f.fix.startswith('Enter "Contingency fund (£000)" as a number, for example 1250.')


def test_findings_are_sorted_and_messages_filled(tmp_path: Path, clean_plan: Plan) -> None:
    for kind in ("bad_email", "duplicate_id", "signoff_missing", "no_social_care_protection"):
        samples.DEFECTS[kind][2](clean_plan, random.Random(1))
    report = check_file(write_plan(clean_plan, tmp_path / "plan.xlsx"))
    sheets = [f.sheet for f in report.findings]
    assert sheets == sorted(sheets, key=["Cover", "Funding", "Risks"].index)
    assert all("{" not in f.message + f.fix for f in report.findings)


def test_every_catalogued_rule_is_exercised() -> None:
    from tests.gate_cases import GATE_CASES
    from tests.habits import HABITS

    exercised = ({r for r, _, _ in samples.DEFECTS.values()} | set(EXTRA) | {r for r, _ in GATE_CASES.values()}
                 | {r for h in HABITS.values() for r, _, _ in h.expect}  # test_habits
                 | {"BCF-STRUCT-003", "BCF-STRUCT-007", "BCF-STRUCT-008"}  # tests above
                 | {"BCF-GATE-011"}  # test_batch: a worker that raises, hangs or crashes
                 | {"BCF-CELL-010"}  # test_corpus: a cell with 1 MB of text
                 | {"BCF-STRUCT-012"}  # test_corpus: written by XlsxWriter, or with calculation switched off
                 | {"BCF-STRUCT-014", "BCF-ARITH-011"}  # test_read: merged cells; a row inserted above a Total
                 | {"BCF-GATE-012", "BCF-POL-012", "BCF-ARITH-008"}  # test_rounds
                 | {"BCF-POL-013"}  # below
                 | {"BCF-CONS-006", "BCF-CONS-007", "BCF-CONS-009"}  # test_monitor
                 | {"BCF-CONS-008"}  # test_resubmissions
                 | {"BCF-REF-003"})  # test_reference: a reference file that is not installed
    assert set(rules()) == exercised


def test_catalogue_document_is_up_to_date() -> None:
    from bcf.findings import as_markdown

    assert (Path(__file__).parents[1] / "docs" / "rules.md").read_text(encoding="utf-8") == as_markdown() + "\n"


def test_superseded_version_still_checks_the_rest(tmp_path: Path, clean_plan: Plan) -> None:
    old = copy.deepcopy(clean_plan)
    old.version = "1.1"
    old.filled.fields["contact_email"] = "nobody"
    report = check_file(write_plan(old, tmp_path / "old.xlsx"))
    assert findings_table(report, "rule_id", "cell") == [("BCF-GATE-007", None), ("BCF-CELL-006", "C12")]


def test_pool_spending_ahead_of_income_is_advisory(tmp_path: Path) -> None:
    import random

    from bcf.samples.quarterly import quarters
    from tests.support import QUARTERLY

    area = AREAS.find("Leeds")
    assert area is not None
    q = quarters(samples.build_plan(area, random.Random(4), PLAN), QUARTERLY, random.Random(4))[2]
    q.filled.fields["spend_actual"] = q.filled.fields["income_actual"] + 500
    write_workbook(QUARTERLY.spec(), tmp_path / "q.xlsx", q.filled)
    report = check_file(tmp_path / "q.xlsx")
    assert findings_table(report, "rule_id", "sheet", "cell", "severity") == [
        ("BCF-POL-013", "Income and expenditure", "C7", "advisory")]


def test_a_fraction_where_a_whole_number_is_wanted_is_shown_as_typed(tmp_path: Path, clean_plan: Plan) -> None:
    clean_plan.filled.fields["population"] = 148942.7
    report = check_file(write_plan(clean_plan, tmp_path / "plan.xlsx"))
    (f,) = [f for f in report.findings if f.rule_id == "BCF-CELL-002"]
    assert f.message == 'You entered "148,942.7" where a whole number is needed.'  # not "148,943", which looks whole


@pytest.mark.parametrize("typed", ["E08000035", "  leeds "])
def test_a_board_named_by_its_code_or_in_another_case_is_the_board_the_list_names(typed: str, tmp_path: Path,
                                                                                  clean_plan: Plan) -> None:
    clean_plan.filled.fields["hwb_name"] = typed
    path = write_plan(clean_plan, tmp_path / "plan.xlsx")
    report = check_file(path)
    assert report.hwb == "Leeds" and report.as_dict()["hwb"] == "Leeds" and report.plan_code == "E08000035"
    assert report.status == "ready"


def test_the_calculations_two_rules_read_are_worked_out_once_a_submission(tmp_path: Path, clean_plan: Plan,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from bcf.read import read_submission
    from bcf.recalc import calculated
    from bcf.validate import logic

    _typed_over("total_pooled", None, 1.0)(clean_plan)
    _typed_over("nel_reduction", None, 99999.0)(clean_plan)
    sub = read_submission(write_plan(clean_plan, tmp_path / "plan.xlsx"))
    alone = [*logic.calculated_cells_typed_over(sub), *logic.table_totals_typed_over(sub)]  # each works them out
    worked_out = []
    monkeypatch.setattr(logic, "calculated", lambda s: worked_out.append(s) or calculated(s))
    found = logic.logic_findings(sub)
    assert worked_out == [sub]
    assert {"BCF-ARITH-002", "BCF-ARITH-007"} <= {f.rule_id for f in found}
    assert [f for f in found if f.rule_id in {f.rule_id for f in alone}] == alone


def test_a_table_two_versions_define_alike_is_checked_in_one_frame_with_the_same_findings(
        tmp_path: Path, clean_plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    from bcf.read import read_submission
    from bcf.validate import cells

    old = copy.deepcopy(clean_plan)
    old.version = "1.1"
    old.filled.fields["contact_email"] = "nobody"
    old.filled.tables["funding"][0]["amount_this_year"] = -5.0  # a table both versions define alike
    clean_plan.filled.tables["funding"][1]["amount_this_year"] = -7.0
    subs = [read_submission(write_plan(p, tmp_path / f"{i}.xlsx")) for i, p in enumerate((clean_plan, old))]
    assert {s.spec.version for s in subs} == {"1.1", "1.2"}
    alone = [cells.cell_findings(s) for s in subs]
    called: list[str] = []
    real = cells.failures
    monkeypatch.setattr(cells, "failures", lambda schema, frame: called.append(schema.name) or real(schema, frame))
    assert cells.cell_findings_many(subs) == alone
    assert called.count("funding") == 1 and called.count(cells.FIELDS) == 2  # fields differ between the versions
    assert {f.rule_id for found in alone for f in found} >= {"BCF-CELL-003", "BCF-CELL-006"}


def test_a_batch_prepares_the_cell_rules_of_every_version_of_its_return_before_its_first_chunk() -> None:
    """In a fresh process, as a batch starts: every version's schemas made, pandera's backends for frames loaded."""
    script = (
        "import pandas as pd, pandera.pandas as pa\n"
        "from bcf import batch, rounds\n"
        "from bcf.validate import cells\n"
        f"ret = rounds.get({PLAN.round.id!r}).ret('plan')\n"
        "assert (pa.DataFrameSchema, pd.DataFrame) not in pa.DataFrameSchema.BACKEND_REGISTRY\n"
        "batch._prepare_cells(ret)\n"
        "assert cells._schemas.cache_info().currsize == len(ret.versions()) > 1, cells._schemas.cache_info()\n"
        "assert (pa.DataFrameSchema, pd.DataFrame) in pa.DataFrameSchema.BACKEND_REGISTRY\n"
        "assert (pa.Column, pd.DataFrame) in pa.Column.BACKEND_REGISTRY\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
