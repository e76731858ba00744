"""The self-check's preview of the assurance category: the same engine as the central team's, shown everywhere."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from bcf import samples
from bcf.annotate import PREVIEW_SHEET
from bcf.cli import main
from bcf.generate import new_template, write_workbook
from bcf.national import stress
from bcf.national.door import open_store
from bcf.preview import preview
from bcf.validate import check_file
from bcf.words import CATEGORIES
from tests.support import AREAS, PLAN, ROUND


@pytest.fixture(scope="module")
def decided(national: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, list[str]]]:
    """plan code -> (category, reasons) as the central team's run over the whole round decides them."""
    db = tmp_path_factory.mktemp("decided") / "n.duckdb"
    db.write_bytes(national.read_bytes())
    with open_store(db, write=True) as nat:
        con = nat.con
        stress.run(nat, ROUND, PLAN.round.params())
        return {code: (cat, list(reasons)) for code, cat, reasons in
                con.execute("SELECT plan_code, category, reasons FROM assurance").fetchall()}


def test_the_preview_agrees_with_the_central_run(decided: dict[str, tuple[str, list[str]]],
                                                 sample_round: tuple[Path, dict[str, Any]]) -> None:
    """Four plans of every category (all of them when fewer), checked alone, get the round's category and reasons."""
    folder, manifest = sample_round
    by_category: dict[str, list[dict[str, Any]]] = {}
    for f in manifest["files"]:
        if f["plan_code"] in decided:
            by_category.setdefault(decided[f["plan_code"]][0], []).append(f)
    assert set(by_category) == set(CATEGORIES)
    for files in by_category.values():
        for f in files[:4]:
            pv = preview(check_file(folder / f["file"]))
            assert pv is not None
            assert (pv.assessment.category, list(pv.assessment.reasons)) == decided[f["plan_code"]], f["file"]
    from bcf.preview import _idle  # the central run optimises its queries; the preview's store, of one plan, does not
    assert _idle and _idle[0].con.execute("SELECT current_setting('enable_optimizer')").fetchone() == (False,)


@pytest.fixture
def weak_evidence(tmp_path: Path) -> Path:
    """A plan with no blocking or advisory problem whose savings rest on evidence rated Low: ready to submit, yet
    the central team would attach conditions (the case of an officer told 'ready' and then sent conditions)."""
    plan = samples.build_plan(AREAS.find("County Durham"), random.Random(3), PLAN)  # type: ignore[arg-type]
    for b in plan.filled.tables["benefits"]:
        if b:
            b["confidence"] = "Low"
    path = tmp_path / "durham.xlsx"
    write_workbook(plan.spec, path, plan.filled)
    return path


def test_ready_to_submit_still_shows_the_category_it_would_get(weak_evidence: Path, tmp_path: Path) -> None:
    report = check_file(weak_evidence)
    assert report.status == "ready"
    runner = CliRunner()
    text = runner.invoke(main, ["check", str(weak_evidence), "--annotate", str(tmp_path / "copy.xlsx")])
    assert text.exit_code == 0
    assert "Assurance category (provisional): Approved subject to conditions" in text.output
    assert "Optimism ratio (claimed / backed by evidence): no savings backed by evidence" in text.output
    assert "Low not at all" in text.output and "against the 3.5% expected" in text.output
    assert "1. None of the claimed savings is backed by evidence rated High or Medium." in text.output
    assert "Where: Benefits sheet, Confidence column: B01 in M5" in text.output
    assert ("0 blocking, 0 advisory: ready to submit. Assurance category today (provisional): "
            "Approved subject to conditions.") in text.output.splitlines()

    doc = json.loads(runner.invoke(main, ["check", str(weak_evidence), "--format", "json"]).output)
    pv = doc["assurance_preview"]
    assert (pv["category"], pv["provisional"], pv["round"]) == ("Approved subject to conditions", True, ROUND)
    assert pv["figures"]["credible"] == 0 and pv["figures"]["claimed"] > 0 and pv["figures"]["optimism"] is None
    assert pv["figures"]["conditions_optimism"] == 2.0
    assert pv["actions"][0]["by"] == (dt.date.today() + dt.timedelta(days=21)).isoformat()  # three weeks from today

    runner.invoke(main, ["check", str(weak_evidence), "--format", "html", "-o", str(tmp_path / "r.html")])
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Assurance category (provisional): Approved subject to conditions" in page and "Done when:" in page
    joined = "Ready to submit means the workbook passes every check, not that the plan is approved outright"
    assert joined in text.output and joined in page  # one sentence joins "ready" to a category below Approved
    assert page.index('id="problems"') < page.index('id="preview-title"')  # what to fix first, then the category

    sheet = openpyxl.load_workbook(tmp_path / "copy.xlsx")[PREVIEW_SHEET]
    cells = [r[0] for r in sheet.iter_rows(values_only=True)]
    assert cells[0] == "Assurance category (provisional): Approved subject to conditions"
    assert any(str(c).startswith("Provisional:") for c in cells)
    summary = [r[0] for r in openpyxl.load_workbook(tmp_path / "copy.xlsx")["Findings"].iter_rows(values_only=True)]
    assert summary[0] == "Severity" and summary[2] == "Ready to submit: 0 blocking, 0 advisory."
    assert str(summary[3]).startswith(joined)


def test_raising_the_evidence_the_action_names_improves_the_category(tmp_path: Path) -> None:
    """Doing what the preview asks is enough: the named benefits rated High, the category is no longer conditional."""
    plan = samples.build_plan(AREAS.find("Leeds"), random.Random(5), PLAN)  # type: ignore[arg-type]
    path = tmp_path / "leeds.xlsx"
    write_workbook(plan.spec, path, plan.filled)
    before = preview(check_file(path))
    assert before is not None and before.assessment.category == "Approved subject to conditions"
    (action,) = before.assessment.actions
    named = {b.split(" in ")[0] for b in action.where.split(": ", 1)[1].split("; ")}
    assert named and named <= {b["benefit_id"] for b in plan.filled.tables["benefits"] if b}
    for b in plan.filled.tables["benefits"]:
        if b and b["benefit_id"] in named:
            b.update(confidence="High", evidence="Evaluation of our pilot last year")
    write_workbook(plan.spec, path, plan.filled)
    after = preview(check_file(path))
    assert after is not None and after.assessment.category in ("Approved", "Approved with support")


def test_no_preview_for_what_is_not_a_plan(tmp_path: Path, sample_round: tuple[Path, dict[str, Any]]) -> None:
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a workbook")
    assert preview(check_file(junk)) is None
    doc = json.loads(CliRunner().invoke(main, ["check", str(junk), "--format", "json"]).output)
    assert doc["assurance_preview"] is None


def test_the_template_says_how_evidence_ratings_count(tmp_path: Path) -> None:
    new_template(PLAN.spec(), tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "t.xlsx")["Benefits"]
    table = PLAN.spec().table("benefits")
    prompts = {table.letter(c): dv.prompt for dv in ws.data_validations.dataValidation if dv.prompt
               for c in ("confidence", "evidence") if f"{table.letter(c)}{table.header_row + 1}" in dv.sqref}
    assert "Low counts as nothing" in prompts[table.letter("confidence")]
    assert "counts as nothing" in prompts[table.letter("evidence")]
    assert PLAN.round.params()["weight_low"].value == 0  # what the prompt says is what the stress test does
