"""The sample round: one filled workbook per plan, some with planted defects, and a manifest of them.

Figures are scaled by each area's (synthetic) population and are internally consistent, and the savings
are optimistic the way 2014's were: claims rest mostly on weak evidence. About 40% of the files carry
defects; ``manifest.json`` lists each one by kind, the rule that must find it, and its sheet and cell.
The same seed always gives the same figures.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bcf import areas
from bcf import spec as specs
from bcf.generate import Filled, Layout, write_workbook

DEFECT_SHARE = 0.4
TIMES_EACH = 3
BOUNDARIES = specs.load().lists["boundary"][:6]
NEL_RISK = "There is a risk that emergency (non-elective) admissions do not fall as planned and P4P money is not released"


@dataclass
class Plan:
    """One area's return before it is written: what was typed, the layout, and the planted defects."""

    area: areas.Area
    filled: Filled
    layout: Layout = field(default_factory=Layout)
    version: str | None = None
    cached_values: bool = True
    defects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def spec(self) -> specs.Spec:
        return specs.load(self.version)

    def cell(self, name: str, index: int | None = None) -> tuple[str, str]:
        """(sheet, A1) of a field, or of a table column on its index-th row."""
        if index is None:
            f = self.spec.field(name)
            return self.layout.title(f.sheet), self.layout.cell(f.sheet, f.cell or "A1")
        table, column = name.split(".")
        return self.filled.table_cell(self.spec, self.layout, table, index, column)

    def plant(self, kind: str, rule: str, where: tuple[str, str | None]) -> None:
        self.defects.append({"kind": kind, "rule": rule, "sheet": where[0], "cell": where[1]})


def _split(total: float, weights: list[float]) -> list[int]:
    """Whole-number parts of total in proportion to weights, summing exactly to round(total)."""
    parts = [int(total * w / sum(weights)) for w in weights]
    parts[-1] += round(total) - sum(parts)
    return parts


