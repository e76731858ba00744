"""Plan against actual: quarterly returns checked against their plans, the early warning, the monitoring report."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import duckdb

from bcf import samples
from bcf.batch import run_batch
from bcf.generate import write_workbook
from bcf.monitoring_report import write_monitoring
from bcf.national import monitor
from bcf.national.door import open_store
from bcf.samples.quarterly import QUARTER_DEFECTS, quarters
from tests.support import AREAS, PLAN, QUARTERLY, ROUND, SEED


def test_quarterly_findings_equal_the_manifest(monitored: Path, quarterly_round: tuple[Path, dict[str, Any]]) -> None:
    manifest = quarterly_round[1]
    planted = {(f["file"], d["rule"], d["sheet"], d["cell"]) for f in manifest["files"] for d in f["defects"]}
    assert {d["kind"] for f in manifest["files"] for d in f["defects"]} == set(QUARTER_DEFECTS)
    with duckdb.connect(str(monitored), read_only=True) as con:
        found = set(con.execute("SELECT s.file_name, f.rule_id, f.sheet, f.cell FROM findings f "
                                "JOIN submissions s USING (submission_id) WHERE s.return_kind = 'quarterly'").fetchall())
    assert planted - found == set()  # recall: every planted defect found at its cell
    assert found - planted == set()  # and nothing found that was not planted


def test_the_synthetic_outturn_looks_like_2015_16() -> None:
    year = monitor.synthetic_year(SEED, ROUND)
    baseline = sum(sum(p["baseline"]) for p in year)
    planned, actual = sum(sum(p["planned"]) for p in year), sum(sum(p["actual"]) for p in year)
    assert 5.0e6 < baseline < 5.6e6  # about 5.3 million emergency admissions
    assert -4 < 100 * (planned - baseline) / baseline < -2  # plans cut them about 2-3%
    assert 1.0 < 100 * (actual - baseline) / baseline < 2.2  # they rose about 1.6%
    drifts = sorted(sum(p["actual"]) / sum(p["planned"]) - 1 for p in year)
    assert drifts[10] < 0.01 and drifts[-10] > 0.09  # some areas on plan, some far off


def test_the_early_warning_backtest_picks_the_seasonal_method() -> None:
    summary = monitor.summarise(monitor.backtest(ROUND, range(1, 6))).set_index(["method", "quarters"])
    err = summary["mean_abs_error_pct"]
    assert sum(err["seasonal", k] for k in (1, 2, 3)) < sum(err["run-rate", k] for k in (1, 2, 3))
    assert PLAN.round.values()["monitoring"]["projection_method"] == "seasonal"
    assert err["seasonal", 4] == err["run-rate", 4] == 0


def test_from_the_first_quarter_the_national_projection_is_within_30_percent(monitored: Path) -> None:
    """The acceptance test: Q1 alone within ±30% of the year's admissions above plan, narrowing each quarter,
    and with all four quarters exactly the outturn."""
    with open_store(monitored) as nat:
        full = monitor.quarters(nat, ROUND, 4)
        codes = set(full["plan_code"])  # plans with all four quarters readable: one set for every quarter
        outturn = full["actual_to_date"].sum() - full["planned_year"].sum()
        projected = []
        for k in (1, 2, 3, 4):
            df = monitor.quarters(nat, ROUND, k)
            df = df[df["plan_code"].isin(codes)]
            share = df["baseline_to_date"].sum() / df["baseline_year"].sum()
            projected.append(monitor.project(df["actual_to_date"].sum(), k, share, "seasonal") - df["planned_year"].sum())
        four = monitor.national(nat, ROUND, 4, PLAN.round.params())
    errors = [abs(p - outturn) / outturn for p in projected]
    assert outturn > 150_000  # admissions rose where a fall was planned
    assert errors[0] <= 0.30
    assert errors[0] >= errors[1] >= errors[2] >= errors[3] == 0
    assert four.projected_year == four.actual_to_date and four.low == four.high == four.projected_year


def test_warnings_flag_money_at_risk_and_silent_narratives(monitored: Path) -> None:
    with open_store(monitored) as store:
        plans = monitor.warnings(store, ROUND, 2, PLAN.round.params())
        nat = monitor.national(store, ROUND, 2, PLAN.round.params())
    row = plans.iloc[0]
    assert list(plans["beyond_000"]) == sorted(plans["beyond_000"], reverse=True)  # ranked by money beyond contingency
    assert row["at_risk_000"] >= 0 and (row["at_risk_000"] > row["contingency"]) == row["beyond_contingency"]
    far = plans[(plans["last_variance"] / plans["last_planned"]).abs() > 0.05]
    assert plans["beyond_contingency"].sum() > 10
    assert set(plans[plans["narrative_silent"]]["plan_code"]) <= set(far["plan_code"])
    assert nat.low < nat.projected_year < nat.high and nat.period == QUARTERLY.spec().lists["quarter"][1]


def test_the_monitoring_report_and_notes(monitored: Path, tmp_path: Path) -> None:
    with open_store(monitored) as store:
        paths = write_monitoring(store, tmp_path, ROUND, 3, PLAN.round.params(), pdf=False)
        nat = monitor.national(store, ROUND, 3, PLAN.round.params())
    report = paths[0].read_text(encoding="utf-8")
    assert f"{nat.projected_gap:,.0f}" in report and report.count("<svg") == 4
    notes = [p for p in paths if p.name.startswith("note-") and p.suffix == ".html"]
    assert len(notes) == nat.plans
    leeds = (tmp_path / ROUND / "quarter-3" / "notes" / "note-E08000035.html").read_text(encoding="utf-8")
    assert "Leeds" in leeds and "What to explain" in leeds
    index = (tmp_path / ROUND / "quarter-3" / "notes" / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{p.name}"' in index for p in notes)  # the notes' index links every note


def _quarter_file(tmp_path: Path, name: str, **changes: Any) -> Path:
    area = AREAS.find("Leeds")
    assert area is not None
    q = quarters(samples.build_plan(area, random.Random(8), PLAN), QUARTERLY, random.Random(8))[0]
    q.filled.fields.update({k: v(q.filled.fields[k]) if callable(v) else v for k, v in changes.items()})
    folder = tmp_path / name
    folder.mkdir()
    write_workbook(QUARTERLY.spec(), folder / "leeds-q.xlsx", q.filled)
    return folder


def test_a_return_without_its_plan_or_with_another_planned_figure(tmp_path: Path, national: Path) -> None:
    alone = tmp_path / "alone.duckdb"
    run_batch(_quarter_file(tmp_path, "a"), alone, ROUND, "quarterly", workers=1)
    db = tmp_path / "with-plans.duckdb"
    shutil.copy(national, db)
    run_batch(_quarter_file(tmp_path, "b", planned_admissions=lambda n: n + 150), db, ROUND, "quarterly", workers=1)
    query = ("SELECT f.rule_id, f.sheet, f.cell FROM findings f JOIN submissions s USING (submission_id) "
             "WHERE s.return_kind = 'quarterly' AND f.rule_id LIKE 'BCF-CONS-%'")
    with duckdb.connect(str(alone), read_only=True) as con:
        assert con.execute(query).fetchall() == [("BCF-CONS-006", "Cover", "C4")]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(query).fetchall() == [("BCF-CONS-007", "Admissions", "C4")]


def test_monitor_command_prints_the_national_picture(monitored: Path) -> None:
    from click.testing import CliRunner

    from bcf.cli import main

    result = CliRunner().invoke(main, ["monitor", "--db", str(monitored), "--quarter", "Q1"])
    assert result.exit_code == 0, result.output
    assert "1 quarter(s) to Q4 2014/15" in result.output and "Projected (seasonal)" in result.output
    wrong = CliRunner().invoke(main, ["monitor", "--db", str(monitored), "--quarter", "Q7"])
    assert wrong.exit_code == 2 and "No quarter 'Q7'" in wrong.output and "Traceback" not in wrong.output


def _leeds_quarter(folder: Path, name: str, age_days: int, **changes: Any) -> Path:
    """Leeds's first quarterly return as its sample plan gives it, with ``changes``, dated ``age_days`` ago."""
    import os
    import time

    plan = next(p for p in samples.plans(PLAN, SEED) if p.area.hwb_name == "Leeds")
    q = quarters(plan, QUARTERLY, random.Random(8))[0]
    q.filled.fields.update({k: v(q.filled.fields[k]) if callable(v) else v for k, v in changes.items()})
    q.filled.fields["narrative"] = "Emergency admissions are close to plan."
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    write_workbook(QUARTERLY.spec(), path, q.filled)
    when = time.time() - age_days * 86400
    os.utime(path, (when, when))
    return path


