"""The central team's commands on a store like the demo's: each picks the round that has what it shows, refuses
what it cannot compare, and states only figures that say something."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from bcf.cli import main
from tests.support import ROUND, copy_store


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _json(*args: str) -> Any:
    result = _run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_monitor_defaults_to_the_latest_round_with_quarterly_returns(cycle_store: Path) -> None:
    got = _json("monitor", "--db", str(cycle_store), "--quarter", "1")  # the latest round (2016-17) has none
    assert got["round"] == ROUND and got["quarter"] == 1 and got["range_above_plan"] is not None
    refused = _run("monitor", "--db", str(cycle_store), "--round", "2016-17")
    assert refused.exit_code == 2
    assert "no quarterly returns for round 2016-17" in refused.output
    assert f"Rounds with quarterly returns: {ROUND}" in refused.output


def test_a_parameter_override_reaches_the_monitoring_figures(cycle_store: Path) -> None:
    base = _json("monitor", "--db", str(cycle_store), "--quarter", "2")
    dearer = _json("monitor", "--db", str(cycle_store), "--quarter", "2", "--param", "unit_cost=2000")
    assert dearer["overridden"] == ["unit_cost"] and base["overridden"] == []
    assert dearer["p4p_at_risk_000"] > base["p4p_at_risk_000"]


def test_stress_names_plans_with_nothing_backed(cycle_store: Path, tmp_path: Path) -> None:
    db = tmp_path / "n.duckdb"
    copy_store(cycle_store, db)
    got = _json("stress", "--db", str(db), "--round", ROUND)
    none_backed = [p for p in got["plans"] if p["claimed"] > 0 and p["credible"] == 0]
    assert none_backed and all(p["optimism"] is None for p in none_backed)
    text = _run("stress", "--db", str(db), "--round", ROUND).output
    assert "none backed" in text and "Assumptions used" not in text
    assert "Assumptions used" in _run("stress", "--db", str(db), "--round", ROUND, "--assumptions").output


def test_the_two_cuts_are_named_for_what_they_are(cycle_store: Path, tmp_path: Path) -> None:
    db = tmp_path / "n.duckdb"
    copy_store(cycle_store, db)
    national = _json("national", "--db", str(db), "--round", ROUND)
    (title,) = [t for t in national["tables"] if t.startswith("Emergency admissions")]
    assert "the valid plans together" in title
    assert _run("report", "national", "--db", str(db), "--round", ROUND, "-o", str(tmp_path), "--no-pdf").exit_code == 0
    html = (tmp_path / f"national-assurance-report-{ROUND}.html").read_text(encoding="utf-8")
    assert re.search(r"Together the plans cut emergency admissions by [\d.]+% of their baseline \(the average plan by "
                     r"[\d.]+%\)", html)


def test_no_figure_is_stated_against_itself(cycle_store: Path, tmp_path: Path) -> None:
    db = tmp_path / "n.duckdb"
    copy_store(cycle_store, db)
    d = str(db)
    for args in (["letters", "--db", d, "--round", ROUND, "-o", str(tmp_path / "l"), "--no-pdf"],
                 ["report", "national", "--db", d, "--round", ROUND, "-o", str(tmp_path / "r"), "--no-pdf"],
                 ["report", "monitoring", "--db", d, "--round", ROUND, "-o", str(tmp_path / "m"), "--no-pdf"]):
        assert _run(*args).exit_code == 0
    pages = [p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.html")]
    assert len(pages) > 280  # 151 letters and their index, the report, the monitoring report and its notes
    for page in pages:
        assert "£0k" not in page
        assert not re.search(r"moved from (£[\d.,]+[mk]?) to \1\b", page)
        assert not re.search(r"between ([\d,]+) and \1\b", page)
        assert not re.search(r"claimed at (£[\d.,]+[mk]?); at the national unit cost of £[\d,]+ they are worth \1\b", page)


def test_diff_refuses_returns_it_cannot_compare(sample_round: tuple[Path, Any], quarterly_round: tuple[Path, Any],
                                                next_round: Path) -> None:
    plans = sorted(sample_round[0].glob("*.xlsx"))
    quarter = sorted(quarterly_round[0].glob("*.xlsx"))[0]
    later = sorted(next_round.glob("*.xlsx"))[0]
    for other in (quarter, later):
        result = _run("diff", str(plans[0]), str(other))
        assert result.exit_code == 2 and "compares two files of the same round and return" in result.output
        assert "Traceback" not in result.output
    two_boards = _run("diff", str(plans[0]), str(plans[1]))
    assert two_boards.exit_code == 0 and "two different boards' returns" in two_boards.output


def test_a_what_if_is_said_on_every_page_and_leaves_the_rounds_results_alone(cycle_store: Path, tmp_path: Path) -> None:
    db = tmp_path / "n.duckdb"
    copy_store(cycle_store, db)
    before = _json("stress", "--db", str(db), "--round", ROUND)
    out = tmp_path / "what-if"
    done = _run("letters", "--db", str(db), "--round", ROUND, "-o", str(out), "--no-pdf", "--param", "unit_cost=3000")
    assert done.exit_code == 0, done.output
    assert _run("report", "national", "--db", str(db), "--round", ROUND, "-o", str(out), "--no-pdf",
                "--param", "unit_cost=3000").exit_code == 0
    pages = sorted(out.rglob("*.html"))
    assert len(pages) > 100
    for page in pages:  # every letter, the letters' index and the national report
        text = re.sub(r"\s+", " ", page.read_text(encoding="utf-8"))
        assert "A what-if, not the round's results." in text and "£3,000 (the round's own: £1,490)" in text, page.name
    after = _json("stress", "--db", str(db), "--round", ROUND)
    assert after["plans"] == before["plans"] and after["national"] == before["national"]  # nothing of it was kept
    official = tmp_path / "official"
    assert _run("letters", "--db", str(db), "--round", ROUND, "-o", str(official), "--no-pdf").exit_code == 0
    assert not any("A what-if" in p.read_text(encoding="utf-8") for p in official.rglob("*.html"))
