"""The central team's commands over the national store: batch, the national views, the stress test, letters,
reports, monitoring, peers and the track record. Each parses its options, calls one service of ``bcf.national``
and prints text or JSON."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bcf.cli.base import (
    console,
    db_option,
    df_table,
    echo_json,
    format_option,
    main,
    overrides_of,
    param_option,
    plan_code_of,
    return_option,
    round_option,
    round_params,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from bcf.validate import Report


BATCH_HELP = """Check every workbook under DIR and load the results into the national store.

Files are checked in parallel worker processes; a file that is damaged, too slow or crashes the
checker becomes a finding for that file and the batch goes on. Files already loaded (the same bytes,
same round) are skipped, so a stopped batch can simply be run again. A newer file for the same plan
becomes the current submission; the older one is kept as history.

Each file is read once: the bytes checked are the bytes whose hash is stored. A file that
vanishes or changes while it is read, and a load the disk has no space for, are reported and
recorded nowhere, so the next run checks them.

\b
Exit status: 0 the batch ran (whatever the files held); 1 it ran, but some files could not be
read or stored this time (run it again); 2 it could not run (for example the store is in use by
another batch, is not a bcf store, the disk is full, or DIR does not exist).
"""




@main.command("batch", help=BATCH_HELP)
@click.argument("folder", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@db_option
@click.option("--round", "round_", required=True, metavar="ROUND",
              help="The round these files were sent in for (see `bcf rounds`).")
@return_option("plan")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (default: one per core).")
@click.option("--timeout", type=click.FloatRange(1, 600), default=30, show_default=True, help="Seconds allowed per file.")
@format_option("json")
def batch_cmd(folder: Path, db: Path, round_: str, kind: str, workers: int | None, timeout: float, fmt: str) -> None:
    from bcf import rounds
    from bcf.batch import Limits, discover, run_batch
    from bcf.national.aggregate import batch_summary
    from bcf.national.door import open_store

    rounds.get(round_).ret(kind)
    with _progress(len(discover(folder)), quiet=fmt == "json") as tick:
        result = run_batch(folder, db, round_, kind, workers, Limits(seconds=timeout), progress=tick)
    with open_store(db) as nat:
        summary = batch_summary(nat, round_, kind)
    if fmt == "json":
        echo_json({"schema": "bcf-batch/1", "round": round_, "return": kind, "files": result.files, "checked": result.checked,
                    "already_loaded": result.already_loaded, "repeated": result.repeated, "not_stored": result.not_stored,
                    "history": result.history,
                    "summary": summary})
    else:
        _batch_text(folder, db, round_, kind, result, summary)
    if result.not_stored:
        sys.exit(1)


@contextmanager
def _progress(total: int, quiet: bool) -> Iterator[Callable[[str, Report], None]]:
    """A progress bar counting files by status as they are checked (nothing when printing JSON)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    counts = {"ready": 0, "not ready": 0, "unreadable": 0}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console(), transient=False, disable=quiet) as bar:
        task = bar.add_task("Checking", total=total)

        def tick(name: str, report: Report) -> None:
            counts[report.status] += 1
            bar.update(task, advance=1, description=(f"Files checked: ready {counts['ready']} · not ready "
                                                     f"{counts['not ready']} · unreadable {counts['unreadable']}"))
        yield tick


