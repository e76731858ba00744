"""The batch and the national store: every file recorded, national totals right, history kept, nothing lost."""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pandas as pd
import pytest

from bcf import batch, samples, store
from bcf.batch import Limits, run_batch
from bcf.findings import rules
from bcf.intake import Snapshot
from bcf.national import aggregate
from bcf.national.door import open_store
from bcf.sandbox import MB
from bcf.store import Store
from tests.support import PLAN, ROUND, plan_file, plan_for, write_plan
from tests.workers import empty_inspect

from .conftest import SEED


@pytest.fixture
def con(national: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(str(national), read_only=True) as c:
        yield c


def _valid_plans(manifest: dict[str, Any]) -> set[str]:
    """Plans whose planted defects are all advisory, from the manifest and the catalogue alone."""
    return {f["plan_code"] for f in manifest["files"]
            if all(rules()[d["rule"]].severity == "advisory" for d in f["defects"])}


def test_every_file_has_a_row_and_its_findings(con: duckdb.DuckDBPyConnection,
                                               sample_round: tuple[Path, dict[str, Any]]) -> None:
    _, manifest = sample_round
    stored = con.execute("SELECT file_name, status FROM submissions").fetchall()
    assert sorted(f for f, _ in stored) == sorted(f["file"] for f in manifest["files"])
    found = set(con.execute("SELECT s.file_name, f.rule_id, f.cell FROM findings f JOIN submissions s "
                            "USING (submission_id)").fetchall())
    for entry in manifest["files"]:
        for d in entry["defects"]:
            assert (entry["file"], d["rule"], d["cell"]) in found
    ready = {p for (p,) in con.execute("SELECT plan_code FROM valid_submissions").fetchall()}
    assert ready == _valid_plans(manifest)


def test_national_totals_equal_the_valid_files_own_figures(con: duckdb.DuckDBPyConnection,
                                                           sample_round: tuple[Path, dict[str, Any]]) -> None:
    _, manifest = sample_round
    valid = _valid_plans(manifest)
    plans = [p for p in samples.plans(PLAN, SEED) if p.area.plan_code in valid]  # the figures written, not read back
    pooled = sum(r["amount_this_year"] for p in plans for r in p.filled.tables["funding"] if r)
    claimed = sum(r["planned_saving"] for p in plans for r in p.filled.tables["benefits"] if r)
    reduction = sum(p.filled.fields[f"baseline_q{i}"] - p.filled.fields[f"plan_q{i}"] for p in plans for i in range(1, 5))
    assert con.execute("SELECT sum(pooled_000) FROM pooled_by_region").fetchone()[0] == pooled
    assert con.execute("SELECT sum(hwbs) FROM pooled_by_region").fetchone()[0] == len(valid)
    assert con.execute("SELECT sum(claimed_000) FROM savings_by_benefit_type").fetchone()[0] == claimed
    hwbs, planned = con.execute("SELECT hwbs, planned_reduction FROM p4p_total").fetchone()
    assert (hwbs, planned) == (len(valid), reduction)


def test_status_per_hwb_and_views_say_how_many_hwbs(con: duckdb.DuckDBPyConnection) -> None:
    status = dict(con.execute("SELECT status, count(*) FROM submission_status GROUP BY 1").fetchall())
    # the files whose HWB is not recognised are filed under the plan their names start with: none is missing
    assert sum(status.values()) == 151 and "missing" not in status
    for view in aggregate.EXPORT_VIEWS:
        columns = [c[0] for c in con.execute(f"DESCRIBE {view}").fetchall()]
        assert "hwbs" in columns or view in ("submission_status", "pooled_by_hwb", "nel_by_hwb", "conditions_not_met",
                                             "findings_by_family", "findings_by_rule"), view


def test_reloading_the_same_files_is_a_no_op(national: Path, sample_round: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = sample_round
    before = duckdb.connect(str(national), read_only=True).execute("SELECT count(*) FROM findings").fetchone()
    again = run_batch(folder, national, ROUND, workers=2)
    assert (again.already_loaded, again.checked) == (151, 0)
    assert gc.get_freeze_count() == 0  # the modules left out of the collector's passes meanwhile are back in them
    with duckdb.connect(str(national), read_only=True) as c:
        assert c.execute("SELECT count(*) FROM submissions").fetchone()[0] == 151
        assert c.execute("SELECT count(*) FROM findings").fetchone() == before


def test_a_resubmission_supersedes_and_keeps_history(tmp_path: Path) -> None:
    db = tmp_path / "n.duckdb"
    first = plan_file(tmp_path / "sep", "Leeds", "leeds.xlsx", contact_name="First Person")
    run_batch(first.parent, db, ROUND, workers=1)
    second = plan_file(tmp_path / "oct", "Leeds", "leeds v2.xlsx", contact_name="Second Person")
    import os
    os.utime(second, (first.stat().st_mtime + 86400,) * 2)
    run_batch(second.parent, db, ROUND, workers=1)
    with duckdb.connect(str(db), read_only=True) as c:
        assert c.execute("SELECT count(*) FROM submissions WHERE plan_code = 'E08000035'").fetchone()[0] == 2
        current = c.execute("SELECT file_name FROM current_submissions WHERE plan_code = 'E08000035'").fetchone()
        assert current == ("leeds v2.xlsx",)
        assert c.execute("SELECT superseded FROM submission_status WHERE plan_code = 'E08000035'").fetchone()[0] == 1
        names = c.execute("SELECT contact_name FROM cover JOIN current_submissions USING (submission_id)").fetchall()
        assert names == [("Second Person",)]


def test_bad_files_and_misbehaving_workers_do_not_stop_the_batch(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    good = [plan_file(folder, name, f"{name}.xlsx") for name in ("Leeds", "Kent", "Rutland")]
    (folder / "empty.xlsx").write_bytes(b"")
    (folder / "corrupt.xlsx").write_bytes(good[0].read_bytes()[:3000])
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4 not a plan")
    for name, area in (("raises", "Bury"), ("hangs", "Wigan"), ("crashes", "Sefton")):
        plan_file(folder, area, f"{name}.xlsx")
    shutil.copy(good[0], folder / "resent Leeds.xlsx")  # the same bytes twice: stored once
    result = run_batch(folder, tmp_path / "n.duckdb", ROUND, workers=2, limits=Limits(seconds=3),
                       inspect=__import__("tests.workers", fromlist=["flaky_inspect"]).flaky_inspect)
    assert (result.checked, result.already_loaded, result.repeated) == (9, 0, 1)  # a new store holds none of them
    with duckdb.connect(str(tmp_path / "n.duckdb"), read_only=True) as c:
        rows = dict(c.execute("SELECT file_name, status FROM submissions").fetchall())
        gate = dict(c.execute("SELECT s.file_name, f.rule_id FROM findings f JOIN submissions s USING (submission_id) "
                              "WHERE f.family = 'gate'").fetchall())
        query = "SELECT DISTINCT plan_code FROM cover JOIN submissions USING (submission_id)"
        loaded = {p for (p,) in c.execute(query).fetchall()}
    assert {rows[f"{n}.xlsx"] for n in ("Leeds", "Kent", "Rutland")} == {"ready"}
    assert loaded >= {"E08000035", "E10000016", "E06000017"}
    assert gate == {"empty.xlsx": "BCF-GATE-001", "corrupt.xlsx": "BCF-GATE-004", "notes.pdf": "BCF-GATE-013",
                    "raises.xlsx": "BCF-GATE-011", "hangs.xlsx": "BCF-GATE-011", "crashes.xlsx": "BCF-GATE-011"}


def test_the_batch_stores_with_one_duckdb_thread_beside_its_workers(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    real_close = batch._close

    def close(storing: Any, opening: Any, pool: Any) -> None:
        storing.shutdown(wait=True)
        threads.append(opening.result().con.execute("SELECT current_setting('threads')").fetchone()[0])
        real_close(storing, opening, pool)

    monkeypatch.setattr(batch, "_close", close)
    plan_file(tmp_path / "in", "Leeds", "leeds.xlsx")
    run_batch(tmp_path / "in", tmp_path / "n.duckdb", ROUND, workers=1)
    assert threads == [1]
    with Store(tmp_path / "n.duckdb") as opened:  # a store opened otherwise keeps DuckDB's own choice
        assert opened.con.execute("SELECT current_setting('threads')").fetchone()[0] == duckdb.connect().execute(
            "SELECT current_setting('threads')").fetchone()[0]


def test_a_second_writer_gets_a_clear_message(tmp_path: Path) -> None:
    db = tmp_path / "n.duckdb"
    folder = tmp_path / "in"
    plan_file(folder, "Leeds", "leeds.xlsx")
    with Store(db):  # this process holds the store; another process must be turned away
        proc = subprocess.run([sys.executable, "-m", "bcf", "batch", str(folder), "--db", str(db), "--round", ROUND],
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "in use by another run" in proc.stderr and "Traceback" not in proc.stderr


def test_schema_columns_are_the_specification_ids() -> None:
    s = PLAN.spec()
    with Store(Path(":memory:")) as store:
        data_tables = {t.id for t in s.tables} | {"cover", "funding_summary", "nel_plan", "governance"}
        for table in data_tables:
            stored = set(store.columns[table]) - {"submission_id", "row"}
            if table in {t.id for t in s.tables}:
                assert stored == {c.id for c in s.table(table).columns}, table
            else:
                assert stored <= {f.id for f in s.fields if f.is_input}, table
        stored_fields = {c for t in ("cover", "funding_summary", "nel_plan", "governance") for c in store.columns[t]}
        quarters = {f"{k}_q{i}" for k in ("baseline", "plan") for i in range(1, 5)}
        assert {f.id for f in s.fields if f.is_input} - stored_fields - quarters == {"hwb_name"} - stored_fields


HOSTILE = ["=cmd|' /C calc'!A0", "+SUM(A1)", "-2+3", "@import", "\t=1", "safe text", "- a dash list"]


def test_exports_neutralise_formula_injection(tmp_path: Path) -> None:
    df = pd.DataFrame({"text": HOSTILE, "number": range(len(HOSTILE))})
    safe = aggregate.neutralise(df)
    assert safe["text"].tolist() == ["'=cmd|' /C calc'!A0", "'+SUM(A1)", "'-2+3", "'@import", "'\t=1", "safe text",
                                     "'- a dash list"]
    assert safe["number"].tolist() == list(range(len(HOSTILE)))


def test_export_files_carry_no_live_formula(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    plan_file(folder, "Leeds", "leeds.xlsx")
    db = tmp_path / "n.duckdb"
    run_batch(folder, db, ROUND, workers=1)
    with duckdb.connect(str(db)) as c:  # a condition explained with a formula, as a hostile submitter might
        c.execute("UPDATE conditions SET meets = 'No', explanation = '=HYPERLINK(\"http://x\",\"y\")' WHERE \"row\" = 5")
    with open_store(db) as c:
        aggregate.export(c, "csv", tmp_path / "csv", ROUND)
        aggregate.export(c, "xlsx", tmp_path / "xlsx", ROUND)
    text = (tmp_path / "csv" / f"conditions_not_met-{ROUND}.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    ws = openpyxl.load_workbook(tmp_path / "xlsx" / f"bcf-national-{ROUND}.xlsx")["Conditions not met"]
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert cells and all(c.data_type == "s" and c.value.startswith("'=") for c in cells)


def test_folders_nested_1100_deep_are_searched_to_the_bottom(tmp_path: Path) -> None:
    deep = bottom = tmp_path / "in"
    deep.mkdir()
    for _ in range(1100):
        bottom = bottom / "d"
        bottom.mkdir()
    (bottom / "E08000035_Leeds.xlsx").write_bytes(b"not a workbook")
    (deep / "loop").symlink_to(deep)  # a link back up is not followed
    db = tmp_path / "n.duckdb"
    try:
        run = subprocess.run([sys.executable, "-m", "bcf", "batch", str(deep), "--db", str(db), "--round", "2015-16",
                              "--workers", "1"], capture_output=True, text=True, timeout=300)
    finally:
        _remove_deep(deep)  # pytest's own clean-up of old temporary folders recurses, and would fail on it
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    with store.connect(db) as con:
        assert con.execute("SELECT file_name, status FROM submissions").fetchall() == [("E08000035_Leeds.xlsx", "unreadable")]


def _remove_deep(top: Path) -> None:
    """Remove a folder tree however deep, the deepest folders first."""
    folders, todo = [], [top]
    while todo:
        folder = todo.pop()
        folders.append(folder)
        for entry in os.scandir(folder):
            if entry.is_dir(follow_symlinks=False):
                todo.append(Path(entry.path))
            else:
                os.unlink(entry.path)
    for folder in reversed(folders):
        folder.rmdir()


def test_a_file_stored_as_values_or_as_a_frame_is_the_same_rows(sample_round: tuple[Path, dict[str, Any]],
                                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small inserts go in as a VALUES list, large ones as a frame: every table holds the same either way,
    blanks (a float NaN from a settled calculation) as NULL in both."""
    from datetime import datetime

    from bcf import intake
    from bcf.validate import complete, inspect_file

    folder, manifest = sample_round
    chosen = [f["file"] for f in manifest["files"] if f["defects"]][:25] + [f["file"] for f in manifest["files"]][:5]
    reports = complete([inspect_file(intake.read(folder / name), ROUND, "plan") for name in chosen])
    items = [(r, f"sha-{i}", datetime(2015, 4, 1)) for i, r in enumerate(reports)]
    held = []
    for small in (0, 10**9):
        monkeypatch.setattr(store, "SMALL", small)
        with Store(tmp_path / f"small-{small}.duckdb") as s:
            for item in items:  # one file a call, as the self-check's preview stores it
                s.load([item], ROUND, "plan")
            held.append({t: sorted(repr(r) for r in s.con.execute(
                f'SELECT * {"EXCLUDE (loaded_at)" if t == "submissions" else ""} FROM "{t}"').fetchall())
                for t in {*store.data_tables(), "submissions", "findings"}})
    assert held[0] == held[1] and sum(map(len, held[0].values())) > 1000


def test_the_batch_summary_counts_plans_as_plans_files_as_files_and_names_every_unreadable_file(tmp_path: Path) -> None:
    folder, db = tmp_path / "in", tmp_path / "n.duckdb"
    plan_file(folder, "Leeds", "E08000035_Leeds.xlsx")
    plan_file(folder, "Leeds", "E08000035_Leeds_v2.xlsx", contact_name="Jo Brown")  # a second plan for Leeds
    plan_file(folder, "Kent", "E10000016_Kent.xlsx")
    (folder / "E06000008_Blackburn_with_Darwen.xlsx").write_text("not a workbook")  # unreadable, named for a board
    (folder / "empty.xlsx").write_bytes(b"")  # unreadable, tied to no board
    (folder / "scan.xlsx").write_text("a scanned letter")  # the same
    env = {"COLUMNS": "400"}
    done = subprocess.run([sys.executable, "-m", "bcf", "batch", str(folder), "--db", str(db), "--round", ROUND,
                           "--workers", "1"], capture_output=True, text=True, timeout=300, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "6 checked now, 0 already in the store. Checked now: 3 ready, 3 unreadable." in text
    assert "Files checked: ready 3 · not ready 0 · unreadable 3" in text  # the progress line, as the sentence counts
    assert ("Round 2015-16 now has a plan from 3 of its 151 areas; 2 more files could not be tied to any plan "
            "(named below).") in text
    assert "┃ Status ┃ Plans ┃" in text and "│ ready │ 2 │" in text and "│ unreadable │ 1 │" in text
    assert "Files unreadable or tied to no plan (3)" in text
    for name, plan in [("E06000008_Blackburn_with_Darwen.xlsx", "Blackburn with Darwen"), ("empty.xlsx", "(none)"),
                       ("scan.xlsx", "(none)")]:
        assert f"│ {name} │ {plan} │ unreadable │" in text, name
    doc = json.loads(subprocess.run([sys.executable, "-m", "bcf", "batch", str(folder), "--db", str(db), "--round",
                                     ROUND, "--format", "json"], capture_output=True, text=True, timeout=300).stdout)
    files = doc["summary"]["files"][0]
    assert (files["files"], files["current"], files["hwbs"], files["not_tied"]) == (5, 3, 3, 2)
    assert sorted(r["file_name"] for r in doc["summary"]["unreadable"]) == [
        "E06000008_Blackburn_with_Darwen.xlsx", "empty.xlsx", "scan.xlsx"]


def test_a_file_that_does_not_become_current_is_said_to_be_kept_as_history(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from bcf.cli import main

    newer, older = tmp_path / "newer", tmp_path / "older"
    write_plan(plan_for("Kent"), newer / "E10000016_Kent_v2.xlsx")
    write_plan(plan_for("Kent", seed=2), older / "E10000016_Kent_v3.xlsx", when=1_400_000_000)  # sent now, saved in 2014
    db = tmp_path / "n.duckdb"
    assert run_batch(newer, db, ROUND, workers=1).history == []
    got = json.loads(CliRunner().invoke(main, ["batch", str(older), "--db", str(db), "--round", ROUND, "--format",
                                               "json"]).output)
    assert got["checked"] == 1 and len(got["history"]) == 1
    assert got["history"][0].startswith("E10000016_Kent_v3.xlsx is kept as history: E10000016_Kent_v2.xlsx, changed "
                                        "later")
    text = CliRunner().invoke(main, ["batch", str(older), "--db", str(tmp_path / "m.duckdb"), "--round", ROUND]).output
    assert "did not become current" not in text  # alone in a store, it is current


@pytest.mark.parametrize(("size_mb", "most"), [(0, batch.AHEAD * 2), (20, -(-batch.AHEAD_MB // 20) + 1)])
def test_the_files_handed_to_the_workers_ahead_are_few_and_within_their_megabytes(size_mb: int, most: int) -> None:
    taken = given_back = held = 0

    def files() -> Iterator[Snapshot]:
        nonlocal taken, held
        for i in range(30):
            taken += 1
            held = max(held, taken - given_back)
            yield Snapshot(f"{i}.xlsx", b"", size_mb * MB or 1, f"{i:064d}", datetime(2015, 4, 1))

    for _ in batch.check_files(files(), ROUND, "plan", 2, Limits(), inspect=empty_inspect):
        given_back += 1
    assert given_back == 30
    assert held <= most


def test_files_are_handed_to_the_workers_a_few_at_a_time_and_each_comes_back_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pool = batch.start_workers(2, Limits())
    handed: list[int] = []
    submit = pool.submit
    monkeypatch.setattr(pool, "submit", lambda fn, group, *args: handed.append(len(group)) or submit(fn, group, *args))
    snaps = [Snapshot(f"{i}.xlsx", b"", 1, f"{i:064d}", datetime(2015, 4, 1)) for i in range(31)]
    back = [snap.name for snap, *_ in batch.check_files(iter(snaps), ROUND, "plan", 2, Limits(), inspect=empty_inspect,
                                                        pool=pool)]
    assert sorted(back) == sorted(s.name for s in snaps)
    assert batch.PER_TASK > 1 and handed == [batch.PER_TASK] * 15 + [1]