def build_plan(area: areas.Area, rng: random.Random) -> Plan:
    """A clean, internally consistent return for one area."""
    scale = area.population / 413_000
    minimum = area.minimum_pooled_000
    n_ccg = 1 if area.population < 300_000 else rng.randint(1, 3)
    short = area.plan_name.split(",")[0]
    ccgs = [{"ccg_name": f"NHS {short}{'' if n_ccg == 1 else ' ' + 'North South West'.split()[i]} CCG",
             "ccg_code": f"{rng.randint(0, 99):02d}{rng.choice('ABCDEFGHJKLMNPQRTVWXY')}"} for i in range(n_ccg)]
    dfg, sccg = round(minimum * 0.055), round(minimum * 0.03)
    ccg_min = _split(minimum - dfg - sccg, [rng.uniform(0.5, 1.5) for _ in ccgs])
    funding: list[dict[str, Any]] = [{"org_type": "CCG", "organisation": c["ccg_name"], "stream": "CCG minimum contribution",
                "amount_1516": a} for c, a in zip(ccgs, ccg_min, strict=True)]
    funding += [{"org_type": "Local Authority", "organisation": f"{short} Council", "stream": s, "amount_1516": a}
                for s, a in (("Disabled Facilities Grant", dfg), ("Social Care Capital Grant", sccg))]
    if rng.random() < 0.5:
        funding.append({"org_type": "CCG", "organisation": ccgs[0]["ccg_name"], "stream": "Additional CCG contribution",
                        "amount_1516": round(minimum * rng.uniform(0.05, 0.4))})
    if rng.random() < 0.6:
        funding.append({"org_type": "Local Authority", "organisation": f"{short} Council",
                        "stream": "Additional LA contribution", "amount_1516": round(minimum * rng.uniform(0.05, 0.5))})
    for f in funding:
        f["amount_1415"] = round(f["amount_1516"] * rng.uniform(0.55, 0.9))
    total = sum(f["amount_1516"] for f in funding)

    types = specs.load().lists["scheme_type"]
    n_schemes = rng.randint(8, 18)
    spends = _split(total, [rng.uniform(0.3, 2.0) for _ in range(n_schemes)])
    schemes: list[dict[str, Any]] = []
    for i, spend in enumerate(spends, 1):
        kind = types[(i - 1) % (len(types) - 1)]
        schemes.append({
            "scheme_id": f"S{i:02d}", "scheme_name": f"{kind.split('/')[0]} — {short} {i}", "scheme_type": kind,
            "area_of_spend": rng.choice(["Social care", "Community health", "Acute", "Mental health", "Primary care"]),
            "commissioner": rng.choice(["LA", "CCG", "Joint"]),
            "provider_type": rng.choice(["Local Authority", "NHS community", "NHS acute", "Private or voluntary sector"]),
            "funding_source": rng.choice(["CCG minimum contribution", "Disabled Facilities Grant", "Additional LA contribution"]),
            "new_existing": rng.choice(["New", "Existing"]), "spend_1415": round(spend * rng.uniform(0.5, 0.9)),
            "spend_1516": spend, "protects_social_care": rng.choice(["Yes", "No"]), "nhs_oohs": rng.choice(["Yes", "No"])})

    # Emergency admissions: ~35,000 a year for a typical area, a planned cut averaging about 3%.
    baseline_year = 35_000 * scale * rng.uniform(0.85, 1.15)
    season = [0.26, 0.245, 0.24, 0.255]
    baseline = [round(baseline_year * s) for s in season]
    cut = min(max(rng.gauss(0.031, 0.012), 0.008), 0.07)
    plan_q = [round(b * (1 - cut)) for b in baseline]
    reduction = sum(baseline) - sum(plan_q)
    unit_cost = 1490
    justification = "" if reduction / sum(baseline) >= 0.035 else (
        "Admissions in our area are already well below the national rate; the reduction reflects what our "
        "integrated care teams can deliver in their first year.")

    # Benefits: the NEL claim is consistent with the plan; the rest is optimistic and weakly evidenced.
    avoided = round(reduction * rng.uniform(1.0, 1.06))
    nel_saving = round(avoided * unit_cost / 1000)
    linked = sorted(schemes, key=lambda s: -s["spend_1516"])[:3]
    well_evidenced = rng.random() < 0.15  # a few areas evaluate their schemes; most, in 2014, did not
    confidence_weights = ([("High", 0.8), ("Medium", 0.2), ("Low", 0.0)] if well_evidenced
                          else [("High", 0.03), ("Medium", 0.12), ("Low", 0.85)])

    def confidence() -> str:
        return rng.choices([c for c, _ in confidence_weights], [w for _, w in confidence_weights])[0]

    benefits: list[dict[str, Any]] = [{"benefit_id": "B01", "scheme_ids": ", ".join(s["scheme_id"] for s in linked),
                 "benefit_type": "Fewer NEL admissions", "unit": "admissions", "baseline_volume": sum(baseline),
                 "planned_change": -avoided, "unit_cost": unit_cost, "planned_saving": nel_saving,
                 "accrues_to": "CCG", "cashable": "Yes", "evidence": "Local evaluation of the 2013/14 pilot",
                 "confidence": confidence()}]
    others = [("Fewer delayed days", "bed days", 290, 3_200), ("Fewer permanent care-home admissions", "admissions", 27_000, 110),
              ("Fewer A&E attendances", "attendances", 120, 9_000), ("Better reablement", "packages", 1_900, 600)]
    for j, (btype, unit, cost, per_100k) in enumerate(rng.sample(others, rng.randint(2, 4)), 2):
        volume = round(per_100k * area.population / 100_000)
        change = -round(volume * rng.uniform(0.04, 0.22))
        saving = round(-change * cost / 1000)
        scheme = rng.choice([s for s in schemes if s["spend_1516"] >= 2 * saving]
                            or [max(schemes, key=lambda s: s["spend_1516"])])
        if scheme["spend_1516"] < 2 * saving:
            change = -int(scheme["spend_1516"] * 1000 / cost * 0.5)
            saving = round(-change * cost / 1000)
        conf = confidence()
        benefits.append({"benefit_id": f"B{j:02d}", "scheme_ids": scheme["scheme_id"], "benefit_type": btype, "unit": unit,
                         "baseline_volume": volume, "planned_change": change, "unit_cost": cost, "planned_saving": saving,
                         "accrues_to": rng.choice(["CCG", "LA", "Shared"]), "cashable": rng.choice(["Yes", "No"]),
                         "evidence": "" if conf == "Low" and rng.random() < 0.5 else
                         "Evaluation of our 2013/14 pilot" if well_evidenced else "National case studies",
                         "confidence": conf})

    pop65, pop18 = area.population * 0.17, area.population * 0.78
    res = rng.uniform(400, 1000)
    metrics = [
        {"num_baseline": round(res * pop65 / 1e5), "den_baseline": round(pop65), "num_plan": round(res * 0.96 * pop65 / 1e5),
         "den_plan": round(pop65 * 1.01), "rationale": "Fewer admissions through reablement"},
        {"num_baseline": round(400 * scale * 0.82), "den_baseline": round(400 * scale), "num_plan": round(430 * scale * 0.85),
         "den_plan": round(430 * scale), "rationale": "More people offered reablement"},
        {"num_baseline": round(rng.uniform(700, 1300) * pop18 / 1e5), "den_baseline": round(pop18),
         "num_plan": round(rng.uniform(600, 1100) * pop18 / 1e5), "den_plan": round(pop18), "rationale": "7-day discharge"},
        {"num_baseline": 620, "den_baseline": 1000, "num_plan": 650, "den_plan": 1000, "rationale": "Survey of service users"},
        {"local_name": rng.choice(["Dementia diagnosis rate", "Falls injuries 65+", "Carer quality of life"]),
         "num_baseline": round(600 * scale), "den_baseline": round(1000 * scale), "num_plan": round(660 * scale),
         "den_plan": round(1000 * scale), "rationale": "Local priority agreed by the board"},
    ]
    conditions: list[dict[str, Any]] = [{"meets": "Yes"} for _ in range(6)]
    if rng.random() < 0.3:
        conditions[3] = {"meets": "In progress", "explanation": "NHS number rolled out across social care systems by March 2015",
                         "date_expected": date(2015, 3, 31)}

    p4p = max(min(reduction * unit_cost / 1000, area.ringfence_000 * 1.05), 0)
    risks: list[dict[str, Any]] = [
             {"risk_id": "R01", "description": NEL_RISK, "boundary": "Commissioner–provider", "likelihood": 4, "impact": 4,
              "exposure": round(p4p), "falls_on": "Shared",
              "mitigation": "Monthly monitoring of admissions; contingency fund held by the pool",
              "owner": "CCG chief finance officer",
              "review_date": date(2015, 1, 31)}]
    for k, boundary in enumerate(BOUNDARIES, 2):
        if rng.random() < 0.8:
            likelihood, impact = rng.randint(1, 5), rng.randint(1, 4)
            risks.append({"risk_id": f"R{k:02d}",
                          "description": f"There is a risk that partners across the {boundary.lower()} boundary "
                          "do not agree how costs are shared", "boundary": boundary, "likelihood": likelihood, "impact": impact,
                          "exposure": round(total * rng.uniform(0.002, 0.02)), "falls_on": rng.choice(["CCG", "LA", "Shared"]),
                          "mitigation": "Joint finance group reviews quarterly"
                          if likelihood * impact >= 12 or rng.random() < 0.7 else "",
                          "owner": "Pooled fund manager", "review_date": date(2015, 3, 31)})
    covered = {r["boundary"] for r in risks}
    boundaries = [{"reason_none": "" if b in covered else "Single CCG and single council: no such boundary in our area"}
                  for b in BOUNDARIES]
    share_ccg = rng.choice([50, 60, 70, 80])
    acute_income = -round(nel_saving * rng.uniform(0.92, 1.08))
    providers = [{"provider": f"{short} Hospitals NHS Foundation Trust", "provider_kind": "Acute", "nel_change": -avoided,
                  "income_change": acute_income, "signed_up": "Yes"},
                 {"provider": f"{short} Community Health Services", "provider_kind": "Community", "nel_change": 0,
                  "income_change": round(total * 0.05), "signed_up": "Yes"},
                 {"provider": f"{short} Council adult social care", "provider_kind": "Social care", "nel_change": 0,
                  "income_change": round(total * 0.03), "signed_up": "Yes"}]
    agreed = date(2014, 9, rng.randint(1, 12))
    contact = rng.choice(["Sam Patel", "Alex Morgan", "Jo Williams", "Chris Evans", "Priya Shah", "Tom Hughes"])
    signoffs = [{"signed": "Yes", "name": n, "date": agreed} for n in ("Cllr A. Chair", "B. Chief-Executive")]
    signoffs += [{"signed": "Yes", "name": f"C. Officer {i + 1}", "date": agreed} for i in range(n_ccg)]
    fields = {
        "hwb_name": area.hwb_name, "lead_council": f"{short} Council", "contact_name": contact,
        "contact_email": f"{contact.split()[0].lower()}.{contact.split()[1].lower()}@{short.lower().replace(' ', '')}.gov.uk",
        "contact_phone": f"01{rng.randint(100, 999)} {rng.randint(100000, 999999)}", "date_agreed": agreed,
        "date_submitted": date(2014, 9, rng.randint(max(agreed.day, 12), 19)),
        "social_care_protection": round(minimum * rng.uniform(0.18, 0.3)),
        "ringfenced_oohs": round(area.ringfence_000 * rng.uniform(1.0, 1.2)),
        "care_act": round(minimum * 0.02), "carers_breaks": round(minimum * 0.015), "reablement_funding": round(minimum * 0.04),
        **{f"baseline_q{i}": v for i, v in enumerate(baseline, 1)}, **{f"plan_q{i}": v for i, v in enumerate(plan_q, 1)},
        "population": area.population, "nel_justification": justification, "nel_unit_cost": unit_cost,
        "s75_status": rng.choice(["Signed", "Drafted"]), "host_org": rng.choice(["Local Authority", "CCG"]),
        "fund_manager": "Director of Finance", "overspend": "Shared in the risk-share proportions",
        "underspend": "Carried forward within the pool", "share_ccg": share_ccg, "share_la": 100 - share_ccg,
        "contingency": round(p4p * rng.uniform(0.1, 0.6)), "p4p_at_risk": round(p4p), "exit_agreed": "Yes",
        "arbitration_agreed": "Yes",
    }
    tables = {"ccgs": ccgs, "signoffs": signoffs, "funding": funding, "schemes": schemes, "benefits": benefits,
              "metrics": metrics, "conditions": conditions, "risks": risks, "boundaries": boundaries, "providers": providers}
    return Plan(area, Filled(fields, tables))  # type: ignore[arg-type]


