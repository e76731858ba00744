"""Planted defects: each changes a clean plan and records where its finding must appear.

A defect is registered with the rule that must find it and the sheets it touches, so that no file gets two
defects on one sheet. Defects that type one wrong value into one cell are a table of data (``ONE_CELL``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bcf.samples.build import Plan, split

Defect = Callable[[Plan, random.Random], None]
Needs = Callable[[Plan], bool]
DEFECTS: dict[str, tuple[str, str, Defect]] = {}  # kind -> (rule, sheets it touches ("a|b"; "*": all), how)
NEEDS: dict[str, Needs] = {}  # kind -> what a return must have for the defect to be planted in it


def defect(kind: str, rule: str, sheet: str, needs: Needs | None = None) -> Callable[[Defect], Defect]:
    def register(fn: Defect) -> Defect:
        DEFECTS[kind] = (rule, sheet, fn)
        if needs:
            NEEDS[kind] = needs
        return fn
    return register


def _older_version(p: Plan) -> str | None:
    return next((v for v in p.ret.versions() if v != p.ret.spec().version), None)


def _set(p: Plan, name: str, value: Any, index: int | None = None) -> tuple[str, str]:
    if index is None:
        p.filled.fields[name] = value
    else:
        table, column = name.split(".")
        row = p.filled.tables[table][index]
        assert row is not None
        row[column] = value
    return p.cell(name, index)


@defect("superseded_version", "BCF-GATE-007", "*", needs=lambda p: _older_version(p) is not None)
def _superseded(p: Plan, rng: random.Random) -> None:
    p.version = _older_version(p)
    p.plant("superseded_version", "BCF-GATE-007", ("Lists", None))


@defect("hwb_not_recognised", "BCF-GATE-008", "Cover")
def _unknown_hwb(p: Plan, rng: random.Random) -> None:
    p.plant("hwb_not_recognised", "BCF-GATE-008", _set(p, "hwb_name", rng.choice(["Borsetshire", "Wessex", "Barsetshire"])))
    p.filled.fields["minimum_pooled"] = None


@defect("sheet_renamed", "BCF-STRUCT-002", "Governance")
def _renamed(p: Plan, rng: random.Random) -> None:
    p.layout.titles["Governance"] = "Governance (final)"
    p.plant("sheet_renamed", "BCF-STRUCT-002", ("Governance (final)", None))


@defect("rows_inserted_above_table", "BCF-STRUCT-004", "Schemes")
def _inserted(p: Plan, rng: random.Random) -> None:
    p.layout.inserted["Schemes"] = (3, 2)
    p.plant("rows_inserted_above_table", "BCF-STRUCT-004", ("Schemes", "B6"))


@defect("no_cached_values", "BCF-STRUCT-006", "*")
def _never_opened(p: Plan, rng: random.Random) -> None:
    p.cached_values = False
    p.plant("no_cached_values", "BCF-STRUCT-006", ("", None))


@defect("required_blank", "BCF-CELL-001", "Cover")
def _blank(p: Plan, rng: random.Random) -> None:
    p.plant("required_blank", "BCF-CELL-001", _set(p, rng.choice(["contact_name", "lead_council", "contact_phone"]), None))


@defect("text_in_number", "BCF-CELL-002", "Risks")
def _text_number(p: Plan, rng: random.Random) -> None:
    i = rng.randrange(1, len(p.filled.tables["risks"]))
    p.plant("text_in_number", "BCF-CELL-002", _set(p, "risks.exposure", rng.choice(["£1,234", "n/a", "approx 50"]), i))
    risks = p.spec.table("risks")  # the Total row that leaves it out is not checked
    p.plant("text_in_number", "BCF-ARITH-010",
            (p.layout.title(risks.sheet), f"{risks.letter('exposure')}{p.layout.end_row(risks)}"))


@defect("date_as_text", "BCF-CELL-002", "Conditions")
def _date_text(p: Plan, rng: random.Random) -> None:
    p.filled.tables["conditions"][2] = {"meets": "In progress",
                                        "explanation": "Seven-day discharge team recruited in the new year"}
    deadline = p.ret.round.values()["checks"]["conditions_deadline"] - timedelta(days=1)
    p.plant("date_as_text", "BCF-CELL-002", _set(p, "conditions.date_expected", f"end of {deadline:%B %Y}", 2))


@defect("date_order", "BCF-CELL-007", "Cover")
def _date_order(p: Plan, rng: random.Random) -> None:
    p.plant("date_order", "BCF-CELL-007", _set(p, "date_agreed", p.spec.deadline + timedelta(days=6)))
    p.filled.fields["date_submitted"] = p.spec.deadline - timedelta(days=1)


@defect("totals_do_not_tie", "BCF-ARITH-001", "Funding")
def _no_tie(p: Plan, rng: random.Random) -> None:
    row = p.filled.tables["funding"][0]
    assert row is not None
    row["amount_this_year"] += rng.choice([25, 180, 900])
    t = p.spec.table("schemes")
    total_cell = f"{t.letter('spend_this_year')}{p.layout.row('Schemes', t.end_row)}"
    p.plant("totals_do_not_tie", "BCF-ARITH-001", (p.layout.title("Schemes"), total_cell))


@defect("rate_typed_over", "BCF-ARITH-003", "Metrics")
def _rate(p: Plan, rng: random.Random) -> None:
    p.filled.typed_over[("metrics.rate_plan", 0)] = 512.0
    p.plant("rate_typed_over", "BCF-ARITH-003", p.cell("metrics.rate_plan", 0))


@defect("risk_score_typed_over", "BCF-ARITH-004", "Risks")
def _score(p: Plan, rng: random.Random) -> None:
    p.filled.typed_over[("risks.score", 0)] = 6
    p.plant("risk_score_typed_over", "BCF-ARITH-004", p.cell("risks.score", 0))


@defect("risk_share_not_100", "BCF-ARITH-005", "Governance")
def _share(p: Plan, rng: random.Random) -> None:
    p.filled.fields["share_la"] = 110 - p.filled.fields["share_ccg"]
    p.plant("risk_share_not_100", "BCF-ARITH-005", p.cell("share_total"))


@defect("saving_not_volume_times_cost", "BCF-ARITH-006", "Benefits")
def _saving_arith(p: Plan, rng: random.Random) -> None:
    row = p.filled.tables["benefits"][1]
    assert row is not None
    cut = max(1, round(row["planned_saving"] * 0.4))
    p.plant("saving_not_volume_times_cost", "BCF-ARITH-006", _set(p, "benefits.planned_saving", cut, 1))


@defect("pooled_below_minimum", "BCF-POL-001", "Cover")
def _below_min(p: Plan, rng: random.Random) -> None:
    funding, schemes = p.filled.tables["funding"], p.filled.tables["schemes"]
    extra = [r for r in funding[len(p.filled.tables["ccgs"]) + 2:] if r]
    cut = sum(r["amount_this_year"] for r in extra) + round(p.area.minimum_pooled_000 * 0.08)
    p.filled.tables["funding"] = funding[:len(p.filled.tables["ccgs"]) + 2]
    first = p.filled.tables["funding"][0]
    assert first is not None
    first["amount_this_year"] -= round(p.area.minimum_pooled_000 * 0.08)
    live = [s for s in schemes if s]
    shares = split(cut, [s["spend_this_year"] for s in live])  # every scheme gives up the same fraction
    for s, share in zip(live, shares, strict=True):
        s["spend_this_year"] -= share
    p.plant("pooled_below_minimum", "BCF-POL-001", p.cell("total_pooled"))


@defect("ringfence_below_share", "BCF-POL-003", "Funding")
def _ringfence(p: Plan, rng: random.Random) -> None:
    p.plant("ringfence_below_share", "BCF-POL-003", _set(p, "ringfenced_oohs", round(p.area.ringfence_000 * 0.5)))


@defect("nel_cut_unjustified", "BCF-POL-004", "NEL & P4P|Benefits|Provider impact")
def _nel_low(p: Plan, rng: random.Random) -> None:
    f = p.filled.fields
    base = [f[f"baseline_q{i}"] for i in range(1, 5)]
    for i, b in enumerate(base, 1):
        f[f"plan_q{i}"] = round(b * 0.98)
    reduction = sum(base) - sum(f[f"plan_q{i}"] for i in range(1, 5))
    _align_nel_benefit(p, reduction)
    p.plant("nel_cut_unjustified", "BCF-POL-004", _set(p, "nel_justification", ""))


def _align_nel_benefit(p: Plan, reduction: int) -> None:
    """Keep the Benefits and Provider impact sheets consistent with a changed NEL plan."""
    b, acute = p.filled.tables["benefits"][0], p.filled.tables["providers"][0]
    assert b is not None and acute is not None
    b["planned_change"], b["planned_saving"] = -reduction, round(reduction * b["unit_cost"] / 1000)
    acute["nel_change"], acute["income_change"] = -reduction, -b["planned_saving"]
    unit_cost = p.ret.round.values()["stress"]["unit_cost"]
    p.filled.fields["p4p_at_risk"] = round(min(reduction * unit_cost / 1000, p.filled.fields["ringfenced_oohs"]))


@defect("signoff_missing", "BCF-POL-005", "Cover")
def _signoff(p: Plan, rng: random.Random) -> None:
    i = rng.choice([0, 1, 2])
    p.plant("signoff_missing", "BCF-POL-005", _set(p, "signoffs.signed", "No", i))


@defect("condition_unexplained", "BCF-POL-006", "Conditions")
def _condition(p: Plan, rng: random.Random) -> None:
    p.filled.tables["conditions"][4] = {"meets": "No"}
    p.plant("condition_unexplained", "BCF-POL-006", p.cell("conditions.explanation", 4))


@defect("no_nel_risk", "BCF-POL-007", "Risks")
def _no_nel_risk(p: Plan, rng: random.Random) -> None:
    r = p.filled.tables["risks"][0]
    assert r is not None
    r["description"] = "There is a risk that the new care record system is delivered late"
    p.plant("no_nel_risk", "BCF-POL-007", p.cell("risks.description", 0))


@defect("boundary_unexamined", "BCF-POL-010", "Risks")
def _boundary(p: Plan, rng: random.Random) -> None:
    risks = p.filled.tables["risks"]
    p.filled.tables["risks"] = [r for r in risks if r and r["boundary"] != "Council–council"]
    boundaries = p.filled.tables["boundaries"]
    boundaries[1] = {"reason_none": ""}
    p.plant("boundary_unexamined", "BCF-POL-010", p.cell("boundaries.reason_none", 1))


def _change_nel_claim(p: Plan, column: str, value: Any) -> None:
    """Change the NEL benefit's volume or unit cost, re-price its saving and keep the acute provider in step."""
    b, acute = p.filled.tables["benefits"][0], p.filled.tables["providers"][0]
    assert b is not None and acute is not None
    b[column] = value
    b["planned_saving"] = round(-b["planned_change"] * b["unit_cost"] / 1000)
    acute["income_change"] = -b["planned_saving"]


