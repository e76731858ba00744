"""Nothing is lost: hostile files mixed into a batch, a batch killed part way, a run resumed."""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

from bcf import samples
from bcf.batch import Limits, run_batch
from bcf.generate import write_workbook
from tests.support import AREAS, PLAN, ROUND

from .corpus import CASES, build_case, soffice_available


def _good(folder: Path, hwb: str) -> Path:
    plan = samples.build_plan(AREAS.find(hwb), random.Random(11), PLAN)  # type: ignore[arg-type]
    buf = io.BytesIO()
    write_workbook(plan.spec, buf, plan.filled)
    path = folder / f"good {hwb}.xlsx"
    path.write_bytes(buf.getvalue())
    return path


def test_the_corpus_in_a_batch_loads_every_good_file(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    cases = {c.file: c for c in CASES.values() if c.needs != "soffice" or soffice_available()}
    for c in cases.values():
        build_case(c, folder)
    good = [_good(folder, hwb) for hwb in ("Kent", "Rutland", "Wigan")]
    db = tmp_path / "n.duckdb"
    result = run_batch(folder, db, "2015-16", workers=2, limits=Limits(seconds=20))
    with duckdb.connect(str(db), read_only=True) as con:
        status = dict(con.execute("SELECT file_name, status FROM submissions").fetchall())
        rules = con.execute("SELECT s.file_name, f.rule_id FROM findings f JOIN submissions s USING (submission_id)").fetchall()
        with_data = {f for (f,) in con.execute("SELECT file_name FROM submissions JOIN cover USING (submission_id)").fetchall()}
    assert result.checked + result.already_loaded == len(list(p for p in folder.iterdir() if p.is_file()))
    assert all(status[g.name] == "ready" and g.name in with_data for g in good)
    found = {(f, r) for f, r in rules}
    for c in cases.values():
        name = Path(c.file).name
        if name not in status:  # the same bytes as another case: stored once, under the first name
            continue
        if c.exit == 2:
            assert status[name] == "unreadable", name
        for want in c.rules:
            assert (name, want.split("@")[0]) in found, (name, want)


def test_a_killed_batch_resumes_with_no_partial_file_and_no_duplicate(sample_round: tuple[Path, dict[str, Any]],
                                                                      tmp_path: Path) -> None:
    folder, manifest = sample_round
    db = tmp_path / "n.duckdb"
    proc = subprocess.Popen([sys.executable, "-m", "bcf", "batch", str(folder), "--db", str(db), "--round", ROUND],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    # the log holds ~40 KB once the schema is made and ~390 KB once the first chunk of 40 files is in
    wal, deadline = Path(f"{db}.wal"), time.monotonic() + 120
    while not (wal.exists() and wal.stat().st_size > 150_000) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the batch and its workers, mid-run, as a power cut would
    proc.wait()
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.execute("SELECT count(*) FROM submissions").fetchall()[0][0]
        partial = con.execute("SELECT count(*) FROM submissions s WHERE status <> 'unreadable' AND NOT EXISTS "
                              "(SELECT 1 FROM cover c WHERE c.submission_id = s.submission_id)").fetchall()[0][0]
    assert 0 < stored < 151 and partial == 0, stored
    assert stored % 40 == 0  # whole chunks only: each is one transaction
    result = run_batch(folder, db, "2015-16", workers=2)
    assert result.already_loaded == stored and result.checked == 151 - stored
    with duckdb.connect(str(db), read_only=True) as con:
        names = [f for (f,) in con.execute("SELECT file_name FROM submissions").fetchall()]
        shas = con.execute("SELECT count(DISTINCT sha256) FROM submissions").fetchall()[0][0]
    assert sorted(names) == sorted(f["file"] for f in manifest["files"]) and shas == 151