def test_figures_that_passed_are_not_replaced_by_a_later_file_that_did_not(tmp_path: Path, national: Path) -> None:
    db = tmp_path / "n.duckdb"
    shutil.copy(national, db)
    first = _leeds_quarter(tmp_path / "v1", "E08000035_Leeds_Q1_v1.xlsx", 2)
    typo = _leeds_quarter(tmp_path / "v2", "E08000035_Leeds_Q1_v2.xlsx", 1, actual_admissions=lambda n: n * 10)
    run_batch(first.parent, db, ROUND, "quarterly", workers=1)
    run_batch(typo.parent, db, ROUND, "quarterly", workers=1)
    query = "SELECT actual FROM plan_vs_actual WHERE plan_code = 'E08000035' AND quarter_no = 1"
    with duckdb.connect(str(db), read_only=True) as con:
        (typed,), = con.execute("SELECT a.actual_admissions FROM current_returns c JOIN q_admissions a "
                                "USING (submission_id) WHERE c.plan_code = 'E08000035'").fetchall()
        rules = {r for (r,) in con.execute("SELECT f.rule_id FROM current_returns c JOIN findings f USING (submission_id) "
                                           "WHERE c.plan_code = 'E08000035' AND c.return_kind = 'quarterly'").fetchall()}
        (kept,), = con.execute(query).fetchall()
    assert "BCF-CONS-009" in rules and "BCF-POL-012" not in rules  # the slip is named once, as a slip
    assert kept * 10 == typed  # the current file is the typo; the figure measured is the one that passed

    alone = tmp_path / "alone.duckdb"  # the typo with no earlier file: left out, as not reported
    shutil.copy(national, alone)
    run_batch(typo.parent, alone, ROUND, "quarterly", workers=1)
    with duckdb.connect(str(alone), read_only=True) as con:
        assert con.execute(query).fetchall() == [(None,)]


