"""The track record: plans scored as forecasts against their year of quarterly returns, and the next round's stress
test weighted by each board's record, backtested on the sample model's known truth."""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from bcf import rounds, samples
from bcf.batch import run_batch
from bcf.cli import main
from bcf.generate import write_workbook
from bcf.letters import write_letters
from bcf.monitoring_report import write_monitoring
from bcf.national import aggregate, door, monitor, stress, track_record
from bcf.national.assurance import assure
from bcf.report import write_national
from bcf.samples.quarterly import quarters
from tests.support import ROUND, SEED, copy_store

NEXT = "2016-17"
HALFWAY = 0.5  # with the stated persistence the weights move the national figure at least this far toward the outturn
ACTUALS_PLANTED = {"variance_unexplained", "narrative_blank"}  # the quarterly defects that rewrite actual admissions
HARM = 1.12  # with none, the board weights' mean error per plan is at most 12% above the nation's weight for all


def _load(store: Path, out: Path, round_: str, kind: str) -> None:
    samples.generate(out, round_, kind, SEED, workers=2)
    result = run_batch(out, store, round_, kind, workers=2)
    assert result.checked == len(list(out.glob("*.xlsx")))


@pytest.fixture(scope="module")
def two_years(monitored: Path, next_round: Path, next_quarters: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample plans of both rounds and both years' quarters in one store; round 2016-17 stress-tested."""
    db = tmp_path_factory.mktemp("two-years") / "n.duckdb"
    shutil.copy(monitored, db)  # the first round's plans and quarters
    for folder, kind in ((next_round, "plan"), (next_quarters, "quarterly")):
        result = run_batch(folder, db, NEXT, kind, workers=2)
        assert result.checked == len(list(folder.glob("*.xlsx")))
    with door.open_store(db, write=True) as nat:
        stress.run(nat, NEXT, rounds.get(NEXT).params())
    return db


def test_the_next_round_quarterly_returns_are_checked_as_their_own_return(two_years: Path, next_quarters: Path) -> None:
    manifest = json.loads((next_quarters / "manifest.json").read_text(encoding="utf-8"))
    planted = {(f["file"], d["rule"], d["sheet"], d["cell"]) for f in manifest["files"] for d in f["defects"]}
    assert manifest["template"] == "bcf-2016-17-quarterly v1.0" and len(manifest["files"]) == 604
    assert "BCF-ARITH-008" not in {r for _, r, _, _ in planted}  # no pay for performance that year
    with duckdb.connect(str(two_years), read_only=True) as con:
        found = set(con.execute("SELECT s.file_name, f.rule_id, f.sheet, f.cell FROM findings f JOIN submissions s "
                                "USING (submission_id) WHERE s.return_kind = 'quarterly' AND s.round = ?", [NEXT]).fetchall())
        periods = con.execute("SELECT period FROM periods WHERE round = ? AND return_kind = 'quarterly' ORDER BY quarter_no",
                              [NEXT]).fetchall()
    assert found == planted
    assert [p for (p,) in periods] == list(rounds.get(NEXT).ret("quarterly").spec().lists["quarter"])


def _scores(db: Path, round_: str) -> track_record.TrackRecord:
    with door.open_store(db) as n:
        return track_record.scores(n, round_)


def test_every_score_reconciles_to_stored_cells(two_years: Path) -> None:
    growth = rounds.get(ROUND).values()["stress"]["trend_growth"]
    with duckdb.connect(str(two_years), read_only=True) as con:  # the plan's cells and the returns' cells, raw
        cells = con.execute(
            "SELECT c.plan_code, pr.quarter_no, [n.baseline_q1, n.baseline_q2, n.baseline_q3, n.baseline_q4][pr.quarter_no], "
            "[n.plan_q1, n.plan_q2, n.plan_q3, n.plan_q4][pr.quarter_no], a.actual_admissions "
            "FROM current_returns r JOIN periods pr USING (round, return_kind, period) "
            "JOIN q_admissions a USING (submission_id) "
            "JOIN current_submissions c ON c.round = r.round AND c.plan_code = r.plan_code JOIN nel_plan n "
            "ON n.submission_id = c.submission_id WHERE r.round = ? AND r.return_kind = 'quarterly'", [ROUND]).fetchall()
    by_plan: dict[str, list[tuple[float, float, float | None]]] = {}
    for code, _, b, p, a in cells:
        by_plan.setdefault(code, []).append((b, p, a))
    full = {c: q for c, q in by_plan.items() if len(q) == 4 and all(a is not None for _, _, a in q)}
    tr = _scores(two_years, ROUND)
    assert {p.plan_code for p in tr.plans} == set(full) and 100 < len(full) < 151  # text actuals leave some out
    for p in tr.plans:
        q = full[p.plan_code]
        mae = [sum(abs(a - f) for f, a in zip(fc, (x[2] for x in q), strict=True)) / 4 for fc in
               ([x[1] for x in q], [x[0] for x in q], [x[0] * (1 + growth) for x in q])]
        assert (p.planned, p.actual, p.baseline) == (sum(x[1] for x in q), sum(x[2] for x in q), sum(x[0] for x in q))
        assert p.error == p.actual - p.planned and p.bias == (p.error > 0) - (p.error < 0)
        assert p.skill_flat == pytest.approx(mae[0] / mae[1]) and p.skill_trend == pytest.approx(mae[0] / mae[2])
        assert p.saving_realised == pytest.approx((p.baseline - p.actual) * tr.unit_cost / 1000)
    n = tr.national
    assert (n.planned, n.actual, n.plans) == (sum(p.planned for p in tr.plans), sum(p.actual for p in tr.plans), len(full))
    assert sum(r.error for r in tr.regions) == n.error and sum(r.plans for r in tr.regions) == n.plans


def test_the_calibrated_year_plans_fell_and_admissions_rose_and_the_trend_beat_the_plans(two_years: Path) -> None:
    n = _scores(two_years, ROUND).national
    assert n.planned < n.baseline < n.actual and n.bias == 1  # a fall planned, a rise seen: 2015/16's shape
    assert n.mae_trend < n.mae_flat < n.mae_plan  # the baseline grown by the trend beat the sum of the plans
    assert n.skill_trend is not None and n.skill_flat is not None and n.skill_trend > n.skill_flat > 1
    assert n.saving_planned > 0 > n.saving_realised


def test_a_plan_equal_to_its_outturn_scores_zero_error(two_years: Path, tmp_path: Path) -> None:
    db = tmp_path / "n.duckdb"
    shutil.copy(two_years, db)
    plan = next(p for p in samples.plans(rounds.get(ROUND).ret("plan"), SEED) if not p.defects)
    (tmp_path / "q").mkdir()
    for q in quarters(plan, rounds.get(ROUND).ret("quarterly"), random.Random(1)):
        q.filled.fields["actual_admissions"] = q.filled.fields["planned_admissions"]  # the plan came true
        q.filled.fields["narrative"] = "Emergency admissions are on plan."
        path = tmp_path / "q" / samples.file_name(q.area, q.filled.fields["quarter"])
        write_workbook(q.spec, path, q.filled, q.layout, cached_values=q.cached_values)
    run_batch(tmp_path / "q", db, ROUND, "quarterly", workers=1)
    score = next(p for p in _scores(db, ROUND).plans if p.plan_code == plan.area.plan_code)
    assert (score.error, score.pct_error, score.bias, score.mae_plan, score.skill_flat, score.skill_trend) == (0, 0, 0, 0, 0, 0)
    assert score.saving_realised == pytest.approx(score.saving_planned)


def test_one_plans_score_is_its_row_of_the_rounds_scores(two_years: Path) -> None:
    with door.open_store(two_years) as n:
        every = track_record.scores(n, ROUND).plans
        for p in every[::30]:
            assert p.plan_code is not None and track_record.plan_score(n, ROUND, p.plan_code) == p
        assert track_record.plan_score(n, ROUND, "E99999999") is None  # no such plan: no score


@pytest.mark.slow  # 604 returns made and stored again: `make test-all` and CI run it
def test_the_same_seed_gives_the_same_scores(two_years: Path, national: Path, tmp_path: Path) -> None:
    db = tmp_path / "again.duckdb"
    shutil.copy(national, db)
    _load(db, tmp_path / "q", ROUND, "quarterly")
    assert track_record.as_json(_scores(db, ROUND)) == track_record.as_json(_scores(two_years, ROUND))


def _truth(persistence: float | None) -> dict[str, float]:
    """2016-17's admissions avoided per plan (baseline minus actual), from the sample model with ``persistence``."""
    out = {}
    for p in samples.plans(rounds.get(NEXT).ret("plan"), SEED):
        qs = quarters(p, rounds.get(NEXT).ret("quarterly"), random.Random(f"{SEED}:{p.area.plan_code}:quarterly"), persistence)
        f = p.filled.fields
        actual = sum(q.filled.fields["actual_admissions"] for q in qs)
        out[p.area.plan_code] = sum(f[f"baseline_q{i}"] for i in range(1, 5)) - actual
    return out


def _weighted(db: Path) -> list[dict[str, Any]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT plan_code, b, r, r_track, track_weight, track_source FROM stress_test "
                           "WHERE round = ? AND b IS NOT NULL", [NEXT]).df()
    return rows.to_dict("records")  # type: ignore[no-any-return]


def _backtest(db: Path, persistence: float | None) -> tuple[float, float]:
    """(how far the weights move the national credible saving from the claims toward the outturn, the board weights'
    mean error per plan over the nation's weight given to every board)."""
    rows, truth = _weighted(db), _truth(persistence)
    growth = rounds.get(NEXT).values()["stress"]["trend_growth"]
    national_w = next(r["track_weight"] for r in rows if r["track_source"] == "national")
    claimed, weighted = sum(r["r"] for r in rows), sum(r["r_track"] for r in rows)
    outturn = sum(truth[r["plan_code"]] for r in rows)
    uniform = [national_w * r["r"] - (1 - national_w) * growth * r["b"] for r in rows]
    board = sum(abs(r["r_track"] - truth[r["plan_code"]]) for r in rows)
    nation = sum(abs(u - truth[r["plan_code"]]) for u, r in zip(uniform, rows, strict=True))
    return (claimed - weighted) / (claimed - outturn), board / nation


def test_the_stored_quarters_are_the_stated_model(two_years: Path, next_quarters: Path) -> None:
    truth = _truth(None)
    for p in _scores(two_years, NEXT).plans:
        assert p.plan_code is not None
        if p.baseline - p.actual != truth[p.plan_code]:  # only a planted defect may change a return's actuals
            manifest = json.loads((next_quarters / "manifest.json").read_text(encoding="utf-8"))
            assert any(d["kind"] in ACTUALS_PLANTED for f in manifest["files"] if f["plan_code"] == p.plan_code
                       for d in f["defects"])


def test_with_the_stated_persistence_the_track_record_moves_the_claims_at_least_halfway(two_years: Path) -> None:
    moved, error_ratio = _backtest(two_years, None)
    assert moved >= HALFWAY
    assert error_ratio < 1  # and the board's own record beats the nation's weight for every board


def test_with_no_persistence_the_track_record_does_little_harm(two_years: Path) -> None:
    moved, error_ratio = _backtest(two_years, 0.0)
    assert error_ratio <= HARM  # a board's record is noise now: at most a little worse than the nation's weight
    assert moved >= HALFWAY  # the nation's own optimism still persists in the model's mean, so the claims still move


def test_the_weighting_acts_only_where_a_track_record_exists(two_years: Path, tmp_path: Path) -> None:
    with duckdb.connect(str(two_years), read_only=True) as con:
        first = con.execute("SELECT count(track_weight), sum(abs(credible - credible_untracked)) FROM stress_test "
                            "WHERE round = ?", [ROUND]).fetchall()[0]
    assert first[0] == 0 and not first[1]  # the first round has no round before it
    db = tmp_path / "off.duckdb"
    shutil.copy(two_years, db)
    with door.open_store(db, write=True) as nat:
        stress.run(nat, NEXT, rounds.get(NEXT).params({"track_record_weighting": "false"}))
        off = nat.con.execute("SELECT count(track_weight), sum(credible) = sum(credible_untracked) FROM stress_test "
                          "WHERE round = ?", [NEXT]).fetchall()[0]
    assert off == (0, True)
    rows = _weighted(two_years)
    bounds = rounds.get(NEXT).values()["track_record"]
    assert all(bounds["track_weight_min"] <= r["track_weight"] <= bounds["track_weight_max"] for r in rows)
    assert {r["track_source"] for r in rows} == {"board", "national"}


def test_the_category_the_letter_and_the_report_say_when_the_track_record_moved_a_plan(two_years: Path,
                                                                                        tmp_path: Path) -> None:
    with door.open_store(two_years) as n:
        d = track_record.discount(n, NEXT)
        records = [(m, track_record.plan_track_record(n, NEXT, m["plan_code"])) for m in d["categories_moved"]]
        moved, record = next((m, r) for m, r in records if r.weight_source == "board")
    assert d["categories_moved"] and d["discounted"] > 0 and d["moved"] >= len(d["categories_moved"])
    assert record.weight is not None and record.prior_round == ROUND and record.score is not None
    with door.open_store(two_years) as nat:
        reasons = nat.con.execute("SELECT reasons FROM assurance WHERE round = ? AND plan_code = ?",
                              [NEXT, moved["plan_code"]]).fetchall()[0][0]
        params = rounds.get(NEXT).params()
        (letter,) = write_letters(nat, tmp_path, params, NEXT, moved["plan_code"], pdf=False)
        (report,) = write_national(nat, tmp_path, params, NEXT, pdf=False)
    said = f"The track record moved this plan from {moved['category_untracked']} to {moved['category']}."
    assert any(said in r for r in reasons)
    text = letter.read_text(encoding="utf-8")
    assert "Your track record" in text and record.sentence is not None and record.sentence.split(";")[0] in text
    page = report.read_text(encoding="utf-8")
    assert "What 2015/16&#39;s plans expected, and what happened" in page or "What 2015/16's plans expected" in page
    assert "What the track record discounts this round" in page and moved["plan_name"] in page


def test_the_monitoring_report_scores_the_plans_at_the_fourth_quarter_only(two_years: Path, tmp_path: Path) -> None:
    with door.open_store(two_years) as nat:
        params = rounds.get(ROUND).params()
        last = write_monitoring(nat, tmp_path, ROUND, 4, params, pdf=False)[0].read_text(encoding="utf-8")
        first = write_monitoring(nat, tmp_path, ROUND, 1, params, pdf=False)[0].read_text(encoding="utf-8")
    assert "The plans scored against the year" in last and "The plans scored against the year" not in first


def test_track_record_command_prints_the_scores_as_json(two_years: Path) -> None:
    result = CliRunner().invoke(main, ["track-record", "--db", str(two_years), "--round", ROUND, "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["national"] == json.loads(json.dumps(track_record.as_json(_scores(two_years, ROUND))["national"]))
    plan = out["plans"][0]
    assert {"plan_code", "planned", "actual", "skill_flat", "skill_trend"} <= set(plan)
    assert sum(p["actual"] - p["planned"] for p in out["plans"]) == out["national"]["error"]
    text = CliRunner().invoke(main, ["track-record", "--db", str(two_years), "--round", ROUND])
    assert text.exit_code == 0 and "biased towards over-optimism" in " ".join(text.output.split())
    none = CliRunner().invoke(main, ["track-record", "--db", str(two_years), "--round", "2099-00"])
    assert none.exit_code != 0 and "no complete year of quarterly returns" in none.output


def test_a_round_that_paid_nothing_for_performance_is_shown_no_pay_for_performance(two_years: Path,
                                                                                    tmp_path: Path) -> None:
    """2016/17 kept the ring-fence but paid nothing for performance: its reports, notes, letters and tables say what
    the admissions above plan cost against the contingency, where 2015/16's say what pay for performance is lost."""
    db = copy_store(two_years, tmp_path / "n.duckdb")
    named = re.compile(r"pay for performance|\bP4P\b", re.IGNORECASE)
    said: dict[str, list[str]] = {}
    for round_ in (ROUND, NEXT):
        params = rounds.get(round_).params()
        with assure(db, round_) as done:
            nat = done.nat
            plans = monitor.warnings(nat, round_, 4, params)
            code = next(r["plan_code"] for r in nat.rows("assurance.plans", round=round_, plan_code=None)
                        if r["plan_code"] in set(plans["plan_code"]))
            pages = [*write_monitoring(nat, tmp_path / round_, round_, 4, params, pdf=False),
                     *write_letters(nat, tmp_path / round_, params, round_, code, pdf=False)]
            report = write_national(nat, tmp_path / round_, params, round_, pdf=False)[0].read_text(encoding="utf-8")
            tables = dict(aggregate.headlines(nat, round_))
        said[round_] = [p.read_text(encoding="utf-8") for p in pages if p.suffix == ".html"]
        paid = rounds.get(round_).pay_for_performance
        assert paid is (round_ == ROUND)
        assert bool((plans["at_risk_000"] == plans["gap_cost_000"]).all()) is not paid
        assert ('id="p4p"' in report) is paid
        assert any("p4p_000" in t.columns for t in tables.values()) is paid
        figures = monitor.monitoring(db, round_, "4").as_dict()
        assert (figures["p4p_at_risk_000"] is not None) is paid
        assert figures["at_risk_000"] == pytest.approx(float(plans["at_risk_000"].sum()))
    assert all(named.search(page) is None for page in said[NEXT])
    assert named.search(said[ROUND][0]) and any("Pay for performance if delivery falls short" in p for p in said[ROUND])
