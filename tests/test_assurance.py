"""The stress test, assurance categories, letters and the national report, against hand calculations."""

from __future__ import annotations

import datetime as dt
import random
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from bcf import samples
from bcf.actions import where
from bcf.batch import run_batch
from bcf.errors import BadParameter
from bcf.generate import write_workbook
from bcf.letters import write_letters
from bcf.national import stress
from bcf.national.assurance import assure
from bcf.national.door import National, open_store
from bcf.render import date, money
from bcf.report import APPENDIX, national_context, write_national
from bcf.words import CATEGORIES
from tests.support import AREAS, PLAN, ROUND, SEED

HOSTILE = "<script>alert(1)</script> {{ 7*7 }} =cmd|' /C calc'!A0"


@pytest.fixture(scope="module")
def assured(national: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[National]:
    db = tmp_path_factory.mktemp("assured") / "national.duckdb"
    shutil.copy(national, db)
    with open_store(db, write=True) as nat:
        stress.run(nat, ROUND, PLAN.round.params())
        yield nat


def _worked_example(folder: Path, nel_price: int = 2000) -> Path:
    """The reference's worked example (section 5) as a real workbook; ``nel_price``: what the plan says an
    avoided admission saves (£)."""
    plan = samples.build_plan(AREAS.find("Leeds"), random.Random(1), PLAN)  # type: ignore[arg-type]
    f, t = plan.filled.fields, plan.filled.tables
    f.update({f"baseline_q{i}": 9000 for i in range(1, 5)})
    f.update({f"plan_q{i}": 8685 for i in range(1, 5)})  # 34,740: a cut of 1,260 (3.5%)
    f.update(nel_unit_cost=1490, share_ccg=70, share_la=30, contingency=500, ringfenced_oohs=5000)
    big = max((s for s in t["schemes"] if s), key=lambda s: s["spend_this_year"])
    base = {"scheme_ids": big["scheme_id"], "unit": "units", "baseline_volume": 10_000, "accrues_to": "CCG",
            "cashable": "Yes", "evidence": "Local evaluation"}
    t["benefits"] = [
        {**base, "benefit_id": "B01", "benefit_type": "Fewer NEL admissions", "planned_change": -2100,
         "unit_cost": nel_price, "planned_saving": 2100 * nel_price // 1000, "confidence": "High"},
        {**base, "benefit_id": "B02", "benefit_type": "Fewer delayed days", "planned_change": -3000, "unit_cost": 300,
         "planned_saving": 900, "confidence": "Medium"},
        {**base, "benefit_id": "B03", "benefit_type": "Fewer permanent care-home admissions", "planned_change": -20,
         "unit_cost": 30000, "planned_saving": 600, "confidence": "Low"}]
    folder.mkdir(parents=True, exist_ok=True)
    write_workbook(plan.spec, folder / "E08000035_Leeds.xlsx", plan.filled)
    return folder / "E08000035_Leeds.xlsx"


def test_the_reference_worked_example(tmp_path: Path) -> None:
    path = _worked_example(tmp_path / "in")
    run_batch(path.parent, tmp_path / "n.duckdb", ROUND, workers=1)
    with open_store(tmp_path / "n.duckdb", write=True) as nat:
        con = nat.con
        decided = stress.run(nat, ROUND, PLAN.round.params())
        s = con.execute("SELECT r, r_pct, repriced_nel, overpricing, volume_gap, credible, optimism, p4p_value, "
                        "unplanned_activity FROM stress_test").fetchall()[0]
        half = con.execute("SELECT released, at_risk, borne_by_ccg, borne_by_council, uncovered FROM stress_scenarios "
                           "WHERE scenario = '50% delivered'").fetchall()[0]
        trend = con.execute("SELECT released, at_risk, unplanned_activity FROM stress_scenarios "
                            "WHERE scenario = 'trend'").fetchall()[0]
    assert s == pytest.approx((1260, 3.5, 3129, 1071, 840, 2327.4, 5700 / 2327.4, 1877.4, 2950.2))
    assert round(s[6], 2) == 2.45
    assert half == pytest.approx((938.7, 938.7, 657.09, 281.61, 438.7))
    assert trend == pytest.approx((0, 1877.4, 2950.2))
    # findings: the NEL saving is priced at £2,000 (BCF-CONS-002) and the claimed volume exceeds the plan
    assert [d["category"] for d in decided.values()] == ["Approved subject to conditions"]


def test_a_plan_that_prices_an_admission_below_the_unit_cost_is_backed_at_its_own_price(tmp_path: Path) -> None:
    path = _worked_example(tmp_path / "in", nel_price=500)  # 2,100 admissions at £500: £1,050k, under 1,260 x £1,490
    run_batch(path.parent, tmp_path / "n.duckdb", ROUND, workers=1)
    with open_store(tmp_path / "n.duckdb", write=True) as nat:
        stress.run(nat, ROUND, PLAN.round.params())
        claimed, credible, optimism = nat.con.execute("SELECT claimed, credible, optimism FROM stress_test").fetchall()[0]
        over = nat.con.execute("SELECT count(*) FROM stress_benefits WHERE credible > claimed").fetchall()[0][0]
        letters = write_letters(nat, tmp_path / "letters", PLAN.round.params(), ROUND, pdf=False)
    assert (claimed, credible, over) == pytest.approx((2550, 1050 + 450, 0))  # not 1,877.4 + 450: more than claimed
    assert optimism == pytest.approx(1.7)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", next(p for p in letters if p.suffix == ".html").read_text()))
    assert "£1.5m" in text and "1.70" in text


def _by_hand(plan: samples.Plan, c: float = 1490) -> dict[str, float]:
    """The stress-test figures for one plan, worked out from what was written (section 5 of the reference)."""
    f, benefits = plan.filled.fields, [b for b in plan.filled.tables["benefits"] if b]
    b = sum(f[f"baseline_q{i}"] for i in range(1, 5))
    r = b - sum(f[f"plan_q{i}"] for i in range(1, 5))
    nel = [x for x in benefits if x["benefit_type"] == "Fewer NEL admissions"]
    a = -sum(x["planned_change"] for x in nel)
    weight = {"High": 1.0, "Medium": 0.5, "Low": 0.0}
    credible = sum((min(max(min(a, r), 0) * c / 1000 * -x["planned_change"] / a, x["planned_saving"]) if x in nel
                    else x["planned_saving"])
                   * (weight[x["confidence"]] if x["evidence"] else 0) for x in benefits)
    v = max(min(r * c / 1000, f["ringfenced_oohs"]), 0)
    return {"r": r, "a": a, "repriced_nel": a * c / 1000, "credible": credible,
            "claimed": sum(x["planned_saving"] for x in benefits), "p4p_value": v,
            "at_risk_half": v / 2, "ccg_half": v / 2 * f["share_ccg"] / 100,
            "uncovered_half": max(v / 2 - f["contingency"], 0)}


@pytest.mark.parametrize("name", ["Leeds", "Cornwall"])
def test_two_sample_plans_equal_a_hand_calculation(name: str, assured: National) -> None:
    plan = next(p for p in samples.plans(PLAN, SEED) if p.area.hwb_name == name)
    want = _by_hand(plan)
    got = assured.con.execute(
        "SELECT s.r, s.a, s.repriced_nel, s.credible, s.claimed, s.p4p_value, x.at_risk, x.borne_by_ccg, x.uncovered "
        "FROM stress_test s JOIN stress_scenarios x USING (submission_id) "
        "WHERE s.plan_code = ? AND x.scenario = '50% delivered'", [plan.area.plan_code]).fetchall()[0]
    assert got == pytest.approx(tuple(want.values()))


def test_every_category_matches_the_manifest(assured: National,
                                            sample_round: tuple[Path, dict[str, Any]]) -> None:
    _, manifest = sample_round
    got = dict(assured.con.execute("SELECT plan_code, category FROM assurance").fetchall())
    assert {f["plan_code"]: f["expected_category"] for f in manifest["files"]} == got
    assert set(got.values()) == set(CATEGORIES)


def test_letters_turn_every_reason_into_an_action(assured: National, tmp_path: Path) -> None:
    params = PLAN.round.params()
    paths = write_letters(assured, tmp_path, params, ROUND, pdf=False)
    assert len(paths) == 151 and (tmp_path / ROUND / "index.html").exists()
    rows = assured.con.execute("SELECT plan_code, message, sheet, cell FROM findings JOIN current_submissions "
                           "USING (submission_id) WHERE severity = 'blocking'").fetchall()
    assert rows
    for code, message, sheet, cell in rows:  # every blocking finding is an action, with where it is
        page = (tmp_path / ROUND / f"letter-{code}.html").read_text(encoding="utf-8")
        assert escape(message) in page and escape(where({"sheet": sheet, "cell": cell})) in page, (code, message)
    due = dt.date.today() + dt.timedelta(days=params["resubmit_within_days"].value)  # three weeks after the letter
    by = f"<strong>By:</strong> {date(due)}"
    assert due > dt.date.today()
    for code, category, reasons in assured.con.execute("SELECT plan_code, category, reasons FROM assurance").fetchall():
        page = (tmp_path / ROUND / f"letter-{code}.html").read_text(encoding="utf-8")
        assert "no blocking items" not in page.lower()
        actions = page.count('<li><p class="what">')
        if category == "Approved":
            assert actions == 0 and "corrected workbook" not in page and "No resubmission is needed" in page
        else:  # a request for a corrected workbook always comes with what to change, where, and by when
            assert actions >= len(reasons) and page.count(by) == actions, code
            assert page.count("<strong>Where:</strong>") == page.count("<strong>Done when:</strong>") == actions
        assert "How we assessed your plan" in page and params["published_parameters"].value in page
        assert "<table class=\"params" not in page  # the parameter table is a paragraph now


def test_an_optimism_action_names_the_benefits_that_would_satisfy_it(assured: National) -> None:
    """Raising the evidence the action names brings the plan's ratio under the threshold; cutting claims to the
    figure it gives does too."""
    params = PLAN.round.params()
    sids = [sid for (sid,) in assured.con.execute("SELECT submission_id FROM assurance WHERE list_contains(reasons, "
                                               "reasons[1]) AND reasons[1] LIKE 'Claimed savings are%'").fetchall()]
    assert len(sids) >= 5
    for sid in sids:
        action = next(a for a in stress.assess(assured, sid, params).actions if a.rule_id is None)
        claimed, credible, limit = assured.con.execute(
            "SELECT s.claimed, s.credible, CASE WHEN a.category = 'Approved with support' THEN ? ELSE ? END "
            "FROM stress_test s JOIN assurance a USING (submission_id) WHERE submission_id = ?",
            [params["support_optimism"].value, params["conditions_optimism"].value, sid]).fetchall()[0]
        named = re.findall(r"(B\d+) in [A-Z]+\d+", action.where)
        if named:
            gain = assured.con.execute("SELECT sum(credible_if_high - credible) FROM stress_benefits WHERE submission_id = ? "
                                   "AND list_contains(?, benefit_id)", [sid, named]).fetchall()[0][0]
            assert claimed <= limit * (credible + gain), (sid, action)
        assert money(limit * credible) in action.done_when


def test_hostile_text_is_inert_in_letters_html_and_pdf(tmp_path: Path) -> None:
    plan = samples.build_plan(AREAS.find("Leeds"), random.Random(2), PLAN)  # type: ignore[arg-type]
    plan.filled.tables["schemes"][0]["scheme_type"] = HOSTILE  # type: ignore[index]
    folder = tmp_path / "in"
    folder.mkdir()
    write_workbook(plan.spec, folder / "leeds.xlsx", plan.filled)
    run_batch(folder, tmp_path / "n.duckdb", ROUND, workers=1)
    with open_store(tmp_path / "n.duckdb", write=True) as nat:
        stress.run(nat, ROUND, PLAN.round.params())
        (html_path, pdf_path) = write_letters(nat, tmp_path / "out", PLAN.round.params(), ROUND, "E08000035")
    page = html_path.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "{{ 7*7 }}" in page and "=cmd|" in page
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(["pdftotext", str(pdf_path), "-"], capture_output=True, text=True, check=True).stdout
    assert "<script>alert(1)</script>" in text.replace("\n", " ") and "{{ 7*7 }}" in text


def test_national_report_totals_equal_the_store(assured: National, tmp_path: Path) -> None:
    params = PLAN.round.params()
    ctx = national_context(assured, params, ROUND)
    claimed, credible, plans = assured.con.execute("SELECT sum(claimed), sum(credible), count(*) FROM stress_test").fetchall()[0]
    assert (ctx["claimed"], ctx["credible"], ctx["plans"]) == (claimed, credible, plans)
    assert sum(r["claimed"] for r in ctx["by_region"]) == pytest.approx(claimed)
    held = assured.con.execute("SELECT category, count(*) FROM assurance GROUP BY 1").fetchall()
    assert {c: n for c, n in ctx["categories"] if n} == dict(held)
    at_risk = assured.con.execute("SELECT sum(at_risk) FROM stress_scenarios WHERE scenario = 'trend'").fetchall()[0][0]
    assert next(s["at_risk"] for s in ctx["scenarios"] if s["scenario"] == "trend") == pytest.approx(at_risk)
    (html,) = write_national(assured, tmp_path, params, ROUND, pdf=False)
    page = html.read_text(encoding="utf-8")
    assert money(claimed) in page and money(credible) in page and page.count("<svg") == 3
    appendix = page.split("Appendix: the assumptions")[-1]  # the section, not its line in the contents
    for p in params.values():  # the assumptions the figures rest on, in words, never an internal name
        if p.section in APPENDIX:
            assert escape(p.label) in appendix and p.name not in appendix


def test_a_parameter_override_changes_the_figures(assured: National) -> None:
    base = assured.con.execute("SELECT sum(repriced_nel) FROM stress_test").fetchall()[0][0]
    stress.run(assured, ROUND, PLAN.round.params({"unit_cost": "1615"}))
    dearer = assured.con.execute("SELECT sum(repriced_nel) FROM stress_test").fetchall()[0][0]
    stress.run(assured, ROUND, PLAN.round.params())
    assert dearer == pytest.approx(base * 1615 / 1490)
    with pytest.raises(BadParameter, match="no parameter called 'unit_costs'"):
        PLAN.round.params({"unit_costs": "1"})


def test_a_stress_run_that_fails_part_way_leaves_the_last_runs_results_whole(national: Path, tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "n.duckdb"
    shutil.copy(national, db)
    tables = ("stress_test", "stress_benefits", "stress_scenarios", "assurance")

    def held() -> dict[str, list[tuple[Any, ...]]]:
        with open_store(db) as nat:
            return {t: sorted(nat.con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}

    with assure(db, ROUND):
        pass
    before = held()
    assert all(before.values())

    def fail(*args: Any, **kw: Any) -> None:  # as a full disk or a kill would, once the old rows are deleted
        raise OSError("the disk is full")

    monkeypatch.setattr(stress, "insert_rows", fail)
    with pytest.raises(OSError), assure(db, ROUND, {"unit_cost": "1615"}):
        pass
    assert held() == before