def test_a_plan_rewritten_later_with_blocking_problems_does_not_move_what_is_measured(tmp_path: Path,
                                                                                      monitored: Path) -> None:
    db = tmp_path / "n.duckdb"
    shutil.copy(monitored, db)
    query = "SELECT quarter_no, planned FROM plan_vs_actual WHERE plan_code = ? ORDER BY quarter_no"
    with duckdb.connect(str(db), read_only=True) as con:
        code, name = con.execute("SELECT plan_code, file_name FROM current_submissions WHERE status = 'ready' "
                                 "ORDER BY plan_code LIMIT 1").fetchall()[0]
        before = con.execute(query, [code]).fetchall()
    plan = next(p for p in samples.plans(PLAN, SEED) if p.area.plan_code == code)
    plan.filled.fields.update({f"plan_q{i}": plan.filled.fields[f"baseline_q{i}"] * 2 for i in range(1, 5)})
    plan.filled.fields["contact_email"] = None  # and a required answer left blank: blocking
    folder = tmp_path / "late"
    folder.mkdir()
    write_workbook(PLAN.spec(), folder / name.replace(".xlsx", "_late.xlsx"), plan.filled)
    run_batch(folder, db, ROUND, workers=1)
    with duckdb.connect(str(db), read_only=True) as con:
        status, = con.execute("SELECT status FROM current_submissions WHERE plan_code = ?", [code]).fetchall()[0]
        after = con.execute(query, [code]).fetchall()
    assert status == "not ready" and after == before and before  # the plan measured is still the one that passed
