"""Arithmetic, policy and consistency rules: small named functions over a submission.

Each rule is registered under its catalogue id and yields findings. A rule that needs a sheet the file
lacks says nothing: the missing sheet is already one structure finding, and guessing on top of it would
only bury it. Thresholds come from ``rules/parameters.yaml``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

from bcf import areas
from bcf.params import values as parameters
from bcf.read import Submission
from bcf.validate.catalogue import Finding, finding

Rule = Callable[[Submission], Iterator[Finding]]
RULES: dict[str, tuple[tuple[str, ...], Rule]] = {}  # rule id -> (sheets it needs, function)
NEL = "Fewer NEL admissions"
# calculated cells typed over: which rule speaks for which cell (default BCF-ARITH-007)
CALC_RULES = {"total_pooled": "BCF-ARITH-002", "metrics.rate_baseline": "BCF-ARITH-003",
              "metrics.rate_plan": "BCF-ARITH-003", "risks.score": "BCF-ARITH-004", "share_total": None}


def rule(rule_id: str, *sheets: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        RULES[rule_id] = (sheets, fn)
        return fn
    return register


def p(name: str) -> Any:
    return parameters()["checks"][name]


def rows(df: pd.DataFrame) -> Iterator[tuple[int, dict[str, Any]]]:
    """(sheet row, values) for each row; blanks stay None (iterrows would turn them into NaN)."""
    records: list[dict[str, Any]] = df.to_dict("records")  # type: ignore[assignment]
    return zip(df.index.tolist(), records, strict=True)


def num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def total(sub: Submission, name: str) -> float:
    table, column = name.split(".")
    return float(sub.tables[table][column].sum(skipna=True))


def has_type_problem(sub: Submission, *names: str) -> bool:
    """True when a value the rule adds up could not be read as a number: the type finding says it all."""
    return any(pr.kind == "wrong_type" and pr.name in names for pr in sub.problems)


def _area(sub: Submission) -> areas.Area | None:
    return areas.find(sub.fields.get("hwb_name"))


def nel_rows(sub: Submission) -> pd.DataFrame:
    b = sub.tables["benefits"]
    return b[b["benefit_type"] == NEL]


def planned_reduction(sub: Submission) -> float | None:
    """R = baseline − plan, from the eight quarterly inputs (None if any is blank)."""
    q = [num(sub.fields.get(f"{k}_q{i}")) for k in ("baseline", "plan") for i in range(1, 5)]
    known = [v for v in q if v is not None]
    return sum(known[:4]) - sum(known[4:]) if len(known) == 8 else None


# -- arithmetic ---------------------------------------------------------------------------------------
@rule("BCF-ARITH-001", "Funding", "Schemes")
def totals_tie(sub: Submission) -> Iterator[Finding]:
    if has_type_problem(sub, "funding.amount_1516", "schemes.spend_1516"):
        return
    funding, schemes = total(sub, "funding.amount_1516"), total(sub, "schemes.spend_1516")
    if abs(funding - schemes) >= p("tie_tolerance_000"):
        yield finding("BCF-ARITH-001", *sub.where("schemes.spend_1516"), found=schemes, expected=funding)


def _typed_over(sub: Submission) -> Iterator[tuple[str, int | None, Any, Any]]:
    """(name, row, shown, formula gives) for every calculated cell whose saved value disagrees."""
    def lookup(key: Any, column: str) -> Any:
        a = areas.find(key)
        return a.get(column) if a else None

    def get(name: str) -> Any:
        if "." in name:
            table, column = name.split(".")
            return sub.tables[table][column].tolist()
        return sub.fields.get(name)

    def differs(shown: Any, want: Any) -> bool:
        if want is None or shown is None or (isinstance(shown, float) and math.isnan(shown)):
            return False
        if isinstance(want, str) or isinstance(shown, str):
            return str(shown) != str(want)
        return abs(float(shown) - float(want)) > max(0.01, p("calc_tolerance") * abs(float(want)))

    for f in sub.spec.fields:
        if f.calc and f.id in sub.field_cells:
            want = f.calc.evaluate(get, lookup)
            if differs(sub.fields.get(f.id), want):
                yield f.id, None, sub.fields.get(f.id), want
    for t in sub.spec.tables:
        for c in t.columns:
            if c.calc:
                for row, values in rows(sub.tables[t.id]):
                    want = c.calc.evaluate(values.get)
                    if differs(values[c.id], want):
                        yield f"{t.id}.{c.id}", row, values[c.id], want


@rule("BCF-ARITH-007")
def calculated_cells_typed_over(sub: Submission) -> Iterator[Finding]:
    for name, row, shown, want in _typed_over(sub):
        rule_id = CALC_RULES.get(name, "BCF-ARITH-007")
        if rule_id:
            yield finding(rule_id, *sub.where(name, row), found=shown, expected=want)


@rule("BCF-ARITH-005", "Governance")
def risk_share_sums_to_100(sub: Submission) -> Iterator[Finding]:
    ccg, la = num(sub.fields.get("share_ccg")), num(sub.fields.get("share_la"))
    if ccg is not None and la is not None and abs(ccg + la - 100) > 1e-9:
        yield finding("BCF-ARITH-005", *sub.where("share_total"), found=ccg + la, expected=100)


@rule("BCF-ARITH-006", "Benefits")
def saving_is_volume_times_cost(sub: Submission) -> Iterator[Finding]:
    for row, b in rows(sub.tables["benefits"]):
        change, cost, saving = num(b["planned_change"]), num(b["unit_cost"]), num(b["planned_saving"])
        if None in (change, cost, saving) or b["benefit_type"] == NEL:
            continue  # NEL rows are priced by BCF-CONS-002
        want = abs(change) * cost / 1000  # type: ignore[arg-type, operator]
        if abs(saving - want) > max(1, p("consistency_tolerance") * want):  # type: ignore[operator]
            yield finding("BCF-ARITH-006", *sub.where("benefits.planned_saving", row), found=saving,
                          expected=round(want))


# -- dates ----------------------------------------------------------------------------------------------
@rule("BCF-CELL-007", "Cover")
def agreed_before_submitted(sub: Submission) -> Iterator[Finding]:
    agreed, submitted = sub.fields.get("date_agreed"), sub.fields.get("date_submitted")
    if agreed and submitted and agreed > submitted:
        yield finding("BCF-CELL-007", *sub.where("date_agreed"), found=agreed, expected=submitted)


@rule("BCF-CELL-008", "Cover")
def submitted_by_deadline(sub: Submission) -> Iterator[Finding]:
    submitted = sub.fields.get("date_submitted")
    if submitted and submitted > sub.spec.deadline:
        yield finding("BCF-CELL-008", *sub.where("date_submitted"), found=submitted, expected=sub.spec.deadline)


# -- policy ---------------------------------------------------------------------------------------------
@rule("BCF-POL-001", "Cover", "Funding")
def pooled_at_least_minimum(sub: Submission) -> Iterator[Finding]:
    area = _area(sub)
    if area and not has_type_problem(sub, "funding.amount_1516"):
        pooled = total(sub, "funding.amount_1516")
        if pooled < area.minimum_pooled_000:
            yield finding("BCF-POL-001", *sub.where("total_pooled"), found=pooled, expected=area.minimum_pooled_000)


@rule("BCF-POL-002", "Funding")
def social_care_protected(sub: Submission) -> Iterator[Finding]:
    v = num(sub.fields.get("social_care_protection"))
    if v is not None and v <= 0:
        yield finding("BCF-POL-002", *sub.where("social_care_protection"), found=v)


@rule("BCF-POL-003", "Cover", "Funding")
def ringfence_at_least_share(sub: Submission) -> Iterator[Finding]:
    area, v = _area(sub), num(sub.fields.get("ringfenced_oohs"))
    if area and v is not None and v < area.ringfence_000 - 0.5:
        yield finding("BCF-POL-003", *sub.where("ringfenced_oohs"), found=v, expected=area.ringfence_000)


@rule("BCF-POL-004", "NEL & P4P")
def nel_cut_or_justified(sub: Submission) -> Iterator[Finding]:
    r, base = planned_reduction(sub), sum(num(sub.fields.get(f"baseline_q{i}")) or 0 for i in range(1, 5))
    if r is None or not base or sub.fields.get("nel_justification"):
        return
    pct = r / base * 100
    if pct < p("nel_expected_reduction_pct"):
        yield finding("BCF-POL-004", *sub.where("nel_justification"), found=round(pct, 2),
                      expected=p("nel_expected_reduction_pct"))


@rule("BCF-POL-005", "Cover")
def signed_off(sub: Submission) -> Iterator[Finding]:
    signoffs = sub.tables["signoffs"]
    needed = 2 + len(sub.tables["ccgs"])  # chair, chief executive, one per CCG listed
    for row, s in rows(signoffs.head(needed)):
        if s["signed"] != "Yes":
            yield finding("BCF-POL-005", *sub.where("signoffs.signed", row), found=s["role"])


@rule("BCF-POL-006", "Conditions")
def conditions_met_or_explained(sub: Submission) -> Iterator[Finding]:
    for row, c in rows(sub.tables["conditions"]):
        if c["meets"] in (None, "Yes"):
            continue  # blank is BCF-CELL-001
        missing = "explanation" if not c["explanation"] else "date_expected" if c["date_expected"] is None else None
        if missing and not has_type_problem(sub, "conditions.date_expected"):
            yield finding("BCF-POL-006", *sub.where(f"conditions.{missing}", row), found=c["condition"])


@rule("BCF-POL-011", "Conditions")
def conditions_by_april_2015(sub: Submission) -> Iterator[Finding]:
    for row, c in rows(sub.tables["conditions"]):
        if c["meets"] != "Yes" and c["date_expected"] and c["date_expected"] > p("conditions_deadline"):
            yield finding("BCF-POL-011", *sub.where("conditions.date_expected", row), found=c["condition"],
                          expected=c["date_expected"])


@rule("BCF-POL-007", "Risks")
def risk_for_nel_target(sub: Submission) -> Iterator[Finding]:
    risks = sub.tables["risks"]
    words = re.compile("|".join(rf"\b{re.escape(w)}" for w in p("nel_risk_words")), re.I)
    if not any(words.search(str(d or "")) for d in risks["description"]):
        t = sub.spec.table("risks")
        row = int(risks.index[0]) if len(risks) else None
        sheet, cell = sub.where("risks.description", row) if row else (sub.sheet_of(t.sheet), f"C{t.header_row}")
        yield finding("BCF-POL-007", sheet, cell)


@rule("BCF-POL-008", "Risks")
def high_risks_mitigated(sub: Submission) -> Iterator[Finding]:
    for row, r in rows(sub.tables["risks"]):
        score = (num(r["likelihood"]) or 0) * (num(r["impact"]) or 0)
        if score >= p("high_risk_score") and not r["mitigation"]:
            yield finding("BCF-POL-008", *sub.where("risks.mitigation", row), found=r["risk_id"], expected=score)


@rule("BCF-POL-009", "Governance")
def governance_agreed(sub: Submission) -> Iterator[Finding]:
    for fid, bad in (("s75_status", "Not started"), ("exit_agreed", "No"), ("arbitration_agreed", "No")):
        if sub.spec.has(fid) and sub.fields.get(fid) == bad:
            yield finding("BCF-POL-009", *sub.where(fid), found=bad, label=sub.spec.field(fid).label)


@rule("BCF-POL-010", "Risks")
def boundaries_examined(sub: Submission) -> Iterator[Finding]:
    if not sub.spec.has("boundaries"):
        return
    logged = set(sub.tables["risks"]["boundary"].dropna())
    for row, b in rows(sub.tables["boundaries"]):
        if b["boundary_name"] not in logged and not b["reason_none"]:
            yield finding("BCF-POL-010", *sub.where("boundaries.reason_none", row), found=b["boundary_name"])


# -- consistency ----------------------------------------------------------------------------------------
@rule("BCF-CONS-001", "Benefits", "NEL & P4P")
def avoided_admissions_match_plan(sub: Submission) -> Iterator[Finding]:
    nel, r = nel_rows(sub), planned_reduction(sub)
    if nel.empty or r is None or nel["planned_change"].isna().any():
        return
    avoided = -nel["planned_change"].sum()
    if abs(avoided - r) > p("consistency_tolerance") * max(abs(r), 1):
        yield finding("BCF-CONS-001", *sub.where("benefits.planned_change", int(nel.index[0])), found=avoided, expected=r)


@rule("BCF-CONS-002", "Benefits", "NEL & P4P")
def nel_saving_priced_at_unit_cost(sub: Submission) -> Iterator[Finding]:
    nel, c = nel_rows(sub), num(sub.fields.get("nel_unit_cost"))
    if nel.empty or c is None or nel[["planned_change", "planned_saving"]].isna().any().any():
        return
    claimed, repriced = nel["planned_saving"].sum(), -nel["planned_change"].sum() * c / 1000
    if claimed > repriced * (1 + p("consistency_tolerance")) + 1:
        yield finding("BCF-CONS-002", *sub.where("benefits.planned_saving", int(nel.index[0])), found=claimed,
                      expected=round(repriced))


def scheme_ids(text: Any) -> list[str]:
    return [s for s in re.split(r"[,;\s]+", str(text or "")) if s]


@rule("BCF-CONS-003", "Benefits", "Schemes")
def savings_within_scheme_spend(sub: Submission) -> Iterator[Finding]:
    if has_type_problem(sub, "schemes.spend_1516"):
        return
    spend = sub.tables["schemes"].groupby("scheme_id")["spend_1516"].sum().to_dict()
    for row, b in rows(sub.tables["benefits"]):
        ids = [i for i in scheme_ids(b["scheme_ids"]) if i in spend]
        saving = num(b["planned_saving"])
        if ids and saving is not None and saving > sum(spend[i] for i in ids):
            yield finding("BCF-CONS-003", *sub.where("benefits.planned_saving", row), found=saving,
                          expected=sum(spend[i] for i in ids))


@rule("BCF-CONS-004", "Benefits", "Provider impact")
def acute_income_reconciled(sub: Submission) -> Iterator[Finding]:
    nel, providers = nel_rows(sub), sub.tables["providers"]
    acute = providers[providers["provider_kind"] == "Acute"]
    if nel.empty or nel["planned_saving"].isna().any() or has_type_problem(sub, "providers.income_change"):
        return
    saving, lost = nel["planned_saving"].sum(), -acute["income_change"].sum()
    if abs(saving - lost) > p("provider_tolerance") * max(saving, 1):
        row = int(acute.index[0]) if len(acute) else None
        sheet, cell = (sub.where("providers.income_change", row) if row
                       else sub.where("providers.income_change", int(providers.index[0])) if len(providers)
                       else (sub.sheet_of("Provider impact"), "E4"))
        yield finding("BCF-CONS-004", sheet, cell, found=saving, expected=lost)


@rule("BCF-CONS-005", "Benefits", "Schemes")
def benefits_name_real_schemes(sub: Submission) -> Iterator[Finding]:
    known = set(sub.tables["schemes"]["scheme_id"].dropna())
    for row, b in rows(sub.tables["benefits"]):
        for sid in scheme_ids(b["scheme_ids"]):
            if sid not in known:
                yield finding("BCF-CONS-005", *sub.where("benefits.scheme_ids", row), found=sid)
                break


def logic_findings(sub: Submission) -> list[Finding]:
    """Every arithmetic, policy and consistency finding, skipping rules whose sheets are missing."""
    out: list[Finding] = []
    for sheets, fn in RULES.values():
        if all(s in sub.sheet_names for s in sheets):
            out.extend(fn(sub))
    return out
