"""The monitoring report for one quarter: the national picture of plan against actual, the early warning,
the plans to watch, and a feedback note to each area on what its actuals show and what to explain.

Every figure comes from the store's ``plan_vs_actual`` view through ``bcf.national.monitor``, so the report and
``bcf monitor`` cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from markupsafe import Markup

from bcf import charts, rounds
from bcf.national import monitor
from bcf.national.door import National
from bcf.params import Assumptions
from bcf.render import environment, write_pdf

WATCH_TOP = 20  # the plans to watch the report lists; the rest are in its notes and in `bcf monitor --format json`


def context(nat: National, round_: str, upto: int, params: Assumptions) -> dict[str, Any]:
    """Everything the monitoring report says."""
    rnd = rounds.get(round_)
    n = monitor.national(nat, round_, upto, params)
    plans = monitor.warnings(nat, round_, upto, params)
    quarters = monitor.by_quarter(nat, round_, upto)
    watch = plans[plans["beyond_contingency"] | plans["narrative_silent"]]
    return {
        "round": rnd, "n": n, "today": dt.date.today().strftime("%d %B %Y"), "by_quarter": quarters.to_dict("records"),
        "watch": watch.head(WATCH_TOP).to_dict("records"), "watching": len(watch),
        "beyond": int(plans["beyond_contingency"].sum()),
        "silent": int(plans["narrative_silent"].sum()), "at_risk": float(plans["at_risk_000"].sum()),
        "gap_cost": float(plans["gap_cost_000"].sum()), "p": params.v, "plans": plans,
        "charts": {"trend": Markup(charts.planned_vs_actual(quarters)),
                   "regions": Markup(charts.variance_by_region(monitor.by_region(nat, round_, upto))),
                   "spread": Markup(charts.variance_distribution(plans["variance_pct"], params.v["variance_explain_pct"])),
                   "risk": Markup(charts.money_at_risk(plans))},
    }


def write_monitoring(nat: National, out: Path, round_: str, upto: int, params: Assumptions,
                     pdf: bool = True) -> list[Path]:
    """The quarter's monitoring report (HTML and PDF) and one feedback note per area; returns the files written."""
    ctx = context(nat, round_, upto, params)
    folder = out / round_ / f"quarter-{upto}"
    (folder / "notes").mkdir(parents=True, exist_ok=True)
    html = environment().get_template("monitoring.html.j2").render(**ctx)
    report = folder / "monitoring-report.html"
    report.write_text(html, encoding="utf-8")
    written = [report]
    note = environment().get_template("monitoring_note.html.j2")
    for plan in ctx["plans"].to_dict("records"):
        path = folder / "notes" / f"note-{plan['plan_code']}.html"
        path.write_text(note.render(plan=plan, n=ctx["n"], round=ctx["round"], today=ctx["today"], p=ctx["p"]),
                        encoding="utf-8")
        written.append(path)
    if pdf:
        write_pdf(html, report.with_suffix(".pdf"))
        written.append(report.with_suffix(".pdf"))
    return written
