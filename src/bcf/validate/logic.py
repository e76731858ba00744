"""Arithmetic, policy and consistency rules: small named functions over a submission.

Each rule is registered under its catalogue id with the fields and table columns it reads, and yields
findings. It runs only where the catalogue says it is in force (round and return) and the return's template
has what it reads. A rule that reads a sheet, table or column the file lacks, or that the reader could not
find, says nothing: that is already one structure finding, and guessing on top of it would only bury it.
Nor is a finding built on a value already reported at its cell (``derived_from`` says what each finding
rests on, for ``validate.complete``), nor on a total that leaves out a value that could not be read: such
a total is named once as not checked. Thresholds are the round's parameters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from bcf import rounds
from bcf.findings import Finding, finding, money, rules, show
from bcf.read import Row, Submission
from bcf.recalc import Calculated, calculated, left_out, totals_leaving_out
from bcf.spec import Field
from bcf.validate import quoted  # noqa: F401  the reference family registers its rules too
from bcf.validate.registry import RULES, blank, num, p, rule

NEL = "Fewer NEL admissions"
QUARTERS = tuple(f"{period}_q{i}" for period in ("baseline", "plan") for i in range(1, 5))
# calculated cells typed over: which rule speaks for which cell (default BCF-ARITH-007)
CALC_RULES = {"total_pooled": "BCF-ARITH-002", "metrics.rate_baseline": "BCF-ARITH-003",
              "metrics.rate_plan": "BCF-ARITH-003", "risks.score": "BCF-ARITH-004", "share_total": None}
TOTALS_RULE = "BCF-ARITH-009"
NOT_CHECKED = "BCF-ARITH-010"  # totals that leave out a value that could not be read: said once
POOLED = "funding.amount_this_year"  # what the pooled budget adds up
POUNDS_RULE = "BCF-CELL-014"
# while the rules run over one submission: what more than one of them reads, worked out once
_RUN: ContextVar[dict[str, list[Calculated]] | None] = ContextVar("run", default=None)
# cell rules that report a value itself: no other finding is built on a value one of them has reported
VALUE_RULES = ("BCF-CELL-002", "BCF-CELL-016", "BCF-CELL-003", "BCF-CELL-004", "BCF-CELL-009", "BCF-CELL-011",
               POUNDS_RULE)


def column(rows: list[Row], name: str) -> list[Any]:
    """A column's values, row by row."""
    return [values[name] for _, values in rows]


def add(values: list[Any]) -> float:
    """The sum of the numbers, blanks left out (as a spreadsheet's SUM does), exactly rounded."""
    return math.fsum(v for v in values if not blank(v))


def total(sub: Submission, name: str) -> float:
    table, col = name.split(".")
    return add(column(sub.rows(table), col))


def nel_rows(sub: Submission) -> list[Row]:
    return [(row, b) for row, b in sub.rows("benefits") if b["benefit_type"] == NEL]


def planned_reduction(sub: Submission) -> float | None:
    """R = baseline − plan, from the eight quarterly inputs (None if any is blank)."""
    q = [num(sub.fields.get(f"{k}_q{i}")) for k in ("baseline", "plan") for i in range(1, 5)]
    known = [v for v in q if v is not None]
    return sum(known[:4]) - sum(known[4:]) if len(known) == 8 else None


# -- arithmetic ---------------------------------------------------------------------------------------
@rule("BCF-ARITH-001", "funding.amount_this_year", "schemes.spend_this_year")
def totals_tie(sub: Submission) -> Iterator[Finding]:
    funding, schemes = total(sub, "funding.amount_this_year"), total(sub, "schemes.spend_this_year")
    if abs(funding - schemes) >= p(sub, "tie_tolerance_000"):
        yield finding("BCF-ARITH-001", *sub.where("schemes.spend_this_year"), found=schemes, expected=funding)


