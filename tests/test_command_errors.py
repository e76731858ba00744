"""Every command, used wrongly or at a bad moment, says so in one sentence with exit status 2, never a traceback.

Three ways things go wrong in real use: a file or folder that does not exist, a store another run is
writing to (a batch still running), and a round the content or the store does not hold.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bcf.cli import main
from tests.support import ROUND, bcf, plan_for, write_plan

STORE_COMMANDS = [["national"], ["export", "-o", "{tmp}/export"], ["stress"], ["letters", "-o", "{tmp}/letters"],
                  ["report", "national", "-o", "{tmp}/report"], ["monitor"], ["report", "monitoring", "-o", "{tmp}/mon"],
                  ["changes"], ["decisions"],
                  ["decide", "--rule", "BCF-POL-010", "--accept", "--reason", "r", "--by", "b"],
                  ["peers", "--hwb", "Leeds"], ["track-record"],
                  ["batch", "{plans}", "--round", ROUND]]


def _commands(group: object, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    import click

    assert isinstance(group, click.Group)
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


@pytest.fixture(scope="module")
def store(national: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("locked") / "national.duckdb"
    shutil.copy(national, db)
    return db


@pytest.fixture
def locked(store: Path) -> Iterator[Path]:
    """The store held open for writing by another process, as a running batch holds it."""
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); sys.stdin.read()", str(store)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    try:
        yield store
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(30)


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, args)
    output = result.output  # standard output and error, as a terminal shows them
    assert not (result.exception and not isinstance(result.exception, SystemExit)), (args, repr(result.exception))
    return result.exit_code, output


def _assert_one_sentence(code: int, output: str, *words: str) -> None:
    assert code == 2, output
    assert "Traceback" not in output and "Exception" not in output and "Error: " in output, output
    message = output[output.index("Error: "):].strip()
    assert len(message.splitlines()) <= 2, message  # click may wrap; never a dump
    for w in words:
        assert w in message, (w, message)


def test_every_command_is_covered() -> None:
    """A new command must be added to the cases below (or to the ones that need neither store nor round)."""
    covered = {"check", "template new", "batch", "read", "national", "export", "stress", "letters", "report national",
               "samples generate", "serve", "monitor", "report monitoring", "changes", "decisions", "decide", "diff",
               "users add", "users remove", "users list", "report site", "peers", "track-record"}
    no_files_or_store = {"rules", "rounds"}
    assert {" ".join(c) for c in _commands(main)} == covered | no_files_or_store


def test_missing_folders(tmp_path: Path, sample_round: tuple[Path, dict]) -> None:
    folder, manifest = sample_round
    plan = str(folder / manifest["files"][0]["file"])
    missing = tmp_path / "no such folder"
    cases = [["check", plan, "-o", f"{missing}/report.html"], ["check", plan, "--annotate", f"{missing}/copy.xlsx"],
             ["template", "new", "-o", f"{missing}/t.xlsx"], ["batch", str(missing), "--db", f"{tmp_path}/n.duckdb",
                                                              "--round", ROUND],
             ["batch", str(folder), "--db", f"{missing}/n.duckdb", "--round", ROUND], ["read", str(missing)],
             ["diff", plan, f"{missing}/new.xlsx"], ["users", "list", "--users", f"{missing}/users.json"],
             ["users", "remove", "--users", f"{missing}/users.json", "ann"],
             ["report", "site", "-o", "{tmp}/site", "--db", f"{missing}/n.duckdb"]]
    cases += [[*c.copy(), "--db", f"{missing}/n.duckdb"] for c in STORE_COMMANDS[:-1]]
    for args in cases:
        args = [a.replace("{tmp}", str(tmp_path)) for a in args]
        code, output = _run(args)
        _assert_one_sentence(code, output, "exist" if "--db" not in args else "")
    assert not missing.exists()


def test_a_store_held_by_a_running_batch(locked: Path, tmp_path: Path, sample_round: tuple[Path, dict]) -> None:
    for args in STORE_COMMANDS:
        args = [a.replace("{tmp}", str(tmp_path)).replace("{plans}", str(sample_round[0])) for a in args]
        code, output = _run([*args, "--db", str(locked)])
        _assert_one_sentence(code, output, "in use by another run")


def test_a_store_held_by_a_running_batch_as_a_subprocess(locked: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "bcf", "national", "--db", str(locked)], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == f"Error: {locked} is in use by another run. Wait for it to finish, then try again."


def test_a_round_that_does_not_exist(store: Path, tmp_path: Path, sample_round: tuple[Path, dict]) -> None:
    folder, manifest = sample_round
    plan = str(folder / manifest["files"][0]["file"])
    cases = [["check", plan, "--round", "1999-00"], ["template", "new", "--round", "1999-00", "-o", f"{tmp_path}/t.xlsx"],
             ["samples", "generate", "--round", "1999-00", "-o", f"{tmp_path}/s"], ["serve", "--round", "1999-00"],
             ["batch", str(folder), "--db", f"{tmp_path}/n.duckdb", "--round", "1999-00"]]
    cases += [[*c, "--db", str(store), "--round", "1999-00"] for c in STORE_COMMANDS[:-1]]
    cases += [[*c, "--db", str(store), "--round", "2016-17"] for c in STORE_COMMANDS[:-1]]  # a round the store lacks
    for args in cases:
        code, output = _run([a.replace("{tmp}", str(tmp_path)) for a in args])
        _assert_one_sentence(code, output, "1999-00" if "1999-00" in args else "2016-17")
    assert not (tmp_path / "t.xlsx").exists() and not (tmp_path / "n.duckdb").exists()


def test_a_full_disk_is_one_sentence_and_never_a_verdict(tmp_path: Path) -> None:
    plan = write_plan(plan_for(), tmp_path / "plan.xlsx")
    for args in (["check", plan, "--format", "html", "-o", "/dev/full"], ["template", "new", "-o", "/dev/full"]):
        run = bcf(*args)
        assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
        assert "no space left on device" in run.stderr
    with open("/dev/full", "w") as full:  # standard output itself cannot be written
        run = subprocess.run([sys.executable, "-m", "bcf", "check", str(plan), "--format", "json"], stdout=full,
                             stderr=subprocess.PIPE, text=True, timeout=300)
    assert run.returncode == 2 and "Traceback" not in run.stderr and "no space left" in run.stderr


def test_an_output_that_cannot_show_every_character_gets_escapes_and_json_stays_json(tmp_path: Path) -> None:
    odd = "Jo \u202eBloggs \U0001F600 \uff1dcmd"  # a direction override, an emoji, a full-width equals sign
    plan = write_plan(plan_for(contact_email=odd), tmp_path / "plan.xlsx")  # not an address: shown back
    wide = bcf("check", plan, "--format", "json")
    narrow = subprocess.run([sys.executable, "-m", "bcf", "check", str(plan), "--format", "json"], capture_output=True,
                            timeout=300, env={**os.environ, "PYTHONIOENCODING": "cp1252"})
    assert narrow.returncode == wide.returncode and b"Traceback" not in narrow.stderr
    assert json.loads(narrow.stdout.decode("cp1252")) == json.loads(wide.stdout)
    text = subprocess.run([sys.executable, "-m", "bcf", "check", str(plan)], capture_output=True, timeout=300,
                          env={**os.environ, "PYTHONIOENCODING": "cp1252"})
    assert text.returncode == wide.returncode and b"Traceback" not in text.stderr


@pytest.mark.parametrize("content", ['{"jo": {"hash": "x", "role": "nat', "[]", '{"jo": {"hash": "x"}}', "\udcff"])
def test_a_damaged_accounts_file_is_one_sentence(content: str, tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    users.write_bytes(content.encode("utf-8", "surrogateescape"))
    for args in (["users", "list", "--users", users],
                 ["users", "add", "sam", "--users", users, "--role", "national", "--password-stdin"]):
        run = subprocess.run([sys.executable, "-m", "bcf", *map(str, args)], input="a long enough password\n",
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
        assert f"The accounts file {users} is damaged" in run.stderr
    assert users.read_bytes() == content.encode("utf-8", "surrogateescape")  # and left as it was


def test_bcf_read_names_a_damaged_workbook_in_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "half.xlsx").write_bytes(write_plan(plan_for(), tmp_path / "p.xlsx").read_bytes()[:5000])
    run = bcf("read", tmp_path / "half.xlsx")
    assert run.returncode == 2 and "Traceback" not in run.stderr and "could not be read" in run.stderr


def test_too_few_open_files_is_one_sentence_with_its_own_advice(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    for area in ("Leeds", "Kent", "Wigan"):
        write_plan(plan_for(area), folder / f"{area}.xlsx")
    run = subprocess.run(["sh", "-c", 'ulimit -n 12 && exec "$0" -m bcf batch "$1" --db "$2" --round 2015-16',
                          sys.executable, str(folder), str(tmp_path / "n.duckdb")], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert "too many open files" in run.stderr and "ulimit -n" in run.stderr


@pytest.mark.parametrize("limit_kb", [900_000, 1_200_000, 1_500_000])
def test_too_little_memory_is_one_sentence_or_the_batch_runs(limit_kb: int, tmp_path: Path) -> None:
    """Under a limit on memory (ulimit -v) the libraries, the store, the threads or the workers may each find too
    little: whichever does, the batch ends in one sentence and no traceback, or it runs."""
    folder = tmp_path / "in"
    for area in ("Leeds", "Kent", "Wigan"):
        write_plan(plan_for(area), folder / f"{area}.xlsx")
    run = subprocess.run(["sh", "-c", f'ulimit -v {limit_kb} && exec "$0" -m bcf batch "$1" --db "$2" --round 2015-16',
                          sys.executable, str(folder), str(tmp_path / "n.duckdb")], capture_output=True, text=True,
                         timeout=300)
    assert "Traceback" not in run.stderr and "Exception" not in run.stderr, run.stderr
    assert run.returncode == 0 or (run.returncode == 2 and run.stderr.startswith("Error: ")
                                   and len(run.stderr.strip().splitlines()) == 1), run.stderr


def test_ctrl_c_during_a_store_query_is_one_sentence_exit_130_and_keeps_the_last_stress_test(
        national: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import signal
    import threading

    import duckdb

    from bcf.national import stress

    db = tmp_path / "n.duckdb"
    shutil.copy(national, db)
    assert CliRunner().invoke(main, ["stress", "--db", str(db)]).exit_code == 0
    with duckdb.connect(str(db), read_only=True) as con:
        before = con.execute("SELECT count(*), sum(hash(category)) FROM assurance").fetchall()

    def long_query(nat: object, *args: object, **kwargs: object) -> None:  # DuckDB busy when Ctrl-C comes
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        nat.con.execute("DELETE FROM assurance")  # type: ignore[attr-defined]
        while True:  # busy until Ctrl-C comes; each query short, as DuckDB on a loaded machine may see the
            # interrupt only at a query's end
            nat.con.execute("SELECT count(*) FROM range(300000000)").fetchall()  # type: ignore[attr-defined]

    monkeypatch.setattr(stress, "run", long_query)
    handler = signal.getsignal(signal.SIGINT)
    result = CliRunner().invoke(main, ["stress", "--db", str(db)])
    assert result.exit_code == 130, result.output
    assert result.output.strip() == ("Error: Stopped. The store keeps the stress test it had before; run it again "
                                     "to finish."), result.output
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*), sum(hash(category)) FROM assurance").fetchall() == before
    assert signal.getsignal(signal.SIGINT) is handler  # the command's own handler is gone
