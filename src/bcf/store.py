"""The national DuckDB store: schema and views from ``aggregator/``, one transaction per file.

A file is loaded whole or not at all. The same bytes load once per round; a newer file for the same plan
becomes current (see the ``current_submissions`` view) and the older one stays as history.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from bcf import areas, content
from bcf.validate import Report

# the template's single-value fields, by the store table that holds them
FIELD_TABLES = {"Cover": "cover", "Funding": "funding_summary", "NEL & P4P": "nel_plan", "Governance": "governance"}


class StoreBusy(Exception):
    """Another process has the database open for writing."""


class Store:
    """An open store. Opening for writing creates the schema and views if they are missing."""

    def __init__(self, db: Path, read_only: bool = False):
        try:
            self.con = duckdb.connect(str(db), read_only=read_only)
        except duckdb.IOException as e:
            if "lock" in str(e).lower():
                raise StoreBusy(f"{db} is in use by another run. Wait for it to finish, then try again.") from e
            raise
        if not read_only:
            self.con.execute(sql("schema.sql")).fetchall()
            self.con.execute(sql("views.sql")).fetchall()
            if not self.con.execute("SELECT count(*) FROM plans").fetchall()[0][0]:
                skip = ("hwb_name", "ons_code", "la_type")
                self._insert("plans", pd.DataFrame([{k: v for k, v in asdict(a).items() if k not in skip}
                                                    for a in areas.plans()]))
        self.columns: dict[str, list[str]] = {}
        query = "SELECT table_name, column_name FROM information_schema.columns ORDER BY table_name, ordinal_position"
        for table, column in self.con.execute(query).fetchall():
            self.columns.setdefault(table, []).append(column)

    def _insert(self, table: str, frame: pd.DataFrame) -> None:
        """Bulk insert: the frame is scanned by DuckDB directly, columns matched by name."""
        self.con.register("incoming", frame)
        try:
            self.con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM incoming')
        finally:
            self.con.unregister("incoming")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.con.close()

    def is_loaded(self, round_: str, sha256: str) -> bool:
        return bool(self.con.execute("SELECT 1 FROM submissions WHERE round = ? AND sha256 = ?",
                                     [round_, sha256]).fetchall())

    def load(self, items: list[tuple[Report, str, datetime]], round_: str) -> list[int]:
        """Store checked files (report, SHA-256, received at) with their findings and data, in one transaction.

        Either every file of the call is stored whole or none is, so no file is ever partly in. The batch
        calls this per chunk of files; a chunk that fails is retried file by file.
        """
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            ids = [r[0] for r in con.execute("SELECT nextval('submission_ids') FROM range(?)", [len(items)]).fetchall()]
            rows: list[dict[str, Any]] = []
            frames: dict[str, list[pd.DataFrame]] = {}
            for sid, (report, sha256, received_at) in zip(ids, items, strict=True):
                sub = report.submission
                rows.append({"submission_id": sid, "round": round_, "file_name": report.file, "sha256": sha256,
                             "hwb": report.hwb, "plan_code": report.plan_code,
                             "template_id": sub.template_id if sub else None,
                             "template_version": sub.version if sub else None, "received_at": received_at,
                             "status": report.status, "blocking": report.blocking, "advisory": report.advisory})
                for table, frame in _frames(report).items():
                    frames.setdefault(table, []).append(frame.assign(submission_id=sid))
            frames["submissions"] = [pd.DataFrame(rows)]
            for table in ["submissions", *(t for t in frames if t != "submissions")]:
                data = pd.concat(frames[table], ignore_index=True)
                self._insert(table, data[[c for c in self.columns[table] if c in data.columns]])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return ids


@cache
def sql(name: str) -> str:
    return content.path("aggregator", name).read_text(encoding="utf-8")


def _frames(report: Report) -> dict[str, pd.DataFrame]:
    """The file's findings and data as one frame per store table (empty frames left out)."""
    out = {"findings": pd.DataFrame([{**f.as_dict(), "found": _text(f.found), "expected": _text(f.expected)}
                                     for f in report.findings])}
    sub = report.submission
    if sub is None:
        return out
    for sheet, table in FIELD_TABLES.items():
        out[table] = pd.DataFrame([{f.id: sub.fields.get(f.id) for s in sub.spec.sheets if s.name == sheet
                                    for f in s.fields if f.is_input}])
    out["nel_quarters"] = pd.DataFrame(
        [{"period": period, "quarter": q, "admissions": sub.fields.get(f"{period}_q{q}")}
         for period in ("baseline", "plan") for q in range(1, 5)])
    for t in sub.spec.tables:
        out[t.id] = sub.tables[t.id].reset_index()
    return {k: v for k, v in out.items() if not v.empty}


def _text(v: Any) -> str | None:
    return None if v is None else str(v)