def _shown(f: Field, v: Any) -> str:
    return money(v) if f.unit == "£000" and isinstance(v, (int, float)) else show(v)


@rule("BCF-ARITH-007")
def calculated_cells_typed_over(sub: Submission) -> Iterator[Finding]:
    """Calculated cells holding a typed value that their calculation does not give (a cell that still holds its
    formula is never typed over: the reader has given it what its inputs give)."""
    for c in _calculated(sub):
        rule_id = CALC_RULES.get(c.name, "BCF-ARITH-007")
        if rule_id and not c.formula and not c.total and c.gives is not None:
            yield finding(rule_id, *sub.where(c.name, c.row), found=c.shown, expected=c.gives,
                          shown=_shown(c.field, c.shown), gives=_shown(c.field, c.gives))


@rule(TOTALS_RULE)
def table_totals_typed_over(sub: Submission) -> Iterator[Finding]:
    """The Total row of each table against the rows above it, as the workbook's SUM gives it."""
    for c in _calculated(sub):
        if c.total and not c.formula:
            yield finding(TOTALS_RULE, *sub.where(c.name), found=c.shown, expected=c.gives)


@rule("BCF-ARITH-011")
def totals_leave_out_rows(sub: Submission) -> Iterator[Finding]:
    """Total rows whose SUM leaves out rows of their table (a row inserted just above the Total row)."""
    for name, (formula, whole, rows) in sub.short_totals.items():
        said = f"row {rows[0]}" if len(rows) == 1 else "rows " + ", ".join(map(str, rows[:-1])) + f" and {rows[-1]}"
        yield finding("BCF-ARITH-011", *sub.where(name), found=f"={formula}", expected=f"={whole}", rows=said)


@rule(NOT_CHECKED)
def totals_not_checked(sub: Submission) -> Iterator[Finding]:
    """Once, the totals that leave out a value that could not be read (each reported where it was typed)."""
    missing = left_out(sub)
    totals = totals_leaving_out(sub, missing)
    if totals:
        places = [sub.where(name) for name, _ in totals]
        found = "; ".join(f"{_total_label(name, f)} ({sheet} {cell})" for (name, f), (sheet, cell) in
                          zip(totals, places, strict=True))
        cells = ", ".join(f"{sheet} {cell}" for where in missing.values() for sheet, cell in where)
        yield finding(NOT_CHECKED, *places[0], found=found, expected=cells)


def _total_label(name: str, f: Field) -> str:
    return f'the Total row of "{f.label}"' if "." in name else f'"{f.label}"'


@rule("BCF-ARITH-005", "share_ccg", "share_la")
def risk_share_sums_to_100(sub: Submission) -> Iterator[Finding]:
    ccg, la = num(sub.fields.get("share_ccg")), num(sub.fields.get("share_la"))
    if ccg is not None and la is not None and abs(ccg + la - 100) > 1e-9:
        yield finding("BCF-ARITH-005", *sub.where("share_total"), found=ccg + la, expected=100)


@rule("BCF-ARITH-006", "benefits.planned_change", "benefits.unit_cost", "benefits.planned_saving",
      "benefits.benefit_type")
def saving_is_volume_times_cost(sub: Submission) -> Iterator[Finding]:
    for row, b in sub.rows("benefits"):
        change, cost, saving = num(b["planned_change"]), num(b["unit_cost"]), num(b["planned_saving"])
        if None in (change, cost, saving) or b["benefit_type"] == NEL:
            continue  # NEL rows are priced by BCF-CONS-002
        want = abs(change) * cost / 1000  # type: ignore[arg-type, operator]
        if abs(saving - want) > max(1, p(sub, "consistency_tolerance") * want):  # type: ignore[operator]
            yield finding("BCF-ARITH-006", *sub.where("benefits.planned_saving", row), found=saving,
                          expected=round(want))


