"""Assurers' decisions on explanations: recorded at once in the state store, as a chain, and seen by the national store.

A decision must never wait for a batch, so it is not written into the national DuckDB file, which a batch holds
for minutes: it is appended to the state store (``bcf.national.state``) in one transaction. Each decision carries
the hash of the one before it, so a decision edited, removed or inserted behind bcf's back breaks the chain and
``verify`` names the first broken link. A decision is made on what its assurer saw, so ``record`` takes what that
was (``Seen``) and refuses, in the transaction that would write it, when the finding has been decided since or the
plan resubmitted (``Refused``): a decision is never silently reversed, nor recorded on a superseded submission. The
plans' current submissions reach the state store from whatever stores files in the national store (``publish``).
Every connection to the national store sees the decisions as a relation named ``decisions`` (``attach``), so the
views, the stress test, letters and reports read them as before. A store made before this kept its decisions in a
DuckDB table; they are moved into the state store on first use.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from bcf.errors import BcfError
from bcf.explain import DECISIONS, fingerprint, parse_place
from bcf.national import queries
from bcf.national.state import State, open_state, state_path

if TYPE_CHECKING:
    import duckdb

GENESIS = "0" * 64  # what the first decision follows
COLUMNS = {"decision_id": "int64", "round": "object", "plan_code": "object", "submission_id": "int64",
           "rule_id": "object", "location": "object", "fingerprint": "object", "decision": "object",
           "reason": "object", "decided_by": "object", "decided_at": "datetime64[us]"}


@dataclass(frozen=True)
class Decision:
    """One assurer's decision on one explained finding, as it is recorded."""

    round: str
    plan_code: str
    submission_id: int
    rule_id: str
    location: str
    fingerprint: str  # of the finding the decision was made on
    decision: str  # accepted or rejected
    reason: str
    decided_by: str


@dataclass(frozen=True)
class Seen:
    """What the assurer saw of a finding when deciding: the decision then in force on it (None: none)."""

    decision_id: int | None


class Refused(BcfError):
    """A decision not recorded, because the finding was decided or the plan resubmitted after the assurer looked."""

    def __init__(self, message: str, latest: dict[str, Any] | None = None):
        super().__init__(message)
        self.latest = latest  # the decision made meanwhile, if that is why


@dataclass(frozen=True)
class Verdict:
    """What ``verify`` found: how many decisions, and the first broken link (None when the chain holds)."""

    count: int
    broken: int | None
    message: str


def _seal(prev: str, decision_id: int, d: Decision, at: str) -> str:
    """The hash of a decision: its every field and the hash of the decision before it."""
    body = json.dumps([decision_id, *asdict(d).values(), at], ensure_ascii=False, default=str)
    return hashlib.sha256(f"{prev}\x1e{body}".encode()).hexdigest()


def _checked(d: Decision) -> Decision:
    if d.decision not in DECISIONS:
        raise BcfError(f"A decision is one of {', '.join(DECISIONS)}, not {d.decision!r}.")
    if not d.reason.strip() or not d.decided_by.strip():
        raise BcfError("A decision needs a reason and the name of who made it.")
    return Decision(**{**asdict(d), "reason": d.reason.strip(), "decided_by": d.decided_by.strip()})


def append(state: State, d: Decision, at: str | None = None) -> int:
    """Add one decision to the end of the chain, in one transaction; returns its id."""
    d = _checked(d)
    at = at or datetime.now().isoformat(sep=" ", timespec="microseconds")
    with state.write():
        last = state.rows("decision_last")
        decision_id, prev = (last[0]["decision_id"] + 1, last[0]["hash"]) if last else (1, GENESIS)
        state.run("decision_add", decision_id=decision_id, **asdict(d), decided_at=at, prev_hash=prev,
                  hash=_seal(prev, decision_id, d, at))
    return int(decision_id)


