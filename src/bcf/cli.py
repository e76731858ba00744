"""The ``bcf`` command. Each command parses its options, calls one library function and prints."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bcf.errors import BcfError, CheckerFault

if TYPE_CHECKING:
    from collections.abc import Callable

    import duckdb
    from rich.console import Console

    from bcf.params import Parameter
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
    """Turns the library's errors into one sentence and their exit status, in one place for every command."""

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
    from bcf import rounds
    from bcf.present import FORMATS, verdict
    from bcf.preview import preview
    from bcf.validate import check_file

    if round_:
        rounds.get(round_).ret(kind or "plan")
    report = check_file(file, round_, kind)
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
                n = write_annotated(file, report, annotate, pv)
            except ValueError as e:
                raise click.UsageError(str(e)) from e
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
def serve_cmd(host: str, port: int, keep_minutes: float, timeout: float, workers: int, root_path: str,
              round_: str | None) -> None:
    import logging

    import uvicorn

    from bcf.web import Settings, create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from bcf import rounds

    if round_:
        rounds.get(round_).ret("plan")
    app = create_app(Settings(keep_minutes=keep_minutes, check_seconds=timeout, workers=workers, round_id=round_))
    click.echo(f"Open http://{host}:{port}{root_path}/ in a browser. Press Ctrl+C to stop.")
    uvicorn.run(app, host=host, port=port, root_path=root_path, log_level="info", server_header=False)


BATCH_HELP = """Check every workbook under DIR and load the results into the national store.

Files are checked in parallel worker processes; a file that is damaged, too slow or crashes the
checker becomes a finding for that file and the batch goes on. Files already loaded (the same bytes,
same round) are skipped, so a stopped batch can simply be run again. A newer file for the same plan
becomes the current submission; the older one is kept as history.

\b
Exit status: 0 the batch ran (whatever the files held); 2 it could not run (for example the
store is in use by another batch, or DIR does not exist).
"""


def _heading(column: str) -> str:
    """'minimum_pooled_000' → 'Minimum pooled £000'."""
    words = column.replace("_000", "_£000").replace("_pct", "_%").split("_")
    acronyms = {"hwbs": "HWBs", "p4p": "P4P", "nel": "NEL", "ccg": "CCG", "la": "LA"}
    text = " ".join(acronyms.get(w, w) for w in words)
    return text[:1].upper() + text[1:]


def _df_table(title: str, df: object) -> None:
    import pandas as pd
    from rich.table import Table

    from bcf.findings import show

    assert isinstance(df, pd.DataFrame)
    table = Table(*[_heading(str(c)) for c in df.columns], title=title, title_justify="left")
    for row in df.itertuples(index=False):
        table.add_row(*[show(v) if not isinstance(v, float) or v == v else "" for v in row])
    console().print(table)


@main.command("batch", help=BATCH_HELP)
@click.argument("folder", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_db_option
@click.option("--round", "round_", required=True, metavar="ROUND",
              help="The round these files were sent in for (see `bcf rounds`).")
@_return_option("plan")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (default: one per core).")
@click.option("--timeout", type=click.FloatRange(1, 600), default=30, show_default=True, help="Seconds allowed per file.")
def batch_cmd(folder: Path, db: Path, round_: str, kind: str, workers: int | None, timeout: float) -> None:
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from bcf import aggregate, rounds
    from bcf.batch import Limits, discover, run_batch

    the_round = rounds.get(round_)
    the_round.ret(kind)
    counts = {"ready": 0, "not ready": 0, "unreadable": 0}
    out = console()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=out, transient=False) as bar:
        task = bar.add_task("Checking", total=len(discover(folder)))

        def tick(path: Path, report: Report) -> None:
            counts[report.status] += 1
            bar.update(task, advance=1, description=(f"ready {counts['ready']} · not ready {counts['not ready']}"
                                                     f" · unreadable {counts['unreadable']}"))
        result = run_batch(folder, db, round_, kind, workers, Limits(seconds=timeout), progress=tick)
        bar.update(task, completed=result.files)
    with aggregate.connect(db) as con:
        summary = aggregate.batch_summary(con, round_)
    files = summary["files"].iloc[0]
    plans = len(the_round.areas.plans())
    out.print(f"\n[bold]{result.files} files[/bold] under {escape(str(folder))}: {result.checked} checked now, "
              f"{result.already_loaded} already in the store. Round {round_} has {files['files']} files covering "
              f"{files['hwbs']} of {plans} plans.")
    _df_table(f"Plans by status — round {round_}", summary["status"])
    missing = summary["missing"]["plan_name"].tolist()
    if missing:
        out.print(f"Missing plans ({len(missing)}): " + escape(", ".join(missing)))
    _df_table("Findings by family and severity", summary["families"])
    _df_table("The ten most frequent rules", summary["rules"])
    out.print(f"Store: {escape(str(db.resolve()))}")


