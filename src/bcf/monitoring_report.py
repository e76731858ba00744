"""The monitoring report for one quarter: the national picture of plan against actual, the early warning,
the plans to watch, and a feedback note to each area on what its actuals show and what to explain.

Every figure comes from the store's ``plan_vs_actual`` view through ``bcf.national.monitor``, so the report and
``bcf monitor`` cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import os
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from markupsafe import Markup

from bcf import charts, rounds, track_report
from bcf.national import monitor
from bcf.national.door import National
from bcf.params import Assumptions
from bcf.render import Nav, environment, printing

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
        "track": track_report.monitoring_section(nat, round_, upto),  # at the last quarter: the plans scored
    }


def write_monitoring(nat: National, out: Path, round_: str, upto: int, params: Assumptions,
                     pdf: bool = True, nav: Nav = ()) -> list[Path]:
    """The quarter's monitoring report and one feedback note per area with an index of them (HTML, and PDF
    when asked); returns the files written, the report first."""
    ctx = context(nat, round_, upto, params)
    folder = out / round_ / f"quarter-{upto}"
    (folder / "notes").mkdir(parents=True, exist_ok=True)
    html = environment().get_template("monitoring.html.j2").render(**ctx, nav=[("The area notes", "notes/index.html"),
                                                                              *nav])
    report = folder / "monitoring-report.html"
    report.write_text(html, encoding="utf-8")
    written, printed = [report], []
    up = [("The monitoring report", "../monitoring-report.html"), ("All the area notes", "index.html"),
          *((label, "../" + href) for label, href in nav)]
    note = environment().get_template("monitoring_note.html.j2")
    plans = ctx["plans"].sort_values("plan_name").to_dict("records")
    with printing(min(len(plans), os.cpu_count() or 1)) if pdf and plans else nullcontext() as print_pdf:
        for plan in plans:
            path = folder / "notes" / f"note-{plan['plan_code']}.html"
            page = note.render(plan=plan, n=ctx["n"], round=ctx["round"], today=ctx["today"], p=ctx["p"], nav=up)
            path.write_text(page, encoding="utf-8")
            written.append(path)
            if print_pdf:
                print_pdf(page, path.with_suffix(".pdf"))
                printed.append(path.with_suffix(".pdf"))
        index = folder / "notes" / "index.html"
        index.write_text(environment().get_template("monitoring_notes_index.html.j2").render(
            plans=plans, n=ctx["n"], round=ctx["round"], today=ctx["today"], pdf=pdf, nav=up[:1] + up[2:]),
            encoding="utf-8")
        written.append(index)
        if print_pdf:
            print_pdf(html, report.with_suffix(".pdf"))
            printed.append(report.with_suffix(".pdf"))
    return written + printed
