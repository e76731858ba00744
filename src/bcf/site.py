"""The front door: every output a store supports, written under one folder with one index page.

For each round with plans: the stress test is run, then the national report, the letters and the export; for each
round with quarterly returns: the monitoring report and its area notes for every quarter held. Every page links
back to the index and to its neighbours (the report to the letters, the letters to the report, a note to its
report), so a reader never types a path.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from bcf import rounds
from bcf.letters import write_letters
from bcf.monitoring_report import write_monitoring
from bcf.national import monitor
from bcf.national.aggregate import export
from bcf.national.assurance import assure
from bcf.national.door import open_store
from bcf.render import environment
from bcf.report import write_national
from bcf.words import plural


@dataclass
class RoundPages:
    """What the site holds for one round: (words, address from the index) of each output."""

    round: rounds.Round
    assurance: list[tuple[str, str]] = field(default_factory=list)
    monitoring: list[tuple[str, str]] = field(default_factory=list)
    summary: str = ""


def write_site(db: Path, out: Path, pdf: bool = True) -> Path:
    """Write every output of the store under ``out`` and its index page; returns the index page."""
    with open_store(db) as nat:
        planned, quarterly = nat.rounds_with("plan"), nat.rounds_with("quarterly")
        pages = {r: RoundPages(rounds.get(r)) for r in nat.rounds_with() if r in planned or r in quarterly}
    for r in planned:
        _assurance(db, out, r, pages[r], pdf)
    for r in quarterly:
        _monitoring(db, out, r, pages[r], pdf)
    index = out / "index.html"
    index.write_text(environment().get_template("site_index.html.j2").render(
        rounds=list(pages.values())[::-1], today=dt.date.today().strftime("%d %B %Y"), pdf=pdf), encoding="utf-8")
    return index


def _assurance(db: Path, out: Path, round_: str, pages: RoundPages, pdf: bool) -> None:
    report = f"report/national-assurance-report-{round_}.html"
    letters = f"letters/{round_}/index.html"
    with assure(db, round_) as done:
        write_national(done.nat, out / "report", done.params, round_, pdf,
                       nav=[("All reports", "../index.html"), ("The letters", f"../{letters}")])
        written = write_letters(done.nat, out / "letters", done.params, round_, pdf=pdf,
                                nav=[("All reports", "../../index.html"), ("The national report", f"../../{report}")])
        export(done.nat, "xlsx", out / "export", round_)
        t = done.summary
    n_letters = sum(p.suffix == ".html" and p.name != "index.html" for p in written)
    pages.summary = (f"{plural(t.plans, 'plan')} assured: " + ", ".join(
        f"{n} {c.lower()}" for c, n in t.categories.items() if n) + ".")
    pages.assurance = [("National assurance report", report), (f"Feedback letters ({n_letters})", letters),
                       ("The national figures as a workbook", f"export/bcf-national-{round_}.xlsx")]


def _monitoring(db: Path, out: Path, round_: str, pages: RoundPages, pdf: bool) -> None:
    """Every quarter the round holds: its monitoring report and area notes."""
    params = rounds.get(round_).params()
    with open_store(db) as nat:
        for quarter, period in monitor.quarters_held(nat, round_):
            write_monitoring(nat, out / "monitoring", round_, quarter, params, pdf,
                             nav=[("All reports", "../../../index.html")])
            folder = f"monitoring/{round_}/quarter-{quarter}"
            pages.monitoring += [(f"Quarter {quarter} ({period}): monitoring report", f"{folder}/monitoring-report.html"),
                                 (f"Quarter {quarter}: area notes", f"{folder}/notes/index.html")]
