"""The commands a local officer meets: the template, the self-check (and its web page), the rules, and comparing
two workbooks. Each parses its options, calls one library function and prints."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from bcf.cli.base import (
    OutputFile,
    console,
    main,
    return_option,
)
from bcf.errors import BcfError, CheckerFault

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
@click.option("-o", "--output", type=OutputFile(), help="Write the report to this file.")
@click.option("--annotate", type=OutputFile(), metavar="OUT.xlsx",
              help="Also write a copy of the workbook with each problem marked in its cell.")
@click.option("--round", "round_", metavar="ROUND", help="The round the workbook must belong to (see `bcf rounds`).")
@return_option(None)
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
    snap = intake.read(file, keep=max_bytes(), hashed=False)  # checked and marked up from the same bytes
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
                sys.exit(report.exit_code or CheckerFault.exit_code)  # a copy asked for and not made is never "ready"
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
    address = f"http://{host}:{port}{root_path}"
    click.echo(f"Open {address}/ in a browser for the self-check"
               + (f", and {address}/console/ for the assurers' console" if console else "") + ". Press Ctrl+C to stop.")
    # uvicorn's own proxy headers are off: it would believe X-Forwarded-For from 127.0.0.1 (--trusted-proxy decides)
    uvicorn.run(app, host=host, port=port, root_path=root_path, log_level="info", server_header=False,
                proxy_headers=False)




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
@return_option("plan")
@click.option("--hwb", metavar="NAME|CODE", help="Pre-fill the Cover for this Health and Wellbeing Board.")
@click.option("--version", "version", metavar="X.Y", help="Template version (default: the current one).")
@click.option("-o", "--output", type=OutputFile(), required=True, help="Where to write the workbook (.xlsx).")
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
@return_option("plan")
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
    from bcf.xlsx import DAMAGED, damage

    files = sorted(p for path in paths for p in ([path] if path.is_file() else path.glob("*.xlsx")))
    start = time.perf_counter()
    try:
        rows = [describe(read_submission(f)) for f in files]
    except DAMAGED as e:
        raise BcfError(f"A workbook could not be read ({damage(e)}); `bcf check` on each file says which, and "
                       "what is wrong with it.") from e
    elapsed = time.perf_counter() - start
    if fmt == "json":
        click.echo(json.dumps(rows, indent=1, ensure_ascii=False))
        return
    from rich.table import Table
    from rich.text import Text

    from bcf.shown import escaped

    table = Table("File", "HWB", "Template", "Schemes", "Benefits", "Risks", "Pooled £000", "Problems")
    for r in rows:
        table.add_row(Text(escaped(r["file"])), Text(escaped(str(r["hwb"] or ""))), r["template"],
                      str(r["rows"].get("schemes", "")),
                      str(r["rows"].get("benefits", "")), str(r["rows"].get("risks", "")),
                      f"{r['total_pooled_000']:,.0f}" if r["total_pooled_000"] is not None else "",
                      str(r["problems"]))
    console().print(table)
    console().print(f"Read {len(rows)} workbooks in {elapsed:.2f}s; "
                  f"{sum(1 for r in rows if r['problems'])} had reading problems.")


