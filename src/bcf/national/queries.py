"""Named queries: every SELECT the services ask lives in ``aggregator/*.sql`` under a name.

A query file is split by comment lines of the form ``-- query: name`` (a query asked for by name, as
``"file.name"``) or ``-- table: Title`` (a titled table of a report, run in order with ``titled``). Parameters
are DuckDB's named parameters (``$round``, ``$kind``); only those a query uses are bound.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import duckdb
import pandas as pd

from bcf import content
from bcf.errors import StoreError

_SECTION = re.compile(r"^-- (query|table): (.+)$", re.M)
_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")


@cache
def sql(name: str) -> str:
    """The text of one of ``aggregator/``'s files."""
    return content.path("aggregator", name).read_text(encoding="utf-8")


@cache
def _sections(file: str) -> tuple[tuple[str, str, str], ...]:
    """(kind, name, SQL) for each section of ``aggregator/<file>.sql``, in order."""
    parts = _SECTION.split(sql(f"{file}.sql"))
    return tuple((kind, name.strip(), body.strip().rstrip(";"))
                 for kind, name, body in zip(parts[1::3], parts[2::3], parts[3::3], strict=True))


def text(ref: str) -> str:
    """The SQL of the query named ``file.name``."""
    file, _, name = ref.partition(".")
    for kind, title, body in _sections(file):
        if kind == "query" and title == name:
            return body
    raise KeyError(f"no query {name!r} in aggregator/{file}.sql")


def _bind(query: str, params: dict[str, Any]) -> dict[str, Any]:
    return {k: params[k] for k in set(_PARAM.findall(query))}


def execute(con: duckdb.DuckDBPyConnection, ref: str, **params: Any) -> duckdb.DuckDBPyConnection:
    query = text(ref)
    try:
        return con.execute(query, _bind(query, params))
    except duckdb.BinderException as e:
        if "Referenced column" not in str(e):
            raise
        raise StoreError(OLDER) from e  # a store opened for reading keeps the tables an older bcf made


OLDER = ("This store's tables were made by an older version of bcf and lack a column this needs. Run `bcf stress "
         "--db STORE --round ROUND` again for each round it holds (that brings its tables up to date), then try again.")


def frame(con: duckdb.DuckDBPyConnection, ref: str, **params: Any) -> pd.DataFrame:
    """A named query's result as a frame."""
    return execute(con, ref, **params).df()


def rows(con: duckdb.DuckDBPyConnection, ref: str, **params: Any) -> list[dict[str, Any]]:
    """A named query's rows as dicts by column name."""
    cur = execute(con, ref, **params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def scalar(con: duckdb.DuckDBPyConnection, ref: str, **params: Any) -> Any:
    """The first value of a named query's first row (None when it has none)."""
    found = execute(con, ref, **params).fetchall()  # fetched to the end: DuckDB refuses new work while a result is open
    return found[0][0] if found else None


def titled(con: duckdb.DuckDBPyConnection, file: str, **params: Any) -> list[tuple[str, pd.DataFrame]]:
    """Every ``-- table:`` section of a file, run in order: (title, frame)."""
    return [(name, con.execute(body, _bind(body, params)).df())
            for kind, name, body in _sections(file) if kind == "table"]
