"""Rounds and returns are content: each round's own figures, no round ever mixed into another, and a new
round added with no change to the code."""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bcf import content, rounds, samples
from bcf.batch import run_batch
from bcf.letters import write_letters
from bcf.national import stress
from bcf.national.door import open_store
from bcf.report import write_national
from bcf.store import data_tables
from bcf.validate import check_file
from tests.support import PLAN, QUARTERLY, ROUND, bcf

NEXT = "2016-17"
SRC = Path(__file__).resolve().parents[1] / "src"
TABLES = ("submissions", "findings", "funding", "schemes", "benefits", "stress_test", "stress_scenarios", "assurance")


def test_no_year_is_named_in_the_code() -> None:
    years = re.compile(r"(?<![\d-])(19|20)\d\d(?!\d)|\b1[3-9]1[4-9]\b")  # 2015, 2015/16, 2015-16, amount_1516
    hits = [f"{p.relative_to(SRC)}:{i}: {line.strip()}" for p in SRC.rglob("*.py")
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if years.search(line) and "http" not in line]
    assert hits == []


def test_every_round_and_return_is_found_from_its_folder() -> None:
    found = {(r.id, k) for r in rounds.all_rounds().values() for k in r.returns}
    assert found == {("2015-16", "plan"), ("2015-16", "quarterly"), (NEXT, "plan"), (NEXT, "quarterly")}
    assert list(rounds.all_rounds())[-1] == rounds.latest().id == NEXT
    nxt = rounds.get(NEXT).ret("plan").spec()
    assert len(nxt.table("conditions").fixed_rows) == 8 and not nxt.has("p4p_value")
    assert len(PLAN.spec().table("conditions").fixed_rows) == 6 and PLAN.spec().has("p4p_value")


def test_a_round_that_does_not_exist_is_a_clear_error() -> None:
    with pytest.raises(Exception, match="no round called '2099-00'. Known rounds: 2015-16, 2016-17"):
        rounds.get("2099-00")
    with pytest.raises(Exception, match="has no annual return"):
        rounds.get(NEXT).ret("annual")


def test_parameters_are_per_round_with_their_dated_history() -> None:
    old, new = PLAN.round.params(), rounds.get(NEXT).params()
    assert (old["unit_cost"].value, new["unit_cost"].value) == (1490, 1611)
    assert old["conditions_deadline"].value == date(2015, 4, 1) and new["conditions_deadline"].value > date(2016, 1, 1)
    history = old["unit_cost"].history
    assert [r.since for r in history] == [date(2014, 4, 4), date(2014, 8, 18)]
    before = PLAN.round.params(as_at=date(2014, 6, 1))["unit_cost"]
    assert "April 2014" in before.source and "18 August 2014" in PLAN.round.params(as_at=date(2014, 9, 1))["unit_cost"].source


def test_rules_say_which_rounds_and_returns_they_apply_to() -> None:
    from bcf.findings import rules

    order = list(rounds.all_rounds())
    cut = rules()["BCF-POL-004"]  # the 3.5% expectation was the 2015/16 round's
    assert cut.applies(ROUND, "plan", order) and not cut.applies(NEXT, "plan", order)
    assert not cut.applies(ROUND, "quarterly", order)
    assert rules()["BCF-POL-012"].applies(ROUND, "quarterly", order) and not rules()["BCF-POL-012"].applies(ROUND, "plan", order)


def test_store_tables_are_derived_from_every_template() -> None:
    tables = data_tables()
    assert {"cover", "funding", "nel_plan", "q_admissions", "q_conditions", "q_narrative"} <= set(tables)
    assert tables["funding"]["amount_this_year"] == "DOUBLE" and tables["q_admissions"]["actual_admissions"] == "DOUBLE"
    assert "nel_unit_cost" in tables["nel_plan"] and "row" in tables["schemes"]


def test_a_workbook_of_another_round_is_refused_naming_both(tmp_path: Path) -> None:
    area = PLAN.round.areas.find("Leeds")
    assert area is not None
    nxt = samples.build_plan(area, __import__("random").Random(3), rounds.get(NEXT).ret("plan"))
    path = tmp_path / "leeds-next.xlsx"
    from bcf.generate import write_workbook

    write_workbook(nxt.spec, path, nxt.filled)
    own = check_file(path)
    assert own.status == "ready" and own.submission is not None and own.submission.spec.round_id == NEXT
    refused = check_file(path, ROUND, "plan")
    assert [(f.rule_id, f.severity) for f in refused.findings] == [("BCF-GATE-012", "blocking")]
    assert refused.status != "ready" and refused.plan_code is None
    assert "2016/17" in refused.findings[0].message and "2015-16 plan return" in refused.findings[0].message
    quarterly = check_file(path, ROUND, "quarterly")
    assert quarterly.findings[0].rule_id == "BCF-GATE-012"