def _batch_text(folder: Path, db: Path, round_: str, kind: str, result: Any, summary: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.text import Text

    from bcf.shown import escaped

    out = console()
    by_status = ", ".join(f"{result.status[s]} {s}" for s in ("ready", "not ready", "unreadable") if result.status[s])
    out.print(f"\n[bold]{result.files} files[/bold] under {escape(escaped(str(folder)))}: {result.checked} checked now, "
              f"{result.already_loaded} already in the store"
              + (f", {result.repeated} the same bytes as another file here" if result.repeated else "")
              + (f". Checked now: {by_status}" if by_status else "")
              + f". {_coverage(round_, kind, summary['files'].iloc[0])}")
    unit = "plans" if kind == "plan" else "returns"
    df_table(f"{'Plans' if kind == 'plan' else 'Current quarterly returns'} by status — round {round_}",
             summary["status"].rename(columns={"files": unit}))
    missing = summary["missing"]["plan_name"].tolist()
    if missing:
        out.print(f"Missing plans ({len(missing)}): " + escape(escaped(", ".join(missing))))
    not_ready = summary["not_ready"]
    if len(not_ready):
        df_table(f"Not ready ({len(not_ready)}; the first 10, all of them with --format json)", not_ready.head(10))
    odd = summary["unreadable"]
    if len(odd):
        df_table(f"Files unreadable or tied to no plan ({len(odd)})",
                 odd.drop(columns=["period"] if kind == "plan" else []).fillna({"plan_name": "(none)"}))
    df_table("Findings by family and severity", summary["families"])
    df_table("The ten most frequent rules", summary["rules"])
    out.print(f"Store: {escape(escaped(str(db)))}")
    if result.history:
        out.print(f"\n[bold]{len(result.history)} file(s) checked now did not become current[/bold]: a file for the same "
                  "plan changed later is the current one. Send the file again, saved now, if it should be current:")
        for line in result.history:
            out.print(Text(f"  {escaped(line)}"))
    if result.not_stored:
        out.print(f"\n[bold]{len(result.not_stored)} entries in the folder could not be read or stored[/bold], and nothing "
                  "was recorded about them. Put right what each says; the next batch checks them:")
        for why in result.not_stored:
            out.print(Text(f"  {escaped(why)}"))


def _coverage(round_: str, kind: str, files: Any) -> str:
    """The round's coverage in one sentence: plans (or current returns) and the files tied to no plan."""
    from bcf import rounds
    from bcf.words import count, plural

    areas = len(rounds.get(round_).areas.plans())
    held = (f"a plan from {files['hwbs']} of its {areas} areas" if kind == "plan" else
            f"{count(files['current'])} current quarterly returns from {files['hwbs']} of its {areas} areas")
    untied = int(files["not_tied"])
    return (f"Round {round_} now has {held}"
            + (f"; {plural(untied, 'more file')} could not be tied to any plan (named below)" if untied else "") + ".")


@main.command("national")
@db_option
@round_option
@format_option("json")
def national_cmd(db: Path, round_: str | None, fmt: str) -> None:
    """Print a round's national headline tables from valid plans (current, no blocking findings)."""
    from bcf.national.aggregate import headlines
    from bcf.national.door import open_store

    with open_store(db) as nat:
        scope = nat.scope(round_)
        tables = headlines(nat, scope.round)
    if fmt == "json":
        echo_json({"schema": "bcf-national/1", "round": scope.round, "return": scope.kind,
                    "tables": dict(tables)})
        return
    for title, df in tables:
        df_table(f"{title} — round {scope.round}", df)


@main.command("export")
@db_option
@round_option
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "xlsx"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to write to.")
def export_cmd(db: Path, round_: str | None, fmt: str, output: Path) -> None:
    """Write a round's national views to files. Text that a spreadsheet would run as a formula is made plain text."""
    from bcf.national.aggregate import export
    from bcf.national.door import open_store

    with open_store(db) as nat:
        scope = nat.scope(round_)
        paths = export(nat, fmt, output, scope.round)
    click.echo(f"Wrote {len(paths)} {fmt} file(s) for round {scope.round} to {output}")




@main.command("stress")
@db_option
@round_option
@param_option
@format_option("json")
@click.option("--assumptions", "show_assumptions", is_flag=True, help="Also list every assumption used, with its source.")
def stress_cmd(db: Path, round_: str | None, overrides: tuple[str, ...], fmt: str, show_assumptions: bool) -> None:
    """Stress-test every current plan's savings in a round and decide its assurance category."""
    from bcf.national.assurance import assure, plans

    with assure(db, round_, overrides_of(overrides)) as done:
        every = plans(done.nat, done.round)
    if fmt == "json":
        echo_json({"schema": "bcf-stress/1", "round": done.round, "national": done.summary, "plans": every,
                    "overridden": [p.name for p in done.params.overridden()]})
        return
    from bcf.words import money, plural, ratio

    t = done.summary
    console().print(f"[bold]Round {done.round}: {plural(t.plans, 'plan')} {'claims' if t.plans == 1 else 'claim'} "
                    f"{money(t.claimed)} of savings; {money(t.credible)} "
                    f"is backed by evidence (optimism ratio {ratio(t.claimed, t.credible)}).[/bold]", highlight=False)
    import pandas as pd

    df_table(f"Assurance categories — round {done.round}",
              pd.DataFrame([{"category": c, "plans": n} for c, n in t.categories.items()]))
    top = sorted((p for p in every if p["claimed"] > 0),
                 key=lambda p: (p["credible"] > 0, -(p["optimism"] or 0), -p["claimed"]))[:10]
    df_table("The most optimistic plans (£000)", pd.DataFrame(
        [{"plan": p["plan_name"], "claimed": p["claimed"], "backed": p["credible"],
          "optimism": ratio(p["claimed"], p["credible"])} for p in top]))
    changed = done.params.overridden()
    if changed:
        console().print("A what-if, changed for this run: " + "; ".join(f"{p.name} = {p.value} (the round's own: "
                                                                        f"{p.was})" for p in changed)
                        + ". The round's stored results are unchanged.", highlight=False)
    if show_assumptions:
        df_table("Assumptions used", pd.DataFrame([{"parameter": p.name, "value": str(p.value), "source": p.source}
                                                    for p in done.params.values() if p.section != "gate"]))
    else:
        console().print("The assumptions and their sources: bcf stress --assumptions", highlight=False)


@main.command("letters")
@db_option
@round_option
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the letters (each round's go in a folder of their own inside it).")
@click.option("--hwb", "plan", metavar="CODE|NAME", help="Only this plan's letter.")
@click.option("--pdf/--no-pdf", default=True, show_default=True, help="Also print each letter to PDF.")
@param_option
def letters_cmd(db: Path, round_: str | None, output: Path, plan: str | None, pdf: bool, overrides: tuple[str, ...]) -> None:
    """Write a feedback letter to each Health and Wellbeing Board: category, what to fix, savings stress-tested."""
    from bcf.letters import write_letters
    from bcf.national.assurance import assure

    start = time.perf_counter()
    with assure(db, round_, overrides_of(overrides)) as done:
        code = plan_code_of(done.round, plan) if plan else None
        paths = write_letters(done.nat, output, done.params, done.round, code, pdf)
    letters = sum(p.suffix == ".html" and p.name != "index.html" for p in paths)
    folder = output / done.round
    click.echo(f"Wrote {letters} letter(s) for round {done.round}{' as HTML and PDF' if pdf else ''} to {folder} in "
               f"{time.perf_counter() - start:.1f}s. Open {folder / 'index.html' if letters > 1 else paths[0]}")


@main.group()
def report() -> None:
    """Reports for the central team."""


@report.command("national")
@db_option
@round_option
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder for the report.")
@click.option("--pdf/--no-pdf", default=True, show_default=True, help="Also print the report to PDF.")
@param_option
def report_national(db: Path, round_: str | None, output: Path, pdf: bool, overrides: tuple[str, ...]) -> None:
    """A round's national assurance report: categories, claimed against credible savings, money at risk."""
    from bcf.national.assurance import assure
    from bcf.report import write_national

    with assure(db, round_, overrides_of(overrides)) as done:
        paths = write_national(done.nat, output, done.params, done.round, pdf)
    click.echo(f"Wrote round {done.round}'s report: " + " and ".join(str(p) for p in paths))


MONITOR_HELP = """Print the national picture of emergency admissions against plan, from the quarterly returns.

With the quarters reported so far, each plan's year and the nation's are projected, with a range, and
the plans whose money at risk is beyond their contingency, or whose narrative does not explain a
variance, are listed. --quarter 1 is the first quarter of the plan period (the first quarterly return).
The default round is the latest that has quarterly returns.
"""


@main.command("monitor", help=MONITOR_HELP)
@db_option
@round_option
@click.option("--quarter", metavar="N|LABEL", help="Up to which quarter: 1-4 (Q1-Q4) or its label as in the return's list "
              "(default: the latest held).")
@click.option("--backtest", "seeds", type=click.IntRange(1, 200), metavar="YEARS",
              help="Instead, compare the projection methods on this many synthetic years and print their errors.")
@param_option
@format_option("json")
def monitor_cmd(db: Path, round_: str | None, quarter: str | None, seeds: int | None, overrides: tuple[str, ...],
                fmt: str) -> None:
    from bcf.national import monitor
    from bcf.national.monitor import monitoring

    if seeds:
        from bcf.national.door import open_store

        with open_store(db) as nat:
            scope = nat.scope(round_, "quarterly")
        df_table(f"Projection error on {seeds} synthetic years, % of the year's admissions above plan",
                  monitor.summarise(monitor.backtest(scope.round, range(1, seeds + 1))))
        return
    m = monitoring(db, round_, quarter, overrides_of(overrides))
    if fmt == "json":
        echo_json(m.as_dict())
        return
    console().print(m.headline(), highlight=False)
    df_table(f"Plans to watch ({len(m.watch)}; the 15 with most beyond their contingency; £000)", m.watch[
        ["plan_name", "projected_gap", "at_risk_000", "contingency", "beyond_000", "why"]].head(15))


@report.command("monitoring")
@db_option
@round_option
@click.option("--quarter", metavar="N|LABEL", help="Up to which quarter (default: the latest held).")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the report and the areas' notes (in ROUND/quarter-N/ inside it).")
@click.option("--pdf/--no-pdf", default=True, show_default=True, help="Also print the report to PDF.")
@param_option
def report_monitoring(db: Path, round_: str | None, quarter: str | None, output: Path, pdf: bool,
                      overrides: tuple[str, ...]) -> None:
    """The quarter's monitoring report (plan against actual, early warning, money at risk) and a note per area."""
    from bcf.monitoring_report import write_monitoring
    from bcf.national.door import open_store
    from bcf.national.monitor import pick_quarter

    with open_store(db) as nat:
        scope = nat.scope(round_, "quarterly")
        upto = pick_quarter(nat, scope.round, quarter)
        params = round_params(scope.round, overrides)
        paths = write_monitoring(nat, output, scope.round, upto, params, pdf)
    notes = sum(p.name.startswith("note-") and p.suffix == ".html" for p in paths)
    click.echo(f"Wrote round {scope.round}'s monitoring report to quarter {upto} and {notes} area notes: {paths[0]}")


@report.command("site")
@db_option
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the whole set (an index.html at its top).")
@click.option("--pdf/--no-pdf", default=True, show_default=True, help="Also print every page to PDF.")
def report_site(db: Path, output: Path, pdf: bool) -> None:
    """Everything the store supports under one index page: every round's national report, letters and export, and
    every quarter's monitoring report and area notes, each page linked to the index and its neighbours."""
    from bcf.site import write_site

    start = time.perf_counter()
    index = write_site(db, output, pdf)
    click.echo(f"Wrote every report in {time.perf_counter() - start:.0f}s. Open {index}")




@main.command("peers")
@db_option
@round_option
@click.option("--hwb", "plan", metavar="CODE|NAME", required=True, help="The plan, by HWB name or ONS code.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def peers_cmd(db: Path, round_: str | None, plan: str, fmt: str) -> None:
    """A plan's peer group and its key ratios (savings as a share of the pool, the planned cut in emergency
    admissions, the unit cost of an avoided admission, admissions per 1,000 people, care-home admissions per
    100,000 aged 65+) as percentiles among its peers and among every valid plan."""
    from bcf.national.door import open_store
    from bcf.national.peers import peers_for

    with open_store(db) as national:
        pp = peers_for(national, plan, round_)
    if fmt == "json":
        echo_json(pp.as_dict())
        return
    from rich.table import Table

    if pp.peers:
        console().print(f"{pp.name} ({pp.plan_code}), round {pp.round}. Peers, nearest first: "
                        + ", ".join(p.name + (f" ({p.left_out})" if p.left_out else "") for p in pp.peers) + ".")
    else:
        console().print(f"{pp.name} ({pp.plan_code}), round {pp.round}, has no peer group, as {pp.why_none}: its "
                        "ratios are set against every valid plan only.")
    console().print(f"Peer groups: {pp.method}.")
    table = Table("Ratio", "This plan", "Peers' median", "Percentile among peers", "Percentile nationally")
    for s in pp.standings:
        table.add_row(s.label, s.shown, s.median_shown, _pct(s.peer_percentile), _pct(s.national_percentile))
    console().print(table)
    for s in pp.standings if pp.peers else ():
        console().print(s.sentence())


def _pct(p: float | None) -> str:
    return "" if p is None else f"{p:.0f}"


@main.command("track-record")
@db_option
@click.option("--round", "round_", metavar="ROUND",
              help="The round whose plans to score (default: the latest with a complete year of quarterly returns).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def track_record_cmd(db: Path, round_: str | None, fmt: str) -> None:
    """Score each plan of a round as a forecast: planned against actual emergency admissions, bias, skill against
    two naive baselines (above 1: the baseline did better), savings planned against realised."""
    from bcf.national import door, track_record

    with door.open_store(db) as national:
        tr = track_record.scores(national, round_)
    if fmt == "json":
        echo_json(track_record.as_json(tr))
        return
    import pandas as pd

    for line in track_record.summary(tr):
        console().print(line)
    columns = ["name", "plans", "error", "pct_error", "skill_flat", "skill_trend"]
    df_table(f"Round {tr.round}: emergency admissions against plan, by region",
              pd.DataFrame([{c: getattr(s, c) for c in columns} for s in (*tr.regions, tr.national)]).round(2))
    worst = sorted(tr.plans, key=lambda s: -(s.pct_error or 0))[:10]
    df_table("The plans furthest above plan", pd.DataFrame([{c: getattr(s, c) for c in columns} for s in worst]).round(2))

