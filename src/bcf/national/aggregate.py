"""Read the national picture out of the store: batch summaries, headline tables and exports.

Every query is named in ``aggregator/`` and reads the views of ``aggregator/views.sql``, for one round; nothing
national is computed in Python.
Exports neutralise spreadsheet formula injection: a text cell starting with = + - @ (or a tab or carriage
return) is prefixed with an apostrophe, so a spreadsheet shows it as text instead of running it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bcf import rounds
from bcf.national import queries
from bcf.national.door import National
from bcf.present import formula_safe

EXPORT_VIEWS = ("submission_status", "pooled_by_hwb", "pooled_by_region", "funding_by_stream",
                "spend_by_scheme_type", "spend_by_commissioner", "nel_by_hwb", "nel_distribution", "p4p_total",
                "savings_by_benefit_type",
                "savings_by_accrues_to", "risk_by_boundary", "risk_by_falls_on", "conditions_not_met",
                "findings_by_family", "findings_by_rule")


def batch_summary(nat: National, round_: str, kind: str) -> dict[str, pd.DataFrame]:
    """What the central team needs at the end of a batch of one return: coverage, status, the plans not ready,
    findings by family, the commonest rules."""
    return dict(queries.titled(nat.con, "batch_summary", round=round_, kind=kind))


def headlines(nat: National, round_: str) -> list[tuple[str, pd.DataFrame]]:
    """The national headline tables, from valid plans only; a round that paid nothing for performance is shown
    no pay-for-performance figure."""
    tables = queries.titled(nat.con, "headlines", round=round_)
    if rounds.get(round_).pay_for_performance:
        return tables
    return [(title.replace(" and pay for performance", ""), df.drop(columns=[c for c in df.columns if c.startswith("p4p")]))
            for title, df in tables]


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula are made plain text."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(formula_safe)
    return out


def export(nat: National, fmt: str, out: Path, round_: str) -> list[Path]:
    """Write one round's national views to ``out`` as CSV files, Parquet files or one xlsx workbook."""
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        from bcf.workbook_export import write

        return [write(nat, out / f"bcf-national-{round_}.xlsx", round_, EXPORT_VIEWS)]
    paths = []
    for view in EXPORT_VIEWS:
        df = nat.frame("exports.view", view=view, round=round_)
        path = out / f"{view}-{round_}.{fmt}"
        if fmt == "parquet":
            nat.con.from_df(df).write_parquet(str(path))
        else:
            neutralise(df).to_csv(path, index=False)
        paths.append(path)
    return paths
