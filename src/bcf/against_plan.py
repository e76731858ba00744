"""Checks of a quarterly return against its plan in the national store, made when the batch loads it.

A return's own workbook cannot say whether its plan was ever submitted, or whether the planned figures it
quotes are the plan's: only the store knows. These findings are added to the return's report before it is
stored, like any other finding: they say what the store held when the return was loaded, so load the round's
plans before its quarterly returns.
"""

from __future__ import annotations

from typing import Any

import duckdb

from bcf.findings import finding
from bcf.national import queries
from bcf.validate import Report

TOLERANCE = 0.5  # admissions: the plan's figure and the one quoted are whole numbers


def plan_quarters(con: duckdb.DuckDBPyConnection, round_: str) -> dict[tuple[str, str], float | None]:
    """(plan code, period) -> the plan's planned admissions for that quarter, for every current plan."""
    rows = queries.rows(con, "monitoring.planned_by_quarter", round=round_)
    return {(r["plan_code"], r["period"]): r["planned"] for r in rows}


def check_against_plans(reports: list[Report], plans: dict[tuple[str, str], Any]) -> list[Report]:
    """Each quarterly report with a finding where its plan is missing or its planned figure differs."""
    codes = {code for code, _ in plans}
    out = []
    for r in reports:
        sub = r.submission
        if sub is None or r.stopped or r.plan_code is None:
            out.append(r)
            continue
        sheet, cell = sub.where("hwb_name") if sub.spec.has("hwb_name") else ("", None)
        if r.plan_code not in codes:
            out.append(r.with_findings([*r.findings, finding("BCF-CONS-006", sheet, cell, found=r.hwb)]))
            continue
        planned, quoted = plans.get((r.plan_code, r.period or "")), sub.fields.get("planned_admissions")
        if planned is not None and quoted is not None and abs(float(quoted) - planned) > TOLERANCE:
            at = sub.where("planned_admissions")
            out.append(r.with_findings([*r.findings, finding("BCF-CONS-007", *at, found=quoted, expected=planned)]))
        else:
            out.append(r)
    return out
