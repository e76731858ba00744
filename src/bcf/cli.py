"""The ``bcf`` command. Each command parses its options, calls one library function and prints."""

from __future__ import annotations

import json
import re
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bcf.errors import BcfError, CheckerFault

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from rich.console import Console

    from bcf.params import Assumptions
    from bcf.validate import Report


def console() -> Console:
    """rich is imported only by the commands that print tables (it costs start-up time)."""
    from rich.console import Console

    return Console()


class _OutputFile(click.Path):
    """A file to write: its folder must already exist, which is checked before any work is done."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = Path(str(super().convert(value, param, ctx)))
        if not path.parent.is_dir():
            self.fail(f"the folder {path.parent} does not exist. Create it, or choose another place to write to.",
                      param, ctx)
        return path


def _db_option(f: Callable[..., None]) -> Callable[..., None]:
    return click.option("--db", type=click.Path(dir_okay=False, path_type=Path), required=True,
                        help="The national store (DuckDB file).")(f)


def _round_option(f: Callable[..., None]) -> Callable[..., None]:
    return click.option("--round", "round_", metavar="ROUND",
                        help="The round to show (default: the latest round in the store). See `bcf rounds`.")(f)


def _param_option(f: Callable[..., None]) -> Callable[..., None]:
    return click.option("--param", "overrides", multiple=True, metavar="NAME=VALUE",
                        help="Override one assumption of the round's parameters for this run, e.g. unit_cost=1550.")(f)


def _return_option(default: str | None) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option("--return", "kind", type=click.Choice(["plan", "quarterly"]), default=default,
                        show_default=default is not None, help="Which return of the round.")


class _Group(click.Group):
    """Turns the library's errors into one sentence and their exit status, in one place for every command; lists
    the commands in the order a user meets them in the round, each with its whole first sentence."""

    ORDER = ("template", "check", "batch", "national", "stress", "letters", "report", "export", "monitor", "diff",
             "changes", "decisions", "decide", "serve", "users", "rounds", "rules", "samples", "read")

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(super().list_commands(ctx), key=lambda n: (self.ORDER.index(n) if n in self.ORDER else 99, n))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        commands = [(n, c) for n in self.list_commands(ctx) if (c := self.get_command(ctx, n)) and not c.hidden]
        if commands:
            with formatter.section("Commands"):
                formatter.write_dl([(n, c.short_help or self.first_sentence(c.help or "")) for n, c in commands])

    @staticmethod
    def first_sentence(text: str) -> str:
        """The help's first sentence whole (a "..." inside it is not its end)."""
        words = " ".join(text.split("\n\n")[0].split())
        end = re.search(r"(?<!\.)\.(?!\.)(\s|$)", words)
        return words[:end.start() + 1] if end else words

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BcfError as e:
            raise _Failed(str(e)) from e
        except OSError as e:  # a file or folder named on the command line that cannot be used
            if e.filename is None:
                raise
            raise _Failed(_os_problem(Path(str(e.filename)), e)) from e
        except CheckerFault as e:
            raise _Fault(f"bcf itself failed ({e}). This is a fault in bcf, not in your file; please report it.") from e


def _os_problem(path: Path, e: OSError) -> str:
    if isinstance(e, FileNotFoundError) and not path.parent.exists():
        return f"The folder {path.parent} does not exist. Create it, or choose another place to write to."
    return f"Could not use {path}: {(e.strerror or str(e)).lower()}. Choose another file or folder."


class _Failed(click.ClickException):
    """A command that could not do its job: one sentence on standard error, exit status 2."""

    exit_code = BcfError.exit_code


class _Fault(click.ClickException):
    """bcf itself failed: never reported as a problem with the user's file (exit status 3)."""

    exit_code = CheckerFault.exit_code


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="bcf")
def main() -> None:
    """Better Care Fund planning round tools.

    Make the blank planning template, check a completed workbook before you submit it, and (for the
    central team) validate every submission, build the national picture and stress-test the savings.
    """


CHECK_HELP = """Check a completed workbook (a plan or a quarterly return) before you submit it.

Prints every problem found, grouped by sheet then rule, with its cell, what was found, what was
expected and how to fix it, then a summary line. The workbook is checked against the round and return
its template belongs to; --round and --return say what it must be (a workbook of another round or
return is then refused).

\b
Exit status:
  0  no blocking problems: ready to submit
  1  blocking problems found: fix them before you submit
  2  the file could not be checked (not a workbook, damaged, password protected, not the
     template), or the command was used wrongly
"""


def _outputs_apart(source: Path, outputs: dict[str, Path | None]) -> None:
    """Refuse an output that is the input, or another output, as a file (a link or another path to it included)."""
    import os

    seen: dict[str, Path] = {"the workbook being checked": source}
    for option, out in outputs.items():
        if out is None:
            continue
        for what, other in seen.items():
            same = (os.path.samefile(out, other) if out.exists() and other.exists()
                    else out.resolve() == other.resolve())
            if same:
                raise click.UsageError(f"{option} {out} is {what}. Choose a new file name for it.")
        seen[f"also given to {option}"] = out