def _counts(db: Path) -> dict[tuple[str, str], int]:
    with duckdb.connect(str(db), read_only=True) as con:
        out = {}
        for table in TABLES:
            query = (f"SELECT round, count(*) FROM {table} GROUP BY 1" if table in ("submissions", "stress_test",
                     "stress_scenarios", "assurance") else
                     f"SELECT s.round, count(*) FROM {table} JOIN submissions s USING (submission_id) GROUP BY 1")
            out.update({(table, r): n for r, n in con.execute(query).fetchall()})
        return out


def test_two_rounds_in_one_store_keep_their_own_figures(national: Path, sample_round: tuple[Path, dict[str, Any]],
                                                        next_round: Path, tmp_path: Path) -> None:
    db = tmp_path / "two.duckdb"
    shutil.copy(national, db)
    params = PLAN.round.params()
    with open_store(db, write=True) as nat:
        con = nat.con
        stress.run(nat, ROUND, params)
    before = _counts(db)
    # the same files sent in for the wrong round: every one refused, none mixed in
    wrong = run_batch(sample_round[0], db, NEXT, workers=2)
    with duckdb.connect(str(db), read_only=True) as con:
        refused = con.execute("SELECT status, count(*), count(plan_code) FROM submissions WHERE round = ? GROUP BY 1",
                              [NEXT]).fetchall()
        rule = con.execute("SELECT DISTINCT rule_id FROM findings JOIN submissions USING (submission_id) "
                           "WHERE round = ?", [NEXT]).fetchall()
    assert wrong.checked == 151 and refused == [("unreadable", 151, 0)] and rule == [("BCF-GATE-012",)]
    # the next round's own plans
    run_batch(next_round, db, NEXT, workers=2)
    with open_store(db, write=True) as nat:
        con = nat.con
        stress.run(nat, NEXT, rounds.get(NEXT).params())
        letters = write_letters(nat, tmp_path / "letters", rounds.get(NEXT).params(), NEXT, pdf=False)
        (report,) = write_national(nat, tmp_path / "report", rounds.get(NEXT).params(), NEXT, pdf=False)
        plans = con.execute("SELECT round, count(*) FROM stress_test GROUP BY 1 ORDER BY 1").fetchall()
    after = _counts(db)
    assert {k: v for k, v in after.items() if k[1] == ROUND} == {k: v for k, v in before.items() if k[1] == ROUND}
    assert plans == [(ROUND, 151), (NEXT, 151)]
    assert sum(p.suffix == ".html" for p in letters) == 151 and all(p.parent.name == NEXT for p in letters)
    assert "2016/17" in report.read_text(encoding="utf-8")
    # re-running one round's stress test leaves the other's rows exactly as they were
    with open_store(db, write=True) as nat:
        con = nat.con
        stress.run(nat, ROUND, params)
    assert _counts(db) == after


def test_quarterly_returns_generate_check_batch_and_store(quarterly_round: tuple[Path, dict[str, Any]],
                                                         tmp_path: Path) -> None:
    out, manifest = quarterly_round
    assert len(manifest["files"]) == 151 * 4
    one = out / next(f["file"] for f in manifest["files"] if not f["defects"])
    report = check_file(one)
    assert report.submission is not None and report.submission.spec.kind == "quarterly"
    assert report.status == "ready", [f.message for f in report.findings]
    db = tmp_path / "q.duckdb"
    result = run_batch(out, db, ROUND, "quarterly", workers=2)
    assert result.checked == 604
    with duckdb.connect(str(db), read_only=True) as con:
        periods = con.execute("SELECT period, count(*) FROM current_returns WHERE return_kind = 'quarterly' "
                              "GROUP BY 1 ORDER BY 1").fetchall()
        found = set(con.execute("SELECT s.file_name, f.rule_id, f.sheet, f.cell FROM findings f "
                                "JOIN submissions s USING (submission_id)").fetchall())
    assert [n for _, n in periods] == [151] * 4 and {p for p, _ in periods} == set(QUARTERLY.spec().lists["quarter"])
    # no plans are in this store, so every return says so once; apart from that, exactly the planted defects
    assert {(f, r) for f, r, _, _ in found if r == "BCF-CONS-006"} == {(m["file"], "BCF-CONS-006") for m in manifest["files"]}
    planted = {(m["file"], d["rule"], d["sheet"], d["cell"]) for m in manifest["files"] for d in m["defects"]}
    assert {x for x in found if x[1] != "BCF-CONS-006"} == planted


