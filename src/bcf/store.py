"""The national DuckDB store: fixed tables and views from ``aggregator/``, data tables from the templates.

Each return's template says where its contents go: a sheet of single values names its store table
(``store:``), and every table of rows is stored under its own id. The data tables are derived here from
every template of every round, so a new field or a new return needs no hand-written DDL; columns are only
ever added. A file is loaded whole or not at all. The same bytes load once per round; a newer file for the
same plan, return and period becomes current (see the ``current_submissions`` view) and the older one
stays as history. Once files are stored, each plan's current submission is also written to the state store,
where a decision made on a page showing an older submission is refused (``bcf.national.decisions``).
"""

from __future__ import annotations

import errno
import os
import struct
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from bcf import rounds
from bcf.diff import Contents
from bcf.errors import NotAStore, StoreBusy, StoreError, StoreFull
from bcf.explain import fingerprint
from bcf.findings import Finding
from bcf.frames import frame
from bcf.national import queries
from bcf.read import Row
from bcf.spec import Field, Spec
from bcf.validate import Report

# Never fetch or load code because of what a file looks like: a SQLite file or a Parquet path would otherwise make
# DuckDB download and load an extension from the internet.
SMALL = 225  # values in one insert up to which a VALUES list beats a frame (DuckDB on one thread, as a batch runs it)
CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoload_known_extensions": False, "autoinstall_known_extensions": False, "allow_community_extensions": False}
MEMORY: dict[str, str | bool | int | float | list[str]] = {"threads": 1, "enable_optimizer": False}  # a store in memory
INVALID_BLOCK, BLOCK_ID = (1 << 64) - 1, (1 << 56) - 1  # a header's block pointer: none, and its block id
DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file
HEADER_BLOCK = 4096  # a DuckDB file: a main header, two database headers of this size, then its blocks
BCF_TABLES = {"plans", "submissions", "findings"}
SQL_TYPES = {"number": "DOUBLE", "integer": "DOUBLE", "date": "DATE", "text": "VARCHAR", "email": "VARCHAR"}


def _specs() -> list[Spec]:
    """Every version of every return of every round."""
    return [ret.spec(v) for rnd in rounds.all_rounds().values() for ret in rnd.returns.values() for v in ret.versions()]


def _field_columns(spec: Spec) -> dict[str, list[Field]]:
    """Store table -> the columns a return's workbook fills in it."""
    out: dict[str, list[Field]] = {}
    for s in spec.sheets:
        if s.store:
            out.setdefault(s.store, []).extend(f for f in s.fields if f.is_input)
    for t in spec.tables:
        out[t.id] = list(t.columns)
    return out


@cache
def data_tables() -> dict[str, dict[str, str]]:
    """Store table -> column -> SQL type, over every template; a clash between templates is an error."""
    out: dict[str, dict[str, str]] = {}
    for spec in _specs():
        tables = {t.id for t in spec.tables}
        for table, fields in _field_columns(spec).items():
            first = {"submission_id": "BIGINT NOT NULL", **({"row": "INTEGER"} if table in tables else {})}
            columns = out.setdefault(table, first)
            for f in fields:
                kind = SQL_TYPES[f.type]
                if columns.setdefault(f.id, kind) != kind:
                    raise ValueError(f"{table}.{f.id} is {kind} in {spec.template_id} but {columns[f.id]} elsewhere")
    return out


def data_ddl(have: dict[str, list[str]]) -> list[str]:
    """Statements that create every data table the store lacks, whole, or add the columns a table lacks (``have``:
    the store's tables and their columns)."""
    out = []
    for table, columns in data_tables().items():
        if table not in have:
            typed = ", ".join(f'"{c}" {kind}' for c, kind in columns.items())
            out.append(f'CREATE TABLE "{table}" ({typed})')
        else:
            out += [f'ALTER TABLE "{table}" ADD COLUMN "{c}" {kind.replace(" NOT NULL", "")}'
                    for c, kind in columns.items() if c not in have[table]]
    return out


MACHINE = ("permission denied", "read-only file system", "no space left")  # what DuckDB says of the machine


