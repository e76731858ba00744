"""The command line: help that reads well, templates, the sample round and reading back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from bcf.cli import main


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("template", "samples", "read"):
        assert command in result.output


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
