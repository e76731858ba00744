"""The resubmission cycle in the store: each plan's last two submissions compared, the national bridge of
claimed savings between them, and assurers' decisions on explanations recorded without ever being lost.

In the first round plans went from April to September resubmissions to conditions cleared in January; the central
team's questions were "what changed since the last file?", "has the condition been met?" and "do we accept
this explanation?". This module answers them from the store; ``bcf.diff`` does the comparing.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from bcf import diff, rounds
from bcf.errors import BcfError, StoreBusy
from bcf.findings import Family, Finding, Severity, rules
from bcf.national import decisions
from bcf.national.door import National, open_store
from bcf.national.state import state_path
from bcf.read import Row
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


def compare_all(nat: National, round_: str, plan_code: str | None = None) -> list[Pair]:
    """Every resubmitted plan of the round (or one): its current submission against the one before it."""
    by_plan: dict[str, list[dict[str, Any]]] = {}
    for r in nat.rows("cycle.last_two", round=round_, plan_code=plan_code):
        by_plan.setdefault(r["plan_code"], []).append(r)
    weights = {k.removeprefix("weight_").capitalize(): v for k, v in rounds.get(round_).params().v.items()
               if k.startswith("weight_")}
    pairs = [(code, new, old[0]) for code, (new, *old) in by_plan.items() if old]
    specs = {r["submission_id"]: _spec(r) for _, new, old in pairs for r in (old, new)}
    contents, found = from_store(nat, specs), stored_findings(nat, list(specs))
    out = []
    for code, new, old in pairs:
        before, after = contents[old["submission_id"]], contents[new["submission_id"]]
        changes = diff.compare(before, after, found[old["submission_id"]], found[new["submission_id"]])
        out.append(Pair(round_, code, new["plan_name"], old["file_name"], new["file_name"], changes,
                        diff.bridge(before, after, weights), _claimed(before), _claimed(after)))
    return out


def _spec(row: dict[str, Any]) -> Spec:
    ret = rounds.for_template(row["template_id"])
    if ret is None:
        raise BcfError(f"{row['file_name']} was made from a template bcf does not know ({row['template_id']}).")
    return ret.spec(row["template_version"])


def from_store(nat: National, specs: dict[int, Spec]) -> dict[int, diff.Contents]:
    """Stored submissions' contents (submission id -> its spec), read back from the store's tables in a query per
    table (fields at their template cells)."""
    ids = list(specs)
    frames: dict[str, tuple[pd.DataFrame, dict[Any, pd.DataFrame]]] = {}

    def rows(table: str, sid: int, row_index: bool = False) -> pd.DataFrame:
        """The submission's rows of a table (a table of rows indexed by sheet row, without the submission id)."""
        if table not in frames:
            df = nat.frame("cycle.table_rows", table=table, ids=ids)
            if row_index:
                df = df.sort_values(["submission_id", "row"], kind="stable")
            values = df.set_index("row").drop(columns="submission_id") if row_index else df
            frames[table] = values.iloc[0:0], dict(tuple(values.groupby(df["submission_id"].to_numpy(), sort=False)))
        empty, by_id = frames[table]
        return by_id.get(sid, empty)

    out = {}
    for sid, spec in specs.items():
        fields: dict[str, Any] = {}
        for s in spec.sheets:
            if s.store:
                row = rows(s.store, sid)
                values = row.iloc[0].to_dict() if len(row) else {}
                fields.update({f.id: diff.plain(values.get(f.id)) for f in s.fields if f.is_input})
        tables = {t.id: _as_rows(rows(t.id, sid, row_index=True)) for t in spec.tables}
        out[sid] = diff.Contents(spec, fields, tables, {f.id: f.cell or "" for f in spec.fields}, {})
    return out


def _as_rows(df: pd.DataFrame) -> list[Row]:
    """A frame indexed by sheet row as (sheet row, values) pairs."""
    return list(zip(df.index.tolist(), df.to_dict("records"), strict=True))  # type: ignore[arg-type]


def stored_findings(nat: National, submission_ids: list[int]) -> dict[int, list[Finding]]:
    """Stored submissions' findings as values again, by submission id."""
    out: dict[int, list[Finding]] = {sid: [] for sid in submission_ids}
    for r in nat.rows("cycle.findings", ids=submission_ids):
        out[r["submission_id"]].append(Finding(r["rule_id"], Severity(r["severity"]), Family(r["family"]),
                                               r["sheet"] or "", r["cell"], r["found"], r["expected"], r["message"],
                                               r["fix"], rules()[r["rule_id"]].title))
    return out


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
           place: str | None = None, wait_seconds: float = 30.0, state: Path | None = None,
           replaces: int | None | Literal["any"] = "any") -> list[int]:
    """Record a decision on explained findings named by rule (and plan, place), as ``bcf decide`` does: the findings
    are looked up in the national store (waiting while a batch holds it), the decisions go to the state store.

    ``replaces`` is the decision the caller means to replace (None: it expects none in force); the decisions are
    refused, all of them, when another is in force, as when two people decide the same finding at once. "any"
    replaces whatever is in force."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            with open_store(db, state=state) as national:
                chosen = decisions.decidable(national, round_, rule_id, plan_code, place, decision, reason, who)
            break
        except StoreBusy as e:
            if time.monotonic() > deadline:
                raise StoreBusy(f"The store is in use by a batch, so the decision was not recorded: {e} "
                                "Nothing was lost; run the same command again when the batch has finished.") from e
            time.sleep(0.5)
    path = state_path(db, state)
    if path is None:
        raise BcfError("A store in memory keeps no decisions.")
    if replaces not in ("any", None) and len(chosen) > 1:
        raise BcfError(f"--replaces names one decision, but {len(chosen)} findings of {rule_id} were chosen: name "
                       "the plan and place (--hwb, --at) of the one it decided.")
    try:
        return decisions.record(path, *chosen, seen=None if replaces == "any" else decisions.Seen(replaces))
    except decisions.Refused as e:
        raise _already(e, replaces) from e


def _already(e: decisions.Refused, replaces: int | None | str) -> decisions.Refused:
    """A refusal as said to someone who named (or did not name) the decision to replace on the command line."""
    d = e.latest
    if d is None:
        return e
    named = f" (not decision {replaces}, which --replaces named)" if isinstance(replaces, int) else ""
    return decisions.Refused(f"Nothing was recorded, as this finding already has a decision{named}: {d['decided_by']} "
                             f"{d['decision']} it at {decisions.when(d['decided_at'])} (decision {d['decision_id']}). "
                             f"`bcf decisions` shows it; to replace it, run the command again with --replaces "
                             f"{d['decision_id']}.", d)