def test_an_unexplained_variance_is_found_in_a_quarterly_return(tmp_path: Path) -> None:
    from bcf.generate import write_workbook
    from bcf.samples.quarterly import quarters

    area = PLAN.round.areas.find("Kent")
    assert area is not None
    q = quarters(samples.build_plan(area, __import__("random").Random(2), PLAN), QUARTERLY, __import__("random").Random(2))[1]
    q.filled.fields.update(actual_admissions=round(q.filled.fields["planned_admissions"] * 1.2), narrative="All well.",
                           p4p_released=q.filled.fields["p4p_planned"] + 50)
    write_workbook(QUARTERLY.spec(), tmp_path / "q.xlsx", q.filled)
    found = {(f.rule_id, f.sheet) for f in check_file(tmp_path / "q.xlsx").findings}
    assert found == {("BCF-POL-012", "Narrative"), ("BCF-ARITH-008", "P4P")}


@pytest.mark.slow  # a whole round through the command line in fresh processes: `make test-all` and CI run it
def test_a_new_round_is_content_only(tmp_path: Path) -> None:
    """Copy the content, add a round folder made like a policy team would (no code), and run the whole path."""
    root = tmp_path / "content"
    for folder in content.FOLDERS:
        shutil.copytree(content.path(folder), root / folder, ignore=shutil.ignore_patterns("*.xlsx", "manifest.json"))
    new = root / "bcf_templates" / "2099-00"
    shutil.copytree(root / "bcf_templates" / NEXT, new)
    (new / "round.yaml").write_text("id: 2099-00\nlabel: 2099/00 Better Care Fund\nyear: 2099/00\nstarts: 2098-01-01\n",
                                    encoding="utf-8")
    spec = (new / "plan" / "template.yaml").read_text(encoding="utf-8").replace("bcf-2016-17-plan", "bcf-2099-00-plan")
    spec = spec.replace("      - {id: population, cell: C10,", "      - {id: falls_admissions, cell: C16, label: Planned "
                        "admissions for falls (65+), kind: count, required: true}\n      - {id: population, cell: C10,")
    (new / "plan" / "template.yaml").write_text(spec, encoding="utf-8")
    quarterly = new / "quarterly" / "template.yaml"
    quarterly.write_text(quarterly.read_text(encoding="utf-8").replace("bcf-2016-17-quarterly", "bcf-2099-00-quarterly"),
                         encoding="utf-8")
    env = {**os.environ, "BCF_CONTENT": str(root)}
    listed = json.loads(bcf("rounds", "--format", "json", env=env, timeout=600).stdout)
    assert ("2099-00", "plan") in {(r["round"], r["return"]) for r in listed}
    made = bcf("template", "new", "--round", "2099-00", "-o", str(tmp_path / "t.xlsx"), env=env, timeout=600)
    assert made.returncode == 0, made.stderr
    gen = bcf("samples", "generate", "--round", "2099-00", "-o", str(tmp_path / "s"), "--workers", "2", env=env, timeout=600)
    assert gen.returncode == 0, gen.stderr
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text(encoding="utf-8"))
    clean = next(f["file"] for f in manifest["files"] if not f["defects"])
    checked = bcf("check", str(tmp_path / "s" / clean), "--format", "json", env=env, timeout=600)
    assert checked.returncode == 0, checked.stdout
    assert json.loads(checked.stdout)["template"]["round"] == "2099-00"
    db = tmp_path / "n.duckdb"
    batch = bcf("batch", str(tmp_path / "s"), "--db", str(db), "--round", "2099-00", "--workers", "2", env=env, timeout=600)
    assert batch.returncode == 0, batch.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.execute("SELECT count(*), count(falls_admissions) FROM nel_plan").fetchall()[0]
        rounds_held = con.execute("SELECT DISTINCT round FROM submissions").fetchall()
    assert stored == (151, 151) and rounds_held == [("2099-00",)]
