"""The assurance category of one plan, and the reasons that decided it (reference section 6).

The rules are applied in order, first match wins; the reasons are kept so that a letter can name them and
each becomes a numbered action (``bcf.actions``). Pure logic on one plan's stress figures and findings: the
stress test itself is SQL (``bcf.national.stress``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bcf import words
from bcf.national import track_record
from bcf.params import Parameter
from bcf.words import CATEGORIES

DECISIVE = {"BCF-POL-005": "a sign-off is missing", "BCF-POL-001": "the pooled budget is below the minimum",
            "BCF-GATE-006": "the workbook is not the planning template"}


@dataclass(frozen=True)
class Reason:
    """One reason a plan got its category: the sentence a letter gives, and what it rests on."""

    kind: str  # "decisive", "blocking", "optimism", "advisory", "clean", "accepted" or "track"
    text: str
    findings: tuple[dict[str, Any], ...] = ()  # the findings it rests on
    threshold: float | None = None  # the optimism ratio or advisory count it went past


def decide(stress: dict[str, Any], records: list[dict[str, Any]], chosen: Mapping[str, Parameter]) -> dict[str, Any]:
    """The assurance category of one plan and the reasons that decided it (reference section 6), from its
    stress_test row and its findings."""
    p = {k: v.value for k, v in chosen.items()}
    blocking = [f for f in records if f["severity"] == "blocking"]
    accepted = [f for f in records if f["severity"] != "blocking" and f.get("accepted")]
    advisory = [f for f in records if f["severity"] != "blocking" and not f.get("accepted")]  # accepted ones no longer count
    optimism = stress["optimism"]
    optimism = math.inf if optimism is None or optimism != optimism else optimism
    if stress["claimed"] <= 0:
        optimism = 0.0
    ratio = words.ratio(stress["claimed"], stress["credible"])

    def where(f: dict[Any, Any]) -> str:
        return f"{f['rule_id']}, {f['sheet']} {f['cell']}" if f["cell"] else f["rule_id"]

    def too_optimistic(limit: float) -> Reason:
        return Reason("optimism", f"Claimed savings are {ratio} times those backed by evidence (an optimism ratio above "
                      f"{limit})" if optimism != math.inf
                      else "None of the claimed savings is backed by evidence rated High or Medium", threshold=limit)

    decisive = [f for f in blocking if f["rule_id"] in DECISIVE]
    reasons: list[Reason]
    if decisive or len(blocking) >= p["not_approved_blocking"]:
        reasons = ([Reason("decisive", f"{DECISIVE[f['rule_id']].capitalize()} ({where(f)})", (f,)) for f in decisive]
                   or [Reason("blocking", f"{len(blocking)} blocking findings ({p['not_approved_blocking']} or more)",
                              tuple(blocking), p["not_approved_blocking"])])
        category = CATEGORIES[0]
    elif blocking or optimism > p["conditions_optimism"]:
        reasons = ([Reason("blocking", f"{len(blocking)} blocking finding{'s' if len(blocking) > 1 else ''} "
                           f"({', '.join(sorted({f['rule_id'] for f in blocking}))})", tuple(blocking))]
                   if blocking else [])
        if optimism > p["conditions_optimism"]:
            reasons.append(too_optimistic(p["conditions_optimism"]))
        category = CATEGORIES[1]
    elif optimism > p["support_optimism"] or len(advisory) > p["support_advisory"]:
        reasons = [too_optimistic(p["support_optimism"])] if optimism > p["support_optimism"] else []
        if len(advisory) > p["support_advisory"]:
            reasons.append(Reason("advisory", f"{len(advisory)} advisory findings (more than {p['support_advisory']})",
                                  tuple(advisory), p["support_advisory"]))
        category = CATEGORIES[2]
    else:
        reasons, category = [Reason("clean", "No blocking findings, and savings backed by evidence")], CATEGORIES[3]
    if accepted:
        reasons.append(Reason("accepted", f"{len(accepted)} advisory finding{'s' if len(accepted) > 1 else ''} explained "
                              "by the area and accepted", tuple(accepted)))
    untracked = track_record.untracked(stress)  # the track record moved its credible saving: say so, and from what
    before = decide(untracked, records, chosen)["category"] if untracked is not None else None
    if before is not None:
        reasons.append(Reason("track", track_record.reason_text(stress, category, before)))
    return {"submission_id": stress["submission_id"], "plan_code": stress["plan_code"], "category": category,
            "reasons": [r.text for r in reasons], "why": reasons, "category_untracked": before}
