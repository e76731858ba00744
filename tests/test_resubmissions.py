"""The resubmission cycle: what changed, explanations of advisory findings, and assurers' decisions on them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bcf import diff, store
from bcf.batch import run_batch
from bcf.cli import main
from bcf.errors import StoreBusy
from bcf.national import resubmissions, stress
from bcf.national.door import open_store
from bcf.validate import check_file
from tests.support import PLAN, ROUND, advisory_plan, category_of, plan_for, write_plan


def test_diff_matches_rows_by_their_ids(tmp_path: Path) -> None:
    p = plan_for()
    old = write_plan(p, tmp_path / "old.xlsx")
    schemes = p.filled.tables["schemes"]
    inserted = {**schemes[2], "scheme_id": "S99", "scheme_name": "Falls response service"}  # type: ignore[dict-item]
    schemes.insert(2, inserted)
    schemes[0]["spend_this_year"] += 100  # type: ignore[index]
    schemes[1]["spend_this_year"] -= 100  # type: ignore[index]
    removed = p.filled.tables["benefits"].pop()
    p.filled.fields["contact_name"] = "Jo Bloggs"
    new = write_plan(p, tmp_path / "new.xlsx")
    a, b = check_file(old), check_file(new)
    assert a.submission and b.submission
    d = diff.compare(diff.Contents.of(a.submission), diff.Contents.of(b.submission), a.findings, b.findings)
    t = PLAN.spec().table("schemes")
    assert [(c.kind, c.sheet, c.cell, c.what) for c in d.changes] == [
        ("changed", "Cover", "C11", "Contact name"),
        ("changed", "Schemes", f"{t.letter('spend_this_year')}5", "Schemes S01: 2015/16 spend (£000)"),
        ("changed", "Schemes", f"{t.letter('spend_this_year')}6", "Schemes S02: 2015/16 spend (£000)"),
        ("added", "Schemes", "B7", "Schemes S99"),  # one added row: the rows below it are not "changed"
        ("removed", "Benefits", f"B{4 + len(p.filled.tables['benefits']) + 1}", f"Benefits {removed['benefit_id']}"),  # type: ignore[index]
    ]
    # the inserted scheme's spend is new money: the totals no longer tie
    assert [(f.status, f.finding.rule_id, f.finding.cell) for f in d.findings] == [
        ("new", "BCF-ARITH-001", f"{t.letter('spend_this_year')}{t.end_row}")]


def test_submitted_text_cannot_forge_lines_of_the_text_diff(tmp_path: Path) -> None:
    p = plan_for()
    old = write_plan(p, tmp_path / "old.xlsx")
    forged = "Carers\nFindings new (0)\n\u202eLOW"
    p.filled.tables["schemes"][0]["scheme_name"] = forged  # type: ignore[index]
    new = write_plan(p, tmp_path / "new.xlsx")
    out = CliRunner().invoke(main, ["diff", str(old), str(new)]).output
    assert "Findings new (0)" not in out.splitlines() and "\u202e" not in out
    assert "Carers\\nFindings new (0)\\n\\u202eLOW" in out  # shown, as escapes, on its own line


def test_findings_are_labelled_new_resolved_or_still_there(tmp_path: Path) -> None:
    p = plan_for()
    p.filled.fields["contact_email"] = "finance team"  # advisory, kept
    p.filled.tables["signoffs"][0]["signed"] = "No"  # type: ignore[index]  # blocking, fixed next time
    old = write_plan(p, tmp_path / "old.xlsx")
    p.filled.tables["signoffs"][0]["signed"] = "Yes"  # type: ignore[index]
    p.filled.fields["share_la"] = 5  # new: shares no longer add up
    new = write_plan(p, tmp_path / "new.xlsx")
    result = CliRunner().invoke(main, ["diff", str(old), str(new), "--format", "json"])
    assert result.exit_code == 0, result.output
    labels = sorted((f["status"], f["rule_id"]) for f in json.loads(result.output)["findings"])
    assert labels == [("new", "BCF-ARITH-005"), ("resolved", "BCF-POL-005"), ("still there", "BCF-CELL-006")]


def test_an_explanation_is_shown_and_one_that_matches_nothing_is_a_finding(tmp_path: Path) -> None:
    p = advisory_plan()
    p.filled.tables["explanations"].append({"rule_id": "BCF-POL-099", "location": "Risks C4", "reason": "Typo"})
    report = check_file(write_plan(p, tmp_path / "plan.xlsx"))
    explained = {(f.rule_id, f.cell): f.explanation for f in report.findings if f.explanation}
    assert explained == {("BCF-ARITH-006", "I6"): "The saving nets off the cost of the new service."}
    assert [(f.rule_id, f.sheet, f.cell) for f in report.findings if f.rule_id == "BCF-CONS-008"] == [
        ("BCF-CONS-008", "Explanations", "B8")]
    assert report.status == "ready" and report.advisory == 5


@pytest.fixture
def cycle(tmp_path: Path) -> Path:
    """A store holding the explained plan."""
    db = tmp_path / "n.duckdb"
    write_plan(advisory_plan(), tmp_path / "first" / "E08000035_Leeds.xlsx", time.time() - 3600)
    run_batch(tmp_path / "first", db, ROUND, workers=1)
    return db


def _states(db: Path) -> list[tuple[Any, ...]]:
    with store.connect(db) as con:
        return con.execute("SELECT rule_id, location, state FROM explained_findings").fetchall()


def test_a_decision_lives_while_its_finding_is_unchanged(cycle: Path, tmp_path: Path) -> None:
    assert category_of(cycle)[0] == "Approved with support"
    assert _states(cycle) == [("BCF-ARITH-006", "benefits[B02].planned_saving", "awaiting a decision")]
    (first,) = resubmissions.decide(cycle, ROUND, "BCF-ARITH-006", "accepted", "Netting agreed with the region", "Ann",
                                    plan_code="E08000035", place="Benefits I6")
    category, reasons = category_of(cycle)
    assert category == "Approved" and "1 advisory finding explained by the area and accepted" in reasons
    # resubmitted with the finding unchanged (another cell edited): the decision holds
    p = advisory_plan()
    p.filled.fields["contact_name"] = "Jo Bloggs"
    write_plan(p, tmp_path / "second" / "E08000035_Leeds_v2.xlsx")
    run_batch(tmp_path / "second", cycle, ROUND, workers=1)
    assert _states(cycle)[0][2] == "accepted" and category_of(cycle)[0] == "Approved"
    # resubmitted with the saving itself changed: the decision reopens and the category goes back
    write_plan(advisory_plan(saving=1), tmp_path / "third" / "E08000035_Leeds_v3.xlsx", time.time() + 60)
    run_batch(tmp_path / "third", cycle, ROUND, workers=1)
    assert _states(cycle)[0][2] == "reopened" and category_of(cycle)[0] == "Approved with support"
    (second,) = resubmissions.decide(cycle, ROUND, "BCF-ARITH-006", "rejected", "The cost is not evidenced", "Bob")
    with store.connect(cycle) as con:
        log = con.execute("SELECT decision_id, decision, reason, decided_by FROM decisions ORDER BY 1").fetchall()
    assert log == [(first, "accepted", "Netting agreed with the region", "Ann"),  # never updated in place
                   (second, "rejected", "The cost is not evidenced", "Bob")]


def test_the_letter_names_accepted_explanations_and_what_changed(cycle: Path, tmp_path: Path) -> None:
    from bcf.letters import write_letters

    resubmissions.decide(cycle, ROUND, "BCF-ARITH-006", "accepted", "Netting agreed", "Ann")
    p = advisory_plan()
    p.filled.tables["boundaries"][1] = {"reason_none": "One council only"}
    write_plan(p, tmp_path / "again" / "E08000035_Leeds_v2.xlsx")
    run_batch(tmp_path / "again", cycle, ROUND, workers=1)
    with open_store(cycle, write=True) as nat:
        stress.run(nat, ROUND, PLAN.round.params())
        (html, *_) = write_letters(nat, tmp_path / "letters", PLAN.round.params(), ROUND, pdf=False)
    text = html.read_text(encoding="utf-8")
    assert "What changed since your last submission" in text and "1 finding resolved" in text
    assert "Accepted: Netting agreed" in text


def test_the_bridge_of_claimed_savings(tmp_path: Path) -> None:
    p = plan_for()
    old = check_file(write_plan(p, tmp_path / "old.xlsx")).submission
    nel, other = p.filled.tables["benefits"][0], p.filled.tables["benefits"][1]
    removed = p.filled.tables["benefits"].pop()
    assert nel and other and removed
    admissions = -nel["planned_change"]
    nel.update(unit_cost=1600, planned_change=-(admissions - 100), planned_saving=round((admissions - 100) * 1.6))
    other.update(confidence="High", evidence="Evaluated")
    new = check_file(write_plan(p, tmp_path / "new.xlsx")).submission
    assert old and new
    weights = {"High": 1.0, "Medium": 0.5, "Low": 0.0}
    moved = diff.bridge(diff.Contents.of(old), diff.Contents.of(new), weights)
    assert moved["benefits removed"] == -removed["planned_saving"]
    assert moved["unit cost changed"] == pytest.approx((1600 - 1490) * admissions / 1000)
    assert moved["admissions claimed changed"] == pytest.approx(-100 * 1600 / 1000)
    total = sum(moved[k] for k in diff.BRIDGE)
    assert total == pytest.approx(sum(b["planned_saving"] for b in p.filled.tables["benefits"] if b)
                                  - sum(old.tables["benefits"]["planned_saving"]))


def test_a_decision_while_a_batch_holds_the_store_is_never_lost(cycle: Path) -> None:
    """From the command line a decision needs the store to find the explained findings: it waits for the batch."""
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb,time; c=duckdb.connect({str(cycle)!r}); "
                               "print('held', flush=True); time.sleep(6)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreBusy, match="not recorded"):
            resubmissions.decide(cycle, ROUND, "BCF-ARITH-006", "accepted", "ok", "Ann", wait_seconds=0.5)
        # waiting long enough, it is recorded once the batch lets go
        ids = resubmissions.decide(cycle, ROUND, "BCF-ARITH-006", "accepted", "ok", "Ann", wait_seconds=30)
    finally:
        holder.kill()
    assert len(ids) == 1
    with store.connect(cycle) as con:
        assert con.execute("SELECT decision, decided_by FROM decisions ORDER BY decision_id").fetchall() == [("accepted", "Ann")]
