"""The resubmission cycle in the store: each plan's last two submissions compared, the national bridge of
claimed savings between them, and assurers' decisions on explanations recorded without ever being lost.

In the first round plans went from April to September resubmissions to conditions cleared in January; the central
team's questions were "what changed since the last file?", "has the condition been met?" and "do we accept
this explanation?". This module answers them from the store; ``bcf.diff`` does the comparing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from bcf import diff, rounds
from bcf.errors import BcfError
from bcf.spec import Spec

CONDITION_RULES = ("BCF-POL-006", "BCF-POL-011")


@dataclass(frozen=True)
class Pair:
    """A plan's previous and current submission, compared."""

    round: str
    plan_code: str
    plan_name: str
    old_file: str
    new_file: str
    changes: diff.Diff
    bridge: dict[str, float]
    claimed_old: float
    claimed_new: float

    @property
    def conditions_met(self) -> list[str]:
        """National conditions whose finding the resubmission resolved."""
        return [str(f.found) for f in self.changes.findings_by(diff.RESOLVED) if f.rule_id in CONDITION_RULES]


def _claimed(c: diff.Contents) -> float:
    savings = (b.get("planned_saving") for _, b in c.tables.get("benefits", []))
    return math.fsum(v for v in savings if isinstance(v, (int, float)) and v == v)


def compare_all(con: duckdb.DuckDBPyConnection, round_: str, plan_code: str | None = None) -> list[Pair]:
    """Every resubmitted plan of the round (or one): its current submission against the one before it."""
    rows = con.execute(
        "SELECT s.plan_code, p.plan_name, s.submission_id, s.file_name, s.template_id, s.template_version, "
        "row_number() OVER (PARTITION BY s.plan_code ORDER BY s.received_at DESC, s.submission_id DESC) AS n "
        "FROM submissions s JOIN plans p USING (round, plan_code) WHERE s.round = ? AND s.return_kind = 'plan' "
        "AND s.status <> 'unreadable' AND (? IS NULL OR s.plan_code = ?) QUALIFY n <= 2 ORDER BY p.plan_name, n",
        [round_, plan_code, plan_code]).fetchall()
    by_plan: dict[str, list[tuple[Any, ...]]] = {}
    for r in rows:
        by_plan.setdefault(r[0], []).append(r)
    weights = {k.removeprefix("weight_").capitalize(): v for k, v in rounds.get(round_).values()["stress"].items()
               if k.startswith("weight_")}
    pairs = [(code, new, old[0]) for code, (new, *old) in by_plan.items() if old]
    specs = {r[2]: _spec(r) for _, new, old in pairs for r in (old, new)}
    contents, found = diff.from_store(con, specs), diff.stored_findings(con, list(specs))
    out = []
    for code, new, old in pairs:
        before, after = contents[old[2]], contents[new[2]]
        changes = diff.compare(before, after, found[old[2]], found[new[2]])
        out.append(Pair(round_, code, new[1], old[3], new[3], changes, diff.bridge(before, after, weights),
                        _claimed(before), _claimed(after)))
    return out


def _spec(row: tuple[Any, ...]) -> Spec:
    ret = rounds.for_template(row[4])
    if ret is None:
        raise BcfError(f"{row[3]} was made from a template bcf does not know ({row[4]}).")
    return ret.spec(row[5])


def summary(p: Pair) -> dict[str, Any]:
    """One line per resubmitted plan."""
    return {"plan": p.plan_name, "values_changed": p.changes.count(diff.CHANGED), "rows_added": p.changes.count(diff.ADDED),
            "rows_removed": p.changes.count(diff.REMOVED), "findings_resolved": len(p.changes.findings_by(diff.RESOLVED)),
            "findings_new": len(p.changes.findings_by(diff.NEW)), "claimed_before_000": p.claimed_old,
            "claimed_now_000": p.claimed_new}


def national_bridge(pairs: list[Pair]) -> pd.DataFrame:
    """From the claimed savings of the plans as first submitted to those now, by reason (£000)."""
    rows = [{"step": "Claimed in the earlier submissions", "amount_000": sum(p.claimed_old for p in pairs)}]
    rows += [{"step": reason.capitalize(), "amount_000": sum(p.bridge[reason] for p in pairs)} for reason in diff.BRIDGE]
    rows.append({"step": "Claimed now", "amount_000": sum(p.claimed_new for p in pairs)})
    rows.append({"step": "Change in savings backed by evidence from better evidence ratings",
                 "amount_000": sum(p.bridge["better evidence"] for p in pairs)})
    return pd.DataFrame(rows)


def as_text(p: Pair) -> str:
    lines = [f"{p.plan_name}: {diff.as_text(p.changes, p.old_file, p.new_file)}", "",
             f"Claimed savings: £{p.claimed_old:,.0f}k then, £{p.claimed_new:,.0f}k now."]
    lines += [f"  {reason}: £{amount:+,.0f}k" for reason, amount in p.bridge.items() if round(amount)]
    if p.conditions_met:
        lines.append("National conditions now met: " + "; ".join(p.conditions_met))
    return "\n".join(lines)


def decide(db: Path, round_: str, rule_id: str, decision: str, reason: str, who: str, plan_code: str | None = None,
           place: str | None = None, wait_seconds: float = 30.0, state: Path | None = None) -> list[int]:
    """Record a decision on the current plans' explained findings of a rule (one plan's, at one place, when
    given); returns the new decisions' ids (see ``bcf.national.decisions.decide``)."""
    from bcf.national import decisions

    return decisions.decide(db, round_, rule_id, decision, reason, who, plan_code, place, wait_seconds, state)
