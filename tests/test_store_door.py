"""The store's front door: anything that is not a bcf store is refused in one sentence, and DuckDB never
fetches or loads an extension because of what a file looks like."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
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