@main.command("check", help=CHECK_HELP)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text", show_default=True,
              help="text for reading, json for scripts, html for a page to share.")
@click.option("-o", "--output", type=_OutputFile(), help="Write the report to this file.")
@click.option("--annotate", type=_OutputFile(), metavar="OUT.xlsx",
              help="Also write a copy of the workbook with each problem marked in its cell.")
@click.option("--round", "round_", metavar="ROUND", help="The round the workbook must belong to (see `bcf rounds`).")
@_return_option(None)
def check_cmd(file: Path, fmt: str, output: Path | None, annotate: Path | None, round_: str | None,
              kind: str | None) -> None:
    import io

    from bcf import intake, rounds
    from bcf.present import FORMATS, verdict
    from bcf.preview import preview
    from bcf.validate import check_file
    from bcf.validate.gate import max_bytes

    if round_:
        rounds.get(round_).ret(kind or "plan")
    _outputs_apart(file, {"-o": output, "--annotate": annotate})
    snap = intake.read(file, keep=max_bytes())  # checked and marked up from the same bytes
    report = check_file(snap, round_, kind)
    pv = preview(report)
    text = FORMATS[fmt](report, pv)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"Wrote the {fmt} report to {output}. {verdict(report, pv)}")
    else:
        click.echo(text)
    if annotate:
        if report.submission is None or report.stopped:
            click.echo("No annotated copy: the file could not be read.", err=True)
        else:
            from bcf.annotate import annotate as write_annotated

            try:
                n = write_annotated(io.BytesIO(snap.data or b""), report, annotate, pv)
            except Exception as e:  # the check stands without its copy; the copy's failure changes no verdict
                click.echo(f"No annotated copy: it could not be written ({type(e).__name__}). The findings above "
                           "are complete.", err=True)
                sys.exit(report.exit_code)
            click.echo(f"Wrote an annotated copy to {annotate} ({n} cells marked; the original is unchanged).",
                       err=fmt != "text")
    sys.exit(report.exit_code)


SERVE_HELP = """Run the self-check web page, where an officer uploads a workbook and sees what `bcf check` finds.

Listens on 127.0.0.1 (this computer only) unless --host says otherwise; to offer it to others, run it
behind a web server that adds HTTPS (see docs/web.md). Uploads are deleted as soon as they are
checked; the marked-up copy and the findings are kept for --keep-minutes, then deleted.
"""


@main.command("serve", help=SERVE_HELP)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--keep-minutes", type=click.FloatRange(1, 24 * 60), default=15, show_default=True,
              help="How long the downloads of each result are kept.")
@click.option("--timeout", type=click.FloatRange(1, 600), default=30, show_default=True, help="Seconds allowed per file.")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="Files checked at the same time.")
@click.option("--root-path", default="", metavar="PREFIX", help="The path the page is served under behind a proxy, e.g. /bcf.")
@click.option("--round", "round_", metavar="ROUND", help="The round whose plan template the page offers (default: the latest).")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path),
              help="The national store: with --users, opens the assurers' console at /console.")
@click.option("--users", type=click.Path(dir_okay=False, path_type=Path), help="The console's accounts file (bcf users add).")
@click.option("--secure-cookies", is_flag=True, help="Send the console's session cookie over HTTPS only (behind a proxy).")
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path), envvar="BCF_STATE",
              help="The console's state file: sessions, sign-in attempts, decisions (default: beside the store).")
@click.option("--trusted-proxy", "proxies", multiple=True, metavar="ADDRESS",
              help="A proxy whose X-Forwarded-For is believed (repeat for several). Without it the address a "
                   "request comes from is the connection's.")
def serve_cmd(host: str, port: int, keep_minutes: float, timeout: float, workers: int, root_path: str,
              round_: str | None, db: Path | None, users: Path | None, secure_cookies: bool, state: Path | None,
              proxies: tuple[str, ...]) -> None:
    import logging

    import uvicorn

    from bcf.web import Settings, create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from bcf import rounds

    if round_:
        rounds.get(round_).ret("plan")
    from bcf.errors import BcfError
    from bcf.web.console import ConsoleSettings

    if bool(db) != bool(users):
        raise BcfError("The console needs both --db (the national store) and --users (the accounts file).")
    if db and not db.exists():
        raise BcfError(f"There is no store at {db}. Run `bcf batch` first.")
    console = ConsoleSettings(db, users, secure_cookies=secure_cookies, state=state,
                              trusted_proxies=frozenset(proxies)) if db and users else None
    app = create_app(Settings(keep_minutes=keep_minutes, check_seconds=timeout, workers=workers, round_id=round_,
                              console=console))
    click.echo(f"Open http://{host}:{port}{root_path}/ in a browser. Press Ctrl+C to stop.")
    # uvicorn's own proxy headers are off: it would believe X-Forwarded-For from 127.0.0.1 (--trusted-proxy decides)
    uvicorn.run(app, host=host, port=port, root_path=root_path, log_level="info", server_header=False,
                proxy_headers=False)


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


