"""The self-check's preview of the assurance category: what the central team's stress test would decide today.

The one workbook just checked is loaded into a store in memory and put through the same ``stress.sql``,
``categories.decide`` and ``actions.judge`` that the central team runs over the whole round, so the preview and
the letter cannot disagree. It is provisional: national parameters (the unit cost, the evidence weights,
the thresholds) may be revised before assurance, and a plan's place among the others is not known yet.

Making the store's schema costs more than a preview itself, so a process makes it once: each preview is one
transaction, rolled back at its end, and a preview that did not finish leaves its store to be thrown away.
DuckDB and the stress test are imported only when there is a plan to assess. The preview cannot see a board's
track record (the national store's quarterly returns), so it leaves the weighting out and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bcf import rounds
from bcf.validate import Report

if TYPE_CHECKING:
    from bcf.actions import Action, Assessment
    from bcf.store import Store

APPROVED = "Approved"  # the best category (stress.CATEGORIES[-1]), named here so that a check need not load DuckDB
PROVISIONAL = ("Provisional: this is the category the central team's stress test would give this plan today. It "
               "depends on the national parameters for the round (the unit cost of an admission, how evidence "
               "ratings count, the thresholds), which may be revised before assurance. Where the year before was "
               "reported in full, the central team also weighs how far your board's plan for it came true, which "
               "this check cannot see.")
UNSEEN = {"track_record_weighting": "false"}  # the track record is in the national store, not in the workbook


@dataclass(frozen=True)
class Preview:
    round_id: str
    assessment: Assessment
    note: str = PROVISIONAL

    def as_dict(self) -> dict[str, Any]:
        return {"round": self.round_id, "provisional": True, "note": self.note, **self.assessment.as_dict()}

    def joining(self, status: str) -> str:
        """One sentence that joins the verdict of the checks ("ready to submit") to the category it would get."""
        a = self.assessment
        why = "; ".join(r[:1].lower() + r[1:] for r in a.reasons)
        if status == "ready" and a.category == APPROVED:
            return f"You can submit this workbook, and on its figures today it would be approved: {why}."
        if status == "ready":
            return ("Ready to submit means the workbook passes every check, not that the plan is approved outright: on its "
                    f"figures today the central team's stress test would place it in \"{a.category}\", because {why}.")
        return (f"As it stands the central team's stress test would place this plan in \"{a.category}\", because {why}. "
                "Fix the blocking problems first: they are the first things that would change it.")

    def listed(self) -> int:
        """How many of the actions are findings already listed under "What to fix"."""
        return sum(1 for act in self.assessment.actions if act.rule_id)

    def others(self) -> tuple[Action, ...]:
        """The actions that are not findings: the evidence behind the savings, or too many advisory points."""
        return tuple(act for act in self.assessment.actions if not act.rule_id)


def preview(report: Report) -> Preview | None:
    """The provisional category of a checked plan, or None when there is nothing to assess (not a plan, not
    read far enough, or no Health and Wellbeing Board the round knows)."""
    sub = report.submission
    if sub is None or report.stopped or report.foreign or sub.spec.kind != "plan" or not report.plan_code:
        return None
    from bcf.national import stress
    from bcf.national.door import National

    round_ = sub.spec.round_id
    params = rounds.get(round_).params(UNSEEN)
    store = _idle.pop() if _idle else _scratch()
    nat = National.around(store)
    try:
        with store.transaction(keep=False):  # rolled back: the store is empty again for the next plan
            (sid,) = store.insert([(report, "", datetime.now())], round_, "plan")
            decided = stress.run(nat, round_, params, upkeep=False)  # its tables were made with the store
            pv = Preview(round_, stress.assess(nat, sid, params, decided))
    except BaseException:
        nat.con.close()
        raise
    _idle.append(store)
    return pv


def _scratch() -> Store:
    """A store in memory that holds one plan at a time, its stress test's tables made already."""
    from bcf.national import stress
    from bcf.national.door import National
    from bcf.store import Store

    store = Store(Path(":memory:"))
    latest = rounds.latest()
    stress.run(National.around(store), latest.id, latest.params(UNSEEN))
    return store


_idle: list[Store] = []  # the store of the last preview that finished, empty again, for the next one


def prepare() -> None:
    """Make the store for the next preview ahead of it (a web worker does, before its first upload)."""
    if not _idle:
        _idle.append(_scratch())