# -- planted defects: each changes a clean plan and records where the finding must appear -----------------
Defect = Callable[[Plan, random.Random], None]
DEFECTS: dict[str, tuple[str, str, Defect]] = {}  # kind -> (rule, sheets it touches ("a|b"; "*": all), how)


def defect(kind: str, rule: str, sheet: str) -> Callable[[Defect], Defect]:
    def register(fn: Defect) -> Defect:
        DEFECTS[kind] = (rule, sheet, fn)
        return fn
    return register


def _set(p: Plan, name: str, value: Any, index: int | None = None) -> tuple[str, str]:
    if index is None:
        p.filled.fields[name] = value
    else:
        table, column = name.split(".")
        row = p.filled.tables[table][index]
        assert row is not None
        row[column] = value
    return p.cell(name, index)


@defect("superseded_version", "BCF-GATE-007", "*")
def _superseded(p: Plan, rng: random.Random) -> None:
    p.version = "1.1"
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


@defect("date_as_text", "BCF-CELL-002", "Conditions")
def _date_text(p: Plan, rng: random.Random) -> None:
    p.filled.tables["conditions"][2] = {"meets": "In progress",
                                        "explanation": "Seven-day discharge team recruited in the new year"}
    p.plant("date_as_text", "BCF-CELL-002", _set(p, "conditions.date_expected", "end of March 2015", 2))


