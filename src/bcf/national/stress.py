"""Stress-test every current plan's savings in a round and decide its assurance category.

The arithmetic is SQL (``aggregator/stress.sql``) over one round of the national store, with every
assumption taken from the run's parameters (the round's, with any overrides). Results are kept per round: a
run replaces its own round's rows and leaves every other round's as they were. The category of each plan is
decided by ``bcf.categories``; what the store then holds on each plan is read back here for its letter, the
console and the self-check's preview.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bcf.actions import Assessment, Stored, judge
from bcf.categories import decide
from bcf.national import queries, track_record
from bcf.national.door import National
from bcf.params import Parameter
from bcf.store import by_submission, insert_rows

DECIDED = ("submission_id", "plan_code", "category", "reasons", "category_untracked")  # what the assurance table keeps
VARIABLES = ("unit_cost", "trend_growth", "weight_high", "weight_medium", "weight_low", "return_on_spend_flag",
             "delivery_scenarios")


def run(nat: National, round_: str, chosen: Mapping[str, Parameter], upkeep: bool = True) -> dict[int, dict[str, Any]]:
    """Compute one round's stress_test, stress_scenarios and assurance in the store; returns each plan's category
    and reasons by submission id, as ``decisions`` would read them back. ``upkeep=False`` when the result tables
    are known to be made and up to date (a store that was stress-tested by this version already). It runs in the
    caller's transaction: ``assurance.assure`` opens one, so that a run that fails leaves the last one's rows."""
    con = nat.con
    con.execute("SET VARIABLE round = ?", [round_])
    for name in VARIABLES:
        con.execute(f"SET VARIABLE {name} = ?", [chosen[name].value])
    track_record.feed_stress(con, round_, chosen)  # each plan's weight from its board's record in the round before
    for part in ("compute", "tables", "replace") if upkeep else ("compute", "replace"):
        con.execute(queries.text(f"stress.{part}")).fetchall()
    stress = nat.rows("assurance.stress_rows", round=round_)
    rows = _decide_each(stress, nat.rows("assurance.findings_of", ids=[s["submission_id"] for s in stress]), chosen)
    if rows:
        insert_rows(con, "assurance", [{"round": round_, **{k: r[k] for k in DECIDED}} for r in rows])
    return {r["submission_id"]: r for r in rows}


def decisions(nat: National, submission_ids: list[int], chosen: Mapping[str, Parameter]) -> dict[int, dict[str, Any]]:
    """Plans' categories and reasons by submission id, decided again from the store after ``run`` (the same
    ``decide``)."""
    stress = nat.rows("assurance.stress_rows_of", ids=submission_ids)
    findings = nat.rows("assurance.findings_of", ids=submission_ids)
    return {d["submission_id"]: d for d in _decide_each(stress, findings, chosen)}


def _decide_each(stress: list[dict[str, Any]], findings: list[dict[str, Any]],
                 chosen: Mapping[str, Parameter]) -> list[dict[str, Any]]:
    """``decide`` for each stress_test row, with its own findings."""
    by_file = by_submission(findings)
    return [decide(s, by_file.get(s["submission_id"], []), chosen) for s in stress]


def stored(nat: National, submission_ids: list[int], params: Mapping[str, Parameter],
           decided: dict[int, dict[str, Any]] | None = None) -> dict[int, Stored]:
    """Each stress-tested submission's ``Stored``, by submission id, in a few queries however many there are
    (``decided``: what ``run`` just decided, when the caller has it)."""
    decided = decided or decisions(nat, submission_ids, params)
    benefits = by_submission(nat.rows("assurance.benefits_of", ids=submission_ids))
    findings = by_submission(nat.rows("assurance.all_findings_of", ids=submission_ids))
    return {s["submission_id"]: Stored(decided[s["submission_id"]], s, benefits.get(s["submission_id"], []),
                                       findings.get(s["submission_id"], []))
            for s in nat.rows("assurance.stress_rows_of", ids=submission_ids)}


def assess(nat: National, submission_id: int, params: Mapping[str, Parameter],
           decided: dict[int, dict[str, Any]] | None = None) -> Assessment:
    """One plan's category, reasons and actions, from the store after ``run`` (and what it decided)."""
    return judge(stored(nat, [submission_id], params, decided)[submission_id], params)