@main.command("national")
@_db_option
@_round_option
def national_cmd(db: Path, round_: str | None) -> None:
    """Print a round's national headline tables from valid plans (current, no blocking findings)."""
    from bcf import aggregate

    with aggregate.connect(db) as con:
        round_ = aggregate.pick_round(con, round_, db)
        for title, df in aggregate.headlines(con, round_):
            _df_table(f"{title} — round {round_}", df)


@main.command("export")
@_db_option
@_round_option
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "xlsx"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to write to.")
def export_cmd(db: Path, round_: str | None, fmt: str, output: Path) -> None:
    """Write a round's national views to files. Text that a spreadsheet would run as a formula is made plain text."""
    from bcf import aggregate

    with aggregate.connect(db) as con:
        round_ = aggregate.pick_round(con, round_, db)
        paths = aggregate.export(con, fmt, output, round_)
    click.echo(f"Wrote {len(paths)} {fmt} file(s) for round {round_} to {output}")


def _assure(db: Path, round_: str | None, overrides: tuple[str, ...]
            ) -> tuple[duckdb.DuckDBPyConnection, dict[str, Parameter], str]:
    """Open the store, run one round's stress test with its parameters; (connection, parameters, round)."""
    from bcf import aggregate, rounds, store, stress
    from bcf.errors import StoreError

    if not db.exists():
        raise StoreError(f"There is no store at {db}. Run `bcf batch` first.")
    try:
        pairs = dict(o.split("=", 1) for o in overrides)
    except ValueError as e:
        raise click.UsageError("--param takes NAME=VALUE, for example unit_cost=1550") from e
    con = store.connect(db)
    try:
        round_ = aggregate.pick_round(con, round_, db)
        params = rounds.get(round_).params(pairs)
        stress.run(con, round_, params)
    except BaseException:
        con.close()
        raise
    return con, params, round_


@main.command("stress")
@_db_option
@_round_option
@_param_option
def stress_cmd(db: Path, round_: str | None, overrides: tuple[str, ...]) -> None:
    """Stress-test every current plan's savings in a round and decide its assurance category."""
    con, params, round_ = _assure(db, round_, overrides)
    with con:
        claimed, credible, plans = con.execute(
            "SELECT sum(claimed), sum(credible), count(*) FROM stress_test WHERE round = ?", [round_]).fetchall()[0]
        cats = con.execute("SELECT category, count(*) AS plans FROM assurance WHERE round = ? GROUP BY 1 ORDER BY 2 DESC",
                           [round_]).df()
        top = con.execute("SELECT plan_name, claimed, credible, optimism FROM stress_test WHERE round = ? AND claimed > 0 "
                          "ORDER BY credible > 0, optimism DESC, claimed DESC LIMIT 10", [round_]).df()
    from bcf.render import money

    console().print(f"[bold]Round {round_}: {plans} plans claim {money(claimed)} of savings; {money(credible)} is backed "
                    f"by evidence (optimism ratio {claimed / credible:.1f}).[/bold]" if credible
                    else f"Round {round_}: {plans} plans, no credible savings.")
    _df_table(f"Assurance categories — round {round_}", cats)
    _df_table("The most optimistic plans (£000)", top)
    import pandas as pd

    _df_table("Assumptions used", pd.DataFrame(
        [{"parameter": p.name, "value": str(p.value), "source": p.source} for p in params.values() if p.section != "gate"]))


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
    from bcf import rounds
    from bcf.errors import UnknownArea
    from bcf.letters import write_letters

    con, params, round_ = _assure(db, round_, overrides)
    area = rounds.get(round_).areas.find(plan) if plan else None
    if plan and area is None:
        con.close()
        raise UnknownArea(f"{plan!r} is not a Health and Wellbeing Board in the {round_} list.")
    start = time.perf_counter()
    with con:
        paths = write_letters(con, output, params, round_, area.plan_code if area else None, pdf)
    letters = sum(p.suffix == ".html" for p in paths)
    folder = output / round_
    click.echo(f"Wrote {letters} letter(s) for round {round_}{' as HTML and PDF' if pdf else ''} to {folder} in "
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
    from bcf.report import write_national

    con, params, round_ = _assure(db, round_, overrides)
    with con:
        paths = write_national(con, output, params, round_, pdf)
    click.echo(f"Wrote round {round_}'s report: " + " and ".join(str(p) for p in paths))


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
def samples_generate(round_: str | None, kind: str, output: Path | None, seed: int, workers: int | None) -> None:
    """Write one filled workbook per plan (quarterly: one per plan and quarter) and a manifest of planted defects."""
    from bcf import rounds
    from bcf import samples as sample_round

    round_ = round_ or rounds.latest().id
    output = output or Path("sample_submissions") / round_ / kind
    start = time.perf_counter()
    with console().status("Writing the sample returns…"):
        manifest = sample_round.generate(output, round_, kind, seed, workers)
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
