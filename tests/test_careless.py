"""Careless use never destroys work: no output replaces an input, a pipe is refused at once, a value the
marked-up copy cannot hold changes no verdict, and the current submission never depends on timing."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from bcf.batch import run_batch
from tests.corpus import base, edit_sheet
from tests.support import ROUND, bcf, plan_file


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    path = tmp_path / "plan.xlsx"
    path.write_bytes(base())
    return path


def _same(plan: Path) -> list[str]:
    return ["--format", "html", "-o", str(plan)]


def _hard_link(plan: Path) -> list[str]:
    os.link(plan, plan.with_name("link.xlsx"))
    return ["--annotate", str(plan.with_name("link.xlsx"))]


def _symlink(plan: Path) -> list[str]:
    plan.with_name("alias.xlsx").symlink_to(plan)
    return ["-o", str(plan.with_name("alias.xlsx"))]


def _other_path(plan: Path) -> list[str]:
    return ["--annotate", f"{plan.parent}/./../{plan.parent.name}/{plan.name}"]


def _two_outputs(plan: Path) -> list[str]:
    return ["-o", str(plan.with_name("out.xlsx")), "--annotate", str(plan.with_name("out.xlsx"))]


@pytest.mark.parametrize("outputs", [_same, _hard_link, _symlink, _other_path, _two_outputs])
def test_no_output_ever_replaces_an_input(outputs: Callable[[Path], list[str]], plan: Path) -> None:
    before = plan.read_bytes()
    run = bcf("check", plan, *outputs(plan))
    assert run.returncode == 2 and "Choose a new file name" in run.stderr and "Traceback" not in run.stderr
    assert plan.read_bytes() == before
    assert not plan.with_name("out.xlsx").exists()


def test_a_pipe_given_as_the_workbook_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "plan.xlsx"
    os.mkfifo(fifo)
    start = time.monotonic()
    run = bcf("check", fifo, timeout=30)
    assert run.returncode == 2 and "is not a file" in run.stderr and "Traceback" not in run.stderr
    assert time.monotonic() - start < 20


def test_an_impossible_date_is_a_finding_on_its_cell_even_with_a_marked_up_copy(tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"  # 30 February as an ISO date cell, which openpyxl cannot load
    path.write_bytes(edit_sheet(base(), "Cover", lambda xml: __import__("re").sub(
        rb'<c r="C14"[^>]*?(/>|>.*?</c>)', b'<c r="C14" t="d"><v>2015-02-30</v></c>', xml, count=1)))
    run = bcf("check", path, "--format", "json", "--annotate", tmp_path / "marked.xlsx")
    assert run.returncode == 1, run.stderr
    assert '"rule_id": "BCF-CELL-002"' in run.stdout and '"cell": "C14"' in run.stdout
    assert "BCF-GATE-004" not in run.stdout and "Traceback" not in run.stderr
    assert "No annotated copy" in run.stderr


def test_the_current_submission_does_not_depend_on_which_file_was_stored_first(tmp_path: Path) -> None:
    a = plan_file(tmp_path / "a", "Leeds", "leeds a.xlsx", contact_name="Version A")
    b = plan_file(tmp_path / "b", "Leeds", "leeds b.xlsx", contact_name="Version B")
    os.utime(a, (b.stat().st_mtime,) * 2)  # the same modification time, as a copy that keeps times gives
    current = []
    for order in ((a, b), (b, a)):
        db = tmp_path / f"{order[0].stem}-first.duckdb"
        for f in order:
            run_batch(f.parent, db, ROUND, workers=1)
        with duckdb.connect(str(db), read_only=True) as con:
            current.append(con.execute("SELECT file_name, contact_name FROM current_submissions "
                                       "JOIN cover USING (submission_id)").fetchall())
    assert current == [[("leeds b.xlsx", "Version B")]] * 2
