"""Read the national picture out of the store: batch summaries, headline tables and exports.

Every query here reads a view defined in ``aggregator/views.sql``, for one round; nothing national is
computed in Python.
Exports neutralise spreadsheet formula injection: a text cell starting with = + - @ (or a tab or carriage
return) is prefixed with an apostrophe, so a spreadsheet shows it as text instead of running it.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd

from bcf import rounds, store
from bcf.errors import StoreError
from bcf.present import formula_safe

EXPORT_VIEWS = ("submission_status", "pooled_by_hwb", "pooled_by_region", "funding_by_stream",
                "spend_by_scheme_type", "spend_by_commissioner", "nel_by_hwb", "nel_distribution", "p4p_total",
                "savings_by_benefit_type",
                "savings_by_accrues_to", "risk_by_boundary", "risk_by_falls_on", "conditions_not_met",
                "findings_by_family", "findings_by_rule")


def connect(db: Path) -> duckdb.DuckDBPyConnection:
    """The store at ``db``, for reading."""
    return store.connect(db, read_only=True)


def rounds_in(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The rounds the store holds files for, oldest first (in the order the content gives them)."""
    order = list(rounds.all_rounds())
    try:
        held = [r for (r,) in con.execute("SELECT DISTINCT round FROM submissions").fetchall()]
    except duckdb.CatalogException as e:
        raise StoreError("This DuckDB file is not a bcf store: it has no submissions. Check the --db path.") from e
    return sorted(held, key=lambda r: (order.index(r) if r in order else len(order), r))


def pick_round(con: duckdb.DuckDBPyConnection, round_: str | None, db: Path) -> str:
    """The round asked for, or the latest the store holds; a clear error when there is none."""
    held = rounds_in(con)
    if round_ is None:
        if not held:
            raise StoreError(f"The store at {db} holds no submissions yet. Run `bcf batch` first.")
        return held[-1]
    if round_ not in held:
        raise StoreError(f"The store at {db} holds no files for round {round_!r}. "
                         f"It holds: {', '.join(held) or 'nothing yet'}.")
    return round_


def named_queries(name: str) -> list[tuple[str, str]]:
    """(title, SQL) for each query in an aggregator/ file, titled by its "-- table:" line."""
    parts = re.split(r"^-- table: (.+)$", store.sql(name), flags=re.M)
    return [(title.strip(), query.strip().rstrip(";")) for title, query in zip(parts[1::2], parts[2::2], strict=True)]


def run_named(con: duckdb.DuckDBPyConnection, name: str, round_: str) -> list[tuple[str, pd.DataFrame]]:
    return [(title, con.execute(query, {"round": round_}).df()) for title, query in named_queries(name)]


def batch_summary(con: duckdb.DuckDBPyConnection, round_: str) -> dict[str, pd.DataFrame]:
    """What the central team needs at the end of a batch: coverage, findings by family, the commonest rules."""
    return dict(run_named(con, "batch_summary.sql", round_))


def headlines(con: duckdb.DuckDBPyConnection, round_: str) -> list[tuple[str, pd.DataFrame]]:
    """The national headline tables, from valid submissions only."""
    return run_named(con, "headlines.sql", round_)


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula are made plain text."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(formula_safe)
    return out


def export(con: duckdb.DuckDBPyConnection, fmt: str, out: Path, round_: str) -> list[Path]:
    """Write one round's national views to ``out`` as CSV files, Parquet files or one xlsx workbook."""
    out.mkdir(parents=True, exist_ok=True)
    frames = {v: con.execute(f"SELECT * FROM {v} WHERE round = ?", [round_]).df() for v in EXPORT_VIEWS}
    if fmt == "parquet":
        paths = [out / f"{view}-{round_}.parquet" for view in frames]
        for path, df in zip(paths, frames.values(), strict=True):
            con.from_df(df).write_parquet(str(path))
        return paths
    if fmt == "csv":
        paths = [out / f"{view}-{round_}.csv" for view in frames]
        for path, df in zip(paths, frames.values(), strict=True):
            neutralise(df).to_csv(path, index=False)
        return paths
    from bcf.workbook_export import write

    return [write(con, out / f"bcf-national-{round_}.xlsx", round_, EXPORT_VIEWS)]
