"""Quarterly monitoring returns made from a sample plan, so that a plan and its quarters agree.

Each quarter's planned admissions and pay-for-performance payment are the plan's own figures for that
quarter; the actual admissions drift from plan the way the real outturn did (nationally a rise where a fall was
planned), by an amount drawn per area, so some areas are on plan and some far off. A round may state its own
model of that drift, correlated with the area's drift of the round before (how much of an area's optimism persists
from one year to the next), so that a board's track record can be tested on known truth. Numbers and phrases
come from the ``quarterly`` part of ``sample_submissions/profile.yaml``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
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


def area_drift(round_id: str, rng: random.Random, persistence: float | None = None) -> float:
    """An area's drift of actual admissions above its plan for a round, drawn first from its quarterly stream.

    Where the round states a persistence, the drift is ``mean + sd * (rho * z_before + sqrt(1 - rho^2) * z_new)``:
    ``z_before`` is the first standard draw of the stream, which every round shares (so it is the area's
    standardised drift of the round before), ``z_new`` the next. ``persistence`` replaces the stated rho.
    """
    q = profile()["quarterly"]
    own = q.get("rounds", {}).get(round_id, {})
    drift, linked = own.get("drift", q["drift"]), own.get("persistence")
    if not linked:
        return rng.gauss(drift["mean"], drift["sd"])
    rho = linked["correlation"] if persistence is None else persistence
    before, new = rng.gauss(0, 1), rng.gauss(0, 1)
    return float(drift["mean"] + drift["sd"] * (rho * before + math.sqrt(1 - rho ** 2) * new))


def quarters(plan: Plan, ret: rounds.Return, rng: random.Random, persistence: float | None = None) -> list[Plan]:
    """The four quarterly returns of one plan (fewer if the return lists fewer quarters); ``persistence``
    replaces the round's stated correlation of an area's drift with the round before's."""
    q, spec = profile()["quarterly"], ret.spec()
    f = plan.filled.fields
    drift = area_drift(ret.round_id, rng, persistence)  # this area's drift from its plan
    trend = rng.gauss(q["trend"]["mean"], q["trend"]["sd"])  # and how it grows through the year
    payments = _p4p_schedule(plan) if spec.has("p4p_planned") else None
    pooled = sum(r["amount_this_year"] for r in plan.filled.tables["funding"] if r)
    explain = ret.round.values()["checks"]["variance_explain_pct"]
    who = cover(context(plan.area, plan.ret, random.Random(plan.area.plan_code)))  # as the clean plan has it
    out = []
    for i, quarter in enumerate(spec.lists["quarter"]):
        planned, baseline = f[f"plan_q{i + 1}"], f[f"baseline_q{i + 1}"]
        actual = round(planned * (1 + drift + trend * (i - 1.5) + rng.gauss(0, q["noise"])))
        planned_cut = baseline - planned
        achieved = min(max((baseline - actual) / planned_cut, 0), 1) if planned_cut > 0 else 0
        share = (i + 1) / len(spec.lists["quarter"])
        submitted = spec.deadline + timedelta(days=QUARTER_DAYS * i - rng.randint(1, 10))
        fields: dict[str, Any] = {
            "hwb_name": plan.area.hwb_name, "quarter": quarter, "contact_name": who["contact_name"],
            "contact_email": who["contact_email"], "date_agreed": submitted - timedelta(days=rng.randint(1, 7)),
            "date_submitted": submitted, "planned_admissions": planned, "actual_admissions": actual,
            **({"p4p_planned": round(payments[i], 1), "p4p_released": round(payments[i] * achieved, 1)}
               if payments else {}),
            "income_planned": round(pooled * share), "income_actual": round(pooled * share),
            "spend_planned": round(pooled * share), "spend_actual": round(pooled * share * rng.uniform(*q["spend_ratio"])),
            "s75_in_place": "Yes",
            "narrative": (q["narrative_on_plan"] if abs(actual - planned) / planned * 100 <= explain
                          else q["narrative_above"] if actual > planned else q["narrative_below"]),
        }
        fields["spend_actual"] = min(fields["spend_actual"], fields["income_actual"])
        tables: dict[str, list[dict[str, Any] | None]] = {
            "q_conditions": [{"meets": "Yes"} for _ in spec.table("q_conditions").fixed_rows]}
        out.append(Plan(plan.area, fill_unknown(spec, Filled(fields, tables)), ret))
    return out


