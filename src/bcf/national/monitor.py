"""Plan against actual, and the early warning that would have caught the first round's gap after one quarter.

Each plan's quarterly returns are joined to the plan's own quarters in the store (``plan_vs_actual``).
From the quarters reported so far, each plan's year is projected two ways: a naive run-rate (what has
happened so far, times four over the quarters seen) and a seasonal one (what has happened so far, scaled by
the share of the plan's baseline year those quarters held; emergency admissions peak in winter). The method
used is the one with the smaller error in a backtest on synthetic years (``backtest``; the choice and the
interval are round parameters, with the backtest as their source). Plans are flagged where the projected
money at risk exceeds their contingency fund, or where their narrative does not mention a variance that
needs explaining.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bcf import rounds
from bcf.errors import StoreError
from bcf.national.door import National as NationalStore
from bcf.national.door import open_store
from bcf.params import Assumptions

METHODS = ("run-rate", "seasonal")


@dataclass(frozen=True)
class Picture:
    """The national picture after ``quarters`` quarters, over the plans that reported every one of them."""

    round: str
    quarters: int
    period: str
    plans: int  # plans that reported every quarter so far: every figure is theirs
    reporting: int  # plans that sent any quarterly return so far
    plans_in_round: int
    planned_year: float
    baseline_year: float
    actual_to_date: float
    planned_to_date: float
    projected_year: float
    low: float
    high: float
    method: str

    @property
    def complete(self) -> bool:
        """A whole year reported: the projection is the outturn, with no range."""
        return self.quarters == 4

    @property
    def projected_gap(self) -> float:
        """Projected admissions above plan for the year (negative: below plan)."""
        return self.projected_year - self.planned_year

    @property
    def planned_change_pct(self) -> float:
        return 100 * (self.planned_year - self.baseline_year) / self.baseline_year

    @property
    def projected_change_pct(self) -> float:
        return 100 * (self.projected_year - self.baseline_year) / self.baseline_year

    @property
    def coverage(self) -> str:
        """Which plans the figures are about, said once wherever they are shown."""
        if self.plans == self.plans_in_round:
            return f"all {self.plans} plans reported every quarter to {self.period}"
        return (f"{self.plans} of the round's {self.plans_in_round} plans reported every quarter to {self.period}"
                + (f" ({self.reporting - self.plans} more reported some)" if self.reporting > self.plans else "")
                + "; the figures are theirs")


def project(actual_to_date: Any, quarters: int, baseline_share: Any, method: str) -> Any:
    """The year's admissions from the quarters so far: ``run-rate`` (x 4 / quarters) or ``seasonal``
    (divided by the share of the baseline year those quarters held). Works on numbers and on columns."""
    return actual_to_date * 4 / quarters if method == "run-rate" else actual_to_date / baseline_share


def quarters(nat: NationalStore, round_: str, upto: int) -> pd.DataFrame:
    """Per plan that reported every quarter to ``upto``: admissions planned, actual and at baseline, and its cover."""
    return nat.frame("monitoring.complete_plans", round=round_, upto=upto)


def quarters_held(nat: NationalStore, round_: str) -> list[tuple[int, str]]:
    """(number, label) of each quarter the store holds returns for, in order."""
    return [(int(r["quarter_no"]), r["period"]) for r in nat.rows("monitoring.quarters_held", round=round_)]


def _mentions(words: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(rf"\b{re.escape(w)}" for w in words), re.I)


def warnings(nat: NationalStore, round_: str, upto: int, params: Assumptions) -> pd.DataFrame:
    """Each plan's projected year, its money at risk against its contingency, and its flags, ranked by the money
    at risk beyond its contingency."""
    p = params.v
    df = quarters(nat, round_, upto)
    df["projected_year"] = project(df["actual_to_date"], upto, df["baseline_to_date"] / df["baseline_year"],
                                   p["projection_method"])
    df["projected_gap"] = df["projected_year"] - df["planned_year"]
    reduction = df["baseline_year"] - df["planned_year"]
    achieved = (df["baseline_year"] - df["projected_year"]) / reduction.where(reduction > 0)
    value = (reduction.clip(lower=0) * p["unit_cost"] / 1000).clip(upper=df["ringfenced"])
    df["gap_cost_000"] = df["projected_gap"].clip(lower=0) * p["unit_cost"] / 1000
    # what the partners stand to pay: pay for performance not earned where the round had it, else what the
    # admissions above plan cost, which a local risk share meets from its contingency first
    df["at_risk_000"] = (value * (1 - achieved.clip(0, 1).fillna(0)) if rounds.get(round_).pay_for_performance
                         else df["gap_cost_000"])
    df["borne_by_ccg_000"] = df["at_risk_000"] * df["share_ccg"].fillna(50) / 100
    df["borne_by_council_000"] = df["at_risk_000"] - df["borne_by_ccg_000"]
    df["beyond_000"] = (df["at_risk_000"] - df["contingency"].fillna(0)).clip(lower=0)
    df["beyond_contingency"] = df["beyond_000"] > 0
    words = _mentions(p["variance_words"])
    needs = (df["last_variance"] / df["last_planned"]).abs() * 100 > p["variance_explain_pct"]
    df["narrative_silent"] = needs & ~df["narrative"].fillna("").map(lambda t: bool(words.search(t)))
    df["variance_pct"] = 100 * (df["actual_to_date"] - df["planned_to_date"]) / df["planned_to_date"]
    return df.sort_values(["beyond_000", "at_risk_000", "plan_code"], ascending=[False, False, True], kind="stable")


def national(nat: NationalStore, round_: str, upto: int, params: Assumptions) -> Picture:
    """The national projection after ``upto`` quarters, with its interval (from the backtest's errors); after
    four quarters the year is an outturn and the interval closes."""
    p = params.v
    df = quarters(nat, round_, upto)
    if df.empty:
        raise StoreError(f"No plan has sent quarterly returns for every quarter to quarter {upto} of round {round_}.")
    period = nat.scalar("monitoring.period", round=round_, upto=upto)
    seen = nat.rows("monitoring.reporting", round=round_, upto=upto)[0]
    share = df["baseline_to_date"].sum() / df["baseline_year"].sum()
    projected = float(project(df["actual_to_date"].sum(), upto, share, p["projection_method"]))
    half = p["interval_pct"][upto - 1] / 100 * abs(projected - df["planned_year"].sum())
    return Picture(round_, upto, period, len(df), int(seen["reporting"]), int(seen["plans"]),
                   float(df["planned_year"].sum()), float(df["baseline_year"].sum()), float(df["actual_to_date"].sum()),
                   float(df["planned_to_date"].sum()), projected, projected - half, projected + half,
                   p["projection_method"])


def by_quarter(nat: NationalStore, round_: str, upto: int) -> pd.DataFrame:
    """The nation's planned and actual admissions by quarter, over the same plans as ``national``."""
    return nat.frame("monitoring.by_quarter", round=round_, upto=upto)


def by_region(nat: NationalStore, round_: str, upto: int) -> pd.DataFrame:
    return nat.frame("monitoring.by_region", round=round_, upto=upto)


def synthetic_year(seed: int, round_: str) -> list[dict[str, Any]]:
    """One synthetic monitoring year, made as the sample returns are: per plan, baseline, plan and actual quarters."""
    from bcf.samples import plans
    from bcf.samples.quarterly import quarters as quarterly_returns

    rnd = rounds.get(round_)
    out = []
    for p in plans(rnd.ret("plan"), seed):
        f = p.filled.fields
        actual = [q.filled.fields["actual_admissions"] for q in
                  quarterly_returns(p, rnd.ret("quarterly"), random.Random(f"{seed}:{p.area.plan_code}:quarterly"))]
        out.append({"baseline": [f[f"baseline_q{i}"] for i in range(1, 5)],
                    "planned": [f[f"plan_q{i}"] for i in range(1, 5)], "actual": actual})
    return out


def backtest(round_: str, seeds: range) -> pd.DataFrame:
    """Each method's error on the national gap (projected minus actual admissions above plan, as a % of the
    actual gap) after 1, 2, 3 and 4 quarters, over synthetic years."""
    rows = []
    for seed in seeds:
        year = synthetic_year(seed, round_)
        baseline, planned = sum(sum(p["baseline"]) for p in year), sum(sum(p["planned"]) for p in year)
        gap = sum(sum(p["actual"]) for p in year) - planned
        for k in range(1, 5):
            to_date = sum(sum(p["actual"][:k]) for p in year)
            share = sum(sum(p["baseline"][:k]) for p in year) / baseline
            for method in METHODS:
                projected = project(to_date, k, share, method) - planned
                rows.append({"seed": seed, "quarters": k, "method": method, "error_pct": 100 * (projected - gap) / gap})
    return pd.DataFrame(rows)


def summarise(bt: pd.DataFrame) -> pd.DataFrame:
    """Mean absolute and 95th-percentile absolute error by method and quarters seen."""
    g = bt.assign(abs_error=bt["error_pct"].abs()).groupby(["method", "quarters"])["abs_error"]
    return pd.DataFrame({"mean_abs_error_pct": g.mean(), "p95_abs_error_pct": g.quantile(0.95)}).reset_index()


def pick_quarter(nat: NationalStore, round_: str, quarter: str | None) -> int:
    """The quarter asked for: its number in the plan period (1-4, or Q1-Q4) or its label; default the latest held."""
    held = quarters_held(nat, round_)
    if not held:
        raise StoreError(f"The store holds no quarterly returns for round {round_}. Load them with "
                         f"`bcf batch DIR --round {round_} --return quarterly`.")
    if quarter is None:
        return held[-1][0]
    wanted = quarter.strip().upper().removeprefix("Q")
    found = next((n for n, label in held if wanted == str(n) or quarter.strip().casefold() == label.casefold()), None)
    if found is None:
        raise StoreError(f"No quarter {quarter!r} in round {round_}: the store holds "
                         + ", ".join(f"{n} ({label})" for n, label in held) + ".")
    return found


@dataclass(frozen=True)
class Monitoring:
    """What ``bcf monitor`` shows: the national picture and the plans to watch, ranked."""

    picture: Picture
    plans: pd.DataFrame  # every plan that reported every quarter so far, ranked by money beyond contingency
    params: Assumptions

    @property
    def watch(self) -> pd.DataFrame:
        w = self.plans[self.plans["beyond_contingency"] | self.plans["narrative_silent"]]
        why = w["beyond_contingency"].map({True: "risk beyond contingency", False: ""}).str.cat(
            w["narrative_silent"].map({True: "variance not explained", False: ""}), sep="; ").str.strip("; ")
        return w.assign(why=why)

    @property
    def pay_for_performance(self) -> bool:
        return rounds.get(self.picture.round).pay_for_performance

    def headline(self) -> str:
        n = self.picture
        more = "more" if n.projected_gap > 0 else "fewer"
        head = f"Round {n.round}, {n.quarters} quarter(s) to {n.period}: {n.coverage}.\n"
        planned = (f"Planned for the year: {n.planned_year:,.0f} emergency admissions ({n.planned_change_pct:+.1f}% on "
                   "the baseline).\n")
        if n.complete:
            outcome = (f"Outturn: {n.projected_year:,.0f} ({n.projected_change_pct:+.1f}%), {abs(n.projected_gap):,.0f} "
                       f"{more} than planned.\n")
        else:
            outcome = (f"Projected ({n.method}): {n.projected_year:,.0f} ({n.projected_change_pct:+.1f}%), "
                       f"{abs(n.projected_gap):,.0f} {more} than planned "
                       f"(range {n.low - n.planned_year:,.0f} to {n.high - n.planned_year:,.0f}).\n")
        return (head + planned + outcome + f"{int(self.plans['beyond_contingency'].sum())} plans risk more than their "
                f"contingency; {int(self.plans['narrative_silent'].sum())} do not explain their variance.")

    def as_dict(self) -> dict[str, Any]:
        n = self.picture
        return {"schema": "bcf-monitor/1", "round": n.round, "quarter": n.quarters, "period": n.period, "complete": n.complete,
                "plans_reporting": n.plans, "plans_with_some_returns": n.reporting, "plans_in_round": n.plans_in_round,
                "planned_year": n.planned_year, "baseline_year": n.baseline_year, "actual_to_date": n.actual_to_date,
                "planned_to_date": n.planned_to_date, "projected_year": n.projected_year,
                "projected_above_plan": n.projected_gap,
                "range_above_plan": None if n.complete else [n.low - n.planned_year, n.high - n.planned_year],
                "method": n.method, "beyond_contingency": int(self.plans["beyond_contingency"].sum()),
                "narrative_silent": int(self.plans["narrative_silent"].sum()),
                "at_risk_000": float(self.plans["at_risk_000"].sum()),
                "at_risk_is": "pay for performance not earned" if self.pay_for_performance
                else "the cost of admissions above plan",
                "p4p_at_risk_000": float(self.plans["at_risk_000"].sum()) if self.pay_for_performance else None,
                "overridden": [p.name for p in self.params.overridden()],
                "watch": self.watch[["plan_code", "plan_name", "region_name", "projected_gap", "at_risk_000",
                                     "contingency", "beyond_000", "why"]],
                "plans": self.plans.drop(columns=["narrative"])}


def monitoring(db: Path, round_: str | None, quarter: str | None, overrides: dict[str, str] | None = None) -> Monitoring:
    """The national picture to a quarter (default round: the latest with quarterly returns)."""
    with open_store(db) as nat:
        scope = nat.scope(round_, "quarterly")
        upto = pick_quarter(nat, scope.round, quarter)
        params = rounds.get(scope.round).params(overrides)
        return Monitoring(national(nat, scope.round, upto, params), warnings(nat, scope.round, upto, params), params)