def _not_a_store(db: Path) -> NotAStore:
    return NotAStore(f"{db} is not a bcf store. Give --db the .duckdb file that `bcf batch` made, "
                     "or a new file name to start a store.")


def _whole(head: bytes, size: int) -> bool:
    """Whether a DuckDB file looks whole: its headers readable, the block holding its catalogue inside the file, and
    its blocks either all there or whole. (DuckDB leaves trailing free blocks unwritten, and a write cut short by a
    full disk leaves a partial block after the last one in use, so neither alone can be held to.)"""
    if len(head) < 3 * HEADER_BLOCK:
        return False
    headers = [struct.unpack_from("<QQQQQQ", head, at) for at in (HEADER_BLOCK, 2 * HEADER_BLOCK)]
    _, _, meta, _, blocks, block_size = max(headers, key=lambda h: h[1])  # the newer iteration is the one in use
    if block_size < HEADER_BLOCK or block_size & (block_size - 1) or blocks > 1 << 40:
        return False
    body = size - 3 * HEADER_BLOCK
    if meta != INVALID_BLOCK and (meta & BLOCK_ID) >= body // block_size:
        return False  # the catalogue's block is past the end: the file was cut short
    return bool(body >= blocks * block_size or body % block_size == 0)


def _look(db: Path) -> None:
    """Refuse, before DuckDB is given it, a file that is not a DuckDB database or is one cut short."""
    try:
        with db.open("rb") as f:
            head = f.read(3 * HEADER_BLOCK) if db.is_file() else b""
            size = os.fstat(f.fileno()).st_size
    except OSError as e:
        raise StoreError(f"{db} could not be opened ({e.strerror}).") from e
    if head[8:12] != DUCKDB_MAGIC or not _whole(head, size):
        raise _not_a_store(db)


