"""The monitoring report for one quarter: the national picture of plan against actual, the early warning,
the plans to watch, and a feedback note to each area on what its actuals show and what to explain.

Every figure comes from the store's ``plan_vs_actual`` view through ``bcf.monitor``, so the report and
``bcf monitor`` cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
from markupsafe import Markup

from bcf import charts, monitor, rounds, track_report
from bcf.render import environment, write_pdf


def context(con: duckdb.DuckDBPyConnection, round_: str, upto: int) -> dict[str, Any]:
    """Everything the monitoring report says."""
    rnd = rounds.get(round_)
    nat = monitor.national(con, round_, upto)
    plans = monitor.warnings(con, round_, upto)
    by_quarter = con.execute("SELECT * FROM national_by_quarter WHERE round = ? AND quarter_no <= ?", [round_, upto]).df()
    by_region = con.execute("SELECT region_name, sum(planned) AS planned, sum(actual) AS actual FROM region_by_quarter "
                            "WHERE round = ? AND quarter_no <= ? GROUP BY 1", [round_, upto]).df()
    plans["variance_pct"] = 100 * (plans["actual_to_date"] - plans["planned_to_date"]) / plans["planned_to_date"]
    explain = rnd.values()["checks"]["variance_explain_pct"]
    watch = plans[plans["beyond_contingency"] | plans["narrative_silent"]].sort_values("at_risk_000", ascending=False)
    return {
        "round": rnd, "n": nat, "today": dt.date.today().strftime("%d %B %Y"), "by_quarter": by_quarter.to_dict("records"),
        "watch": watch.to_dict("records"), "beyond": int(plans["beyond_contingency"].sum()),
        "silent": int(plans["narrative_silent"].sum()), "at_risk": float(plans["at_risk_000"].sum()),
        "gap_cost": float(plans["gap_cost_000"].sum()), "p": {k: v.value for k, v in rnd.params().items()},
        "charts": {"trend": Markup(charts.planned_vs_actual(by_quarter)),
                   "regions": Markup(charts.variance_by_region(by_region)),
                   "spread": Markup(charts.variance_distribution(plans["variance_pct"], explain)),
                   "risk": Markup(charts.money_at_risk(plans))},
        "track": track_report.monitoring_section(con, round_, upto),  # at the last quarter: the plans scored
    }


def write_monitoring(con: duckdb.DuckDBPyConnection, out: Path, round_: str, upto: int, pdf: bool = True) -> list[Path]:
    """The quarter's monitoring report (HTML and PDF) and one feedback note per area; returns the files written."""
    ctx = context(con, round_, upto)
    folder = out / round_ / f"quarter-{upto}"
    (folder / "notes").mkdir(parents=True, exist_ok=True)
    html = environment().get_template("monitoring.html.j2").render(**ctx)
    report = folder / "monitoring-report.html"
    report.write_text(html, encoding="utf-8")
    written = [report]
    note = environment().get_template("monitoring_note.html.j2")
    for plan in monitor.warnings(con, round_, upto).to_dict("records"):
        path = folder / "notes" / f"note-{plan['plan_code']}.html"
        path.write_text(note.render(plan=plan, n=ctx["n"], round=ctx["round"], today=ctx["today"], p=ctx["p"]),
                        encoding="utf-8")
        written.append(path)
    if pdf:
        write_pdf(html, report.with_suffix(".pdf"))
        written.append(report.with_suffix(".pdf"))
    return written