@defect("nel_volume_overclaimed", "BCF-CONS-001", "Benefits|Provider impact")
def _overclaim(p: Plan, rng: random.Random) -> None:
    b = p.filled.tables["benefits"][0]
    assert b is not None
    _change_nel_claim(p, "planned_change", round(b["planned_change"] * rng.uniform(1.5, 2.2)))
    p.plant("nel_volume_overclaimed", "BCF-CONS-001", p.cell("benefits.planned_change", 0))


@defect("nel_overpriced", "BCF-CONS-002", "Benefits|Provider impact")
def _overpriced(p: Plan, rng: random.Random) -> None:
    _change_nel_claim(p, "unit_cost", rng.choice([2400, 3000, 3600]))
    p.plant("nel_overpriced", "BCF-CONS-002", p.cell("benefits.planned_saving", 0))


@defect("saving_exceeds_spend", "BCF-CONS-003", "Benefits")
def _exceeds(p: Plan, rng: random.Random) -> None:
    schemes = [s for s in p.filled.tables["schemes"] if s]
    small = min(schemes, key=lambda s: s["spend_this_year"])
    row = p.filled.tables["benefits"][1]
    assert row is not None
    row["scheme_ids"] = small["scheme_id"]
    row["planned_saving"] = round(small["spend_this_year"] * 1.8)
    row["planned_change"] = -round(row["planned_saving"] * 1000 / row["unit_cost"])
    p.plant("saving_exceeds_spend", "BCF-CONS-003", p.cell("benefits.planned_saving", 1))


