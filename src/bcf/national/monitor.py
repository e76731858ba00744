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
from typing import Any

import duckdb
import pandas as pd

from bcf import rounds

METHODS = ("run-rate", "seasonal")


@dataclass(frozen=True)
class National:
    """The national picture after ``quarters`` quarters."""

    round: str
    quarters: int
    period: str
    plans: int
    planned_year: float
    baseline_year: float
    actual_to_date: float
    planned_to_date: float
    projected_year: float
    low: float
    high: float
    method: str

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


def project(actual_to_date: Any, quarters: int, baseline_share: Any, method: str) -> Any:
    """The year's admissions from the quarters so far: ``run-rate`` (x 4 / quarters) or ``seasonal``
    (divided by the share of the baseline year those quarters held). Works on numbers and on columns."""
    return actual_to_date * 4 / quarters if method == "run-rate" else actual_to_date / baseline_share


def quarters(con: duckdb.DuckDBPyConnection, round_: str, upto: int) -> pd.DataFrame:
    """Per plan: admissions planned, actual and at baseline in the first ``upto`` quarters, and the plan's cover."""
    return con.execute(
        "SELECT plan_code, any_value(plan_name) AS plan_name, any_value(region_name) AS region_name, count(*) AS quarters, "
        "sum(actual) AS actual_to_date, sum(planned) AS planned_to_date, sum(baseline) AS baseline_to_date, "
        "sum(p4p_released) AS p4p_released, sum(p4p_planned) AS p4p_planned, "
        "any_value(baseline_year) AS baseline_year, any_value(planned_year) AS planned_year, "
        "any_value(ringfenced_oohs) AS ringfenced, any_value(share_ccg) AS share_ccg, "
        "any_value(contingency) AS contingency, arg_max(narrative, quarter_no) AS narrative, "
        "arg_max(variance, quarter_no) AS last_variance, arg_max(planned, quarter_no) AS last_planned "
        "FROM plan_vs_actual WHERE round = ? AND quarter_no <= ? AND actual IS NOT NULL "
        "GROUP BY plan_code HAVING count(*) = ? ORDER BY plan_code", [round_, upto, upto]).df()


def _mentions(words: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(rf"\b{re.escape(w)}" for w in words), re.I)


def warnings(con: duckdb.DuckDBPyConnection, round_: str, upto: int) -> pd.DataFrame:
    """Each plan's projected year, its money at risk against its contingency, and its flags."""
    rnd = rounds.get(round_)
    checks, stress, monitoring = (rnd.values()[s] for s in ("checks", "stress", "monitoring"))
    df = quarters(con, round_, upto)
    df["projected_year"] = project(df["actual_to_date"], upto, df["baseline_to_date"] / df["baseline_year"],
                                   monitoring["projection_method"])
    df["projected_gap"] = df["projected_year"] - df["planned_year"]
    reduction = df["baseline_year"] - df["planned_year"]
    achieved = (df["baseline_year"] - df["projected_year"]) / reduction.where(reduction > 0)
    value = (reduction.clip(lower=0) * stress["unit_cost"] / 1000).clip(upper=df["ringfenced"])
    df["at_risk_000"] = value * (1 - achieved.clip(0, 1).fillna(0))
    df["borne_by_ccg_000"] = df["at_risk_000"] * df["share_ccg"].fillna(50) / 100
    df["borne_by_council_000"] = df["at_risk_000"] - df["borne_by_ccg_000"]
    df["gap_cost_000"] = df["projected_gap"].clip(lower=0) * stress["unit_cost"] / 1000
    df["beyond_contingency"] = df["at_risk_000"] > df["contingency"].fillna(0)
    words = _mentions(checks["variance_words"])
    needs = (df["last_variance"] / df["last_planned"]).abs() * 100 > checks["variance_explain_pct"]
    df["narrative_silent"] = needs & ~df["narrative"].fillna("").map(lambda t: bool(words.search(t)))
    return df


def national(con: duckdb.DuckDBPyConnection, round_: str, upto: int) -> National:
    """The national projection after ``upto`` quarters, with its interval (from the backtest's errors)."""
    rnd = rounds.get(round_)
    monitoring = rnd.values()["monitoring"]
    df = quarters(con, round_, upto)
    if df.empty:
        from bcf.errors import StoreError

        raise StoreError(f"The store holds no quarterly returns for quarter {upto} of round {round_}.")
    period = con.execute("SELECT period FROM periods WHERE round = ? AND return_kind = 'quarterly' AND quarter_no = ?",
                         [round_, upto]).fetchall()[0][0]
    share = df["baseline_to_date"].sum() / df["baseline_year"].sum()
    projected = float(project(df["actual_to_date"].sum(), upto, share, monitoring["projection_method"]))
    half = monitoring["interval_pct"][upto - 1] / 100 * abs(projected - df["planned_year"].sum())
    return National(round_, upto, period, len(df), float(df["planned_year"].sum()), float(df["baseline_year"].sum()),
                    float(df["actual_to_date"].sum()), float(df["planned_to_date"].sum()), projected,
                    projected - half, projected + half, monitoring["projection_method"])


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
