"""One clean, internally consistent plan for one area, built piece by piece from the sample profile.

Figures are scaled by the area's real population (the round's allocations, from the reference population), and
the care-home admissions rate is per 100,000 of its real population aged 65 and over; every number and phrase
comes from ``sample_submissions/profile.yaml`` or from the round (its lists, deadline and parameters), so a new
round's template is filled without code. A required field this builder does not know is filled from the
field's own example in the specification.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import Any

from bcf import content, rounds
from bcf.areas import Area
from bcf.generate import Filled, Layout
from bcf.spec import Field, Spec

Row = dict[str, Any]


@cache
def profile() -> dict[str, Any]:
    """The sample profile: every number and phrase the builder uses."""
    data: dict[str, Any] = content.parse_yaml(content.path("sample_submissions", "profile.yaml").read_text(encoding="utf-8"))
    return data


@dataclass
class Plan:
    """One area's return before it is written: what was typed, the layout, and the planted defects."""

    area: Area
    filled: Filled
    ret: rounds.Return
    layout: Layout = field(default_factory=Layout)
    version: str | None = None
    cached_values: bool = True
    defects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def spec(self) -> Spec:
        return self.ret.spec(self.version)

    def cell(self, name: str, index: int | None = None) -> tuple[str, str]:
        """(sheet, A1) of a field, or of a table column on its index-th row."""
        if index is None:
            f = self.spec.field(name)
            return self.layout.title(f.sheet), self.layout.cell(f.sheet, f.cell or "A1")
        table, column = name.split(".")
        return self.filled.table_cell(self.spec, self.layout, table, index, column)

    def plant(self, kind: str, rule: str, where: tuple[str, str | None]) -> None:
        self.defects.append({"kind": kind, "rule": rule, "sheet": where[0], "cell": where[1]})


def split(total: float, weights: list[float]) -> list[int]:
    """Whole-number parts of total in proportion to weights, summing exactly to round(total)."""
    parts = [int(total * w / sum(weights)) for w in weights]
    parts[-1] += round(total) - sum(parts)
    return parts


@dataclass
class _Context:
    """What every piece of one plan shares."""

    area: Area
    spec: Spec
    rng: random.Random
    unit_cost: float
    conditions_deadline: date

    @property
    def short(self) -> str:
        return self.area.plan_name.split(",")[0]

    @property
    def scale(self) -> float:
        return float(self.area.population / profile()["typical_population"])


def _ccgs(c: _Context) -> list[Row]:
    n = 1 if c.area.population < 300_000 else c.rng.randint(1, 3)
    return [{"ccg_name": f"NHS {c.short}{'' if n == 1 else ' ' + 'North South West'.split()[i]} CCG",
             "ccg_code": f"{c.rng.randint(0, 99):02d}{c.rng.choice('ABCDEFGHJKLMNPQRTVWXY')}"} for i in range(n)]


def _funding(c: _Context, ccgs: list[Row]) -> list[Row]:
    f, minimum, rng = profile()["funding"], c.area.minimum_pooled_000, c.rng
    dfg, capital = round(minimum * f["dfg_share"]), round(minimum * f["capital_share"])
    ccg_min = split(minimum - dfg - capital, [rng.uniform(0.5, 1.5) for _ in ccgs])
    council = f"{c.short} Council"
    rows: list[Row] = [{"org_type": "CCG", "organisation": g["ccg_name"], "stream": "CCG minimum contribution",
                        "amount_this_year": a} for g, a in zip(ccgs, ccg_min, strict=True)]
    rows += [{"org_type": "Local Authority", "organisation": council, "stream": s, "amount_this_year": a}
             for s, a in (("Disabled Facilities Grant", dfg), ("Social Care Capital Grant", capital))]
    if rng.random() < f["extra_ccg"]["chance"]:
        rows.append({"org_type": "CCG", "organisation": ccgs[0]["ccg_name"], "stream": "Additional CCG contribution",
                     "amount_this_year": round(minimum * rng.uniform(*f["extra_ccg"]["share"]))})
    if rng.random() < f["extra_la"]["chance"]:
        rows.append({"org_type": "Local Authority", "organisation": council, "stream": "Additional LA contribution",
                     "amount_this_year": round(minimum * rng.uniform(*f["extra_la"]["share"]))})
    for r in rows:
        r["amount_last_year"] = round(r["amount_this_year"] * rng.uniform(*f["last_year"]))
    return rows


