"""The national assurance report: categories, claimed against credible savings, ambition, money at risk.

Every figure comes from the store's tables and views, so the report and ``bcf national`` cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
from markupsafe import Markup

from bcf import charts, rounds, track_report
from bcf.params import Parameter
from bcf.render import environment, write_pdf
from bcf.stress import CATEGORIES


def _df(con: duckdb.DuckDBPyConnection, query: str, round_: str) -> Any:
    """A query over one round, the round bound as $round (never pasted into the SQL)."""
    return con.execute(query, {"round": round_}).df()


def national_context(con: duckdb.DuckDBPyConnection, params: dict[str, Parameter], round_: str) -> dict[str, Any]:
    p = {k: v.value for k, v in params.items()}
    q = _df
    by_region = q(con, "SELECT region_name, count(*) AS plans, sum(claimed) AS claimed, sum(credible) AS credible "
                       "FROM stress_test WHERE round = $round GROUP BY 1 ORDER BY 1", round_)
    totals = q(con, "SELECT count(*) AS n, sum(claimed) AS claimed, sum(credible) AS credible, sum(s_nel) AS s_nel, "
                    "sum(repriced_nel) AS repriced FROM stress_test WHERE round = $round", round_).iloc[0]
    categories = q(con, "SELECT s.region_name, a.category, count(*) AS plans FROM assurance a "
                        "JOIN stress_test s USING (submission_id) WHERE a.round = $round GROUP BY ALL", round_)
    category_totals = dict(q(con, "SELECT category, count(*) AS n FROM assurance WHERE round = $round GROUP BY 1",
                             round_).itertuples(index=False))
    optimistic = q(con, "SELECT s.plan_name, s.region_name, s.claimed, s.credible, s.optimism, a.category "
                        "FROM stress_test s JOIN assurance a USING (submission_id) WHERE s.round = $round "
                        "AND s.claimed > 0 ORDER BY s.credible > 0, s.optimism DESC, s.claimed DESC LIMIT 15", round_)
    scenarios = q(con, "SELECT scenario, sum(released) AS released, sum(at_risk) AS at_risk, "
                       "sum(borne_by_ccg) AS ccg, sum(borne_by_council) AS council, sum(uncovered) AS uncovered, "
                       "sum(unplanned_activity) AS unplanned FROM stress_scenarios WHERE round = $round GROUP BY 1 "
                       "ORDER BY scenario = 'trend', min(achieved) DESC", round_)
    nel = q(con, "SELECT r_pct FROM stress_test WHERE round = $round", round_)
    rules = q(con, "SELECT rule_id, severity, findings, files, example FROM findings_by_rule "
                   "WHERE round = $round LIMIT 10", round_)
    outstanding = q(con, "SELECT plan_name, region_name, status, blocking FROM submission_status "
                         "WHERE round = $round AND status IN ('missing', 'not ready') ORDER BY status, plan_name", round_)
    count, claimed, credible, s_nel, repriced = (totals[k] for k in ("n", "claimed", "credible", "s_nel", "repriced"))
    return {
        "round": rounds.get(round_), "today": dt.date.today().strftime("%d %B %Y"), "plans": int(count), "claimed": claimed,
        "credible": credible, "s_nel": s_nel, "repriced": repriced,
        "optimism": claimed / credible if credible else None, "by_region": by_region.to_dict("records"),
        "categories": [(c, category_totals.get(c, 0)) for c in CATEGORIES],
        "optimistic": optimistic.to_dict("records"), "scenarios": scenarios.to_dict("records"),
        "rules": rules.to_dict("records"), "outstanding": outstanding.to_dict("records"),
        "below_expected": int((nel["r_pct"] < p["nel_expected_reduction_pct"]).sum()),
        "mean_cut": float(nel["r_pct"].mean()),
        "charts": {"credible": Markup(charts.claimed_vs_credible(by_region, rounds.get(round_).year)),
                   "nel": Markup(charts.nel_distribution(nel["r_pct"], p["nel_expected_reduction_pct"], p["trend_growth"])),
                   "categories": Markup(charts.categories_by_region(categories))},
        "p": p, "params": [v for v in params.values() if v.section != "gate"],
        "track": track_report.national_section(con, round_),  # the round before's plans against what happened
    }


def write_national(con: duckdb.DuckDBPyConnection, out: Path, params: dict[str, Parameter], round_: str,
                   pdf: bool = True) -> list[Path]:
    """One round's national report as HTML (and PDF); returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    html = environment().get_template("national.html.j2").render(**national_context(con, params, round_))
    path = out / f"national-assurance-report-{round_}.html"
    path.write_text(html, encoding="utf-8")
    if not pdf:
        return [path]
    write_pdf(html, path.with_suffix(".pdf"))
    return [path, path.with_suffix(".pdf")]
