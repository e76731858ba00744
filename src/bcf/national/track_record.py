"""Each board's track record: its plan scored as a forecast against what happened, and carried into the next round.

The first round's plans promised a fall in emergency admissions and admissions rose; nothing scored a board's plan against
its outturn, and nothing carried that lesson into the next plan. Forecast hubs score every submitter against the
observed data as a *relative skill*: the submitter's error over a naive baseline's on the same targets. Here a
plan's four quarters are the targets, the naive baselines are the baseline year unchanged and the baseline year
grown by the trend, and a round is scored once it holds a complete year of quarterly returns (named queries in
``aggregator/track_record.sql``). The next round's stress test may then shrink each plan's claimed admissions
saving toward what the trend implies, by a weight from its board's skill (``feed_stress``; the arithmetic is in
``aggregator/stress.sql``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol

import duckdb

from bcf import rounds
from bcf.errors import StoreError
from bcf.national import queries
from bcf.params import Parameter
from bcf.words import money


class Asks(Protocol):
    """What the services here need of the store: named queries' rows (``door.National``)."""

    def rows(self, ref: str, **params: Any) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Score:
    """One forecast scored: a plan's, a region's or the nation's year of emergency admissions against what happened."""

    name: str
    plans: int
    baseline: float
    planned: float
    actual: float
    error: float  # actual minus planned admissions for the year
    pct_error: float | None  # error as a % of planned
    bias: int  # 1: admissions came in above plan (optimistic), -1: below, 0: on plan
    mae_plan: float  # mean absolute error over the quarters: the plan, and the two naive baselines
    mae_flat: float
    mae_trend: float
    skill_flat: float | None  # mae_plan / mae_flat: above 1, the baseline year unchanged did better
    skill_trend: float | None  # mae_plan / mae_trend: above 1, the baseline year grown by the trend did better
    saving_planned: float  # avoided admissions planned, at the unit cost (£000)
    saving_realised: float  # avoided admissions that happened, at the unit cost (£000; negative: more admissions)
    plan_code: str | None = None
    region_name: str | None = None
    saving_claimed: float | None = None  # the plan's own claimed saving from fewer admissions (Benefits sheet)


@dataclass(frozen=True)
class TrackRecord:
    """One round's plans scored against its complete year of quarterly returns."""

    round: str
    label: str
    growth: float
    unit_cost: float
    national: Score
    regions: tuple[Score, ...]
    plans: tuple[Score, ...]
    quarters: tuple[dict[str, Any], ...]  # the nation's quarters: planned, actual, trend, error


@dataclass(frozen=True)
class PlanTrackRecord:
    """What the track record says of one plan: its own year scored, and the record that weighted its claims."""

    round: str
    plan_code: str
    score: Score | None  # this round's plan against what happened, once the round's year is complete
    prior_round: str | None  # the round whose record weighted this round's claimed admissions saving
    prior: Score | None  # the board's score in that round (None: no scored year, the nation's weight used)
    weight: float | None  # the weight given to its claimed admissions saving (None: not weighted)
    weight_source: str | None  # "board" or "national"
    sentence: str | None  # "Your <year> plan expected 2,100 fewer emergency admissions ...; there were 600 more."


def _score(row: dict[str, Any], name: str) -> Score:
    known = {f.name for f in fields(Score)}
    values: dict[str, Any] = {k: (None if v != v else v) for k, v in row.items() if k in known and k != "name"}  # NaN: none
    values["bias"] = int(values.get("bias") or 0)
    values["plans"] = int(values.get("plans") or 0)
    return Score(name=name, **values)


def _settings(round_: str) -> dict[str, Any]:
    """The trend growth and unit cost a round is scored with."""
    stress = rounds.get(round_).values()["stress"]
    return {"growth": stress["trend_growth"], "unit_cost": stress["unit_cost"]}


def scored_rounds(national: Asks) -> list[str]:
    """The rounds holding a complete year of quarterly returns."""
    return [r["round"] for r in national.rows("track_record.rounds")]


