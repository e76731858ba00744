"""Nothing is lost: hostile files mixed into a batch, a batch killed part way, a run resumed, files changing
under a running batch, a full disk, odd file names, submitter text that looks like console markup."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bcf import batch, samples
from bcf.batch import Limits, chunk_size, run_batch
from bcf.generate import write_workbook
from tests.support import AREAS, PLAN, ROUND, bcf, processes_in_session, wait_until
from tests.workers import flaky_inspect, meddling_inspect

from .corpus import CASES, build_case, soffice_available


def _plan_bytes(hwb: str, **fields: Any) -> bytes:
    plan = samples.build_plan(AREAS.find(hwb), random.Random(11), PLAN)  # type: ignore[arg-type]
    plan.filled.fields.update(fields)
    buf = io.BytesIO()
    write_workbook(plan.spec, buf, plan.filled)
    return buf.getvalue()


def _good(folder: Path, hwb: str) -> Path:
    path = folder / f"good {hwb}.xlsx"
    path.write_bytes(_plan_bytes(hwb))
    return path


def _stored(db: Path) -> list[tuple[str, str, str | None, str]]:
    """(file name, SHA-256, the HWB its stored data names, status) of every stored file."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT s.file_name, s.sha256, c.hwb_name, s.status FROM submissions s "
                           "LEFT JOIN cover c USING (submission_id) ORDER BY 1").fetchall()


