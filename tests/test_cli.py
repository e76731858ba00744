"""The command line: help that reads well, templates, the sample round and reading back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bcf.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
DOCS = README.parent / "docs"


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("template", "samples", "read"):
        assert command in result.output


def _every_command(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    out: list[tuple[tuple[str, ...], click.Command]] = []
    for name, command in group.commands.items():
        out.append(((*prefix, name), command))
        if isinstance(command, click.Group):
            out += _every_command(command, (*prefix, name))
    return out


@pytest.mark.parametrize(("path", "command"), _every_command(main), ids=lambda x: " ".join(x) if isinstance(x, tuple) else "")
def test_every_command_has_help_and_is_documented(path: tuple[str, ...], command: click.Command) -> None:
    """As sqlite-utils' documentation tests: help for each command, and each named in the README or docs/."""
    assert command.help and len(command.help.split()) >= 5, path
    docs = README.read_text(encoding="utf-8") + "".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.md"))
    assert f"bcf {' '.join(path)}" in docs, f"bcf {' '.join(path)} is not in the README or docs/"


def test_template_new_for_an_hwb_by_code(tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    result = CliRunner().invoke(main, ["template", "new", "--hwb", "E08000025", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Birmingham" in result.output and out.stat().st_size > 10_000


def test_unknown_hwb_or_version_is_a_usage_error(tmp_path: Path) -> None:
    runner = CliRunner()
    bad_hwb = runner.invoke(main, ["template", "new", "--hwb", "Borsetshire", "-o", str(tmp_path / "x.xlsx")])
    bad_version = runner.invoke(main, ["template", "new", "--version", "0.9", "-o", str(tmp_path / "y.xlsx")])
    assert (bad_hwb.exit_code, bad_version.exit_code) == (2, 2)
    assert "Borsetshire" in bad_hwb.output and "Traceback" not in bad_hwb.output


def test_read_json_as_a_subprocess(sample_round: tuple[Path, dict]) -> None:
    folder, manifest = sample_round
    first = folder / manifest["files"][0]["file"]
    proc = subprocess.run([sys.executable, "-m", "bcf", "read", "--format", "json", str(first)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert rows[0]["hwb"] == manifest["files"][0]["hwb"] and rows[0]["rows"]["schemes"] >= 8