def scores(national: Asks, round_: str | None) -> TrackRecord:
    """Every plan of a round (default: the latest that can be scored), each region and the nation, scored against
    the round's year of quarterly returns."""
    held = scored_rounds(national)
    if round_ is None and not held:
        raise StoreError("No round in the store has a complete year of quarterly returns yet, so no plan can be "
                         "scored. Load each quarter's returns with `bcf batch --return quarterly` first.")
    round_ = round_ or held[-1]
    if round_ not in held:
        raise StoreError(f"Round {round_} has no complete year of quarterly returns in the store, so its plans cannot "
                         f"be scored yet. Rounds that can: {', '.join(held) or 'none yet'}.")
    s = _settings(round_)
    args = {"round": round_, **s}
    *regions, nat = national.rows("track_record.regions_and_nation", **args)  # the nation's row comes last
    return TrackRecord(
        round_, rounds.get(round_).year, s["growth"], s["unit_cost"], _score(nat, "England"),
        tuple(_score(r, r["region_name"]) for r in regions),
        tuple(_score({**r, "plans": 1}, r["plan_name"]) for r in national.rows("track_record.plans", plan=None, **args)),
        tuple(national.rows("track_record.national_quarters", **args)))


def as_json(tr: TrackRecord) -> dict[str, Any]:
    """The JSON of ``bcf track-record --format json``: ``national``, ``regions`` and ``plans``."""
    return {"round": tr.round, "year": tr.label, "trend_growth": tr.growth, "unit_cost": tr.unit_cost,
            "national": asdict(tr.national), "regions": [asdict(r) for r in tr.regions],
            "plans": [asdict(p) for p in tr.plans], "quarters": list(tr.quarters)}


def prior_round(round_: str) -> str | None:
    """The round before ``round_`` in the content's order (None for the first)."""
    order = list(rounds.all_rounds())
    at = order.index(round_) if round_ in order else 0
    return order[at - 1] if at > 0 else None


def feed_stress(con: duckdb.DuckDBPyConnection, round_: str, chosen: Mapping[str, Parameter]) -> None:
    """Make the ``track_weights`` table the stress test reads: each plan's weight from its board's record in the
    round before, or no rows when that round has no complete year or the weighting is switched off."""
    prior = prior_round(round_) if chosen["track_record_weighting"].value else None
    if prior is None:  # the stress test makes the table again, empty
        queries.execute(con, "track_record.no_weights")
        return
    growth = rounds.get(prior).values()["stress"]["trend_growth"]
    queries.execute(con, "track_record.feed_stress", round=round_, prior=prior, growth=growth,
                    w_min=chosen["track_weight_min"].value, w_max=chosen["track_weight_max"].value,
                    credibility=chosen["track_record_credibility"].value)


def known(v: Any) -> bool:
    """A value that is there (neither None nor NaN)."""
    return v is not None and v == v


def count(n: float) -> str:
    return f"{abs(round(n)):,}"


def sentence(year: str, baseline: float, planned: float, actual: float) -> str:
    """'Your <year> plan expected 2,100 fewer emergency admissions than its baseline year; there were 600 more.'"""
    def change(n: float) -> str:
        return "no change" if round(n) == 0 else f"{count(n)} {'fewer' if n < 0 else 'more'}"

    expected, happened = planned - baseline, actual - baseline
    return (f"Your {year} plan expected {change(expected)} emergency admissions than its baseline year; "
            f"there were {change(happened)}.")


def reason_text(s: dict[str, Any], category: str, untracked: str) -> str:
    """What the letter and the category say when the track record moved a plan."""
    before = str(s.get("prior_round"))
    year = rounds.get(before).year if before in rounds.all_rounds() else before
    told = (sentence(year, s["prior_baseline"], s["prior_planned"], s["prior_actual"]) if known(s.get("prior_planned"))
            else f"Your board has no complete year of {year} quarterly returns, so the nation's record is used.")
    moved = (f" The track record moved this plan from {untracked} to {category}." if untracked != category else "")
    return (f"{told} Your claimed reduction in emergency admissions therefore counts at {s['track_weight']:.0%}, the rest "
            f"taken at the trend, and the savings backed by evidence fall from {money(s['credible_untracked'])} to "
            f"{money(s['credible'])}.{moved}")


