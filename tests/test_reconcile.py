"""Every figure shown in more than one output is the same figure in all of them.

One store made as the demo makes it (both rounds' plans, the first round's quarters, resubmissions and a
decision); each output is asked for the same figures, the way a reader would meet them: the commands' JSON,
the national report's page, the export workbook, the letters and their index, the monitoring report.
"""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from bcf.cli import main
from bcf.words import count, money
from tests.support import ROUND, copy_store


def _json(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _text(html: str) -> str:
    """A page's words, tags and spacing removed, as a reader sees them."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


@pytest.fixture(scope="module")
def outputs(cycle_store: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every output of round 2015-16 from one copy of the demo's store."""
    out = tmp_path_factory.mktemp("outputs")
    db = out / "n.duckdb"
    copy_store(cycle_store, db)
    d = str(db)
    got: dict[str, Any] = {"stress": _json("stress", "--db", d, "--round", ROUND, "--format", "json")}
    for args in (["letters", "--db", d, "--round", ROUND, "-o", str(out / "letters"), "--no-pdf"],
                 ["report", "national", "--db", d, "--round", ROUND, "-o", str(out / "report"), "--no-pdf"],
                 ["export", "--db", d, "--round", ROUND, "--format", "xlsx", "-o", str(out / "export")],
                 ["report", "monitoring", "--db", d, "--round", ROUND, "--quarter", "4", "-o", str(out / "mon"),
                  "--no-pdf"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
    got["monitor"] = _json("monitor", "--db", d, "--round", ROUND, "--quarter", "4", "--format", "json")
    got["decisions"] = _json("decisions", "--db", d, "--round", ROUND, "--format", "json")
    got["national"] = _json("national", "--db", d, "--round", ROUND, "--format", "json")
    got["report_html"] = (out / "report" / f"national-assurance-report-{ROUND}.html").read_text(encoding="utf-8")
    got["report"] = _text(got["report_html"])
    got["index"] = (out / "letters" / ROUND / "index.html").read_text(encoding="utf-8")
    got["letters"] = {p.stem.removeprefix("letter-"): _text(p.read_text(encoding="utf-8"))
                      for p in (out / "letters" / ROUND).glob("letter-*.html")}
    got["export"] = openpyxl.load_workbook(out / "export" / f"bcf-national-{ROUND}.xlsx", read_only=True)
    got["monitoring"] = (out / "mon" / ROUND / "quarter-4" / "monitoring-report.html").read_text(encoding="utf-8")
    return got


def _sheet(wb: Any, name: str) -> list[dict[str, Any]]:
    rows = list(wb[name].iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_claimed_and_backed_savings_and_the_optimism_ratio_agree(outputs: dict[str, Any]) -> None:
    t = outputs["stress"]["national"]
    plans = outputs["stress"]["plans"]
    assert t["claimed"] == pytest.approx(sum(p["claimed"] for p in plans))
    assert t["credible"] == pytest.approx(sum(p["credible"] for p in plans))
    assert t["optimism"] == pytest.approx(t["claimed"] / t["credible"])
    # the report's England row states the same three figures
    row = outputs["report_html"].split('data-label="Region">England</th>')[1].split("</tr>")[0]
    assert tuple(re.findall(r">([^<]+)</td>", row)) == (str(t["plans"]), money(t["claimed"]), money(t["credible"]),
                                f"{t['claimed'] / t['credible']:.2f}")
    # the export's Categories sheet adds up to them
    sheet = _sheet(outputs["export"], "Categories")
    assert sum(r["Claimed £000"] for r in sheet) == pytest.approx(t["claimed"])
    assert sum(r["Credible £000"] for r in sheet) == pytest.approx(t["credible"])


def test_each_plans_category_is_the_same_everywhere(outputs: dict[str, Any]) -> None:
    by_json = {p["plan_code"]: p["category"] for p in outputs["stress"]["plans"]}
    by_export = {r["Plan code"]: r["Category"] for r in _sheet(outputs["export"], "Categories")}
    assert by_export == by_json
    stated = {code: re.search(r"Assurance category: (.+?) (?=[A-Z][a-z])", text) for code, text in outputs["letters"].items()}
    assert {code: m.group(1) if m else None for code, m in stated.items()} == by_json


def test_plan_counts_by_category_agree(outputs: dict[str, Any]) -> None:
    counts = outputs["stress"]["national"]["categories"]
    assert sum(counts.values()) == outputs["stress"]["national"]["plans"] == len(outputs["stress"]["plans"])
    for category, n in counts.items():
        assert sum(p["category"] == category for p in outputs["stress"]["plans"]) == n
        assert sum(r["Category"] == category for r in _sheet(outputs["export"], "Categories")) == n
        section = re.search(rf'data-category="{category}".*?</section>', outputs["index"], re.S)
        assert (section.group(0).count("<tr data-plan=") if section else 0) == n  # the letters index, row by row


def test_plan_counts_by_status_agree(outputs: dict[str, Any]) -> None:
    (status,) = [t for title, t in outputs["national"]["tables"].items() if title.startswith("Submission status")]
    exported = _sheet(outputs["export"], "Submission status")
    for row in status:
        assert sum(r["Status"] == row["status"] for r in exported) == row["hwbs"]


def test_monitoring_headline_and_table_agree(outputs: dict[str, Any]) -> None:
    m = outputs["monitor"]
    assert m["complete"] and m["range_above_plan"] is None  # a complete year is an outturn, not a projection
    html = outputs["monitoring"]
    rows = re.findall(r"<tr><td>[^<]+</td><td class=\"n\">([\d,]+)</td>(?:<td class=\"n\">[^<]*</td>){3}"
                      r"<td class=\"n\">(-?[\d,]+)</td>", html)
    assert len(rows) == 4
    assert {int(n.replace(",", "")) for n, _ in rows} == {m["plans_reporting"]}  # every quarter: the same plans
    assert sum(int(v.replace(",", "")) for _, v in rows) == pytest.approx(m["actual_to_date"] - m["planned_to_date"], abs=4)
    assert count(abs(m["projected_above_plan"])) in _text(html)
    assert money(m["p4p_at_risk_000"]) in _text(html)
    assert f"{m['plans_reporting']} of the round's {m['plans_in_round']} plans" in _text(html)


def test_the_number_of_decisions_agrees(outputs: dict[str, Any], cycle_store: Path) -> None:
    """The console's decision log and `bcf decisions --format json` list the same decisions."""
    from bcf.national import console

    shown = console.log(cycle_store, ROUND)
    assert sorted(d["decision_id"] for d in outputs["decisions"]["log"]) == sorted(d["decision_id"] for d in shown)
    assert len(shown) >= 1 and {d["rule_id"] for d in outputs["decisions"]["log"]} == {"BCF-POL-010"}
    assert all({"plan_code", "rule_id", "decision", "reason", "who", "when"} <= set(d) for d in outputs["decisions"]["log"])
    assert all({"plan_code", "rule_id", "location"} <= set(d) for d in outputs["decisions"]["awaiting"])


def test_plan_views_hold_no_quarterly_rows(outputs: dict[str, Any]) -> None:
    """The report's commonest findings are the plans'; the export names the return of every finding."""
    quarterly_only = {"BCF-ARITH-008", "BCF-POL-012", "BCF-CONS-006", "BCF-CONS-007"}
    table = outputs["report"].split("Most frequent findings in the plans")[1].split("Plans missing")[0]
    assert not any(rule in table for rule in quarterly_only)
    findings = _sheet(outputs["export"], "Findings")
    assert {r["Return kind"] for r in findings} == {"plan", "quarterly"}
