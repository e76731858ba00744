"""What the assurers' console shows, read from the national store: the rounds, a round's plans, one plan, its
letter, and the decision log.

The console's pages are faces: each asks one function here, which opens the store read-only for that request and
answers with plain rows. Categories are decided afresh from the stored stress test and the decisions as they are
now (``stress.decisions``), so a decision shows in the category and the letter at once, before the next
``bcf stress``. Every question is a named query in ``aggregator/console.sql``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bcf import rounds
from bcf.errors import StoreError
from bcf.national.door import National, open_store


@dataclass(frozen=True)
class Rounds:
    """The rounds holding plans, oldest first, and the one to show first: the latest with something to decide."""

    held: list[str]
    first: str


@dataclass(frozen=True)
class PlanPage:
    """One plan of one round: its row, findings, stress test, resubmission and quarters."""

    plan: dict[str, Any]
    findings: list[dict[str, Any]] = field(default_factory=list)
    stress: dict[str, Any] | None = None
    pair: Any = None
    quarters: list[dict[str, Any]] = field(default_factory=list)
    track: Any = None  # bcf.national.track_record.PlanTrackRecord
    peers: Any = None  # bcf.national.peers.PlanPeers


def held(db: Path, state: Path | None = None) -> Rounds:
    """The rounds the store holds plans for, and the one the console opens on."""
    with open_store(db, state=state) as n:
        rounds_held = n.rounds_with("plan")
        if not rounds_held:
            raise StoreError("The store holds no plans yet.")
        awaiting = {x["round"] for x in n.rows("console.rounds_awaiting")}
    first = next((r for r in reversed(rounds_held) if r in awaiting), rounds_held[-1])
    return Rounds(rounds_held, first)


def _with_categories(n: National, round_: str, plans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The plans, each with the category the stress test and today's decisions give it (None before a stress test)."""
    from bcf.national import stress

    if not plans or not n.scalar("console.has_table", name="stress_test"):
        return [{**p, "category": None} for p in plans]
    decided = stress.decisions(n, [p["submission_id"] for p in plans], rounds.get(round_).params())
    return [{**p, "category": decided.get(p["submission_id"], {}).get("category")} for p in plans]


def plans(db: Path, round_: str, state: Path | None = None) -> list[dict[str, Any]]:
    """Every current plan of the round: status, category, counts, resubmissions and explanations to decide."""
    with open_store(db, state=state) as n:
        n.scope(round_)
        return _with_categories(n, round_, n.rows("console.plans", round=round_, plan=None))


def one(db: Path, round_: str, code: str, state: Path | None = None) -> dict[str, Any] | None:
    """One plan's row of the round, with its category; None when the round has no such plan."""
    with open_store(db, state=state) as n:
        n.scope(round_)
        found = _with_categories(n, round_, n.rows("console.plans", round=round_, plan=code))
    return found[0] if found else None


def _findings(n: National, submission_id: int) -> list[dict[str, Any]]:
    """A submission's findings with their explanations' state and the fingerprint a decision on each holds to."""
    from bcf.explain import fingerprint

    return [{**f, "fingerprint": f["fingerprint"] or fingerprint(f["rule_id"], f["place"], f["found"], f["expected"])}
            for f in n.rows("console.findings", submission_id=submission_id)]


def plan(db: Path, round_: str, code: str, state: Path | None = None) -> PlanPage | None:
    """One plan's page, or None when the round has no such plan."""
    from bcf.national.peers import plan_peers
    from bcf.national.resubmissions import compare_all
    from bcf.national.track_record import plan_track_record

    with open_store(db, state=state) as n:
        n.scope(round_)
        found = _with_categories(n, round_, n.rows("console.plans", round=round_, plan=code))
        if not found:
            return None
        sid = found[0]["submission_id"]
        stress = n.rows("console.stress", submission_id=sid) if n.scalar("console.has_table", name="stress_test") else []
        quarters = n.rows("console.quarters", round=round_, plan=code) if n.scalar(
            "console.has_table", name="plan_vs_actual") else []
        return PlanPage(found[0], _findings(n, sid), stress[0] if stress else None,
                        next(iter(compare_all(n, round_, code)), None), quarters,
                        plan_track_record(n, round_, code) if stress else None, plan_peers(n, round_, code))


def letter(db: Path, round_: str, submission_id: int, state: Path | None = None) -> str:
    """The letter of one stress-tested plan, as HTML."""
    from bcf.letters import letter_context
    from bcf.render import environment

    with open_store(db, state=state) as n:
        ctx = letter_context(n, submission_id, rounds.get(round_).params(), round_)
    return environment().get_template("letter.html.j2").render(**ctx)


def log(db: Path, round_: str | None = None, state: Path | None = None) -> list[dict[str, Any]]:
    """Every decision (of one round), newest first, with its plan's name and region."""
    with open_store(db, state=state) as n:
        return n.rows("console.log", round=round_)
