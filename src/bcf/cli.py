"""The ``bcf`` command. Each command parses its options, calls one library function and prints."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.console import Console


def console() -> Console:
    """rich is imported only by the commands that print tables (it costs start-up time)."""
    from rich.console import Console

    return Console()


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="bcf")
def main() -> None:
    """Better Care Fund planning round tools.

    Make the blank planning template, check a completed workbook before you submit it, and (for the
    central team) validate every submission, build the national picture and stress-test the savings.
    """


CHECK_HELP = """Check a completed planning workbook before you submit it.

Prints every problem found, grouped by sheet then rule, with its cell, what was found, what was
expected and how to fix it, then a summary line.

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
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to this file.")
@click.option("--annotate", type=click.Path(dir_okay=False, path_type=Path), metavar="OUT.xlsx",
              help="Also write a copy of the workbook with each problem marked in its cell.")
def check_cmd(file: Path, fmt: str, output: Path | None, annotate: Path | None) -> None:
    from bcf.present import FORMATS, verdict
    from bcf.validate import check_file

    report = check_file(file)
    text = FORMATS[fmt](report)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"Wrote the {fmt} report to {output}. {verdict(report)}")
    else:
        click.echo(text)
    if annotate:
        if report.submission is None:
            click.echo("No annotated copy: the file could not be read.", err=True)
        else:
            from bcf.annotate import annotate as write_annotated

            try:
                n = write_annotated(file, report, annotate)
            except ValueError as e:
                raise click.UsageError(str(e)) from e
            click.echo(f"Wrote an annotated copy to {annotate} ({n} cells marked; the original is unchanged).",
                       err=fmt != "text")
    sys.exit(report.exit_code)


@main.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
def rules_cmd(fmt: str) -> None:
    """List every rule: id, family, severity and what it checks."""
    from bcf.validate.catalogue import as_markdown, rules

    catalogue = rules()
    if fmt == "markdown":
        click.echo(as_markdown())
    elif fmt == "json":
        click.echo(json.dumps([r.__dict__ for r in catalogue.values()], indent=1, ensure_ascii=False))
    else:
        from rich.table import Table

        table = Table("Rule", "Family", "Severity", "Checks that…")
        for r in catalogue.values():
            table.add_row(r.id, r.family, r.severity, r.title)
        console().print(table)
        console().print(f"{len(catalogue)} rules. Full wording: bcf rules --format markdown")


@main.group()
def template() -> None:
    """The blank planning template."""


@template.command("new")
@click.option("--hwb", metavar="NAME|CODE", help="Pre-fill the Cover for this Health and Wellbeing Board.")
@click.option("--version", "version", metavar="X.Y", help="Template version (default: the current one).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the workbook (.xlsx).")
def template_new(hwb: str | None, version: str | None, output: Path) -> None:
    """Write a blank planning workbook."""
    from bcf import generate, spec

    try:
        s = spec.load(version)
        area = generate.new_template(s, output, hwb)
    except (KeyError, LookupError) as e:
        raise click.UsageError(str(e.args[0])) from e
    who = f" for {area.hwb_name} ({area.ons_code})" if area else ""
    console().print(f"Wrote {s.template_id} v{s.version}{who} to {output}")


@main.group()
def samples() -> None:
    """The sample round of filled workbooks with planted defects."""


@samples.command("generate")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=Path("sample_submissions"),
              show_default=True, help="Folder for the workbooks and manifest.json.")
@click.option("--seed", type=int, default=2014, show_default=True, help="The same seed gives the same round.")
@click.option("--workers", type=int, default=None, help="Worker processes (default: one per core).")
def samples_generate(output: Path, seed: int, workers: int | None) -> None:
    """Write one filled workbook per plan (151) and a manifest of planted defects."""
    from bcf import samples as sample_round

    start = time.perf_counter()
    with console().status("Writing the sample round…"):
        manifest = sample_round.generate(output, seed, workers)
    files = manifest["files"]
    defective = sum(1 for f in files if f["defects"])
    console().print(f"Wrote {len(files)} workbooks to {output} in {time.perf_counter() - start:.1f}s: "
                  f"{defective} with planted defects ({sum(len(f['defects']) for f in files)} in all), "
                  f"listed in {output / 'manifest.json'}")


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