@defect("sheet_missing", "BCF-STRUCT-001", "Provider impact")
def _missing(p: Plan, rng: random.Random) -> None:
    p.layout.titles["Provider impact"] = ""  # dropped when written
    p.plant("sheet_missing", "BCF-STRUCT-001", ("Provider impact", None))


@defect("header_changed", "BCF-STRUCT-005", "Risks")
def _header(p: Plan, rng: random.Random) -> None:
    p.layout.headers[("risks", "owner")] = "Lead officer"
    t = p.spec.table("risks")
    p.plant("header_changed", "BCF-STRUCT-005", ("Risks", f"{t.letter('owner')}{t.header_row}"))


@defect("population_misstated", "BCF-REF-001", "NEL & P4P")
def _population(p: Plan, rng: random.Random) -> None:
    """The population of another footprint (a CCG's registered list runs well above the council's)."""
    wrong = round(p.area.population * rng.choice([1.18, 1.25, 0.8]))
    p.plant("population_misstated", "BCF-REF-001", _set(p, "population", wrong))


@defect("rate_over_whole_population", "BCF-REF-002", "Metrics")
def _pop65(p: Plan, rng: random.Random) -> None:
    """The care-home admissions rate worked out over the whole population rather than the people aged 65+."""
    p.plant("rate_over_whole_population", "BCF-REF-002", _set(p, "metrics.den_baseline", p.area.population, 0))