@defect("date_order", "BCF-CELL-007", "Cover")
def _date_order(p: Plan, rng: random.Random) -> None:
    p.plant("date_order", "BCF-CELL-007", _set(p, "date_agreed", date(2014, 9, 25)))
    p.filled.fields["date_submitted"] = date(2014, 9, 18)


@defect("totals_do_not_tie", "BCF-ARITH-001", "Funding")
def _no_tie(p: Plan, rng: random.Random) -> None:
    row = p.filled.tables["funding"][0]
    assert row is not None
    row["amount_1516"] += rng.choice([25, 180, 900])
    t = p.spec.table("schemes")
    total_cell = f"{t.letter('spend_1516')}{p.layout.row('Schemes', t.end_row)}"
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
    cut = sum(r["amount_1516"] for r in extra) + round(p.area.minimum_pooled_000 * 0.08)
    p.filled.tables["funding"] = funding[:len(p.filled.tables["ccgs"]) + 2]
    first = p.filled.tables["funding"][0]
    assert first is not None
    first["amount_1516"] -= round(p.area.minimum_pooled_000 * 0.08)
    live = [s for s in schemes if s]
    shares = _split(cut, [s["spend_1516"] for s in live])  # every scheme gives up the same fraction
    for s, share in zip(live, shares, strict=True):
        s["spend_1516"] -= share
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
    p.filled.fields["p4p_at_risk"] = round(min(reduction * 1.49, p.filled.fields["ringfenced_oohs"]))


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


