"""A round's national figures, computed once: the totals every output states.

``bcf stress`` (text and JSON), the national report and the site's index take the round's claimed and backed
savings, its optimism ratio, its plans by category and its planned cut from here, so they cannot disagree.
Each figure is a named query of ``aggregator/assurance.sql``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bcf.national.door import National
from bcf.words import CATEGORIES


@dataclass(frozen=True)
class Summary:
    """One round's assured plans in figures (money in £000)."""

    round: str
    plans: int
    claimed: float
    credible: float
    s_nel: float  # avoided admissions as claimed
    repriced: float  # the same admissions at the national unit cost
    cut_pct: float | None  # all plans together: planned cut in emergency admissions, % of their baseline
    mean_cut_pct: float | None  # the average plan's planned cut, %
    categories: dict[str, int]  # every category, worst first, with its count of plans

    @property
    def optimism(self) -> float | None:
        """Claimed savings over those backed by evidence; None when nothing is backed."""
        return self.claimed / self.credible if self.credible > 0 else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "optimism": self.optimism}


def summary(nat: National, round_: str) -> Summary:
    """The round's national figures, after the stress test has run."""
    t = nat.rows("assurance.totals", round=round_)[0]
    counts = {r["category"]: int(r["plans"]) for r in nat.rows("assurance.categories", round=round_)}
    return Summary(round_, int(t["plans"]), float(t["claimed"]), float(t["credible"]), float(t["s_nel"] or 0),
                   float(t["repriced"] or 0), t["cut_pct"], t["mean_cut_pct"],
                   {c: counts.get(c, 0) for c in CATEGORIES})
