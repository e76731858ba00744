"""Stress-test every current plan's savings and decide its assurance category.

The arithmetic is SQL (``aggregator/stress.sql``) over one round of the national store, with every
assumption taken from the round's parameters (overridable per run). Results are kept per round: a run
replaces its own round's rows and leaves every other round's as they were. The category follows reference section 6 in order,
first match wins, and keeps the reasons that decided it so the letter can name them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from bcf.national import track_record
from bcf.params import Parameter
from bcf.store import ANY_OF, sql

# each plan's findings, an advisory one marked when the assurers accepted the area's explanation of it
FINDINGS = ("SELECT f.submission_id, f.rule_id, f.severity, f.sheet, f.cell, f.message, f.fix, "
            "coalesce(e.state = 'accepted', false) AS accepted FROM findings f LEFT JOIN explained_findings e "
            "ON e.submission_id = f.submission_id AND e.rule_id = f.rule_id "
            "AND e.location = coalesce(f.location, f.sheet || '!' || f.cell) WHERE ")
CATEGORIES = ("Not approved", "Approved subject to conditions", "Approved with support", "Approved")
DECISIVE = {"BCF-POL-005": "a sign-off is missing", "BCF-POL-001": "the pooled budget is below the minimum",
            "BCF-GATE-006": "the workbook is not the planning template"}


def run(con: duckdb.DuckDBPyConnection, round_: str, chosen: dict[str, Parameter]) -> pd.DataFrame:
    """Compute one round's stress_test, stress_scenarios and assurance in the store; returns its assurance."""
    con.execute("SET VARIABLE round = ?", [round_])
    for name in ("unit_cost", "trend_growth", "weight_high", "weight_medium", "weight_low", "return_on_spend_flag",
                 "delivery_scenarios"):
        con.execute(f"SET VARIABLE {name} = ?", [chosen[name].value])
    track_record.feed_stress(con, round_, chosen)  # each plan's weight from its board's record in the round before
    con.execute(sql("stress.sql")).fetchall()
    stress = con.execute("SELECT * FROM stress_test WHERE round = ?", [round_]).df()
    findings = con.execute(FINDINGS + "f.submission_id IN (SELECT submission_id FROM stress_test WHERE round = ?)",
                           [round_]).df()
    rows = _decide_each(stress, findings, chosen)
    assurance = pd.DataFrame([{k: v for k, v in r.items() if k != "why"} for r in rows],
                             columns=["submission_id", "plan_code", "category", "reasons", "category_untracked"]
                             ).assign(round=round_)
    con.register("decided", assurance)
    con.execute("INSERT INTO assurance BY NAME SELECT * FROM decided")
    con.unregister("decided")
    return assurance


def optimism_text(claimed: float, credible: float) -> str:
    return "no credible savings" if credible <= 0 else f"{claimed / credible:.2f}"


@dataclass(frozen=True)
class Reason:
    """One reason a plan got its category: the sentence a letter gives, and what it rests on."""

    kind: str  # "decisive", "blocking", "optimism", "advisory", "clean", "accepted" or "track"
    text: str
    findings: tuple[dict[str, Any], ...] = ()  # the findings it rests on
    threshold: float | None = None  # the optimism ratio or advisory count it went past


