"""The store's front door: anything that is not a bcf store is refused in one sentence, and DuckDB never
fetches or loads an extension because of what a file looks like."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from bcf import store
from bcf.errors import NotAStore
from tests.support import ROUND


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(3000))


def _sqlite(path: Path) -> None:
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE submissions (a)")


def _other_duckdb(path: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t (a INT)")


def _truncated_store(path: Path) -> None:
    with store.Store(path):
        pass
    path.write_bytes(path.read_bytes()[:5000])


def _workbook(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04" + os.urandom(2000))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


NOT_STORES = {"garbage": _garbage, "SQLite database": _sqlite, "another DuckDB database": _other_duckdb,
              "truncated store": _truncated_store, "workbook": _workbook, "empty file": _empty}


@pytest.mark.parametrize("kind", sorted(NOT_STORES))
@pytest.mark.parametrize("command", [["national"], ["stress"],
                                     ["batch", "{tmp}/in", "--round", ROUND]])
def test_anything_but_a_store_is_refused_in_one_sentence(kind: str, command: list[str], tmp_path: Path) -> None:
    db = tmp_path / "given.duckdb"
    NOT_STORES[kind](db)
    before = db.read_bytes()
    (tmp_path / "in").mkdir()
    home = tmp_path / "home"  # where DuckDB would put a downloaded extension
    args = [a.format(tmp=tmp_path) for a in command]
    run = subprocess.run([sys.executable, "-m", "bcf", *args, "--db", str(db)], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "HOME": str(home)})
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr and "IO Error" not in run.stderr
    assert f"Error: {db} is not a bcf store." in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert db.read_bytes() == before  # nothing written into someone else's file
    assert not (home / ".duckdb").exists()  # no extension fetched


def test_every_connection_has_extension_autoloading_off(tmp_path: Path) -> None:
    with store.Store(tmp_path / "n.duckdb") as s:
        settings = dict(s.con.execute("SELECT name, value FROM duckdb_settings() WHERE name IN "
                                      "('autoload_known_extensions', 'autoinstall_known_extensions')").fetchall())
    assert settings == {"autoload_known_extensions": "false", "autoinstall_known_extensions": "false"}


def test_only_the_store_module_opens_duckdb() -> None:
    src = Path(store.__file__).parent
    opening = sorted(str(p.relative_to(src)) for p in src.rglob("*.py") if "duckdb.connect(" in p.read_text())
    assert opening == ["store.py"]


def test_a_sqlite_file_is_refused_before_duckdb_sees_it(tmp_path: Path) -> None:
    _sqlite(tmp_path / "s.db")
    with pytest.raises(NotAStore):
        store.connect(tmp_path / "s.db")


def test_a_new_name_or_an_empty_duckdb_file_starts_a_store(tmp_path: Path) -> None:
    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    for name in ("new.duckdb", "empty.duckdb"):
        with store.Store(tmp_path / name) as s:
            assert store.BCF_TABLES <= set(s.columns)


class _Killing:
    """A DuckDB connection that counts its statements and kills its own process at the ``at``-th one."""

    def __init__(self, con: duckdb.DuckDBPyConnection, steps: list[int], at: int | None):
        self.con, self.steps, self.at = con, steps, at

    def step(self) -> None:
        self.steps[0] += 1
        if self.steps[0] == self.at:
            os.kill(os.getpid(), signal.SIGKILL)

    def execute(self, *args: object, **kwargs: object) -> object:
        self.step()
        caller = sys._getframe(1).f_locals  # DuckDB finds a frame by its name in the caller: give it the caller's
        for name, value in caller.items():
            if isinstance(value, pd.DataFrame):
                self.con.register(name, value)
        return self.con.execute(*args, **kwargs)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> object:
        return getattr(self.con, name)


def _creating(monkeypatch: pytest.MonkeyPatch, at: int | None) -> list[int]:
    """Make store creation count its steps (every statement, then moving the file into place) and die at ``at``."""
    steps = [0]
    real_connect, real_replace = duckdb.connect, os.replace

    def connect(path: str, *args: object, **kwargs: object) -> object:
        con = real_connect(path, *args, **kwargs)  # type: ignore[arg-type]
        return _Killing(con, steps, at) if path.endswith(".building") else con

    def replace(src: str, dst: str) -> None:
        _Killing(None, steps, at).step()  # type: ignore[arg-type]
        real_replace(src, dst)
        _Killing(None, steps, at).step()  # type: ignore[arg-type]

    monkeypatch.setattr(store.duckdb, "connect", connect)
    monkeypatch.setattr(store.os, "replace", replace)
    return steps


def _plans(db: Path) -> int:
    with store.connect(db) as con:
        return int(con.execute("SELECT count(*) FROM plans").fetchall()[0][0])


def test_a_kill_at_any_step_of_making_a_store_leaves_none_or_a_whole_one(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as m:
        steps = _creating(m, None)
        with store.Store(tmp_path / "whole.duckdb"):
            pass
    whole, total = _plans(tmp_path / "whole.duckdb"), steps[0]
    assert total >= 6 and whole > 150
    for at in range(1, total + 1):
        db = tmp_path / f"killed-{at}.duckdb"
        pid = os.fork()
        if pid == 0:  # the child makes the store and is killed at step ``at``
            try:
                _creating(monkeypatch, at)
                store.Store(db).con.close()
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, at
        if db.exists():  # only ever a whole store
            assert _plans(db) == whole, at
        with store.Store(db):  # the next batch starts it again, or goes on with it
            pass
        assert _plans(db) == whole, at
        assert not list(tmp_path.glob(f".killed-{at}*")), at  # nothing half-made left beside it


@pytest.fixture(scope="module")
def filled_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bcf.batch import run_batch
    from tests.support import advisory_plan, write_plan

    tmp = tmp_path_factory.mktemp("filled")
    write_plan(advisory_plan(), tmp / "in" / "E08000035_Leeds.xlsx")
    run_batch(tmp / "in", tmp / "n.duckdb", ROUND, workers=1)
    return tmp / "n.duckdb"


@pytest.mark.parametrize("keep", [0.3, 0.9, 0.999])
@pytest.mark.parametrize("command", [["batch", "{tmp}/in", "--round", ROUND], ["national"], ["export", "-o", "{tmp}/x"]])
def test_a_truncated_store_is_refused_and_left_as_it_was(filled_store: Path, keep: float, command: list[str],
                                                         tmp_path: Path) -> None:
    data = filled_store.read_bytes()
    db = tmp_path / "cut.duckdb"
    db.write_bytes(data[:int(len(data) * keep)])
    (tmp_path / "in").mkdir()
    before = db.read_bytes()
    run = subprocess.run([sys.executable, "-m", "bcf", *[a.format(tmp=tmp_path) for a in command], "--db", str(db)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip() == f"Error: {db} is not a bcf store. Give --db the .duckdb file that `bcf batch` made, " \
                                 "or a new file name to start a store."
    assert db.read_bytes() == before and not (tmp_path / "cut.duckdb.wal").exists()


def test_a_store_with_a_partial_block_after_its_last_is_read(filled_store: Path, tmp_path: Path) -> None:
    """A write cut short by a full disk leaves part of a block past the last one in use: the store is still whole."""
    db = tmp_path / "n.duckdb"
    db.write_bytes(filled_store.read_bytes() + b"\0" * 100_000)
    run = subprocess.run([sys.executable, "-m", "bcf", "national", "--db", str(db), "--format", "json"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


def test_a_store_whose_tables_an_older_version_made_is_said_in_one_sentence(national: Path, tmp_path: Path) -> None:
    """A store opened for reading keeps its tables as they were made; a column added since is one sentence that says
    how to bring the store up to date, not a database error."""
    from bcf import rounds
    from bcf.errors import StoreError
    from bcf.national import stress, track_record
    from bcf.national.door import open_store

    db = tmp_path / "n.duckdb"
    db.write_bytes(national.read_bytes())
    with open_store(db, write=True) as nat:
        stress.run(nat, ROUND, rounds.get(ROUND).params())
        nat.con.execute("ALTER TABLE stress_test DROP COLUMN track_weight")  # as a store from before the track record
    with open_store(db) as nat, pytest.raises(StoreError, match=r"made by an older version of bcf.*Run `bcf stress"):
        track_record.discount(nat, ROUND)
    with open_store(db, write=True) as nat:  # running the stress test again brings it up to date
        stress.run(nat, ROUND, rounds.get(ROUND).params())
    with open_store(db) as nat:
        assert track_record.discount(nat, ROUND)["plans_moved"] == []  # the first round has no round before it
