"""The console's state store: sessions, sign-in attempts and decisions, in one transactional file.

Many console servers and commands write here at once, while a batch may hold the national store for minutes,
so this is not the national DuckDB file: it is SQLite in WAL mode (readers never wait for the writer), and
every change that reads before it writes takes the write lock first (``BEGIN IMMEDIATE``), so no two writers
act on the same reading. By default the file sits beside the national store (``national.state.sqlite``
beside ``national.duckdb``); ``--state`` or ``BCF_STATE`` name another. This is the only module that knows
the engine: its questions are named queries in ``aggregator/state.sql``, so another engine could replace it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bcf.errors import StoreError
from bcf.national.queries import text

BUSY_MS = 10_000  # how long a writer waits for another's transaction before giving up
SUFFIX = ".state.sqlite"


def state_path(db: Path, given: Path | None = None) -> Path | None:
    """The state file for the national store ``db``: the one given, else ``BCF_STATE``, else beside the store
    (None for a store in memory)."""
    if given is not None:
        return Path(given)
    if str(db) == ":memory:":
        return None
    if os.environ.get("BCF_STATE"):
        return Path(os.environ["BCF_STATE"])
    return Path(db).with_suffix(SUFFIX)


def _problem(path: Path, e: sqlite3.DatabaseError) -> str:
    """What went wrong opening the state file: its content (never lightly, as it holds the decision log), or the
    machine under it (a full disk, a file or folder that cannot be written)."""
    if "not a database" in str(e) or "malformed" in str(e):
        return f"{path} is not a bcf state file, or is damaged ({e})."
    return (f"The state file {path} could not be used ({e}): the disk may be full, or the file or its folder may not "
            "be writable. Nothing in it was changed; put that right, then run the command again.")


class State:
    """An open state store. Use as a context manager; every method is one transaction unless inside ``write``."""

    def __init__(self, path: Path):
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise StoreError(f"The folder {self.path.parent} does not exist. Create it, or choose another place "
                             "for the state file.")
        new = not self.path.exists()
        try:
            self.con = sqlite3.connect(self.path, timeout=BUSY_MS / 1000, isolation_level=None,
                                       check_same_thread=False)
            if new:  # it holds the key that signs the console's forms, and its sessions: for this account only
                os.chmod(self.path, 0o600)
            self.con.execute("PRAGMA journal_mode=WAL")
            self.con.execute(f"PRAGMA busy_timeout={BUSY_MS}")
            self.con.execute("PRAGMA synchronous=FULL")
            self.con.executescript(text("state.schema"))
        except sqlite3.DatabaseError as e:
            raise StoreError(_problem(self.path, e)) from e
        self._depth = 0

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    @contextmanager
    def write(self) -> Iterator[State]:
        """One transaction holding the write lock from its first statement: check-then-act cannot race."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self.con.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0

    def run(self, name: str, **params: Any) -> int:
        """Run the named change in ``aggregator/state.sql``; returns the rows it changed."""
        return self.con.execute(text(f"state.{name}"), params).rowcount

    def rows(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """The named query's rows as dicts by column name."""
        cur = self.con.execute(text(f"state.{name}"), params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def value(self, name: str, **params: Any) -> Any:
        """The first value of the named query's first row (None when it has none)."""
        row = self.con.execute(text(f"state.{name}"), params).fetchone()
        return None if row is None else row[0]

    def meta(self, key: str, default: str) -> str:
        """A setting of the store, written with ``default`` by whoever asks first (every process then agrees)."""
        with self.write():
            self.run("meta_first", key=key, value=default)
            return str(self.value("meta", key=key))

    def set_meta(self, key: str, value: str) -> None:
        self.run("meta_set", key=key, value=value)


def open_state(path: Path) -> State:
    """The state store at ``path``, created with its tables when new."""
    return State(path)