def _open(db: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """DuckDB's connection; a store in memory holds a plan at a time, which one thread runs fastest, and unoptimised:
    optimising a query over one plan's rows costs more than it saves (the self-check's preview: a fifth less)."""
    try:
        return duckdb.connect(str(db), read_only=read_only, config={**CONFIG, **MEMORY} if str(db) == ":memory:"
                              else CONFIG)
    except duckdb.Error as e:
        if "lock" in str(e).lower():
            raise StoreBusy(f"{db} is in use by another run. Wait for it to finish, then try again.") from e
        if isinstance(e, duckdb.IOException) and any(w in str(e).lower() for w in MACHINE):  # not the file's fault
            raise StoreError(f"The store {db} could not be opened{' for writing' if not read_only else ''} "
                             f"({str(e).strip().splitlines()[0][:160]}): check that the file and its folder can be "
                             "written and that the disk has space, then run the command again.") from e
        raise _not_a_store(db) from e


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Every table of the store and its row count: reading them proves the catalogue and the tables' metadata whole."""
    return {t: queries.scalar(con, "store.row_count", table=t) for (t,) in queries.execute(con, "store.base_tables").fetchall()}


def _probe(db: Path) -> bool:
    """Read the store before opening it for writing, so a damaged one is refused while it is as it was; whether it
    holds any table (an empty DuckDB database is a store that was never made)."""
    con = _open(db, read_only=True)
    try:
        return bool(_tables(con))
    except duckdb.Error as e:
        raise _not_a_store(db) from e
    finally:
        con.close()


def connect(db: Path, read_only: bool = True, state: Path | None = None, made: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the store at ``db``, refusing in one sentence anything that is not a whole bcf store.

    Reading needs an existing store; writing also accepts a new file name or an empty DuckDB database. The file
    is looked at before DuckDB is given it, and read before it is opened for writing, so a damaged store is never
    written to (unless this process has just ``made`` it). The connection sees the assurers' decisions, kept in the
    state store, as the relation ``decisions`` (``bcf.national.decisions``).
    """
    from bcf.national import decisions

    db = Path(db)
    memory = str(db) == ":memory:"
    if not memory and not db.exists() and read_only:
        raise StoreError(f"There is no store at {db}. Run `bcf batch` first.")
    if not memory and not db.parent.is_dir():
        raise StoreError(f"The folder {db.parent} does not exist. Create it, or choose another place for the store.")
    if not memory and db.exists() and not made:
        _look(db)
        if not read_only:
            _probe(db)
    con = _open(db, read_only)
    try:
        tables = {t for (t,) in queries.execute(con, "store.table_names").fetchall()}
        if not BCF_TABLES <= tables and (tables or read_only):
            raise _not_a_store(db)
        decisions.attach(con, db, read_only, state)
    except duckdb.Error as e:
        con.close()
        raise _not_a_store(db) from e
    except BaseException:
        con.close()
        raise
    return con


def with_current_views(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A store opened for reading, seen through today's views (as views of this connection only: the file is
    untouched), so an older store reads as a new one does."""
    try:
        con.execute(queries.sql("views.sql").replace("CREATE OR REPLACE VIEW", "CREATE OR REPLACE TEMP VIEW"))
    except duckdb.Error:  # a store from before a table the views read: its own views stand
        pass
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, keep: bool = True) -> Iterator[None]:
    """A transaction: committed when the block ends well and ``keep`` is true, else rolled back (as when a
    database itself failed, a full disk, where DuckDB has dropped the transaction already)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT" if keep else "ROLLBACK")
    except BaseException:
        with suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise


def will_be_made(db: Path) -> bool:
    """Whether opening ``db`` for writing makes a new store (so it holds nothing yet)."""
    try:
        return _to_make(Path(db))
    except StoreError:  # a damaged file: opening it says so
        return False


def _to_make(db: Path) -> bool:
    """Whether the store is still to be made: no file yet, or a DuckDB database with no table in it."""
    if str(db) == ":memory:" or not db.parent.is_dir():
        return False
    if not db.exists():
        return True
    _look(db)
    return not _probe(db)


def _schema(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Create (or extend) the fixed tables, the data tables and the views; every table's columns, as they now are."""
    con.execute(queries.sql("schema.sql")).fetchall()
    have = _columns(con)
    if ddl := data_ddl(have):
        con.execute(";\n".join(ddl)).fetchall()
    con.execute(queries.sql("views.sql")).fetchall()
    return {**have, **{table: have.get(table, []) + [c for c in columns if c not in have.get(table, [])]
                       for table, columns in data_tables().items()}}


def store_failure(e: BaseException, db: Path) -> StoreError:
    """The one sentence for a store that could not be written, for a reason that is not any file's content."""
    if "no space left" in str(e).lower() or getattr(e, "errno", None) == errno.ENOSPC:
        return StoreFull(f"There is no space left on the disk that holds {db}. Free some space, then run the batch "
                         "again: what was stored before is kept, and nothing of the files being stored was written.")
    detail = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
    return StoreError(f"The store {db} could not be written ({detail}). Nothing of the files being stored was "
                      "written; run the batch again once the problem is fixed.")


def _create(db: Path) -> dict[str, list[str]]:
    """Make a new store whole in a file beside it, then move it into place: a kill at any point leaves no store
    or a whole one, and the next run simply starts again. Its tables' columns."""
    from bcf.national import decisions

    building = db.with_name(f".{db.name}.building")
    for part in (building, building.with_name(building.name + ".wal")):
        part.unlink(missing_ok=True)
    try:
        con = duckdb.connect(str(building), config=CONFIG)
        try:
            decisions.attach_none(con)  # the views are made against its shape; the store's decisions come on opening it
            with transaction(con):  # one commit for the whole schema, not one a statement
                columns = _schema(con)
                _add_plans(con, columns)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(building, db)
    except (OSError, duckdb.IOException, duckdb.FatalException, duckdb.OutOfMemoryException) as e:
        for part in (building, building.with_name(building.name + ".wal")):  # nothing half-made is left
            part.unlink(missing_ok=True)
        raise store_failure(e, db) from e
    folder = os.open(db.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return columns


class Store:
    """An open store. Opening for writing creates the store, or extends an existing one's schema and views."""

    def __init__(self, db: Path, read_only: bool = False, state: Path | None = None, to_make: bool | None = None,
                 threads: int | None = None):
        """``to_make``: whether the store is still to be made, when the caller has just found out (``will_be_made``);
        ``threads``: DuckDB's threads for this connection, where others have the cores (a batch's workers)."""
        made = not read_only and (_to_make(Path(db)) if to_make is None else to_make)
        columns = _create(Path(db)) if made else None
        self.con = connect(db, read_only, state, made)
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        self.db, self.state = Path(db), state
        if not read_only and not made:
            columns = _schema(self.con)
            _add_plans(self.con, columns)
            self.publish()
        self.columns = columns if columns is not None else _columns(self.con)

    def publish(self) -> None:
        """Tell the state store each plan's current submission, so no decision lands on a superseded one."""
        from bcf.national import decisions

        decisions.publish(self.con, self.db, self.state)

    def _insert(self, table: str, data: pd.DataFrame | list[dict[str, Any]]) -> None:
        _insert(self.con, self.columns, table, data)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.con.close()

    def transaction(self, keep: bool = True) -> AbstractContextManager[None]:
        return transaction(self.con, keep)

    def loaded(self, round_: str) -> set[str]:
        """The SHA-256 of every file stored for the round."""
        return {h for (h,) in queries.execute(self.con, "store.loaded", round=round_).fetchall()}

    def load(self, items: list[tuple[Report, str, datetime]], round_: str, kind: str) -> list[int]:
        """Store checked files (report, SHA-256, received at) of one round and return, with their findings and
        data, in one transaction.

        Either every file of the call is stored whole or none is, so no file is ever partly in. The batch
        calls this per chunk of files; a chunk that fails is retried file by file.
        """
        with self.transaction():
            ids = self.insert(items, round_, kind)
        self.publish()
        return ids

    def insert(self, items: list[tuple[Report, str, datetime]], round_: str, kind: str) -> list[int]:
        """Insert checked files and return their submission ids, within the caller's transaction."""
        ids = [r[0] for r in queries.execute(self.con, "store.next_ids", n=len(items)).fetchall()]
        records: dict[str, list[dict[str, Any]]] = {"submissions": []}
        rows: dict[tuple[Spec, str], tuple[list[Row], list[int]]] = {}  # by template version and table
        for sid, (report, sha256, received_at) in zip(ids, items, strict=True):
            sub = report.submission
            records["submissions"].append({
                "submission_id": sid, "round": round_, "return_kind": report.return_kind or kind,
                "period": report.period, "file_name": report.file, "sha256": sha256, "hwb": report.hwb,
                "plan_code": report.plan_code, "template_id": sub.template_id if sub else None,
                "template_version": sub.version if sub else None, "received_at": received_at,
                "status": report.status, "blocking": report.blocking, "advisory": report.advisory})
            for table, values in _records(report).items():
                records.setdefault(table, []).extend({**v, "submission_id": sid} for v in values)
            if sub is not None and not report.foreign:
                for t in sub.spec.tables:
                    kept, whose = rows.setdefault((sub.spec, t.id), ([], []))
                    kept += sub.rows(t.id)
                    whose += [sid] * len(sub.rows(t.id))
        for table, values in records.items():
            if values:
                self._insert(table, values)
        for (spec, table), (kept, whose) in rows.items():
            columns = spec.table(table).columns
            if len(kept) * len(columns) > SMALL:  # typed arrays, as ``_insert`` would go on to make a frame
                self._insert(table, frame(columns, kept, submission_id=whose).reset_index())
            elif kept:
                self._insert(table, [{"row": r, **{c.id: v[c.id] for c in columns}, "submission_id": sid}
                                     for (r, v), sid in zip(kept, whose, strict=True)])
        return ids


def _columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Every table's columns, in order."""
    out: dict[str, list[str]] = {}
    for table, column in queries.execute(con, "store.columns").fetchall():
        out.setdefault(table, []).append(column)
    return out


def _insert(con: duckdb.DuckDBPyConnection, columns: dict[str, list[str]], table: str,
            data: pd.DataFrame | list[dict[str, Any]]) -> None:
    """Bulk insert, columns matched by name (those the table has). Rows given as dicts holding more than
    ``SMALL`` values become a frame, which DuckDB scans directly (it finds the frame by its variable's name, at
    half the cost of registering it); fewer go in as one ``INSERT … VALUES`` with parameters, three times quicker
    for the one row a file has in most tables. A float NaN is a blank either way (NULL)."""
    if isinstance(data, list) and sum(map(len, data)) > SMALL:
        data = pd.DataFrame(data)
    if isinstance(data, pd.DataFrame):
        incoming = data  # noqa: F841  # read by name, below; its columns chosen there, not copied into a frame of them
        chosen = ", ".join(f'"{c}"' for c in columns[table] if c in data.columns)
        con.execute(f'INSERT INTO "{table}" BY NAME SELECT {chosen} FROM incoming')
        return
    present = set().union(*data)
    insert_rows(con, table, data, [c for c in columns[table] if c in present])


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]],
                names: list[str] | None = None) -> None:
    """Rows as one ``INSERT … VALUES`` with parameters, into the columns ``names`` (by default the rows' keys); a
    float NaN is a blank (NULL)."""
    names = names or list(dict.fromkeys(k for r in rows for k in r))
    quoted, row = ", ".join(f'"{n}"' for n in names), "(" + ", ".join("?" * len(names)) + ")"
    con.execute(f'INSERT INTO "{table}" ({quoted}) VALUES {", ".join([row] * len(rows))}',
                [None if isinstance(v, float) and v != v else v for r in rows for v in (r.get(n) for n in names)])


