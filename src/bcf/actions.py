"""What a plan must do to be assured: each reason for its category becomes a numbered action.

An action says what to change, where (sheet and cell, or the table), what would satisfy it and by when.
Letters and the self-check's preview both build them here, from the store after ``stress.run`` and from
``categories.decide``, so the officer sees before submitting what the central team will ask for afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bcf import rounds
from bcf.categories import Reason
from bcf.params import Parameter
from bcf.words import CATEGORIES, money


@dataclass(frozen=True)
class Action:
    what: str  # what is wrong, as the officer will recognise it
    where: str  # sheet and cell, or the table
    done_when: str  # what would satisfy it
    by: dt.date | None
    rule_id: str | None = None


@dataclass(frozen=True)
class Figures:
    """The figures that decide a category, with the thresholds they are held against."""

    claimed: float
    credible: float
    optimism: float | None  # None: no credible savings
    conditions_optimism: float
    support_optimism: float
    r_pct: float | None  # planned cut in emergency admissions, %
    expected_pct: float
    weight_high: float
    weight_medium: float
    weight_low: float
    unit_cost: float
    advisory: int
    support_advisory: int


@dataclass(frozen=True)
class Assessment:
    category: str
    reasons: tuple[str, ...]
    actions: tuple[Action, ...]
    figures: Figures

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for a in out["actions"]:
            a["by"] = a["by"].isoformat() if a["by"] else None
        return out


def where(f: dict[str, Any]) -> str:
    """'Governance sheet, cell D9', or the sheet, or the whole workbook."""
    if not f.get("sheet"):
        return "The whole workbook"
    return f"{f['sheet']} sheet, cell {f['cell']}" if f.get("cell") else f"{f['sheet']} sheet"


def _times(x: float) -> str:
    return "twice" if x == 2 else f"{x:g} times"


def _evidence_action(reason: Reason, s: dict[str, Any], benefits: list[dict[str, Any]], sheet: str,
                     column: str, by: dt.date | None) -> Action:
    """Claims above ``threshold`` times their evidence: cut the claims, or raise the evidence behind the few
    benefits that would bring the ratio under it."""
    limit = float(reason.threshold or 0)
    claimed, credible = s["claimed"], s["credible"]
    gain = sorted(((b["credible_if_high"] - b["credible"], b) for b in benefits if b["credible_if_high"] > b["credible"]),
                  key=lambda x: (-x[0], x[1]["row"]))
    chosen: list[dict[str, Any]] = []
    for g, b in gain:
        if claimed <= limit * credible:
            break
        credible += g
        chosen.append(b)
    cut = f"cut the claimed savings to {money(limit * s['credible'])} or less" if s["credible"] > 0 else ""
    target = f"Claimed savings no more than {_times(limit)} those backed by evidence"
    if claimed <= limit * credible and chosen:
        ids = [b["benefit_id"] for b in chosen]
        named = ", ".join(ids[:-1]) + f" and {ids[-1]}" if len(ids) > 1 else ids[0]
        cells = "; ".join(f"{b['benefit_id']} in {column}{b['row']} ({money(b['claimed'])} claimed, rated "
                          f"{b['confidence'] or 'blank'}{'' if b['has_evidence'] else ', no evidence written'})"
                          for b in chosen)
        either = f"{cut}, or " if cut else ""
        return Action(f"{reason.text}.", f"{sheet} sheet, Confidence column: {cells}",
                      f"{target}: {either}raise the evidence behind benefit{'s' if len(ids) > 1 else ''} {named} to High, "
                      "naming the evaluation in the Evidence base column.", by)
    return Action(f"{reason.text}.", f"{sheet} sheet, the Planned saving column",
                  f"{target}: {cut or 'remove the claims that no evidence supports'}. Raising the evidence ratings "
                  "alone would not be enough.", by)


@dataclass(frozen=True)
class Stored:
    """What the store holds on one submission after ``stress.run`` that its assessment and its letter read."""

    decided: dict[str, Any]  # ``categories.decide``'s category and reasons
    stress: dict[str, Any]  # its stress_test row, with its template version
    benefits: list[dict[str, Any]]  # its stress_benefits rows, by sheet row
    findings: list[dict[str, Any]]  # its findings, in the order stored


def resubmit_by(p: dict[str, Any], written: dt.date | None = None) -> dt.date | None:
    """When a corrected workbook is due: the round's ``resubmit_within_days`` after the letter or check that asks
    for it, which is dated the day it is written (today); so a deadline never lies before the date it is given."""
    days = p.get("resubmit_within_days")
    return (written or dt.date.today()) + dt.timedelta(days=int(days)) if days is not None else None


def _place(f: dict[str, Any]) -> tuple[Any, ...]:
    """The order of ``ORDER BY sheet, cell, rule_id`` (blanks last)."""
    return f["sheet"] is None, f["sheet"] or "", f["cell"] is None, f["cell"] or "", f["rule_id"]


def judge(plan: Stored, params: Mapping[str, Parameter]) -> Assessment:
    """A plan's category, reasons and actions, from what the store holds on it."""
    p = {k: v.value for k, v in params.items()}
    decided, s, benefits = plan.decided, plan.stress, plan.benefits
    table = rounds.get(s["round"]).ret("plan").spec(s["template_version"]).table("benefits")
    by = resubmit_by(p)
    n_advisory = sum(f["severity"] == "advisory" for f in plan.findings)
    actions: list[Action] = []
    for r in decided["why"]:
        if r.kind in ("decisive", "blocking"):
            actions += [Action(f["message"], where(f), f["fix"], by, f["rule_id"]) for f in r.findings]
        elif r.kind == "optimism":
            actions.append(_evidence_action(r, s, benefits, table.sheet, table.letter("confidence"), by))
        elif r.kind == "advisory":
            cells = "; ".join(dict.fromkeys(where(f) for f in r.findings))
            actions.append(Action(f"{r.text}.", cells, f"No more than {p['support_advisory']} advisory points left: "
                                  "fix them as listed, or explain each one to your Better Care Fund lead.", by))
    if decided["category"] == CATEGORIES[0]:  # not approved: every other blocking problem must go too
        done = {(a.rule_id, a.where) for a in actions}
        actions += [Action(f["message"], where(f), f["fix"], by, f["rule_id"])
                    for f in sorted((f for f in plan.findings if f["severity"] == "blocking"), key=_place)
                    if (f["rule_id"], where(f)) not in done]
    optimism = s["optimism"] if s["optimism"] is not None and s["optimism"] == s["optimism"] else None
    figures = Figures(s["claimed"], s["credible"], optimism, p["conditions_optimism"], p["support_optimism"],
                      s["r_pct"], p["nel_expected_reduction_pct"], p["weight_high"], p["weight_medium"], p["weight_low"],
                      p["unit_cost"], n_advisory, p["support_advisory"])
    return Assessment(decided["category"], tuple(decided["reasons"]), tuple(actions), figures)
