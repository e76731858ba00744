"""`bcf check` from the outside: exit codes, JSON, HTML that escapes submitter text, the annotated copy."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from itertools import takewhile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from bcf.cli import main
from bcf.findings import Finding
from bcf.generate import write_workbook
from bcf.samples import Plan
from bcf.validate import check_file
from tests.support import findings_table, write_plan

HOSTILE = '<script>alert("x")</script> {{ 7*7 }} =cmd|\' /C calc\'!A0'


@pytest.fixture
def defective(tmp_path: Path, clean_plan: Plan) -> Path:
    clean_plan.filled.fields["contact_email"] = HOSTILE
    clean_plan.filled.fields["share_la"] = 5
    return write_plan(clean_plan, tmp_path / "leeds plan.xlsx")


@pytest.fixture
def clean(tmp_path: Path, clean_plan: Plan) -> Path:
    return write_plan(clean_plan, tmp_path / "clean.xlsx")


@pytest.mark.parametrize("make, code", [("clean", 0), ("defective", 1)])
def test_exit_codes_as_a_subprocess(make: str, code: int, request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(make)
    proc = subprocess.run([sys.executable, "-m", "bcf", "check", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == code, proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    category = _provisional(path)  # what the central team's stress test decides for this very file
    assert last == ("0 blocking, 0 advisory: ready to submit." if code == 0 else
                    "1 blocking, 1 advisory: not ready to submit.") + (
        f" Assurance category today (provisional): {category}.")


def _provisional(path: Path) -> str:
    from bcf.preview import preview
    from bcf.validate import check_file

    pv = preview(check_file(path))
    assert pv is not None
    return pv.assessment.category


def test_usage_error_is_exit_2() -> None:
    assert CliRunner().invoke(main, ["check", "/no/such/file.xlsx"]).exit_code == 2


def test_text_groups_by_sheet_then_rule(defective: Path) -> None:
    out = CliRunner().invoke(main, ["check", str(defective)]).output
    cover, governance = out.index("\nCover\n"), out.index("\nGovernance\n")
    assert cover < out.index("BCF-CELL-006  advisory") < governance < out.index("BCF-ARITH-005  blocking")
    assert "C11" in out and "Fix: Change the shares so that they add up to 100%." in out


def test_json_schema(defective: Path) -> None:
    result = CliRunner().invoke(main, ["check", "--format", "json", str(defective)])
    doc = json.loads(result.output)
    assert result.exit_code == 1
    assert set(doc) == {"schema", "file", "hwb", "plan_code", "template", "status", "blocking", "advisory", "findings",
                        "assurance_preview"}
    assert doc["assurance_preview"]["category"] == _provisional(defective)
    assert doc["assurance_preview"]["provisional"] is True
    assert (doc["schema"], doc["hwb"], doc["plan_code"], doc["status"]) == ("bcf-check/1", "Leeds", "E08000035", "not ready")
    assert [(f["rule_id"], f["sheet"], f["cell"]) for f in doc["findings"]] == [
        ("BCF-CELL-006", "Cover", "C12"), ("BCF-ARITH-005", "Governance", "C11")]
    assert set(doc["findings"][0]) == {"rule_id", "severity", "family", "sheet", "cell", "found", "expected", "message",
                                       "fix", "title", "rule_ref", "explanation"}
    assert doc["findings"][0]["found"] == HOSTILE


def test_html_escapes_submitter_text(defective: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["check", "--format", "html", "-o", str(out), str(defective)])
    assert result.exit_code == 1 and "not ready to submit" in result.output
    page = out.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(" in page
    # Jinja syntax in data is shown, not evaluated (the page's own time may well hold a 49)
    assert "&lt;/script&gt; {{ 7*7 }}" in page and "&lt;/script&gt; 49" not in page
    assert "Not ready to submit" in page and "BCF-ARITH-005" in page


def test_annotated_copy(defective: Path, tmp_path: Path) -> None:
    before = hashlib.sha256(defective.read_bytes()).hexdigest()
    out = tmp_path / "annotated.xlsx"
    result = CliRunner().invoke(main, ["check", str(defective), "--annotate", str(out)])
    assert result.exit_code == 1 and "2 cells marked" in result.output
    assert hashlib.sha256(defective.read_bytes()).hexdigest() == before
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "Findings"
    rows = list(takewhile(any, wb["Findings"].iter_rows(min_row=2, values_only=True)))  # then a blank row, the verdict
    assert [(r[1], r[2], r[3]) for r in rows] == [("BCF-CELL-006", "Cover", "C12"), ("BCF-ARITH-005", "Governance", "C11")]
    assert wb["Findings"]["D3"].hyperlink.location == "'Governance'!C11"
    below = [r[0] for r in wb["Findings"].iter_rows(min_row=len(rows) + 3, values_only=True)]
    assert below[0] == "Not ready to submit: 1 blocking, 1 advisory."
    assert wb["Findings"].print_title_rows == "$1:$1" and wb["Findings"].page_setup.fitToWidth == 1
    assert wb["Governance"]["C11"].fill.fgColor.rgb.endswith("F4A09A")  # red: blocking
    assert wb["Cover"]["C12"].fill.fgColor.rgb.endswith("FFD966")  # amber: advisory
    assert "BCF-ARITH-005" in wb["Governance"]["C11"].comment.text
    assert wb["Governance"]["C11"].value.startswith("=")  # formulas kept
    assert len(wb["Schemes"].data_validations.dataValidation) > 5  # validations kept
    assert wb["Cover"]["C11"].value == "Sam Patel" or wb["Cover"]["C11"].value  # submitter data kept


OWN_NOTE = "Checked with Jo Brown: the 55/55 split is what the board agreed."


def _with_own_comment(defective: Path, tmp_path: Path, saved_by: str) -> Path:
    """The defective plan with the officer's own comment on the cell that has a finding, saved by openpyxl or
    by LibreOffice (as an officer who edits in LibreOffice would save it)."""
    wb = openpyxl.load_workbook(defective)
    wb["Governance"]["C11"].comment = openpyxl.comments.Comment(OWN_NOTE, "Sam Patel")
    wb["Cover"]["C11"].comment = openpyxl.comments.Comment("Our contact until June.", "Sam Patel")  # no finding
    path = tmp_path / "commented.xlsx"
    wb.save(path)
    if saved_by == "openpyxl":
        return path
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    subprocess.run(["soffice", f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless", "--calc",
                    "--convert-to", "xlsx", "--outdir", str(tmp_path / "lo"), str(path)],
                   check=True, capture_output=True, timeout=120)
    return tmp_path / "lo" / "commented.xlsx"


@pytest.mark.parametrize("saved_by", ["openpyxl", "libreoffice"])
def test_the_officers_own_comment_is_kept_and_the_finding_added_after_it(defective: Path, tmp_path: Path,
                                                                          saved_by: str) -> None:
    path, out = _with_own_comment(defective, tmp_path, saved_by), tmp_path / "annotated.xlsx"
    assert OWN_NOTE in openpyxl.load_workbook(path)["Governance"]["C11"].comment.text
    result = CliRunner().invoke(main, ["check", str(path), "--annotate", str(out)])
    assert result.exit_code == 1 and "2 cells marked" in result.output, result.output
    wb = openpyxl.load_workbook(out)
    text = wb["Governance"]["C11"].comment.text
    assert text.index(OWN_NOTE) < text.index("bcf self-check:") < text.index("BCF-ARITH-005"), text
    assert "Our contact until June." in wb["Cover"]["C11"].comment.text  # a cell with no finding keeps its own
    assert wb["Cover"]["C12"].comment.text.startswith("BCF-CELL-006")  # a cell with no comment gets the finding


def test_a_finding_in_a_merged_range_is_marked_on_its_first_cell(defective: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(defective)
    wb["Cover"].merge_cells("B12:C12")  # the email cell merged into its label: what it held is gone
    merged, out = tmp_path / "merged.xlsx", tmp_path / "annotated.xlsx"
    wb.save(merged)
    result = CliRunner().invoke(main, ["check", str(merged), "--annotate", str(out)])
    assert result.exit_code == 1 and "No annotated copy" not in result.output
    assert ("BCF-CELL-001", "Cover", "C12") in findings_table(check_file(merged), "rule_id", "sheet", "cell")
    assert "BCF-CELL-001" in openpyxl.load_workbook(out)["Cover"]["B12"].comment.text


def test_annotate_refuses_to_overwrite_the_original(defective: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(defective), "--annotate", str(defective)])
    assert result.exit_code == 2


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_annotated_copy_opens_in_libreoffice(defective: Path, tmp_path: Path) -> None:
    out = tmp_path / "annotated.xlsx"
    CliRunner().invoke(main, ["check", str(defective), "--annotate", str(out)])
    subprocess.run(["soffice", "--headless", "--calc", "--convert-to", "xlsx", "--outdir", str(tmp_path / "lo"), str(out)],
                   check=True, capture_output=True, timeout=120)
    wb = openpyxl.load_workbook(tmp_path / "lo" / "annotated.xlsx")
    assert wb.sheetnames[0] == "Findings" and wb["Cover"]["C12"].value


def test_a_fault_of_the_checker_is_never_called_damage(tmp_path: Path, clean_plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    from bcf.validate import logic

    def broken(sub: object) -> Iterator[Finding]:
        raise KeyError("a bug in a rule")
        yield  # pragma: no cover

    path = tmp_path / "plan.xlsx"
    write_workbook(clean_plan.spec, path, clean_plan.filled)
    monkeypatch.setitem(logic.RULES, "BCF-POL-002", (("social_care_protection",), broken))
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 3
    assert "fault in bcf, not in your file" in result.output and "damaged" not in result.output


def test_a_character_that_takes_no_room_is_shown_where_it_hides(tmp_path: Path, clean_plan: Plan) -> None:
    clean_plan.filled.tables["schemes"][0]["protects_social_care"] = "Yes\u200b"  # type: ignore[index]
    path = write_plan(clean_plan, tmp_path / "plan.xlsx")
    text = CliRunner().invoke(main, ["check", str(path)]).output
    assert '"Yes\\u200b" is not one of the options' in text and "Yes\u200b" not in text
    doc = json.loads(CliRunner().invoke(main, ["check", str(path), "--format", "json"]).output)
    assert any(f["found"] == "Yes\u200b" for f in doc["findings"])  # scripts get the text as it is


def test_a_ready_file_whose_copy_could_not_be_made_is_not_ready_for_a_script(clean: Path, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> int:
        raise ValueError("a workbook openpyxl cannot load")

    monkeypatch.setattr("bcf.annotate.annotate", fail)
    result = CliRunner().invoke(main, ["check", str(clean), "--annotate", str(tmp_path / "marked.xlsx")])
    assert result.exit_code == 3 and "No annotated copy" in result.output  # `check … && send marked.xlsx` stops
