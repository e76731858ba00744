"""Stress-test every current plan's savings and decide its assurance category.

The arithmetic is SQL (``aggregator/stress.sql``) over one round of the national store, with every
assumption taken from the round's parameters (overridable per run). Results are kept per round: a run
replaces its own round's rows and leaves every other round's as they were. The category follows reference section 6 in order,
first match wins, and keeps the reasons that decided it so the letter can name them.
"""

from __future__ import annotations

import math
from typing import Any

import duckdb
import pandas as pd

from bcf.params import Parameter
from bcf.store import sql

CATEGORIES = ("Not approved", "Approved subject to conditions", "Approved with support", "Approved")
DECISIVE = {"BCF-POL-005": "a sign-off is missing", "BCF-POL-001": "the pooled budget is below the minimum",
            "BCF-GATE-006": "the workbook is not the planning template"}


def run(con: duckdb.DuckDBPyConnection, round_: str, chosen: dict[str, Parameter]) -> pd.DataFrame:
    """Compute one round's stress_test, stress_scenarios and assurance in the store; returns its assurance."""
    con.execute("SET VARIABLE round = ?", [round_])
    for name in ("unit_cost", "trend_growth", "weight_high", "weight_medium", "weight_low", "return_on_spend_flag",
                 "delivery_scenarios"):
        con.execute(f"SET VARIABLE {name} = ?", [chosen[name].value])
    con.execute(sql("stress.sql")).fetchall()
    stress = con.execute("SELECT * FROM stress_test WHERE round = ?", [round_]).df()
    findings = con.execute(
        "SELECT f.submission_id, f.rule_id, f.severity, f.sheet, f.cell, coalesce(e.state = 'accepted', false) AS accepted "
        "FROM findings f LEFT JOIN explained_findings e ON e.submission_id = f.submission_id AND e.rule_id = f.rule_id "
        "AND e.location = coalesce(f.location, f.sheet || '!' || f.cell) "
        "WHERE f.submission_id IN (SELECT submission_id FROM stress_test WHERE round = ?)", [round_]).df()
    by_file = dict(tuple(findings.groupby("submission_id")))
    rows = [decide(s, by_file.get(s["submission_id"], findings.iloc[0:0]), chosen) for s in stress.to_dict("records")]
    assurance = pd.DataFrame(rows, columns=["submission_id", "plan_code", "category", "reasons"]).assign(round=round_)
    con.register("decided", assurance)
    con.execute("INSERT INTO assurance BY NAME SELECT * FROM decided")
    con.unregister("decided")
    return assurance


def optimism_text(claimed: float, credible: float) -> str:
    return "no credible savings" if credible <= 0 else f"{claimed / credible:.2f}"


def decide(stress: dict[Any, Any], findings: pd.DataFrame, chosen: dict[str, Parameter]) -> dict[str, Any]:
    """The assurance category of one plan and the reasons that decided it (reference section 6)."""
    p = {k: v.value for k, v in chosen.items()}
    blocking = findings[findings.severity == "blocking"]
    accepted = int((findings.severity == "advisory").mul(findings.get("accepted", False)).sum())
    advisory = len(findings) - len(blocking) - accepted  # explanations the assurers accepted no longer count
    optimism = stress["optimism"]
    optimism = math.inf if optimism is None or optimism != optimism else optimism
    if stress["claimed"] <= 0:
        optimism = 0.0
    ratio = optimism_text(stress["claimed"], stress["credible"])

    def where(f: dict[Any, Any]) -> str:
        return f"{f['rule_id']}, {f['sheet']} {f['cell']}" if f["cell"] else f["rule_id"]

    decisive = [f"{DECISIVE[f['rule_id']].capitalize()} ({where(f)})" for f in blocking.to_dict("records")
                if f["rule_id"] in DECISIVE]
    if decisive or len(blocking) >= p["not_approved_blocking"]:
        reasons = decisive or [f"{len(blocking)} blocking findings ({p['not_approved_blocking']} or more)"]
        category = CATEGORIES[0]
    elif len(blocking) or optimism > p["conditions_optimism"]:
        reasons = ([f"{len(blocking)} blocking finding{'s' if len(blocking) > 1 else ''} "
                    f"({', '.join(sorted(set(blocking.rule_id)))})"] if len(blocking) else [])
        if optimism > p["conditions_optimism"]:
            reasons.append(f"Claimed savings are {ratio} times those backed by evidence "
                           f"(an optimism ratio above {p['conditions_optimism']})"
                           if optimism != math.inf else "None of the claimed savings is backed by evidence rated High or Medium")
        category = CATEGORIES[1]
    elif optimism > p["support_optimism"] or advisory > p["support_advisory"]:
        reasons = []
        if optimism > p["support_optimism"]:
            reasons.append(f"Claimed savings are {ratio} times those backed by evidence "
                           f"(an optimism ratio above {p['support_optimism']})")
        if advisory > p["support_advisory"]:
            reasons.append(f"{advisory} advisory findings (more than {p['support_advisory']})")
        category = CATEGORIES[2]
    else:
        reasons, category = ["No blocking findings, and savings backed by evidence"], CATEGORIES[3]
    if accepted:
        reasons.append(f"{accepted} advisory finding{'s' if accepted > 1 else ''} explained by the area and accepted")
    return {"submission_id": stress["submission_id"], "plan_code": stress["plan_code"], "category": category,
            "reasons": reasons}
