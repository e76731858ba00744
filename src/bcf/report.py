"""The national assurance report: categories, claimed against credible savings, ambition, money at risk.

Every national figure comes from ``bcf.national.summary`` (the same figures ``bcf stress`` prints and the console
shows), and every other from a named query of the assurance service.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from markupsafe import Markup

from bcf import charts, rounds, track_report
from bcf.national.door import National
from bcf.national.peers import outliers
from bcf.national.summary import summary
from bcf.params import Assumptions
from bcf.render import Nav, environment, write_pdf

APPENDIX = ("stress", "assurance")  # the sections of assumptions the national figures rest on


def national_context(nat: National, params: Assumptions, round_: str) -> dict[str, Any]:
    """Everything the national report says, from the assurance service's figures."""
    p = params.v
    t = summary(nat, round_)
    by_region = nat.frame("assurance.by_region", round=round_)
    cuts = nat.frame("assurance.cuts", round=round_)["r_pct"]
    return {
        "round": rounds.get(round_), "today": dt.date.today().strftime("%d %B %Y"), "t": t,
        "plans": t.plans, "claimed": t.claimed, "credible": t.credible, "s_nel": t.s_nel, "repriced": t.repriced,
        "optimism": t.optimism, "by_region": by_region.to_dict("records"),
        "categories": list(t.categories.items()),
        "optimistic": nat.rows("assurance.most_optimistic", round=round_, top=15),
        "scenarios": nat.rows("assurance.scenarios", round=round_),
        "rules": nat.rows("assurance.commonest_rules", round=round_, kind="plan", top=10),
        "outstanding": nat.rows("assurance.outstanding", round=round_),
        "below_expected": int((cuts < p["nel_expected_reduction_pct"]).sum()),
        "charts": {"credible": Markup(charts.claimed_vs_credible(by_region, rounds.get(round_).year)),
                   "nel": Markup(charts.nel_distribution(cuts, p["nel_expected_reduction_pct"], p["trend_growth"])),
                   "categories": Markup(charts.categories_by_region(
                       nat.frame("assurance.categories_by_region", round=round_)))},
        "p": p, "params": [v for v in params.values() if v.section in APPENDIX or v.name == "nel_expected_reduction_pct"],
        "what_if": params.overridden(),
        "peer_outliers": outliers(nat, round_, p["peer_outlier_pct"]),  # reports/_peer_outliers.html.j2
        "track": track_report.national_section(nat, round_),  # the round before's plans against what happened
    }


def write_national(nat: National, out: Path, params: Assumptions, round_: str,
                   pdf: bool = True, nav: Nav = ()) -> list[Path]:
    """One round's national report as HTML (and PDF); returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    html = environment().get_template("national.html.j2").render(**national_context(nat, params, round_), nav=nav)
    path = out / f"national-assurance-report-{round_}.html"
    path.write_text(html, encoding="utf-8")
    if not pdf:
        return [path]
    write_pdf(html, path.with_suffix(".pdf"))
    return [path, path.with_suffix(".pdf")]
