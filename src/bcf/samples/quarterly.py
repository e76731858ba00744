"""Quarterly monitoring returns made from a sample plan, so that a plan and its quarters agree.

Each quarter's planned admissions and pay-for-performance payment are the plan's own figures for that
quarter; the actual admissions drift from plan the way the real outturn did (nationally a rise where a fall was
planned), by an amount drawn per area, so some areas are on plan and some far off. Numbers and phrases
come from the ``quarterly`` part of ``sample_submissions/profile.yaml``.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from bcf import rounds
from bcf.generate import Filled
from bcf.samples.build import Plan, context, cover, fill_unknown, profile

QUARTER_DAYS = 91


def _p4p_schedule(plan: Plan) -> list[float]:
    """The plan's P4P payment per quarter, as its NEL & P4P sheet computes it."""
    f = plan.filled.fields
    baseline = [f[f"baseline_q{i}"] for i in range(1, 5)]
    planned = [f[f"plan_q{i}"] for i in range(1, 5)]
    reduction = sum(baseline) - sum(planned)
    value = max(min(reduction * f["nel_unit_cost"] / 1000, f["ringfenced_oohs"]), 0)
    return [value * (b - p) / reduction if reduction else 0.0 for b, p in zip(baseline, planned, strict=True)]


def quarters(plan: Plan, ret: rounds.Return, rng: random.Random) -> list[Plan]:
    """The four quarterly returns of one plan (fewer if the return lists fewer quarters)."""
    q, spec = profile()["quarterly"], ret.spec()
    f = plan.filled.fields
    drift = rng.gauss(q["drift"]["mean"], q["drift"]["sd"])  # this area's drift from its plan
    payments = _p4p_schedule(plan)
    pooled = sum(r["amount_this_year"] for r in plan.filled.tables["funding"] if r)
    explain = ret.round.values()["checks"]["variance_explain_pct"]
    who = cover(context(plan.area, plan.ret, random.Random(plan.area.plan_code)))  # as the clean plan has it
    out = []
    for i, quarter in enumerate(spec.lists["quarter"]):
        planned, baseline = f[f"plan_q{i + 1}"], f[f"baseline_q{i + 1}"]
        actual = round(planned * (1 + drift + rng.gauss(0, 0.01)))
        planned_cut = baseline - planned
        achieved = min(max((baseline - actual) / planned_cut, 0), 1) if planned_cut > 0 else 0
        share = (i + 1) / len(spec.lists["quarter"])
        submitted = spec.deadline + timedelta(days=QUARTER_DAYS * i - rng.randint(1, 10))
        fields: dict[str, Any] = {
            "hwb_name": plan.area.hwb_name, "quarter": quarter, "contact_name": who["contact_name"],
            "contact_email": who["contact_email"], "date_agreed": submitted - timedelta(days=rng.randint(1, 7)),
            "date_submitted": submitted, "planned_admissions": planned, "actual_admissions": actual,
            "p4p_planned": round(payments[i], 1), "p4p_released": round(payments[i] * achieved, 1),
            "income_planned": round(pooled * share), "income_actual": round(pooled * share),
            "spend_planned": round(pooled * share), "spend_actual": round(pooled * share * rng.uniform(*q["spend_ratio"])),
            "s75_in_place": "Yes",
            "narrative": q["narrative_above"] if abs(actual - planned) / planned * 100 > explain else q["narrative_on_plan"],
        }
        fields["spend_actual"] = min(fields["spend_actual"], fields["income_actual"])
        tables: dict[str, list[dict[str, Any] | None]] = {
            "q_conditions": [{"meets": "Yes"} for _ in spec.table("q_conditions").fixed_rows]}
        out.append(Plan(plan.area, fill_unknown(spec, Filled(fields, tables)), ret))
    return out