def _df_table(title: str, df: object) -> None:
    import pandas as pd
    from rich.table import Table
    from rich.text import Text

    from bcf.findings import show
    from bcf.render import heading
    from bcf.shown import escaped

    assert isinstance(df, pd.DataFrame)
    table = Table(*[heading(str(c)) for c in df.columns], title=Text(title), title_justify="left")
    for row in df.itertuples(index=False):  # Text, not str: what a submitter typed is never console markup
        table.add_row(*[Text(escaped(show(v))) if not isinstance(v, float) or v == v else "" for v in row])
    console().print(table)


def _format_option(*choices: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option("--format", "fmt", type=click.Choice(["text", *choices]), default="text", show_default=True,
                        help="text for reading, json for scripts.")


def _echo_json(data: Any) -> None:
    from bcf.jsonout import dumps

    click.echo(dumps(data))


@main.command("batch", help=BATCH_HELP)
@click.argument("folder", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_db_option
@click.option("--round", "round_", required=True, metavar="ROUND",
              help="The round these files were sent in for (see `bcf rounds`).")
@_return_option("plan")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (default: one per core).")
@click.option("--timeout", type=click.FloatRange(1, 600), default=30, show_default=True, help="Seconds allowed per file.")
@_format_option("json")
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
        _echo_json({"schema": "bcf-batch/1", "round": round_, "return": kind, "files": result.files, "checked": result.checked,
                    "already_loaded": result.already_loaded, "not_stored": result.not_stored, "summary": summary})
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
            bar.update(task, advance=1, description=(f"ready {counts['ready']} · not ready {counts['not ready']}"
                                                     f" · unreadable {counts['unreadable']}"))
        yield tick


def _batch_text(folder: Path, db: Path, round_: str, kind: str, result: Any, summary: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.text import Text

    from bcf import rounds
    from bcf.shown import escaped
    from bcf.words import RETURN_WORDS

    out = console()
    files = summary["files"].iloc[0]
    plans = len(rounds.get(round_).areas.plans())
    out.print(f"\n[bold]{result.files} files[/bold] under {escape(escaped(str(folder)))}: {result.checked} checked now, "
              f"{result.already_loaded} already in the store. Round {round_} has {files['files']} "
              f"{RETURN_WORDS[kind]} covering {files['hwbs']} of {plans} plans.")
    _df_table(f"{RETURN_WORDS[kind].capitalize()} by status — round {round_}", summary["status"])
    missing = summary["missing"]["plan_name"].tolist()
    if missing:
        out.print(f"Missing plans ({len(missing)}): " + escape(escaped(", ".join(missing))))
    not_ready = summary["not_ready"]
    if len(not_ready):
        _df_table(f"Not ready ({len(not_ready)}; the first 10, all of them with --format json)", not_ready.head(10))
    _df_table("Findings by family and severity", summary["families"])
    _df_table("The ten most frequent rules", summary["rules"])
    out.print(f"Store: {escape(escaped(str(db)))}")
    if result.not_stored:
        out.print(f"\n[bold]{len(result.not_stored)} file(s) could not be read or stored this time[/bold], and nothing "
                  "was recorded about them. Run the batch again to check them:")
        for why in result.not_stored:
            out.print(Text(f"  {escaped(why)}"))


@main.command("national")
@_db_option
@_round_option
@_format_option("json")
def national_cmd(db: Path, round_: str | None, fmt: str) -> None:
    """Print a round's national headline tables from valid plans (current, no blocking findings)."""
    from bcf.national.aggregate import headlines
    from bcf.national.door import open_store

    with open_store(db) as nat:
        scope = nat.scope(round_)
        tables = headlines(nat, scope.round)
    if fmt == "json":
        _echo_json({"schema": "bcf-national/1", "round": scope.round, "return": scope.kind,
                    "tables": dict(tables)})
        return
    for title, df in tables:
        _df_table(f"{title} — round {scope.round}", df)


@main.command("export")
@_db_option
@_round_option
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


def _overrides(pairs: tuple[str, ...]) -> dict[str, str]:
    try:
        return dict(o.split("=", 1) for o in pairs)
    except ValueError as e:
        raise click.UsageError("--param takes NAME=VALUE, for example unit_cost=1550") from e


@main.command("stress")
@_db_option
@_round_option
@_param_option
@_format_option("json")
@click.option("--assumptions", "show_assumptions", is_flag=True, help="Also list every assumption used, with its source.")
def stress_cmd(db: Path, round_: str | None, overrides: tuple[str, ...], fmt: str, show_assumptions: bool) -> None:
    """Stress-test every current plan's savings in a round and decide its assurance category."""
    from bcf.national.assurance import assure, plans

    with assure(db, round_, _overrides(overrides)) as done:
        every = plans(done.nat, done.round)
    if fmt == "json":
        _echo_json({"schema": "bcf-stress/1", "round": done.round, "national": done.summary, "plans": every,
                    "overridden": [p.name for p in done.params.overridden()]})
        return
    from bcf.words import money, ratio

    t = done.summary
    console().print(f"[bold]Round {done.round}: {t.plans} plans claim {money(t.claimed)} of savings; {money(t.credible)} "
                    f"is backed by evidence (optimism ratio {ratio(t.claimed, t.credible)}).[/bold]", highlight=False)
    import pandas as pd

    _df_table(f"Assurance categories — round {done.round}",
              pd.DataFrame([{"category": c, "plans": n} for c, n in t.categories.items()]))
    top = sorted((p for p in every if p["claimed"] > 0),
                 key=lambda p: (p["credible"] > 0, -(p["optimism"] or 0), -p["claimed"]))[:10]
    _df_table("The most optimistic plans (£000)", pd.DataFrame(
        [{"plan": p["plan_name"], "claimed": p["claimed"], "backed": p["credible"],
          "optimism": ratio(p["claimed"], p["credible"])} for p in top]))
    changed = done.params.overridden()
    if changed:
        console().print("Changed for this run: " + "; ".join(f"{p.name} = {p.value}" for p in changed), highlight=False)
    if show_assumptions:
        _df_table("Assumptions used", pd.DataFrame([{"parameter": p.name, "value": str(p.value), "source": p.source}
                                                    for p in done.params.values() if p.section != "gate"]))
    else:
        console().print("The assumptions and their sources: bcf stress --assumptions", highlight=False)


@main.command("letters")
@_db_option
@_round_option
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the letters (each round's go in a folder of their own inside it).")
@click.option("--hwb", "plan", metavar="CODE|NAME", help="Only this plan's letter.")
@click.option("--pdf/--no-pdf", default=True, show_default=True, help="Also print each letter to PDF.")
@_param_option
def letters_cmd(db: Path, round_: str | None, output: Path, plan: str | None, pdf: bool, overrides: tuple[str, ...]) -> None:
    """Write a feedback letter to each Health and Wellbeing Board: category, what to fix, savings stress-tested."""
    from bcf.letters import write_letters
    from bcf.national.assurance import assure

    start = time.perf_counter()
    with assure(db, round_, _overrides(overrides)) as done:
        code = _plan_code(done.round, plan) if plan else None
        paths = write_letters(done.nat, output, done.params, done.round, code, pdf)
    letters = sum(p.suffix == ".html" and p.name != "index.html" for p in paths)
    folder = output / done.round
    click.echo(f"Wrote {letters} letter(s) for round {done.round}{' as HTML and PDF' if pdf else ''} to {folder} in "
               f"{time.perf_counter() - start:.1f}s. Open {folder / 'index.html' if letters > 1 else paths[0]}")


@main.group()
def report() -> None:
    """Reports for the central team."""


@report.command("national")
@_db_option
@_round_option
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder for the report.")
@click.option("--pdf/--no-pdf", default=True, show_default=True, help="Also print the report to PDF.")
@_param_option
def report_national(db: Path, round_: str | None, output: Path, pdf: bool, overrides: tuple[str, ...]) -> None:
    """A round's national assurance report: categories, claimed against credible savings, money at risk."""
    from bcf.national.assurance import assure
    from bcf.report import write_national

    with assure(db, round_, _overrides(overrides)) as done:
        paths = write_national(done.nat, output, done.params, done.round, pdf)
    click.echo(f"Wrote round {done.round}'s report: " + " and ".join(str(p) for p in paths))


MONITOR_HELP = """Print the national picture of emergency admissions against plan, from the quarterly returns.

With the quarters reported so far, each plan's year and the nation's are projected, with a range, and
the plans whose money at risk is beyond their contingency, or whose narrative does not explain a
variance, are listed. --quarter 1 is the first quarter of the plan period (the first quarterly return).
The default round is the latest that has quarterly returns.
"""


@main.command("monitor", help=MONITOR_HELP)
@_db_option
@_round_option
@click.option("--quarter", metavar="N|LABEL", help="Up to which quarter: 1-4 (Q1-Q4) or its label as in the return's list "
              "(default: the latest held).")
@click.option("--backtest", "seeds", type=click.IntRange(1, 200), metavar="YEARS",
              help="Instead, compare the projection methods on this many synthetic years and print their errors.")
@_param_option
@_format_option("json")
def monitor_cmd(db: Path, round_: str | None, quarter: str | None, seeds: int | None, overrides: tuple[str, ...],
                fmt: str) -> None:
    from bcf.national import monitor
    from bcf.national.monitor import monitoring

    if seeds:
        from bcf.national.door import open_store

        with open_store(db) as nat:
            scope = nat.scope(round_, "quarterly")
        _df_table(f"Projection error on {seeds} synthetic years, % of the year's admissions above plan",
                  monitor.summarise(monitor.backtest(scope.round, range(1, seeds + 1))))
        return
    m = monitoring(db, round_, quarter, _overrides(overrides))
    if fmt == "json":
        _echo_json(m.as_dict())
        return
    console().print(m.headline(), highlight=False)
    _df_table(f"Plans to watch ({len(m.watch)}; the 15 with most beyond their contingency; £000)", m.watch[
        ["plan_name", "projected_gap", "at_risk_000", "contingency", "beyond_000", "why"]].head(15))


@report.command("monitoring")
@_db_option
@_round_option
@click.option("--quarter", metavar="N|LABEL", help="Up to which quarter (default: the latest held).")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the report and the areas' notes (in ROUND/quarter-N/ inside it).")
@click.option("--pdf/--no-pdf", default=True, show_default=True, help="Also print the report to PDF.")
@_param_option
def report_monitoring(db: Path, round_: str | None, quarter: str | None, output: Path, pdf: bool,
                      overrides: tuple[str, ...]) -> None:
    """The quarter's monitoring report (plan against actual, early warning, money at risk) and a note per area."""
    from bcf.monitoring_report import write_monitoring
    from bcf.national.door import open_store
    from bcf.national.monitor import pick_quarter

    with open_store(db) as nat:
        scope = nat.scope(round_, "quarterly")
        upto = pick_quarter(nat, scope.round, quarter)
        params = _round_params(scope.round, overrides)
        paths = write_monitoring(nat, output, scope.round, upto, params, pdf)
    notes = sum(p.name.startswith("note-") and p.suffix == ".html" for p in paths)
    click.echo(f"Wrote round {scope.round}'s monitoring report to quarter {upto} and {notes} area notes: {paths[0]}")


@report.command("site")
@_db_option
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


def _round_params(round_: str, overrides: tuple[str, ...]) -> Assumptions:
    from bcf import rounds

    return rounds.get(round_).params(_overrides(overrides))


@main.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
def rules_cmd(fmt: str) -> None:
    """List every rule: id, family, severity, the returns and rounds it applies to, and what it checks."""
    from bcf.findings import as_markdown, rules

    catalogue = rules()
    if fmt == "markdown":
        click.echo(as_markdown())
    elif fmt == "json":
        click.echo(json.dumps([{**r.__dict__, "returns": list(r.returns)} for r in catalogue.values()],
                              indent=1, ensure_ascii=False))
    else:
        from rich.table import Table

        table = Table("Rule", "Family", "Severity", "Applies to", "Checks that…")
        for r in catalogue.values():
            scope = " ".join(x for x in (", ".join(r.returns) or "all returns", r.since and f"from {r.since}",
                                         r.until and f"until {r.until}") if x)
            table.add_row(r.id, r.family, r.severity, scope, r.title)
        console().print(table)
        console().print(f"{len(catalogue)} rules. Full wording: bcf rules --format markdown")


@main.command("diff")
@click.argument("old", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def diff_cmd(old: Path, new: Path, fmt: str) -> None:
    """Show what changed between two workbooks of one plan: values, added and removed rows, and each finding
    labelled new, resolved or still there. Both must be of the same round and return."""
    from bcf import diff
    from bcf.validate import check_file

    result, warning = diff.files(check_file(old), check_file(new))
    if warning:
        click.echo(warning, err=True)
    click.echo(json.dumps({**diff.as_dict(result), "warning": warning}, indent=1, ensure_ascii=False) if fmt == "json"
               else diff.as_text(result, old.name, new.name))


def _plan_code(round_: str, plan: str) -> str:
    from bcf import rounds
    from bcf.errors import UnknownArea

    area = rounds.get(round_).areas.find(plan)
    if area is None:
        raise UnknownArea(f"{plan!r} is not a Health and Wellbeing Board in the {round_} list.")
    return area.plan_code


@main.command("changes")
@_db_option
@_round_option
@click.option("--hwb", "plan", metavar="CODE|NAME", help="Show one plan's changes in full.")
@_format_option("json")
def changes_cmd(db: Path, round_: str | None, plan: str | None, fmt: str) -> None:
    """What changed between each plan's last two submissions, which findings were resolved, and the national
    bridge of claimed savings (by reason: unit cost, admissions claimed, benefits added or removed, evidence)."""
    from bcf import diff
    from bcf.national import resubmissions
    from bcf.national.door import open_store

    with open_store(db) as nat:
        round_ = nat.scope(round_).round
        pairs = resubmissions.compare_all(nat, round_, _plan_code(round_, plan) if plan else None)
    if fmt == "json":
        _echo_json({"schema": "bcf-changes/1", "round": round_, "plans": [{**resubmissions.summary(p), "plan_code": p.plan_code,
                                                "bridge": p.bridge, "changes": diff.as_dict(p.changes)} for p in pairs],
                    "bridge": resubmissions.national_bridge(pairs)})
        return
    if plan:
        if not pairs:
            click.echo(f"{plan} has only one submission in round {round_}: nothing to compare.")
        for pair in pairs:
            click.echo(resubmissions.as_text(pair))
        return
    if not pairs:
        click.echo(f"No plan in round {round_} has been resubmitted yet.")
        return
    import pandas as pd

    _df_table(f"Resubmitted plans — round {round_}", pd.DataFrame([resubmissions.summary(p) for p in pairs]))
    _df_table("How the claimed savings moved (£000)", resubmissions.national_bridge(pairs))


def _state_option(f: Callable[..., None]) -> Callable[..., None]:
    return click.option("--state", type=click.Path(dir_okay=False, path_type=Path), envvar="BCF_STATE",
                        help="The console's state file, which keeps sessions and decisions (default: beside the store, "
                             "national.state.sqlite; or $BCF_STATE).")(f)


@main.command("decide")
@_db_option
@_round_option
@click.option("--rule", "rule_id", required=True, metavar="RULE", help="The rule of the explained finding, e.g. BCF-POL-010.")
@click.option("--hwb", "plan", metavar="CODE|NAME", help="The plan (default: every plan that explained a finding of the rule).")
@click.option("--at", "place", metavar="PLACE",
              help="Where the finding is: as `bcf decisions` shows it, or its sheet and cell, e.g. 'Risks C40' (default: all).")
@click.option("--accept/--reject", "accept", required=True, help="Accept or reject the area's explanation.")
@click.option("--reason", required=True, help="Why: it appears in the decision log and, when accepted, in the letter.")
@click.option("--by", "who", required=True, help="Who decides (your name).")
@_state_option
def decide_cmd(db: Path, round_: str | None, rule_id: str, plan: str | None, place: str | None, accept: bool, reason: str,
               who: str, state: Path | None) -> None:
    """Accept or reject an area's explanation of an advisory finding. Decisions are only ever added: the log
    keeps every one, with who, when and why."""
    from bcf.national import resubmissions
    from bcf.national.door import open_store

    with open_store(db, state=state) as national:
        round_ = national.scope(round_).round
    verdict = "accepted" if accept else "rejected"
    ids = resubmissions.decide(db, round_, rule_id.upper(), verdict, reason, who,
                               _plan_code(round_, plan) if plan else None,
                               place, state=state)
    click.echo(f"Recorded {len(ids)} decision(s) ({', '.join(map(str, ids))}): {rule_id.upper()} {verdict}. "
               "Run `bcf stress` to see the effect on the categories.")


@main.command("decisions")
@_db_option
@click.option("--round", "round_", metavar="ROUND", help="Only this round (default: every round).")
@click.option("--hwb", "plan", metavar="CODE|NAME", help="Only this plan.")
@_format_option("json")
@click.option("--verify", is_flag=True, help="Check the decision log's hash chain and name its first broken link "
                                             "(exit 1 when broken).")
@_state_option
def decisions_cmd(db: Path, round_: str | None, plan: str | None, fmt: str, verify: bool, state: Path | None) -> None:
    """The explained findings and their state, and the decision log (every decision ever made)."""
    import pandas as pd

    from bcf import rounds
    from bcf.diff import in_words
    from bcf.errors import BcfError
    from bcf.national import decisions
    from bcf.national.door import open_store
    from bcf.national.state import open_state, state_path

    path = state_path(db, state)
    if verify:
        if path is None or not path.exists():
            raise BcfError(f"There is no state file at {path}: no decision has been recorded for this store.")
        with open_state(path) as st:
            verdict = decisions.verify(st)
        click.echo(verdict.message)
        sys.exit(1 if verdict.broken else 0)
    with open_store(db, state=state) as national:
        round_ = national.scope(round_).round if round_ else None
        code = _plan_code(round_, plan) if plan and round_ else (plan and _any_plan_code(plan))
        waiting = decisions.awaiting(national, round_, code)
    assert path is not None
    with open_state(path) as st:
        log = decisions.log(st, round_, code)
    for row in [*waiting, *log]:  # each place in words, as the plan's own template names it
        row["where"] = in_words(rounds.get(row["round"]).ret("plan").spec(), row["location"])
    if fmt == "json":
        _echo_json({"schema": "bcf-decisions/1", "round": round_, "awaiting": waiting, "log": log})
        return
    _df_table(f"Explained findings — {'round ' + round_ if round_ else 'every round'}", pd.DataFrame(
        waiting, columns=["round", "plan_code", "rule_id", "where", "explanation", "state"]))
    _df_table("Decision log", pd.DataFrame(log, columns=["decision_id", "round", "when", "who", "plan_code", "rule_id",
                                                         "where", "decision", "reason"]))


def _any_plan_code(plan: str) -> str:
    """A plan's code from its code or name, in whichever round knows it."""
    from bcf import rounds

    for r in reversed(list(rounds.all_rounds())):
        area = rounds.get(r).areas.find(plan)
        if area is not None:
            return area.plan_code
    return _plan_code(rounds.latest().id, plan)


@main.group()
def users() -> None:
    """Accounts of the assurers' console (bcf serve --db ... --users FILE)."""


def _users_file(f: Callable[..., None]) -> Callable[..., None]:
    return click.option("--users", "path", type=click.Path(dir_okay=False, path_type=Path), required=True,
                        help="The accounts file.")(f)


@users.command("add")
@_users_file
@click.argument("name")
@click.option("--role", type=click.Choice(["national", "regional"]), required=True,
              help="national: every plan; regional: one region's plans.")
@click.option("--region", help="The region of a regional account, as in the HWB list (e.g. 'North East').")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of asking.")
def users_add(path: Path, name: str, role: str, region: str | None, password_stdin: bool) -> None:
    """Add an account (or set a new password). The password is kept only as an argon2 hash."""
    from bcf import rounds
    from bcf.errors import BcfError
    from bcf.web.accounts import Accounts

    known = {a.region_name for r in rounds.all_rounds().values() for a in r.areas.all}
    if region and region not in known:
        raise BcfError(f"{region!r} is not a region. Regions: {', '.join(sorted(known))}.")
    password = (sys.stdin.readline().rstrip("\n") if password_stdin
                else click.prompt("Password", hide_input=True, confirmation_prompt=True))
    account = Accounts(path).add(name, password, role, region)
    click.echo(f"{account.name} can now sign in to the console ({account.role}{', ' + region if region else ''}).")


@users.command("remove")
@_users_file
@click.argument("name")
def users_remove(path: Path, name: str) -> None:
    """Remove an account: it can no longer sign in (its past decisions stay in the log)."""
    from bcf.web.accounts import Accounts

    Accounts(path).remove(name)
    click.echo(f"Removed {name}.")


@users.command("list")
@_users_file
def users_list(path: Path) -> None:
    """The accounts, their roles and regions (never their passwords)."""
    from bcf.web.accounts import Accounts

    for a in Accounts(path).names():
        click.echo(f"{a.name}\t{a.role}\t{a.region or ''}")


@main.command("rounds")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rounds_cmd(fmt: str) -> None:
    """List the rounds and returns bcf knows, with each template's id, version and deadline."""
    from bcf import rounds

    rows: list[dict[str, str]] = [
        {"round": r.id, "label": r.label, "return": k, "template": ret.template_id, "version": ret.spec().version,
         "title": ret.title, "deadline": ret.spec().deadline.isoformat(), "plans": str(len(r.areas.plans()))}
        for r in rounds.all_rounds().values() for k, ret in r.returns.items()]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=1, ensure_ascii=False))
        return
    from rich.table import Table

    table = Table("Round", "Return", "Template", "Version", "Deadline", "Plans", title="Rounds and returns")
    for row in rows:
        table.add_row(row["round"], row["return"], row["template"], row["version"], row["deadline"], row["plans"])
    console().print(table)


@main.group()
def template() -> None:
    """The blank templates of each round's returns."""


@template.command("new")
@click.option("--round", "round_", metavar="ROUND", help="The round (default: the latest). See `bcf rounds`.")
@_return_option("plan")
@click.option("--hwb", metavar="NAME|CODE", help="Pre-fill the Cover for this Health and Wellbeing Board.")
@click.option("--version", "version", metavar="X.Y", help="Template version (default: the current one).")
@click.option("-o", "--output", type=_OutputFile(), required=True, help="Where to write the workbook (.xlsx).")
def template_new(round_: str | None, kind: str, hwb: str | None, version: str | None, output: Path) -> None:
    """Write a blank workbook for one return of a round."""
    from bcf import generate, rounds

    s = (rounds.get(round_) if round_ else rounds.latest()).ret(kind).spec(version)
    area = generate.new_template(s, output, hwb)
    who = f" for {area.hwb_name} ({area.ons_code})" if area else ""
    console().print(f"Wrote {s.template_id} v{s.version}{who} to {output}")


@main.group()
def samples() -> None:
    """Sample returns of filled workbooks with planted defects."""


@samples.command("generate")
@click.option("--round", "round_", metavar="ROUND", help="The round (default: the latest). See `bcf rounds`.")
@_return_option("plan")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the workbooks and manifest.json (default: sample_submissions/ROUND/RETURN).")
@click.option("--seed", type=int, default=151, show_default=True, help="The same seed gives the same round.")
@click.option("--workers", type=int, default=None, help="Worker processes (default: one per core).")
@click.option("--resubmissions", "resubmit", is_flag=True,
              help="Instead, the second submission of each plan first sent with defects: blocking ones fixed, advisory "
                   "ones explained, some evidence improved.")
def samples_generate(round_: str | None, kind: str, output: Path | None, seed: int, workers: int | None,
                     resubmit: bool) -> None:
    """Write one filled workbook per plan (quarterly: one per plan and quarter) and a manifest of planted defects."""
    from bcf import rounds
    from bcf import samples as sample_round

    round_ = round_ or rounds.latest().id
    output = output or Path("sample_submissions") / round_ / ("resubmitted" if resubmit else kind)
    start = time.perf_counter()
    with console().status("Writing the sample returns…"):
        manifest = sample_round.generate(output, round_, kind, seed, workers, resubmit)
    files = manifest["files"]
    defective = sum(1 for f in files if f["defects"])
    console().print(f"Wrote {len(files)} {manifest['round']} {kind} workbooks to {output} in "
                    f"{time.perf_counter() - start:.1f}s: {defective} with planted defects "
                    f"({sum(len(f['defects']) for f in files)} in all), listed in {output / 'manifest.json'}")


@main.command("read")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def read_cmd(paths: tuple[Path, ...], fmt: str) -> None:
    """Read workbooks (files or folders) and show what was found in each."""
    from bcf.read import describe, read_submission

    files = sorted(p for path in paths for p in ([path] if path.is_file() else path.glob("*.xlsx")))
    start = time.perf_counter()
    rows = [describe(read_submission(f)) for f in files]
    elapsed = time.perf_counter() - start
    if fmt == "json":
        click.echo(json.dumps(rows, indent=1, ensure_ascii=False))
        return
    from rich.table import Table

    table = Table("File", "HWB", "Template", "Schemes", "Benefits", "Risks", "Pooled £000", "Problems")
    for r in rows:
        table.add_row(r["file"], str(r["hwb"] or ""), r["template"], str(r["rows"].get("schemes", "")),
                      str(r["rows"].get("benefits", "")), str(r["rows"].get("risks", "")),
                      f"{r['total_pooled_000']:,.0f}" if r["total_pooled_000"] is not None else "",
                      str(r["problems"]))
    console().print(table)
    console().print(f"Read {len(rows)} workbooks in {elapsed:.2f}s; "
                  f"{sum(1 for r in rows if r['problems'])} had reading problems.")


@main.command("peers")
@_db_option
@_round_option
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
        _echo_json(pp.as_dict())
        return
    from rich.table import Table

    console().print(f"{pp.name} ({pp.plan_code}), round {pp.round}. Peers, nearest first: "
                    + ", ".join(p.name + ("" if p.valid else " (not valid)") for p in pp.peers) + ".")
    console().print(f"Peer groups: {pp.method}.")
    table = Table("Ratio", "This plan", "Peers' median", "Percentile among peers", "Percentile nationally")
    for s in pp.standings:
        table.add_row(s.label, s.shown, s.median_shown, _pct(s.peer_percentile), _pct(s.national_percentile))
    console().print(table)
    for s in pp.standings:
        console().print(s.sentence())


def _pct(p: float | None) -> str:
    return "" if p is None else f"{p:.0f}"


@main.command("track-record")
@_db_option
@click.option("--round", "round_", metavar="ROUND",
              help="The round whose plans to score (default: the latest with a complete year of quarterly returns).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def track_record_cmd(db: Path, round_: str | None, fmt: str) -> None:
    """Score each plan of a round as a forecast: planned against actual emergency admissions, bias, skill against
    two naive baselines (above 1: the baseline did better), savings planned against realised."""
    from bcf.national import door, track_record

    with door.open_store(db) as national:
        held = track_record.scored_rounds(national)
        tr = track_record.scores(national, round_ or (held[-1] if held else "none"))
    if fmt == "json":
        _echo_json(track_record.as_json(tr))
        return
    import pandas as pd

    for line in track_record.summary(tr):
        console().print(line)
    columns = ["name", "plans", "error", "pct_error", "skill_flat", "skill_trend"]
    _df_table(f"Round {tr.round}: emergency admissions against plan, by region",
              pd.DataFrame([{c: getattr(s, c) for c in columns} for s in (*tr.regions, tr.national)]).round(2))
    worst = sorted(tr.plans, key=lambda s: -(s.pct_error or 0))[:10]
    _df_table("The plans furthest above plan", pd.DataFrame([{c: getattr(s, c) for c in columns} for s in worst]).round(2))