@defect("nel_volume_overclaimed", "BCF-CONS-001", "Benefits|Provider impact")
def _overclaim(p: Plan, rng: random.Random) -> None:
    b = p.filled.tables["benefits"][0]
    acute = p.filled.tables["providers"][0]
    assert b is not None and acute is not None
    b["planned_change"] = round(b["planned_change"] * rng.uniform(1.5, 2.2))
    b["planned_saving"] = round(-b["planned_change"] * b["unit_cost"] / 1000)
    acute["income_change"] = -b["planned_saving"]
    p.plant("nel_volume_overclaimed", "BCF-CONS-001", p.cell("benefits.planned_change", 0))


@defect("nel_overpriced", "BCF-CONS-002", "Benefits|Provider impact")
def _overpriced(p: Plan, rng: random.Random) -> None:
    b = p.filled.tables["benefits"][0]
    acute = p.filled.tables["providers"][0]
    assert b is not None and acute is not None
    b["unit_cost"] = rng.choice([2400, 3000, 3600])
    b["planned_saving"] = round(-b["planned_change"] * b["unit_cost"] / 1000)
    acute["income_change"] = -b["planned_saving"]
    p.plant("nel_overpriced", "BCF-CONS-002", p.cell("benefits.planned_saving", 0))


@defect("saving_exceeds_spend", "BCF-CONS-003", "Benefits")
def _exceeds(p: Plan, rng: random.Random) -> None:
    schemes = [s for s in p.filled.tables["schemes"] if s]
    small = min(schemes, key=lambda s: s["spend_1516"])
    row = p.filled.tables["benefits"][1]
    assert row is not None
    row["scheme_ids"] = small["scheme_id"]
    row["planned_saving"] = round(small["spend_1516"] * 1.8)
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


# defects that type one wrong value into one cell: kind -> (rule, sheet, field or table.column, value, row)
ONE_CELL: dict[str, tuple[str, str, str, Any, int | None]] = {
    "text_in_number_metric": ("BCF-CELL-002", "Metrics", "metrics.num_plan", "approx 5%", 1),
    "out_of_range": ("BCF-CELL-003", "Funding", "funding.amount_1415", -250, 0),
    "not_in_list": ("BCF-CELL-004", "Schemes", "schemes.scheme_type", "Reablement", 0),
    "duplicate_id": ("BCF-CELL-005", "Risks", "risks.risk_id", "R01", 1),
    "bad_email": ("BCF-CELL-006", "Cover", "contact_email", "finance team at the council", None),
    "late_submission": ("BCF-CELL-008", "Cover", "date_submitted", date(2014, 9, 26), None),
    "no_social_care_protection": ("BCF-POL-002", "Funding", "social_care_protection", 0, None),
    "high_risk_unmitigated": ("BCF-POL-008", "Risks", "risks.mitigation", "", 0),
    "governance_not_agreed": ("BCF-POL-009", "Governance", "exit_agreed", "No", None),
    "acute_income_unreconciled": ("BCF-CONS-004", "Provider impact", "providers.income_change", 0, 0),
    "unknown_scheme_id": ("BCF-CONS-005", "Benefits", "benefits.scheme_ids", "S99", 1),
}


def _one_cell(kind: str) -> Defect:
    rule, _, name, value, index = ONE_CELL[kind]

    def plant(p: Plan, rng: random.Random) -> None:
        p.plant(kind, rule, _set(p, name, value, index))
    return plant