def when(at: str) -> str:
    """A decision's time as an assurer reads it: 14:02 on 6 Dec, with its year."""
    t = datetime.fromisoformat(str(at))
    return f"{t:%H:%M} on {t.day} {t:%b %Y}"


def refusal(state: State, d: Decision, seen: Seen | None) -> Refused | None:
    """Why ``d`` must not be recorded now: its plan resubmitted since, or (when ``seen`` is given) its finding
    decided since the assurer looked; None when it may be."""
    current = state.value("current_plan", round=d.round, plan_code=d.plan_code)
    if current is not None and int(current) != d.submission_id:
        return Refused(f"Plan {d.plan_code} was resubmitted after you looked at it: its findings are now those of "
                       "the new submission. Nothing was recorded.")
    if seen is None:
        return None
    latest = next(iter(state.rows("decision_latest", round=d.round, plan_code=d.plan_code, rule_id=d.rule_id,
                                  location=d.location)), None)
    if (latest["decision_id"] if latest else None) == seen.decision_id:
        return None
    if latest is None:  # what was seen is gone: only a log rebuilt behind bcf's back does this
        return Refused(f"The decision {seen.decision_id} you saw on {d.rule_id} is no longer in the log. Nothing was "
                       "recorded.")
    return Refused(f"{latest['decided_by']} {latest['decision']} this explanation of {d.rule_id} at "
                   f"{when(latest['decided_at'])} while you were reading (decision {latest['decision_id']}). "
                   "Nothing was recorded.", latest)


def record(state_file: Path, *decisions: Decision, seen: Seen | None = None) -> list[int]:
    """Record decisions in the state store at ``state_file``, whatever holds the national store; their ids.

    All or none, in one transaction that first checks each against what the assurer saw (``refusal``): ``seen``
    None checks the plan's submission alone, as for a decision that means to replace whatever is in force."""
    with open_state(state_file) as state, state.write():
        for d in decisions:
            if refused := refusal(state, d, seen):
                raise refused
        return [append(state, d) for d in decisions]


def publish(con: duckdb.DuckDBPyConnection, db: Path, state: Path | None = None) -> None:
    """Tell the state store every plan's current submission, as this connection to the national store sees it
    (after files are stored, and whenever the store is opened for writing)."""
    path = state_path(db, state)
    if path is not None:
        with open_state(path) as st:
            _publish(con, st)


def _publish(con: duckdb.DuckDBPyConnection, state: State) -> None:
    """Every plan's current submission as ``con`` sees it, written to ``state`` in one transaction."""
    current = queries.rows(con, "decisions.current")
    with state.write():
        for r in current:
            state.run("current_plan_set", round=r["round"], plan_code=r["plan_code"],
                      submission_id=int(r["submission_id"]))


def log(state: State, round_: str | None = None, plan_code: str | None = None) -> list[dict[str, Any]]:
    """Every decision (of one round, one plan), oldest first, with round, plan, rule, place, decision, reason,
    who and when."""
    return [{"decision_id": r["decision_id"], "round": r["round"], "plan_code": r["plan_code"], "rule_id": r["rule_id"],
             "location": r["location"], "decision": r["decision"], "reason": r["reason"], "who": r["decided_by"],
             "when": r["decided_at"], "hash": r["hash"]}
            for r in state.rows("decisions")
            if (round_ is None or r["round"] == round_) and (plan_code is None or r["plan_code"] == plan_code)]


def verify(state: State) -> Verdict:
    """Walk the chain from the first decision; the first one whose hash or link does not hold is named."""
    prev, rows = GENESIS, state.rows("decisions")
    for r in rows:
        d = Decision(**{k: r[k] for k in Decision.__dataclass_fields__})
        where = f"decision {r['decision_id']} ({r['round']} {r['plan_code']} {r['rule_id']}, {r['decided_at']})"
        if r["prev_hash"] != prev:
            return Verdict(len(rows), r["decision_id"], f"The chain is broken at {where}: the decision before it was "
                           "removed, inserted or changed.")
        if _seal(prev, r["decision_id"], d, r["decided_at"]) != r["hash"]:
            return Verdict(len(rows), r["decision_id"], f"The chain is broken at {where}: it was changed after it "
                           "was recorded.")
        prev = r["hash"]
    return Verdict(len(rows), None, f"The decision log holds: {len(rows)} decisions, each linked to the one before it.")