# -- planted defects in quarterly returns: kind -> (rule, how); each records where its finding must appear ----
QuarterDefect = Callable[[Plan, random.Random], None]
QUARTER_DEFECTS: dict[str, tuple[str, QuarterDefect]] = {}


def quarter_defect(kind: str, rule: str) -> Callable[[QuarterDefect], QuarterDefect]:
    def register(fn: QuarterDefect) -> QuarterDefect:
        QUARTER_DEFECTS[kind] = (rule, fn)
        return fn
    return register


def _put(q: Plan, kind: str, rule: str, name: str, value: Any) -> None:
    q.filled.fields[name] = value
    q.plant(kind, rule, q.cell(name))


@quarter_defect("variance_unexplained", "BCF-POL-012")
def _unexplained(q: Plan, rng: random.Random) -> None:
    f = q.filled.fields
    f["actual_admissions"] = round(f["planned_admissions"] * rng.uniform(1.08, 1.15))
    _put(q, "variance_unexplained", "BCF-POL-012", "narrative", "Schemes are progressing as planned.")


@quarter_defect("p4p_over_released", "BCF-ARITH-008")
def _over_released(q: Plan, rng: random.Random) -> None:
    f = q.filled.fields
    _put(q, "p4p_over_released", "BCF-ARITH-008", "p4p_released", round(f["p4p_planned"] + rng.choice([40, 120, 300]), 1))


@quarter_defect("spend_ahead_of_income", "BCF-POL-013")
def _spend_ahead(q: Plan, rng: random.Random) -> None:
    f = q.filled.fields
    _put(q, "spend_ahead_of_income", "BCF-POL-013", "spend_actual", round(f["income_actual"] * rng.uniform(1.05, 1.2)))


@quarter_defect("actuals_as_text", "BCF-CELL-002")
def _text(q: Plan, rng: random.Random) -> None:
    _put(q, "actuals_as_text", "BCF-CELL-002", "actual_admissions", rng.choice(["approx 9,000", "TBC", "9,120 (provisional)"]))


@quarter_defect("narrative_blank", "BCF-CELL-001")
def _blank(q: Plan, rng: random.Random) -> None:
    f = q.filled.fields
    f["actual_admissions"] = f["planned_admissions"]  # on plan, so only the blank is wrong
    _put(q, "narrative_blank", "BCF-CELL-001", "narrative", None)


@quarter_defect("yes_no_not_in_list", "BCF-CELL-004")
def _not_in_list(q: Plan, rng: random.Random) -> None:
    _put(q, "yes_no_not_in_list", "BCF-CELL-004", "s75_in_place", rng.choice(["Y", "Signed", "In place"]))


def plant(returns: list[Plan], rng: random.Random, times: int) -> None:
    """Plant each quarterly defect kind whose rule is in force in ``times`` returns, never two in one return."""
    from bcf.findings import rules

    share = profile()["quarterly"]["defect_share"]
    ret, order = returns[0].ret, list(rounds.all_rounds())
    known = [k for k, (rule, _) in QUARTER_DEFECTS.items() if rules()[rule].applies(ret.round_id, ret.kind, order)]
    chosen = rng.sample(range(len(returns)), max(len(known) * times, round(len(returns) * share)))
    kinds = [k for k in known for _ in range(times)]
    kinds += [rng.choice(known) for _ in range(len(chosen) - len(kinds))]
    for i, kind in zip(chosen, kinds, strict=True):
        QUARTER_DEFECTS[kind][1](returns[i], rng)