def _schemes(c: _Context, total: float) -> list[Row]:
    s, choices, rng = profile()["schemes"], profile()["scheme_choices"], c.rng
    types = c.spec.lists["scheme_type"]
    spends = split(total, [rng.uniform(*s["weight"]) for _ in range(rng.randint(*s["count"]))])
    rows = []
    for i, spend in enumerate(spends, 1):
        kind = types[(i - 1) % (len(types) - 1)]
        rows.append({"scheme_id": f"S{i:02d}", "scheme_name": f"{kind.split('/')[0]} — {c.short} {i}", "scheme_type": kind,
                     **{k: rng.choice(v) for k, v in choices.items()},
                     "new_existing": rng.choice(["New", "Existing"]),
                     "spend_last_year": round(spend * rng.uniform(*s["last_year"])), "spend_this_year": spend,
                     "protects_social_care": rng.choice(["Yes", "No"]), "nhs_oohs": rng.choice(["Yes", "No"])})
    return rows


def _nel(c: _Context) -> tuple[list[int], list[int], str]:
    """(baseline quarters, planned quarters, justification)."""
    pr, rng = profile(), c.rng
    year = pr["nel_per_year"] * c.scale * rng.uniform(*pr["nel_spread"])
    baseline = [round(year * s) for s in pr["season"]]
    cut = min(max(rng.gauss(pr["cut"]["mean"], pr["cut"]["sd"]), pr["cut"]["min"]), pr["cut"]["max"])
    plan = [round(b * (1 - cut)) for b in baseline]
    justified = (sum(baseline) - sum(plan)) / sum(baseline) < pr["expected_cut"]
    return baseline, plan, pr["justification"] if justified else ""


def _benefits(c: _Context, schemes: list[Row], baseline: int, avoided: int) -> list[Row]:
    ev, rng = profile()["evidence"], c.rng
    tier = rng.choices(ev["tiers"], [t["share"] for t in ev["tiers"]])[0]

    def confidence(benefit: str = "rest") -> str:
        weights = tier[benefit]
        return str(rng.choices(list(weights), list(weights.values()))[0])

    linked = sorted(schemes, key=lambda s: -s["spend_this_year"])[:3]
    rows: list[Row] = [{"benefit_id": "B01", "scheme_ids": ", ".join(s["scheme_id"] for s in linked),
                        "benefit_type": "Fewer NEL admissions", "unit": "admissions", "baseline_volume": baseline,
                        "planned_change": -avoided, "unit_cost": c.unit_cost,
                        "planned_saving": round(avoided * c.unit_cost / 1000), "accrues_to": "CCG", "cashable": "Yes",
                        "evidence": ev["nel_text"], "confidence": confidence("nel")}]
    others = profile()["other_benefits"]
    for j, (btype, unit, cost, per_100k) in enumerate(rng.sample(others, rng.randint(2, len(others))), 2):
        volume = round(per_100k * c.area.population / 100_000)
        change = -round(volume * rng.uniform(*profile()["other_change"]))
        saving = round(-change * cost / 1000)
        scheme = rng.choice([s for s in schemes if s["spend_this_year"] >= 2 * saving]
                            or [max(schemes, key=lambda s: s["spend_this_year"])])
        if scheme["spend_this_year"] < 2 * saving:
            change = -int(scheme["spend_this_year"] * 1000 / cost * 0.5)
            saving = round(-change * cost / 1000)
        conf = confidence()
        rows.append({"benefit_id": f"B{j:02d}", "scheme_ids": scheme["scheme_id"], "benefit_type": btype, "unit": unit,
                     "baseline_volume": volume, "planned_change": change, "unit_cost": cost, "planned_saving": saving,
                     "accrues_to": rng.choice(["CCG", "LA", "Shared"]), "cashable": rng.choice(["Yes", "No"]),
                     "evidence": "" if conf == "Low" and rng.random() < 0.5 else tier["text"],
                     "confidence": conf})
    return rows