@pytest.mark.slow  # the whole hostile corpus through a batch: `make test-all` and CI run it
def test_the_corpus_in_a_batch_loads_every_good_file(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    cases = {c.file: c for c in CASES.values() if (c.needs != "soffice" or soffice_available())
             and c.file != "sparse-64gb.xlsx"}  # a batch hashes every file it records: 64 GB would take minutes
    for c in cases.values():
        build_case(c, folder)
    good = [_good(folder, hwb) for hwb in ("Kent", "Rutland", "Wigan")]
    db = tmp_path / "n.duckdb"
    result = run_batch(folder, db, "2015-16", workers=2, limits=Limits(seconds=20))
    with duckdb.connect(str(db), read_only=True) as con:
        status = dict(con.execute("SELECT file_name, status FROM submissions").fetchall())
        rules = con.execute("SELECT s.file_name, f.rule_id FROM findings f JOIN submissions s USING (submission_id)").fetchall()
        with_data = {f for (f,) in con.execute("SELECT file_name FROM submissions JOIN cover USING (submission_id)").fetchall()}
    assert result.checked + result.repeated == len(list(p for p in folder.iterdir() if p.is_file()))
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


def _twice(folder: Path, into: Path) -> list[str]:
    """The round's files and a copy of each whose bytes differ (its zip comment), in ``into``: a batch long enough
    that a run is sure to be killed between its first chunk's commit and its second's."""
    into.mkdir()
    for f in sorted(folder.glob("*.xlsx")):
        shutil.copy(f, into / f.name)
        shutil.copy(f, into / f"copy-{f.name}")
        with zipfile.ZipFile(into / f"copy-{f.name}", "a") as z:
            z.comment = b"a copy"
    return sorted(p.name for p in into.glob("*.xlsx"))


def test_a_killed_batch_resumes_with_no_partial_file_and_no_duplicate(sample_round: tuple[Path, dict[str, Any]],
                                                                      tmp_path: Path) -> None:
    folder = tmp_path / "files"
    files = _twice(sample_round[0], folder)
    db = tmp_path / "n.duckdb"
    proc = subprocess.Popen([sys.executable, "-m", "bcf", "batch", str(folder), "--db", str(db), "--round", ROUND],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    # the log holds ~40 KB once the schema is made and megabytes once the first chunk is in; it grows while a
    # chunk's commit is written, so the kill waits until it has stopped growing past the schema's
    wal, deadline, sizes = Path(f"{db}.wal"), time.monotonic() + 120, [0]
    while not (sizes[-1] > 150_000 and sizes[-3:] == [sizes[-1]] * 3) and time.monotonic() < deadline:
        time.sleep(0.05)
        sizes.append(wal.stat().st_size if wal.exists() else 0)
    os.killpg(proc.pid, signal.SIGKILL)  # the batch and its workers, mid-run, as a power cut would
    proc.wait()
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.execute("SELECT count(*) FROM submissions").fetchall()[0][0]
        partial = con.execute("SELECT count(*) FROM submissions s WHERE status <> 'unreadable' AND NOT EXISTS "
                              "(SELECT 1 FROM cover c WHERE c.submission_id = s.submission_id)").fetchall()[0][0]
    assert 0 < stored < len(files) and partial == 0, stored
    assert stored % chunk_size(len(files)) == 0  # whole chunks only: each is one transaction
    result = run_batch(folder, db, "2015-16", workers=2)
    assert result.already_loaded == stored and result.checked == len(files) - stored
    with duckdb.connect(str(db), read_only=True) as con:
        names = [f for (f,) in con.execute("SELECT file_name FROM submissions").fetchall()]
        shas = con.execute("SELECT count(DISTINCT sha256) FROM submissions").fetchall()[0][0]
    assert sorted(names) == files and shas == len(files)


def test_ctrl_c_stops_a_batch_in_one_sentence_and_the_rerun_completes_the_store(
        sample_round: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    folder, manifest = sample_round
    db = tmp_path / "n.duckdb"
    proc = subprocess.Popen([sys.executable, "-m", "bcf", "batch", str(folder), "--db", str(db), "--round", ROUND,
                             "--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    wal, deadline = Path(f"{db}.wal"), time.monotonic() + 120
    while not (wal.exists() and wal.stat().st_size > 150_000) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the terminal sends it to the batch and its workers alike
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Exception" not in err, err
    assert "Stopped. What was stored before you stopped it is kept; run the batch again" in err
    assert len(err.strip().splitlines()) == 1, err
    result = run_batch(folder, db, ROUND, workers=2)
    assert result.already_loaded + result.checked == 151
    with duckdb.connect(str(db), read_only=True) as con:
        names = [f for (f,) in con.execute("SELECT file_name FROM submissions").fetchall()]
    assert sorted(names) == sorted(f["file"] for f in manifest["files"])  # each once, none missing


def test_files_swapped_or_removed_under_a_running_batch_are_stored_as_read_or_left_for_the_next_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, db = tmp_path / "in", tmp_path / "n.duckdb"
    folder.mkdir()
    # the files read before the first is checked (those handed to the one worker ahead), then three more
    before = ("Kent", "Rutland", "Wigan", "Bolton", "Hartlepool", "Oldham", "Salford", "Trafford")[:batch.AHEAD + 1]
    areas = (*before, "Leeds", "Bury", "Sefton")
    versions = {hwb: _plan_bytes(hwb) for hwb in areas}
    names = [f"{i:02d} {hwb}.xlsx" for i, hwb in enumerate(areas)]
    for name, hwb in zip(names, areas, strict=True):
        (folder / name).write_bytes(versions[hwb])
    hwb_of = {hashlib.sha256(data).hexdigest(): hwb for hwb, data in versions.items()}
    leeds, bury, sefton = names[-3:]
    # while the first file is checked, a sync client swaps two files and a colleague removes one
    monkeypatch.setenv("BCF_TEST_MEDDLE", json.dumps([["swap", str(folder / leeds), str(folder / bury)],
                                                      ["remove", str(folder / sefton)]]))
    result = run_batch(folder, db, ROUND, workers=1, inspect=meddling_inspect)
    stored = _stored(db)
    assert [(name, hwb_of[sha], hwb, status) for name, sha, hwb, status in stored] == [
        *((name, hwb, hwb, "ready") for name, hwb in zip(names[:len(before)], before, strict=True)),
        (leeds, "Bury", "Bury", "ready"), (bury, "Leeds", "Leeds", "ready")]  # each hash stored with its bytes' data
    assert len(result.not_stored) == 1 and result.not_stored[0].startswith(f"{sefton}: it was removed")
    (folder / sefton).write_bytes(versions["Sefton"])  # back again: the next run checks it
    again = run_batch(folder, db, ROUND, workers=1)
    assert (again.checked, again.already_loaded, again.not_stored) == (1, len(areas) - 1, [])
    assert [hwb for _, _, hwb, _ in _stored(db)] == [*before, "Bury", "Leeds", "Sefton"]


def test_odd_file_names_and_markup_in_submitter_text_never_stop_a_batch_or_an_export(tmp_path: Path) -> None:
    folder, db = tmp_path / "in", tmp_path / "n.duckdb"
    folder.mkdir()
    names = {b"\xff\xfe legacy zip.xlsx": "Kent", b"ctrl \x1b[31m\x07 plan.xlsx": "Rutland",
             "rtl \u202egnp.xlsx".encode(): "Wigan"}
    for raw, hwb in names.items():
        with open(os.path.join(os.fsencode(folder), raw), "wb") as f:
            f.write(_plan_bytes(hwb))
    markup = "[/x] [link=https://evil.example]click[/link] [bold red]"
    (folder / "markup.xlsx").write_bytes(_plan_bytes("Leeds", hwb_name=markup))
    first = bcf("batch", str(folder), "--db", str(db), "--round", ROUND)
    assert first.returncode == 0 and "Traceback" not in first.stderr, first.stderr
    assert markup.split()[0] in first.stdout and "[link=https://evil.example]click[/link]" in first.stdout
    assert "4 checked now, 0 already in the store" in first.stdout
    again = bcf("batch", str(folder), "--db", str(db), "--round", ROUND)
    assert again.returncode == 0 and "0 checked now, 4 already in the store" in again.stdout, again.stderr
    stored = {name for name, *_ in _stored(db)}
    assert stored == {"\\xff\\xfe legacy zip.xlsx", "ctrl \\x1b[31m\\x07 plan.xlsx", "rtl \\u202egnp.xlsx", "markup.xlsx"}
    export = bcf("export", "--db", str(db), "--format", "xlsx", "-o", str(tmp_path / "out"))
    assert export.returncode == 0, export.stderr
    import openpyxl

    wb = openpyxl.load_workbook(tmp_path / "out" / f"bcf-national-{ROUND}.xlsx", read_only=True)
    rows = list(wb["Submission status"].iter_rows(values_only=True))
    column = rows[0].index("File name")
    shown = {row[column] for row in rows[1:]}
    assert stored - {"markup.xlsx"} <= shown


def test_a_killed_batch_leaves_no_worker_running(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for hwb in ("Kent", "Rutland", "Wigan", "Leeds", "Bury", "Sefton", "Trafford", "Bolton"):
        _good(folder, hwb)
    proc = subprocess.Popen([sys.executable, "-m", "bcf", "batch", str(folder), "--db", str(tmp_path / "n.duckdb"),
                             "--round", ROUND, "--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        workers = lambda: [p for p, _ in processes_in_session(proc.pid) if p != proc.pid]  # noqa: E731
        assert wait_until(lambda: len(workers()) >= 2, 60), processes_in_session(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)  # the batch alone, mid-run: its workers get no word from it
        proc.wait()
        assert wait_until(lambda: not processes_in_session(proc.pid), 10), processes_in_session(proc.pid)
    finally:
        for pid, _ in processes_in_session(proc.pid):
            os.kill(pid, signal.SIGKILL)


def _can_mount() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs tmpfs /mnt"], capture_output=True).returncode == 0


DISK_FULL = """
set -u
mount -t tmpfs -o size=2500k tmpfs "$DISK"  # room for a new store and its first chunk, not the round (2400k-2600k)
"$PY" -m bcf batch "$FOLDER" --db "$DISK/n.duckdb" --round "$ROUND" > "$OUT/first.out" 2> "$OUT/first.err"
echo $? > "$OUT/first.rc"
"$PY" -c "$DUMP" "$DISK/n.duckdb" > "$OUT/after-full.txt"
mount -o remount,size=50m "$DISK"  # space freed
"$PY" -m bcf batch "$FOLDER" --db "$DISK/n.duckdb" --round "$ROUND" > "$OUT/again.out" 2>&1
echo $? > "$OUT/again.rc"
"$PY" -c "$DUMP" "$DISK/n.duckdb" > "$OUT/after-rerun.txt"
"""
DUMP = """import duckdb, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)
query = "SELECT count(*), count(*) FILTER (WHERE status = 'unreadable'), count(DISTINCT sha256) FROM submissions"
print(json.dumps(con.execute(query).fetchone()))"""


@pytest.mark.skipif(not _can_mount(), reason="needs user namespaces (unshare -rm) to mount a small real disk")
def test_a_full_disk_stops_the_batch_in_one_sentence_and_the_rerun_completes_the_store(
        sample_round: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    env = {**os.environ, "DISK": str(disk), "OUT": str(out), "FOLDER": str(sample_round[0]), "ROUND": ROUND,
           "PY": sys.executable, "DUMP": DUMP, "COLUMNS": "200"}
    subprocess.run(["unshare", "-rm", "sh", "-c", DISK_FULL], env=env, check=True, timeout=600)
    err = (out / "first.err").read_text()
    assert (out / "first.rc").read_text().strip() == "2"
    assert err.strip().splitlines() == [f"Error: There is no space left on the disk that holds {disk}/n.duckdb. Free "
                                        "some space, then run the batch again: what was stored before is kept, and "
                                        "nothing of the files being stored was written."]
    stored, unreadable, hashes = json.loads((out / "after-full.txt").read_text())
    whole_chunks = 0 < stored < 151 and stored % chunk_size(151) == 0
    assert whole_chunks and unreadable == 0 and hashes == stored  # no verdicts on files the store could not take
    assert (out / "again.rc").read_text().strip() == "0"
    assert f"{151 - stored} checked now, {stored} already in the store" in (out / "again.out").read_text()
    assert json.loads((out / "after-rerun.txt").read_text()) == [151, 0, 151]


def test_what_is_not_a_workbook_file_is_named_and_never_stops_the_batch(tmp_path: Path) -> None:
    """Links that loop or lead nowhere, a pipe, a socket and a device: each named with what it is, none recorded as
    a verdict, and the workbook beside them checked and stored; a spreadsheet's lock file is left alone, as the file
    manager's debris is, and a linked folder is not entered."""
    import socket

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "E08000035_Leeds.xlsx").write_bytes(_plan_bytes("Leeds"))
    os.mkfifo(folder / "pipe.xlsx")
    (folder / "loop1.xlsx").symlink_to(folder / "loop2.xlsx")
    (folder / "loop2.xlsx").symlink_to(folder / "loop1.xlsx")
    (folder / "gone.xlsx").symlink_to(folder / "nowhere.xlsx")
    (folder / "zero.xlsx").symlink_to("/dev/zero")
    (folder / "linked folder").symlink_to(tmp_path)
    (folder / ".~lock.E08000035_Leeds.xlsx#").write_text("lock")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(folder / "sock.xlsx"))
        result = run_batch(folder, tmp_path / "n.duckdb", ROUND, workers=1)
    assert result.checked == 1 and result.status["ready"] == 1
    said = dict(sorted((why.split(":")[0].split(" is not")[0], why) for why in result.not_stored))
    assert sorted(said) == ["gone.xlsx", "loop1.xlsx", "loop2.xlsx", "pipe.xlsx", "sock.xlsx", "zero.xlsx"]
    assert "does not exist" in said["gone.xlsx"] and "leads back to itself" in said["loop1.xlsx"]
    assert all("is not a file" in said[n] for n in ("pipe.xlsx", "sock.xlsx", "zero.xlsx"))


READ_ONLY = """
set -u
mount -t tmpfs -o size=50m tmpfs "$DISK"
cp "$STORE" "$DISK/n.duckdb"
[ -e "$STATE" ] && cp "$STATE" "$DISK/n.state.sqlite"
mount -o remount,ro "$DISK"  # a disk that can no longer be written
for command in stress decisions; do
  "$PY" -m bcf "$command" --db "$DISK/n.duckdb" --round "$ROUND" > /dev/null 2> "$OUT/$command.err"
  echo $? > "$OUT/$command.rc"
done
"""


@pytest.mark.skipif(not _can_mount(), reason="needs user namespaces (unshare -rm) to mount a small real disk")
def test_a_disk_that_cannot_be_written_is_said_to_be_so_never_a_damaged_store(national: Path, tmp_path: Path) -> None:
    """A store and its state file on a disk mounted read-only: the commands that write say the disk cannot be
    written, and never that the store or the decision log is damaged (which invites deleting them)."""
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    state = national.with_name(national.stem + ".state.sqlite")
    env = {**os.environ, "DISK": str(disk), "OUT": str(out), "STORE": str(national), "STATE": str(state),
           "ROUND": ROUND, "PY": sys.executable, "COLUMNS": "200"}
    subprocess.run(["unshare", "-rm", "sh", "-c", READ_ONLY], env=env, check=True, timeout=600)
    for command in ("stress", "decisions"):
        err = (out / f"{command}.err").read_text()
        assert (out / f"{command}.rc").read_text().strip() == "2" and "Traceback" not in err, err
        assert "damaged" not in err and "not a bcf" not in err, err
        assert "could not be" in err and ("writ" in err or "read-only" in err.lower()), err


def test_workers_that_cannot_start_stop_the_batch_and_no_file_gets_a_verdict(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker processes the system will not make (here: every fork refused, as with too many processes) are a
    failure of the machine: the batch stops in one sentence, and no file is recorded as unreadable because of it."""
    from bcf.batch import WorkersFailed

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "E08000035_Leeds.xlsx").write_bytes(_plan_bytes("Leeds"))
    db = tmp_path / "n.duckdb"

    def refused() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refused)
    with pytest.raises(WorkersFailed, match="cannot run on this machine"):
        run_batch(folder, db, ROUND, workers=2)
    assert not db.exists()  # refused before the store was made: nothing about any file was recorded


def test_a_worker_lost_where_none_can_start_again_stops_the_batch_and_no_file_gets_a_verdict(tmp_path: Path) -> None:
    """A worker dies on a file, and no worker can start to check that file alone (here: capped far below what
    Python needs to start): the machine's failure, so the batch stops, and neither file is recorded."""
    from bcf.batch import WorkersFailed

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "E08000035_Leeds.xlsx").write_bytes(_plan_bytes("Leeds"))
    (folder / "crashes.xlsx").write_bytes(_plan_bytes("Kent"))
    db = tmp_path / "n.duckdb"
    with pytest.raises(WorkersFailed, match="cannot run on this machine"):
        run_batch(folder, db, ROUND, workers=1, limits=Limits(memory_mb=20), inspect=flaky_inspect)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM submissions").fetchall() == [(0,)]