# defects that type one wrong value into one cell: kind -> (rule, sheet, field or table.column, value, row)
ONE_CELL: dict[str, tuple[str, str, str, Any, int | None]] = {
    "text_in_number_metric": ("BCF-CELL-002", "Metrics", "metrics.num_plan", "approx 5%", 1),
    "out_of_range": ("BCF-CELL-003", "Funding", "funding.amount_last_year", -250, 0),
    "not_in_list": ("BCF-CELL-004", "Schemes", "schemes.scheme_type", "Reablement", 0),
    "duplicate_id": ("BCF-CELL-005", "Risks", "risks.risk_id", "R01", 1),
    "bad_email": ("BCF-CELL-006", "Cover", "contact_email", "finance team at the council", None),
    "no_social_care_protection": ("BCF-POL-002", "Funding", "social_care_protection", 0, None),
    "high_risk_unmitigated": ("BCF-POL-008", "Risks", "risks.mitigation", "", 0),
    "governance_not_agreed": ("BCF-POL-009", "Governance", "exit_agreed", "No", None),
    "acute_income_unreconciled": ("BCF-CONS-004", "Provider impact", "providers.income_change", 0, 0),
    "unknown_scheme_id": ("BCF-CONS-005", "Benefits", "benefits.scheme_ids", "S99", 1),
}


@defect("late_submission", "BCF-CELL-008", "Cover")
def _late(p: Plan, rng: random.Random) -> None:
    p.plant("late_submission", "BCF-CELL-008", _set(p, "date_submitted", p.spec.deadline + timedelta(days=7)))


def _one_cell(kind: str) -> Defect:
    rule, _, name, value, index = ONE_CELL[kind]

    def plant(p: Plan, rng: random.Random) -> None:
        p.plant(kind, rule, _set(p, name, value, index))
    return plant


for _kind, (_rule, _sheet, *_) in ONE_CELL.items():
    defect(_kind, _rule, _sheet)(_one_cell(_kind))