def _metrics(c: _Context) -> list[Row]:
    rng, scale, pop = c.rng, c.scale, c.area.population
    pop65 = c.area.population_65_plus or pop * 0.17  # the real 65+ population, where the allocations give it
    pop18, res = pop * 0.78, rng.uniform(400, 1000)
    return [
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


def conditions(c: _Context) -> list[Row]:
    """Every national condition met, one now and then in progress with a dated explanation."""
    rows: list[Row] = [{"meets": "Yes"} for _ in c.spec.table("conditions").fixed_rows]
    late = profile()["condition_in_progress"]
    if c.rng.random() < late["chance"]:
        rows[late["row"]] = {"meets": "In progress", "explanation": late["explanation"],
                             "date_expected": c.conditions_deadline - timedelta(days=1)}
    return rows


def _risks(c: _Context, p4p: float, total: float) -> list[Row]:
    pr, rng = profile(), c.rng
    review = c.conditions_deadline - timedelta(days=1)
    rows: list[Row] = [{"risk_id": "R01", "description": pr["nel_risk"], "boundary": "Commissioner–provider",
                        "likelihood": 4, "impact": 4, "exposure": round(p4p), "falls_on": "Shared",
                        "mitigation": pr["nel_mitigation"], "owner": "CCG chief finance officer",
                        "review_date": c.spec.deadline + timedelta(days=120)}]
    b = pr["boundary_risk"]
    for k, boundary in enumerate(_boundaries(c.spec), 2):
        if rng.random() < b["chance"]:
            likelihood, impact = rng.randint(1, 5), rng.randint(1, 4)
            rows.append({"risk_id": f"R{k:02d}", "description": b["text"].format(boundary=boundary.lower()),
                         "boundary": boundary, "likelihood": likelihood, "impact": impact,
                         "exposure": round(total * rng.uniform(0.002, 0.02)), "falls_on": rng.choice(["CCG", "LA", "Shared"]),
                         "mitigation": "Joint finance group reviews quarterly"
                         if likelihood * impact >= 12 or rng.random() < b["mitigated"] else "",
                         "owner": "Pooled fund manager", "review_date": review})
    return rows


def _boundaries(spec: Spec) -> list[str]:
    return [r["boundary_name"] for r in spec.table("boundaries").fixed_rows] if spec.has("boundaries") else []


def _providers(c: _Context, avoided: int, nel_saving: float, total: float) -> list[Row]:
    acute_income = -round(nel_saving * c.rng.uniform(0.92, 1.08))
    return [{"provider": f"{c.short} Hospitals NHS Foundation Trust", "provider_kind": "Acute", "nel_change": -avoided,
             "income_change": acute_income, "signed_up": "Yes"},
            {"provider": f"{c.short} Community Health Services", "provider_kind": "Community", "nel_change": 0,
             "income_change": round(total * 0.05), "signed_up": "Yes"},
            {"provider": f"{c.short} Council adult social care", "provider_kind": "Social care", "nel_change": 0,
             "income_change": round(total * 0.03), "signed_up": "Yes"}]


def cover(c: _Context) -> dict[str, Any]:
    """Who sends the return, and when it was agreed and submitted."""
    rng = c.rng
    agreed = c.spec.deadline - timedelta(days=rng.randint(*profile()["agreed_days_before_deadline"]))
    contact = rng.choice(profile()["contacts"])
    first, last = contact.lower().split()
    return {"hwb_name": c.area.hwb_name, "lead_council": f"{c.short} Council", "contact_name": contact,
            "contact_email": f"{first}.{last}@{c.short.lower().replace(' ', '')}.gov.uk",
            "contact_phone": f"01{rng.randint(100, 999)} {rng.randint(100000, 999999)}", "date_agreed": agreed,
            "date_submitted": agreed + timedelta(days=rng.randint(0, (c.spec.deadline - agreed).days))}


def context(area: Area, ret: rounds.Return, rng: random.Random) -> _Context:
    checks, stress = ret.round.values()["checks"], ret.round.values()["stress"]
    return _Context(area, ret.spec(), rng, stress["unit_cost"], checks["conditions_deadline"])


def build_plan(area: Area, rng: random.Random, ret: rounds.Return | None = None) -> Plan:
    """A clean, internally consistent plan return for one area (default: the latest round's plan)."""
    ret = ret or rounds.latest().ret("plan")
    c = context(area, ret, rng)
    ccgs = _ccgs(c)
    funding = _funding(c, ccgs)
    total = sum(f["amount_this_year"] for f in funding)
    schemes = _schemes(c, total)
    baseline, plan_q, justification = _nel(c)
    reduction = sum(baseline) - sum(plan_q)
    avoided = round(reduction * rng.uniform(*profile()["nel_overclaim"]))
    benefits = _benefits(c, schemes, sum(baseline), avoided)
    p4p = max(min(reduction * c.unit_cost / 1000, area.ringfence_000 * 1.05), 0)
    risks = _risks(c, p4p, total)
    covered = {r["boundary"] for r in risks}
    boundaries = [{"reason_none": "" if b in covered else profile()["no_boundary_reason"]} for b in _boundaries(c.spec)]
    providers = _providers(c, avoided, benefits[0]["planned_saving"], total)
    fields = cover(c)
    signoffs = [{"signed": "Yes", "name": n, "date": fields["date_agreed"]} for n in ("Cllr A. Chair", "B. Chief-Executive")]
    signoffs += [{"signed": "Yes", "name": f"C. Officer {i + 1}", "date": fields["date_agreed"]} for i in range(len(ccgs))]
    minimum, share_ccg = area.minimum_pooled_000, rng.choice(profile()["share_ccg"])
    fields.update({
        "social_care_protection": round(minimum * rng.uniform(0.18, 0.3)),
        "ringfenced_oohs": round(area.ringfence_000 * rng.uniform(1.0, 1.2)),
        "care_act": round(minimum * 0.02), "carers_breaks": round(minimum * 0.015), "reablement_funding": round(minimum * 0.04),
        **{f"baseline_q{i}": v for i, v in enumerate(baseline, 1)}, **{f"plan_q{i}": v for i, v in enumerate(plan_q, 1)},
        "population": area.population, "nel_justification": justification, "nel_unit_cost": c.unit_cost,
        "s75_status": rng.choice(["Signed", "Drafted"]), "host_org": rng.choice(["Local Authority", "CCG"]),
        "fund_manager": "Director of Finance", "overspend": "Shared in the risk-share proportions",
        "underspend": "Carried forward within the pool", "share_ccg": share_ccg, "share_la": 100 - share_ccg,
        "contingency": round(p4p * rng.uniform(0.1, 0.6)), "p4p_at_risk": round(p4p), "exit_agreed": "Yes",
        "arbitration_agreed": "Yes"})
    tables: dict[str, list[Row | None]] = {
        "ccgs": [*ccgs], "signoffs": [*signoffs], "funding": [*funding], "schemes": [*schemes], "benefits": [*benefits],
        "metrics": [*_metrics(c)], "conditions": [*conditions(c)], "risks": [*risks], "boundaries": [*boundaries],
        "providers": [*providers]}
    return Plan(area, fill_unknown(c.spec, Filled(fields, tables)), ret)


def example_value(f: Field, spec: Spec) -> Any:
    """A plausible value for a field from the specification alone (its example, list or type)."""
    if f.list and f.list in spec.lists:
        return spec.lists[f.list][0]
    if f.type == "date":
        return spec.deadline
    if f.numeric:
        return float(f.example or f.min or 0)
    return f.example or f.label


def fill_unknown(spec: Spec, filled: Filled) -> Filled:
    """Fill required inputs the builder knows nothing about (a new round's new fields) from the spec."""
    for f in spec.fields:
        if f.required and f.is_input and filled.fields.get(f.id) in (None, ""):
            filled.fields[f.id] = example_value(f, spec)
    for t in spec.tables:
        rows = filled.tables.setdefault(t.id, [])
        if t.required and not rows:
            rows.append({})
        for r in rows:
            for col in t.columns:
                if r is not None and col.required and col.is_input and r.get(col.id) in (None, ""):
                    r[col.id] = example_value(col, spec)
    return filled