# -- pounds typed into £000 cells -------------------------------------------------------------------------
def _pooled(sub: Submission) -> float | None:
    """The pooled budget, where the return has one and every amount in it could be read."""
    if not (sub.spec.has("funding") and sub.readable(POOLED)) or POOLED in left_out(sub):
        return None
    return total(sub, POOLED) or None


@rule(POUNDS_RULE)
def pounds_not_thousands(sub: Submission) -> Iterator[Finding]:
    """A £000 figure about 1,000 times what it should be: against its own volume × unit cost (a saving),
    against the other rows of its column, or, for a single amount, against the whole pooled budget (never
    against a pooled budget that leaves out an amount that could not be read)."""
    ratio, pool, short = p(sub, "pounds_ratio"), _pooled(sub), POOLED in left_out(sub)
    for t in sub.spec.tables:
        for c in t.columns:
            name = f"{t.id}.{c.id}"
            if c.unit != "£000" or not c.is_input or not sub.readable(name):
                continue
            column = [(row, num(v[c.id]), v) for row, v in sub.rows(t.id)]
            for row, v, values in column:
                if v is None or abs(v) < 1000:
                    continue
                priced = _priced(values) if c.id == "planned_saving" else None
                peers = sorted(abs(x) for r, x, _ in column if r != row and x)
                if priced and abs(v - priced) <= 0.1 * priced:
                    why = "about 1,000 times what its change in volume × unit cost gives"
                elif len(peers) >= 2 and abs(v) >= ratio * peers[len(peers) // 2]:
                    why = f"over {ratio:,} times the other rows of its column"
                else:
                    continue
                yield finding(POUNDS_RULE, *sub.where(name, row), found=v, expected=why, label=c.label)
    for f in sub.spec.fields:
        v = num(sub.fields.get(f.id)) if f.unit == "£000" and f.is_input and sub.readable(f.id) else None
        if v is None or v < 1000:
            continue
        peers = sorted(num(sub.fields.get(g.id)) or 0 for g in sub.spec.fields
                       if g.sheet == f.sheet and g.unit == "£000" and g.is_input and g.id != f.id)
        peers = [x for x in peers if x]
        if pool and v > pool:
            why = f"more than the whole pooled budget ({money(pool)})"
        elif not pool and not short and len(peers) >= 1 and v >= ratio * peers[len(peers) // 2]:
            why = f"over {ratio:,} times the other amounts on its sheet"
        else:
            continue
        yield finding(POUNDS_RULE, *sub.where(f.id), found=v, expected=why, label=f.label)


def _priced(values: dict[str, Any]) -> float | None:
    """What a benefit's saving is in pounds: its change in volume × its unit cost."""
    change, cost = num(values.get("planned_change")), num(values.get("unit_cost"))
    return abs(change) * cost if change is not None and cost is not None and change and cost else None


# -- dates ----------------------------------------------------------------------------------------------
@rule("BCF-CELL-007", "date_agreed", "date_submitted")
def agreed_before_submitted(sub: Submission) -> Iterator[Finding]:
    agreed, submitted = sub.fields.get("date_agreed"), sub.fields.get("date_submitted")
    if agreed and submitted and agreed > submitted:
        yield finding("BCF-CELL-007", *sub.where("date_agreed"), found=agreed, expected=submitted)


@rule("BCF-CELL-008", "date_submitted")
def submitted_by_deadline(sub: Submission) -> Iterator[Finding]:
    submitted = sub.fields.get("date_submitted")
    if submitted and submitted > sub.spec.deadline:
        yield finding("BCF-CELL-008", *sub.where("date_submitted"), found=submitted, expected=sub.spec.deadline)


# -- policy ---------------------------------------------------------------------------------------------
@rule("BCF-CELL-015")
def required_tables_have_rows(sub: Submission) -> Iterator[Finding]:
    """A table the template requires, found but empty, named once at its first row."""
    for t in sub.spec.tables:
        if t.required and not t.fixed_rows and sub.readable(t.id) and t.id in sub.table_rows and not sub.rows(t.id):
            first = next(c for c in t.columns if c.is_input)
            start = sub.start_rows.get(t.id, t.header_row)
            yield finding("BCF-CELL-015", *sub.where(f"{t.id}.{first.id}", start + 1), label=t.label)


@rule("BCF-POL-001", "hwb_name", "total_pooled", "funding.amount_this_year")
def pooled_at_least_minimum(sub: Submission) -> Iterator[Finding]:
    area = sub.area
    if area:
        pooled = total(sub, "funding.amount_this_year")
        if pooled < area.minimum_pooled_000:
            yield finding("BCF-POL-001", *sub.where("total_pooled"), found=pooled, expected=area.minimum_pooled_000)


@rule("BCF-POL-002", "social_care_protection")
def social_care_protected(sub: Submission) -> Iterator[Finding]:
    v = num(sub.fields.get("social_care_protection"))
    if v is not None and v <= 0:
        yield finding("BCF-POL-002", *sub.where("social_care_protection"), found=v, expected="an amount above £0k")


@rule("BCF-POL-003", "hwb_name", "ringfenced_oohs")
def ringfence_at_least_share(sub: Submission) -> Iterator[Finding]:
    area, v = sub.area, num(sub.fields.get("ringfenced_oohs"))
    if area and v is not None and v < area.ringfence_000 - 0.5:
        yield finding("BCF-POL-003", *sub.where("ringfenced_oohs"), found=v, expected=area.ringfence_000)


@rule("BCF-POL-004", "nel_justification", *QUARTERS)
def nel_cut_or_justified(sub: Submission) -> Iterator[Finding]:
    r, base = planned_reduction(sub), sum(num(sub.fields.get(f"baseline_q{i}")) or 0 for i in range(1, 5))
    if r is None or not base or sub.fields.get("nel_justification"):
        return
    pct = r / base * 100
    if pct < p(sub, "nel_expected_reduction_pct"):
        yield finding("BCF-POL-004", *sub.where("nel_justification"), found=round(pct, 2),
                      expected=p(sub, "nel_expected_reduction_pct"))


@rule("BCF-POL-005", "signoffs.role", "signoffs.signed", "ccgs.ccg_name")
def signed_off(sub: Submission) -> Iterator[Finding]:
    needed = 2 + len(sub.rows("ccgs"))  # chair, chief executive, one per CCG listed
    for row, s in sub.rows("signoffs")[:needed]:
        if s["signed"] != "Yes":
            yield finding("BCF-POL-005", *sub.where("signoffs.signed", row), found=s["role"], expected="Yes")


@rule("BCF-POL-006", "conditions.condition", "conditions.meets", "conditions.explanation", "conditions.date_expected")
def conditions_met_or_explained(sub: Submission) -> Iterator[Finding]:
    for row, c in sub.rows("conditions"):
        if c["meets"] in (None, "Yes"):
            continue  # blank is BCF-CELL-001
        missing = "explanation" if not c["explanation"] else "date_expected" if c["date_expected"] is None else None
        if missing:
            deadline = p(sub, "conditions_deadline")
            yield finding("BCF-POL-006", *sub.where(f"conditions.{missing}", row), found=c["condition"],
                          expected="how it will be met" if missing == "explanation" else f"a date no later than "
                          f"{deadline:%d/%m/%Y}", deadline=deadline)


@rule("BCF-POL-011", "conditions.condition", "conditions.meets", "conditions.date_expected")
def conditions_by_deadline(sub: Submission) -> Iterator[Finding]:
    for row, c in sub.rows("conditions"):
        if c["meets"] != "Yes" and c["date_expected"] and c["date_expected"] > p(sub, "conditions_deadline"):
            yield finding("BCF-POL-011", *sub.where("conditions.date_expected", row), found=c["condition"],
                          expected=c["date_expected"], deadline=p(sub, "conditions_deadline"))


@rule("BCF-POL-007", "risks.description")
def risk_for_nel_target(sub: Submission) -> Iterator[Finding]:
    risks = sub.rows("risks")
    words = re.compile("|".join(rf"\b{re.escape(w)}" for w in p(sub, "nel_risk_words")), re.I)
    if not any(words.search(str(d or "")) for d in column(risks, "description")):
        row = risks[0][0] if risks else None
        named = ", ".join(f'"{w}"' for w in p(sub, "nel_risk_words"))
        yield finding("BCF-POL-007", *(sub.where("risks.description", row) if row else sub.heading("risks.description")),
                      expected=f"a risk whose description names the target: {named}")


@rule("BCF-POL-008", "risks.risk_id", "risks.likelihood", "risks.impact", "risks.mitigation")
def high_risks_mitigated(sub: Submission) -> Iterator[Finding]:
    for row, r in sub.rows("risks"):
        score = (num(r["likelihood"]) or 0) * (num(r["impact"]) or 0)
        if score >= p(sub, "high_risk_score") and not r["mitigation"]:
            yield finding("BCF-POL-008", *sub.where("risks.mitigation", row), found=r["mitigation"],
                          expected="how the risk will be reduced or managed", risk=r["risk_id"], score=f"{score:g}")


@rule("BCF-POL-009")
def governance_agreed(sub: Submission) -> Iterator[Finding]:
    for fid, bad, good in (("s75_status", "Not started", "Signed or Drafted"), ("exit_agreed", "No", "Yes"),
                           ("arbitration_agreed", "No", "Yes")):
        if sub.spec.has(fid) and sub.fields.get(fid) == bad:
            yield finding("BCF-POL-009", *sub.where(fid), found=bad, expected=good, label=sub.spec.field(fid).label)


@rule("BCF-POL-010", "risks.boundary", "boundaries.boundary_name", "boundaries.reason_none")
def boundaries_examined(sub: Submission) -> Iterator[Finding]:
    if not sub.spec.has("boundaries"):
        return
    logged = {v for v in column(sub.rows("risks"), "boundary") if not blank(v)}
    for row, b in sub.rows("boundaries"):
        if b["boundary_name"] not in logged and not b["reason_none"]:
            yield finding("BCF-POL-010", *sub.where("boundaries.reason_none", row), found=b["boundary_name"],
                          expected=f"a risk at the {b['boundary_name']} boundary on the Risks sheet, or a reason here")


# -- consistency ----------------------------------------------------------------------------------------
@rule("BCF-CONS-001", "benefits.benefit_type", "benefits.planned_change", *QUARTERS)
def avoided_admissions_match_plan(sub: Submission) -> Iterator[Finding]:
    nel, r = nel_rows(sub), planned_reduction(sub)
    if not nel or r is None or any(blank(v) for v in column(nel, "planned_change")):
        return
    avoided = -add(column(nel, "planned_change"))
    if abs(avoided - r) > p(sub, "consistency_tolerance") * max(abs(r), 1):
        yield finding("BCF-CONS-001", *sub.where("benefits.planned_change", nel[0][0]), found=avoided, expected=r)


@rule("BCF-CONS-002", "benefits.benefit_type", "benefits.planned_change", "benefits.planned_saving", "nel_unit_cost")
def nel_saving_priced_at_unit_cost(sub: Submission) -> Iterator[Finding]:
    nel, c = nel_rows(sub), num(sub.fields.get("nel_unit_cost"))
    if not nel or c is None or any(blank(b["planned_change"]) or blank(b["planned_saving"]) for _, b in nel):
        return
    claimed, repriced = add(column(nel, "planned_saving")), -add(column(nel, "planned_change")) * c / 1000
    if claimed > repriced * (1 + p(sub, "consistency_tolerance")) + 1:
        yield finding("BCF-CONS-002", *sub.where("benefits.planned_saving", nel[0][0]), found=claimed,
                      expected=round(repriced))


def natural(text: str) -> list[tuple[int, int | str]]:
    """A sort key that puts S2 before S10."""
    return [(0, int(t)) if t.isdigit() else (1, t) for t in re.split(r"(\d+)", str(text)) if t]


def scheme_ids(text: Any) -> list[str]:
    return [s for s in re.split(r"[,;\s]+", str(text or "")) if s]


@rule("BCF-CONS-003", "benefits.scheme_ids", "benefits.planned_saving", "schemes.scheme_id", "schemes.spend_this_year")
def savings_within_scheme_spend(sub: Submission) -> Iterator[Finding]:
    spend: dict[Any, float] = {}
    for _, s in sub.rows("schemes"):
        if not blank(s["scheme_id"]):
            spend[s["scheme_id"]] = spend.get(s["scheme_id"], 0.0) + (0.0 if blank(s["spend_this_year"])
                                                                       else s["spend_this_year"])
    for row, b in sub.rows("benefits"):
        ids = [i for i in scheme_ids(b["scheme_ids"]) if i in spend]
        saving = num(b["planned_saving"])
        if ids and saving is not None and saving > sum(spend[i] for i in ids):
            yield finding("BCF-CONS-003", *sub.where("benefits.planned_saving", row), found=saving,
                          expected=sum(spend[i] for i in ids))


@rule("BCF-CONS-004", "benefits.benefit_type", "benefits.planned_saving", "providers.provider_kind",
      "providers.income_change")
def acute_income_reconciled(sub: Submission) -> Iterator[Finding]:
    nel, providers = nel_rows(sub), sub.rows("providers")
    acute = [(row, v) for row, v in providers if v["provider_kind"] == "Acute"]
    if not nel or any(blank(v) for v in column(nel, "planned_saving")):
        return
    saving, lost = add(column(nel, "planned_saving")), -add(column(acute, "income_change"))
    if abs(saving - lost) > p(sub, "provider_tolerance") * max(saving, 1):
        row = acute[0][0] if acute else None
        first = row or (providers[0][0] if providers else sub.spec.table("providers").header_row)
        sheet, cell = sub.where("providers.income_change", first)
        yield finding("BCF-CONS-004", sheet, cell, found=lost, expected=saving)


@rule("BCF-CONS-005", "benefits.scheme_ids", "schemes.scheme_id")
def benefits_name_real_schemes(sub: Submission) -> Iterator[Finding]:
    known = {v for v in column(sub.rows("schemes"), "scheme_id") if not blank(v)}
    for row, b in sub.rows("benefits"):
        for sid in scheme_ids(b["scheme_ids"]):
            if sid not in known:
                yield finding("BCF-CONS-005", *sub.where("benefits.scheme_ids", row), found=sid,
                              expected=", ".join(sorted(known, key=natural)) or "none yet")
                break


# -- quarterly returns ----------------------------------------------------------------------------------
@rule("BCF-ARITH-008", "p4p_planned", "p4p_released")
def p4p_released_within_plan(sub: Submission) -> Iterator[Finding]:
    planned, released = num(sub.fields.get("p4p_planned")), num(sub.fields.get("p4p_released"))
    if planned is not None and released is not None and released > planned + p(sub, "tie_tolerance_000"):
        yield finding("BCF-ARITH-008", *sub.where("p4p_released"), found=released, expected=planned)


@rule("BCF-CONS-009", "planned_admissions", "actual_admissions")
def admissions_plausible(sub: Submission) -> Iterator[Finding]:
    admissions = _admissions(sub)
    if admissions is not None and _slip(sub, *admissions):
        times = admissions[1] / admissions[0]
        yield finding("BCF-CONS-009", *sub.where("actual_admissions"), found=sub.fields["actual_admissions"],
                      expected=sub.fields["planned_admissions"],
                      times=f"{times:,.1f} times" if times >= 1 else f"{times:.2g} times")


def _admissions(sub: Submission) -> tuple[float, float] | None:
    """The quarter's planned and actual emergency admissions (None without both, or with no plan to divide by)."""
    planned, actual = num(sub.fields.get("planned_admissions")), num(sub.fields.get("actual_admissions"))
    return (planned, actual) if planned and actual is not None else None


def _slip(sub: Submission, planned: float, actual: float) -> bool:
    """Whether actual admissions so many times the plan are a typing slip rather than a quarter's real variance."""
    return not 1 / p(sub, "implausible_ratio") <= actual / planned <= p(sub, "implausible_ratio")


@rule("BCF-POL-012", "planned_admissions", "actual_admissions", "narrative")
def variance_explained(sub: Submission) -> Iterator[Finding]:
    admissions = _admissions(sub)
    if admissions is None or _slip(sub, *admissions):
        return  # nothing to compare, or a typing slip, which BCF-CONS-009 names
    planned, actual = admissions
    pct = (actual - planned) / planned * 100
    words = re.compile("|".join(rf"\b{re.escape(w)}" for w in p(sub, "variance_words")), re.I)
    if abs(pct) > p(sub, "variance_explain_pct") and not words.search(str(sub.fields.get("narrative") or "")):
        yield finding("BCF-POL-012", *sub.where("narrative"), found=round(pct, 1))


@rule("BCF-POL-013", "income_actual", "spend_actual")
def spending_within_income(sub: Submission) -> Iterator[Finding]:
    income, spend = num(sub.fields.get("income_actual")), num(sub.fields.get("spend_actual"))
    if income is not None and spend is not None and spend > income + p(sub, "tie_tolerance_000"):
        yield finding("BCF-POL-013", *sub.where("spend_actual"), found=spend, expected=income)


def logic_findings(sub: Submission) -> list[Finding]:
    """Every arithmetic, policy and consistency finding in force for the submission's round and return,
    skipping rules that read what the template lacks or what the file's reader could not find."""
    order = list(rounds.all_rounds())
    out: list[Finding] = []
    run = _RUN.set({})
    try:
        for rule_id, (reads, fn) in RULES.items():
            if not rules()[rule_id].applies(sub.spec.round_id, sub.spec.kind, order):
                continue
            if all(_in_template(sub, name) and sub.readable(name) for name in reads):
                out.extend(fn(sub))
    finally:
        _RUN.reset(run)
    return out


def _calculated(sub: Submission) -> list[Calculated]:
    """The submission's calculated cells that disagree (``calculated``), worked out once while the rules run."""
    run = _RUN.get()
    if run is None:
        return list(calculated(sub))
    if "calculated" not in run:
        run["calculated"] = list(calculated(sub))
    return run["calculated"]


def _in_template(sub: Submission, name: str) -> bool:
    table, _, column = name.partition(".")
    if not column:
        return sub.spec.has(name)
    return sub.spec.has(table) and any(c.id == column for c in sub.spec.table(table).columns)


def derived_from(sub: Submission, f: Finding) -> set[str]:
    """The fields and "table.column"s a logic finding rests on (a typed-over cell: its formula's inputs); for
    any other finding, nothing."""
    if f.rule_id == NOT_CHECKED or (f.rule_id not in RULES and f.rule_id not in CALC_RULES.values()):
        return set()
    if f.rule_id in RULES and RULES[f.rule_id][0]:
        return set(RULES[f.rule_id][0])
    name = sub.names.get((f.sheet, f.cell or ""))
    if name is None:
        return set()
    table, _, column = name.partition(".")
    if f.rule_id == TOTALS_RULE or not column:
        calc = None if column else sub.spec.field(name).calc
        return {name} | (calc.names() if calc else set())
    calc = sub.spec.table(table).column(column).calc
    return {name} | {f"{table}.{n}" for n in (calc.names() if calc else ())}