def awaiting(national: Any, round_: str | None = None, plan_code: str | None = None) -> list[dict[str, Any]]:
    """Every explained finding of the current plans (of one round, one plan) with its state."""
    return [{k: (v.isoformat(sep=" ") if isinstance(v, datetime) else v) for k, v in r.items()}
            for r in national.rows("decisions.explained", round=round_, plan=plan_code)]


def decidable(national: Any, round_: str, rule_id: str, plan_code: str | None, place: str | None,
              decision: str, reason: str, who: str) -> list[Decision]:
    """The decisions to record on the current plans' explained findings of a rule (one plan's, at one place)."""
    sheet, cell = parse_place(place) if place else (None, None)

    def named(r: dict[str, Any]) -> bool:
        return place is None or r["location"] == place or (
            r["cell"] == cell and (sheet is None or str(r["sheet"]).casefold() == sheet.casefold()))

    found = [r for r in national.rows("decisions.decidable", round=round_, rule=rule_id, plan=plan_code) if named(r)]
    if not found:
        where = f" for {plan_code}" if plan_code else ""
        raise BcfError(f"No explained finding {rule_id}{where}{' at ' + place if place else ''} in round {round_}. "
                       "`bcf decisions` lists them.")
    return [Decision(round_, r["plan_code"], int(r["submission_id"]), rule_id, r["location"],
                     r["fingerprint"] or fingerprint(rule_id, r["location"], r["found"], r["expected"]),
                     decision, reason, who) for r in found]


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The decisions as the national store's relation ``decisions`` (the columns its DuckDB table had)."""
    frame = pd.DataFrame([{k: r[k] for k in COLUMNS} for r in rows], columns=list(COLUMNS))
    return frame.astype({k: v for k, v in COLUMNS.items() if v != "datetime64[us]"}).assign(
        decided_at=pd.to_datetime(frame["decided_at"]).astype("datetime64[us]"))


def _migrate(con: duckdb.DuckDBPyConnection, state: State, db: Path, read_only: bool) -> None:
    """Move the decisions of a store made before the state store into it, once; drop the old table when writing."""
    key = f"migrated:{Path(db).resolve()}"
    with state.write():
        if state.value("meta", key=key) is None:
            for r in queries.rows(con, "decisions.legacy"):
                at = r.pop("decided_at")
                append(state, Decision(**r), at.isoformat(sep=" ", timespec="microseconds"))
            state.set_meta(key, datetime.now().isoformat())
    if not read_only:
        queries.execute(con, "decisions.drop_legacy")
        queries.execute(con, "decisions.drop_legacy_ids")


def attach_none(con: duckdb.DuckDBPyConnection) -> None:
    """The relation ``decisions`` with no decisions in it (as a store being made has, whatever a state store holds)."""
    con.register("decisions", _frame([]))


def attach(con: duckdb.DuckDBPyConnection, db: Path, read_only: bool, state: Path | None = None) -> None:
    """Let this connection to the national store see the state store's decisions as the relation ``decisions``."""
    path = state_path(db, state)
    legacy = bool(queries.scalar(con, "decisions.legacy_table"))
    if path is None or (read_only and not path.exists() and not legacy):  # reading makes no state file
        attach_none(con)
        return
    with open_state(path) as st:
        if legacy:
            _migrate(con, st, db, read_only)
        if st.value("current_plans_any") is None and queries.scalar(con, "decisions.has_current"):
            _publish(con, st)  # a state store from before it kept the current submissions: told them once
        con.register("decisions", _frame(st.rows("decisions")))