def _add_plans(con: duckdb.DuckDBPyConnection, columns: dict[str, list[str]]) -> None:
    """Each round's plans, and the periods its returns cover, once (``columns``: the store's tables' columns)."""
    have = {r for (r,) in queries.execute(con, "store.rounds_held").fetchall()}
    skip = ("hwb_name", "ons_code", "la_type")
    new = [rnd for rnd in rounds.all_rounds().values() if rnd.id not in have]
    rows = [{"round": rnd.id, **{k: v for k, v in vars(a).items() if k not in skip}}
            for rnd in new for a in rnd.areas.plans()]
    if rows:
        _insert(con, columns, "plans", rows)
    periods = [{"round": rnd.id, "return_kind": ret.kind, "period": label, "quarter_no": i}
               for rnd in new for ret in rnd.returns.values() for i, label in enumerate(_periods(ret.spec()), 1)]
    if periods:
        _insert(con, columns, "periods", periods)


def records(con: duckdb.DuckDBPyConnection, query: str, *args: Any) -> list[dict[str, Any]]:
    """A query's rows as dicts by column name, its values bound as parameters."""
    cur = con.execute(query, list(args))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def by_submission(rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Rows grouped by their submission id, each group in the rows' order."""
    out: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["submission_id"], []).append(r)
    return out


def _records(report: Report) -> dict[str, list[dict[str, Any]]]:
    """The file's findings, and its single values by store table, as rows for the store."""
    sub = report.submission
    contents = Contents.of(sub) if sub is not None else None

    def place(f: Finding) -> str:
        return (contents.locate(f.sheet, f.cell) if contents else None) or f"{f.sheet}!{f.cell}"

    out = {"findings": [{**f.as_dict(), "found": _text(f.found), "expected": _text(f.expected), "location": place(f),
                         "fingerprint": fingerprint(f.rule_id, place(f), _text(f.found), _text(f.expected))}
                        for f in report.findings]}
    if sub is None or report.foreign:
        return out
    tables = {t.id for t in sub.spec.tables}
    for table, fields in _field_columns(sub.spec).items():
        if table not in tables:
            out[table] = [{f.id: sub.fields.get(f.id) for f in fields}]
    return out


def _periods(spec: Spec) -> tuple[str, ...]:
    """The periods a return's template lets it cover, in order (none for a plan)."""
    if not spec.period_field:
        return ()
    return spec.lists.get(spec.field(spec.period_field).list or "", ())


def _text(v: Any) -> str | None:
    return None if v is None else str(v)