def untracked(stress_row: dict[Any, Any]) -> dict[Any, Any] | None:
    """The plan's stress-test figures without the track record, when the track record moved its credible saving."""
    if not known(stress_row.get("track_weight")):
        return None
    if not stress_row["credible_untracked"] - stress_row["credible"] > 0.05:
        return None
    return {**stress_row, "credible": stress_row["credible_untracked"], "optimism": stress_row["optimism_untracked"],
            "track_weight": None}


def plan_score(national: Asks, round_: str, plan_code: str) -> Score | None:
    """One plan scored against its round's year, as ``scores`` scores it (None until its year is complete)."""
    row = next(iter(national.rows("track_record.plans", plan=plan_code, round=round_, **_settings(round_))), None)
    return _score({**row, "plans": 1}, row["plan_name"]) if row else None


def plan_track_record(national: Asks, round_: str, plan_code: str) -> PlanTrackRecord:
    """One plan's track record for its page: its own year scored (if complete) and the weight its claims got."""
    own = plan_score(national, round_, plan_code)
    try:
        row = next(iter(national.rows("track_record.plan_weight", round=round_, plan_code=plan_code)), None)
    except duckdb.CatalogException:  # the round has not been stress-tested yet
        row = None
    if row is None or not known(row["track_weight"]):
        return PlanTrackRecord(round_, plan_code, own, None, None, None, None, None)
    prior_code: str = row["prior_round"]
    prior, said = None, None
    if known(row["prior_planned"]):
        prior = plan_score(national, prior_code, plan_code)
        said = sentence(rounds.get(prior_code).year, row["prior_baseline"], row["prior_planned"], row["prior_actual"])
    return PlanTrackRecord(round_, plan_code, own, prior_code, prior, row["track_weight"], row["track_source"], said)


def discount(national: Asks, round_: str) -> dict[str, Any]:
    """How much of a round's claims its track record discounts, and the plans it moved (after ``stress.run``)."""
    totals = national.rows("track_record.discount", round=round_)[0]
    moved = national.rows("track_record.moved", round=round_)
    categories = national.rows("track_record.categories_moved", round=round_)
    prior = totals["prior_round"]
    return {**totals, "prior_label": rounds.get(prior).year if prior in rounds.all_rounds() else prior,
            "plans_moved": moved, "categories_moved": categories}


def summary(tr: TrackRecord) -> list[str]:
    """The national scores in plain sentences, for the command line."""
    n = tr.national
    direction = "more" if n.error > 0 else "fewer"
    return [
        f"Round {tr.round}: {n.plans} plans with a complete year of quarterly returns expected {count(n.planned - n.baseline)} "
        f"{'fewer' if n.planned < n.baseline else 'more'} emergency admissions than their baseline year; there were "
        f"{count(n.actual - n.baseline)} {'more' if n.actual > n.baseline else 'fewer'}.",
        f"Error for the year: {count(n.error)} admissions {direction} than planned ({n.pct_error or 0:+.1f}%), biased towards "
        f"{'over-optimism' if n.bias > 0 else 'caution' if n.bias < 0 else 'neither side'}.",
        f"Skill (the plans' mean quarterly error over a naive baseline's; above 1 the baseline did better): "
        f"{n.skill_flat or 0:.2f} against the baseline year unchanged, {n.skill_trend or 0:.2f} against the baseline "
        f"year grown by {tr.growth:.0%}.",
        f"Savings from fewer admissions at £{tr.unit_cost:,.0f} each: {money(n.saving_planned)} planned, "
        f"{money(n.saving_realised)} realised.",
    ]
