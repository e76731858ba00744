"""What a check leaves to download (annotated copy, findings as JSON and CSV), kept for a short time.

Each result lives in its own folder under a random name; the submitter gets a separate random token. The
token is only ever a key into this table: nothing from the request is used as a path. Expired results
are deleted by a sweep that runs every minute and at every upload, and all of them when the server stops.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bcf.findings import show
from bcf.present import formula_safe
from bcf.validate import Report

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# download name in the URL → (file in the result's folder, media type)
FILES = {"marked-up.xlsx": ("annotated.xlsx", XLSX), "findings.json": ("findings.json", "application/json"),
         "findings.csv": ("findings.csv", "text/csv; charset=utf-8")}
TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
CSV_COLUMNS = ("sheet", "cell", "rule_id", "severity", "title", "problem", "found", "expected", "fix")


@dataclass
class Kept:
    folder: Path
    expires: float  # on the store's clock
    prefix: str  # for download names: the plan's ONS code, or "workbook"
    files: frozenset[str]  # the download names available


def neutral(v: Any) -> Any:
    """Text a spreadsheet would run as a formula is made plain text; numbers stay numbers."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v
    return formula_safe(show(v))


def findings_csv(report: Report) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for f in report.findings:
        w.writerow([neutral(v) for v in (f.sheet or "(whole file)", f.cell or "", f.rule_id, f.severity, f.title,
                                         f.message, f.found, f.expected, f.fix)])
    return out.getvalue()


class Results:
    def __init__(self, root: Path, keep_seconds: float, clock: Callable[[], float] = time.monotonic):
        self.root, self.keep_seconds, self.clock = root, keep_seconds, clock
        self._kept: dict[str, Kept] = {}

    def new(self) -> tuple[str, Path]:
        """(token, folder) for a result about to be written; the folder is not yet downloadable."""
        self.root.mkdir(parents=True, exist_ok=True)
        return secrets.token_urlsafe(24), Path(tempfile.mkdtemp(dir=self.root))

    def publish(self, token: str, folder: Path, prefix: str) -> None:
        names = frozenset(n for n, (file, _) in FILES.items() if (folder / file).is_file())
        self._kept[token] = Kept(folder, self.clock() + self.keep_seconds, prefix, names)

    def get(self, token: str) -> Kept | None:
        """The result for a token, or None when there is none (never was, or expired and deleted)."""
        self.sweep()
        return self._kept.get(token) if TOKEN.fullmatch(token) else None

    def sweep(self) -> None:
        now = self.clock()
        for token, kept in list(self._kept.items()):
            if kept.expires <= now:
                del self._kept[token]
                shutil.rmtree(kept.folder, ignore_errors=True)

    def close(self) -> None:
        self._kept.clear()
        shutil.rmtree(self.root, ignore_errors=True)