def decide(stress: dict[Any, Any], findings: pd.DataFrame, chosen: dict[str, Parameter]) -> dict[str, Any]:
    """The assurance category of one plan and the reasons that decided it (reference section 6)."""
    p = {k: v.value for k, v in chosen.items()}
    records = [{str(k): v for k, v in f.items()} for f in findings.to_dict("records")]
    blocking = [f for f in records if f["severity"] == "blocking"]
    accepted = [f for f in records if f["severity"] != "blocking" and f.get("accepted")]
    advisory = [f for f in records if f["severity"] != "blocking" and not f.get("accepted")]  # accepted ones no longer count
    optimism = stress["optimism"]
    optimism = math.inf if optimism is None or optimism != optimism else optimism
    if stress["claimed"] <= 0:
        optimism = 0.0
    ratio = optimism_text(stress["claimed"], stress["credible"])

    def where(f: dict[Any, Any]) -> str:
        return f"{f['rule_id']}, {f['sheet']} {f['cell']}" if f["cell"] else f["rule_id"]

    def too_optimistic(limit: float) -> Reason:
        return Reason("optimism", f"Claimed savings are {ratio} times those backed by evidence (an optimism ratio above "
                      f"{limit})" if optimism != math.inf
                      else "None of the claimed savings is backed by evidence rated High or Medium", threshold=limit)

    decisive = [f for f in blocking if f["rule_id"] in DECISIVE]
    reasons: list[Reason]
    if decisive or len(blocking) >= p["not_approved_blocking"]:
        reasons = ([Reason("decisive", f"{DECISIVE[f['rule_id']].capitalize()} ({where(f)})", (f,)) for f in decisive]
                   or [Reason("blocking", f"{len(blocking)} blocking findings ({p['not_approved_blocking']} or more)",
                              tuple(blocking), p["not_approved_blocking"])])
        category = CATEGORIES[0]
    elif blocking or optimism > p["conditions_optimism"]:
        reasons = ([Reason("blocking", f"{len(blocking)} blocking finding{'s' if len(blocking) > 1 else ''} "
                           f"({', '.join(sorted({f['rule_id'] for f in blocking}))})", tuple(blocking))]
                   if blocking else [])
        if optimism > p["conditions_optimism"]:
            reasons.append(too_optimistic(p["conditions_optimism"]))
        category = CATEGORIES[1]
    elif optimism > p["support_optimism"] or len(advisory) > p["support_advisory"]:
        reasons = [too_optimistic(p["support_optimism"])] if optimism > p["support_optimism"] else []
        if len(advisory) > p["support_advisory"]:
            reasons.append(Reason("advisory", f"{len(advisory)} advisory findings (more than {p['support_advisory']})",
                                  tuple(advisory), p["support_advisory"]))
        category = CATEGORIES[2]
    else:
        reasons, category = [Reason("clean", "No blocking findings, and savings backed by evidence")], CATEGORIES[3]
    if accepted:
        reasons.append(Reason("accepted", f"{len(accepted)} advisory finding{'s' if len(accepted) > 1 else ''} explained "
                              "by the area and accepted", tuple(accepted)))
    untracked = track_record.untracked(stress)  # the track record moved its credible saving: say so, and from what
    before = decide(untracked, findings, chosen)["category"] if untracked is not None else None
    if before is not None:
        reasons.append(Reason("track", track_record.reason_text(stress, category, before)))
    return {"submission_id": stress["submission_id"], "plan_code": stress["plan_code"], "category": category,
            "reasons": [r.text for r in reasons], "why": reasons, "category_untracked": before}


def decisions(con: duckdb.DuckDBPyConnection, submission_ids: list[int], chosen: dict[str, Parameter]
              ) -> dict[int, dict[str, Any]]:
    """Plans' categories and reasons by submission id, decided again from the store after ``run`` (the same
    ``decide``)."""
    stress = con.execute(f"SELECT * FROM stress_test WHERE submission_id {ANY_OF}", [submission_ids]).df()
    findings = con.execute(FINDINGS + f"f.submission_id {ANY_OF} ORDER BY f.submission_id, f.severity, f.sheet, f.cell",
                           [submission_ids]).df()
    return {d["submission_id"]: d for d in _decide_each(stress, findings, chosen)}


def _decide_each(stress: pd.DataFrame, findings: pd.DataFrame, chosen: dict[str, Parameter]) -> list[dict[str, Any]]:
    """``decide`` for each stress_test row, with its own findings."""
    by_file = dict(tuple(findings.groupby("submission_id")))
    return [decide(s, by_file.get(s["submission_id"], findings.iloc[0:0]), chosen) for s in stress.to_dict("records")]
