"""The track record in the reports: what a round's plans expected against what happened, and what it did to the next.

The national report of a round shows the round before's plans against their outturn (by region and as a
distribution) and how much of this round's claims the track record discounts; the monitoring report at the
fourth quarter scores the round's own plans. Figures come from ``bcf.national.track_record`` alone, so the
reports, ``bcf track-record`` and the letters cannot disagree.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from markupsafe import Markup

from bcf import charts
from bcf.national import track_record as tr

EXPLAIN_BAND = 5  # the band drawn on the distribution: within 5% of plan, as the narrative rule has it


def _scored(asks: tr.Asks, round_: str | None) -> tr.TrackRecord | None:
    return tr.scores(asks, round_) if round_ and round_ in tr.scored_rounds(asks) else None


def _charts(record: tr.TrackRecord) -> dict[str, Markup]:
    regions = pd.DataFrame([{"region_name": r.name, "planned": r.planned, "actual": r.actual} for r in record.regions])
    pct = pd.Series([p.pct_error for p in record.plans], dtype=float)
    label = f"Actual emergency admissions against plan for {record.label}, %"
    return {"regions": Markup(charts.variance_by_region(regions, label)),
            "spread": Markup(charts.variance_distribution(pct, EXPLAIN_BAND, label))}


def _summary(record: tr.TrackRecord) -> dict[str, Any]:
    plans = record.plans
    return {"record": record, "charts": _charts(record), "lines": tr.summary(record),
            "above": sum(p.bias > 0 for p in plans), "below": sum(p.bias < 0 for p in plans),
            "beat_trend": sum((p.skill_trend or 0) < 1 for p in plans),
            "beat_flat": sum((p.skill_flat or 0) < 1 for p in plans)}


def national_section(asks: tr.Asks, round_: str) -> dict[str, Any]:
    """For round R's national report: round R-1's plans against what happened, and what that did to R's claims."""
    prior = tr.prior_round(round_)
    record = _scored(asks, prior)
    discount = tr.discount(asks, round_)  # the report is written after the round's stress test
    weighted = bool(discount and discount["weighted"])
    return {"prior": _summary(record) if record else None, "discount": discount if weighted else None,
            "prior_round": prior}


def monitoring_section(asks: tr.Asks, round_: str, upto: int) -> dict[str, Any] | None:
    """For the monitoring report at the last quarter: the round's own plans scored against the year."""
    record = _scored(asks, round_) if upto >= 4 else None
    return _summary(record) if record else None