for _kind, (_rule, _sheet, *_) in ONE_CELL.items():
    defect(_kind, _rule, _sheet)(_one_cell(_kind))


def _assign(n_files: int, rng: random.Random) -> dict[int, list[str]]:
    """Spread each defect kind over TIMES_EACH files; no file gets two defects on one sheet."""
    pool = [k for k in DEFECTS for _ in range(TIMES_EACH)]
    rng.shuffle(pool)
    pool.sort(key=lambda k: DEFECTS[k][1] != "*")  # whole-file defects first: they need a file of their own
    files = rng.sample(range(n_files), round(n_files * DEFECT_SHARE))
    out: dict[int, list[str]] = {i: [] for i in files}
    for kind in pool:
        sheets = set(DEFECTS[kind][1].split("|"))
        for i in sorted(files, key=lambda i: (len(out[i]), rng.random())):
            taken = {s for k in out[i] for s in DEFECTS[k][1].split("|")}
            if "*" not in taken and not sheets & taken and not ("*" in sheets and out[i]):
                out[i].append(kind)
                break
    return out


def plans(seed: int = 2014) -> Iterator[Plan]:
    """The whole round, defects planted, in the order of the HWB list."""
    rng = random.Random(seed)
    all_areas = areas.plans()
    assigned = _assign(len(all_areas), rng)
    for i, area in enumerate(all_areas):
        r = random.Random(f"{seed}:{area.plan_code}")
        p = build_plan(area, r)
        for kind in assigned.get(i, []):
            DEFECTS[kind][2](p, r)
        yield p


def expected_category(p: Plan) -> str:
    """The assurance category this plan should get (reference section 6), worked out from what was planted
    and the figures written; the test oracle for the checks, the stress test and the category together."""
    from bcf.stress import parameters
    from bcf.validate.catalogue import rules

    prm = {k: v.value for k, v in parameters().items()}
    severities = [rules()[d["rule"]].severity for d in p.defects]
    blocking, advisory = severities.count("blocking"), severities.count("advisory")
    benefits = [b for b in p.filled.tables["benefits"] if b]
    f = p.filled.fields
    reduction = sum(f[f"baseline_q{i}"] - f[f"plan_q{i}"] for i in range(1, 5))
    avoided = -sum(b["planned_change"] for b in benefits if b["benefit_type"] == "Fewer NEL admissions")
    weight = {"High": prm["weight_high"], "Medium": prm["weight_medium"], "Low": prm["weight_low"]}
    credible = 0.0
    for b in benefits:
        w = weight[b["confidence"]] if b["evidence"] else 0.0
        if b["benefit_type"] == "Fewer NEL admissions":
            credible += max(min(avoided, reduction), 0) * prm["unit_cost"] / 1000 * (-b["planned_change"] / avoided) * w
        else:
            credible += b["planned_saving"] * w
    claimed = sum(b["planned_saving"] for b in benefits)
    optimism = claimed / credible if credible > 0 else float("inf")
    if {"BCF-POL-005", "BCF-POL-001"} & {d["rule"] for d in p.defects} or blocking >= prm["not_approved_blocking"]:
        return "Not approved"
    if blocking or optimism > prm["conditions_optimism"]:
        return "Approved subject to conditions"
    if optimism > prm["support_optimism"] or advisory > prm["support_advisory"]:
        return "Approved with support"
    return "Approved"


def file_name(area: areas.Area) -> str:
    return f"{area.plan_code}_{area.plan_name.replace(',', '').replace(' ', '_')}.xlsx"


def _write(args: tuple[Plan, Path]) -> None:
    p, path = args
    write_workbook(p.spec, path, p.filled, p.layout, cached_values=p.cached_values)


def generate(out: Path, seed: int = 2014, workers: int | None = None) -> dict[str, Any]:
    """Write the round and its manifest into ``out``; returns the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    round_ = list(plans(seed))
    jobs = [(p, out / file_name(p.area)) for p in round_]
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_write, jobs, chunksize=8))
    manifest = {
        "seed": seed, "template": f"{specs.load().template_id} v{specs.load().version}",
        "files": [{"file": path.name, "plan_code": p.area.plan_code, "hwb": p.area.hwb_name, "defects": p.defects,
                   "expected_category": expected_category(p)} for p, path in jobs],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest
