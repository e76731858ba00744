"""Every file of the hostile and real-world corpus (tests/corpus.py) goes through ``bcf check`` as its own process.

For each case: the exit status, the expected rules among the JSON findings, no traceback, under 10 seconds
and under 1 GB of memory. Peak memory is the checker's own high-water mark, taken by a small wrapper process
with ``wait4``: Linux carries a process's peak across fork and exec, so measured straight from the (large)
test process it would include the test's own memory. Set ``BCF_CORPUS_REPORT=path.md`` to write a table of
what each case gave. The checks run two at a time (each is a separate process), after every file is built.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from tests.corpus import CASES, Case, build_case

WORKERS = 2  # checks at once; the limits below hold for each even so
MAX_SECONDS = 10.0
MAX_MB = 1024.0
KILL_AFTER = 60.0  # a hang is killed here, and fails on time
# Runs a command and writes its peak resident memory (ru_maxrss) to the file named first.
WRAPPER = """import os, subprocess, sys
p = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(p.pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status) % 256)
"""
MAXRSS_UNIT = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes on macOS, KB on Linux
RESULTS: dict[str, tuple[Case, Run, dict[str, Any]]] = {}


@dataclass(frozen=True)
class Run:
    exit: int
    out: str
    err: str
    seconds: float
    peak_mb: float


def run_check(path: Path, *options: str) -> Run:
    """``bcf check`` on one file in a fresh process: its exit status, output, wall time and peak memory."""
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        peak = Path(tmp, "maxrss")
        command = [sys.executable, "-c", WRAPPER, str(peak), sys.executable, "-m", "bcf", "check", *options, str(path)]
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, start_new_session=True)
        timer = threading.Timer(KILL_AFTER, os.killpg, (proc.pid, signal.SIGKILL))  # the wrapper and the check
        timer.start()
        try:
            proc.wait()
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return Run(proc.returncode, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                   seconds, int(peak.read_text() or 0) / MAXRSS_UNIT if peak.exists() else float("inf"))


def _strings(doc: Any) -> Iterator[str]:
    """Every string anywhere in a JSON document."""
    if isinstance(doc, str):
        yield doc
    elif isinstance(doc, dict):
        for v in doc.values():
            yield from _strings(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _strings(v)


def _has(findings: list[tuple[str, str, str | None]], want: str) -> bool:
    """Is the wanted rule ("RULE", "RULE@Sheet" or "RULE@Sheet!A1") among the findings?"""
    rule, _, where = want.partition("@")
    sheet, _, cell = where.partition("!")
    return any(r == rule and (not where or s == sheet) and (not cell or c == cell) for r, s, c in findings)


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("corpus")
    yield folder
    report = os.environ.get("BCF_CORPUS_REPORT")
    if report and RESULTS:
        Path(report).write_text(_table(), encoding="utf-8")


def _table() -> str:
    lines = ["| case | file | exit | findings (first 4 rules) | seconds | peak MB |", "|---|---|---|---|---|---|"]
    for c, run, doc in RESULTS.values():
        rules = list(dict.fromkeys(f["rule_id"] for f in doc.get("findings", [])))
        shown = ", ".join(rules[:4]) + (f" +{len(rules) - 4}" if len(rules) > 4 else "") or "none"
        lines.append(f"| {c.name} | `{c.file}` | {run.exit} | {shown} | {run.seconds:.2f} | {run.peak_mb:.0f} |")
    return "\n".join(lines) + "\n"


def _missing(c: Case) -> bool:
    return bool(c.needs) and shutil.which(c.needs or "") is None


@pytest.fixture(scope="module")
def checked(request: pytest.FixtureRequest, corpus_dir: Path) -> Iterator[dict[str, Future[Run]]]:
    """``bcf check --format json`` on every selected case, started at once and run WORKERS at a time."""
    names = [str(item.callspec.params["name"]) for item in request.session.items if isinstance(item, pytest.Function)
             and item.originalname == "test_corpus_case" and item.module is request.module]
    paths = {n: build_case(CASES[n], corpus_dir) for n in names if not _missing(CASES[n])}
    with ThreadPoolExecutor(WORKERS) as pool:
        yield {n: pool.submit(run_check, p, "--format", "json") for n, p in paths.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_corpus_case(name: str, corpus_dir: Path, checked: dict[str, Future[Run]]) -> None:
    c = CASES[name]
    if _missing(c):
        pytest.skip(f"{c.needs} (LibreOffice) is not installed, so the round trip cannot be made")
    path, run = corpus_dir / c.file, checked[name].result()
    assert "Traceback" not in run.out + run.err, run.err[-3000:]
    doc = json.loads(run.out)
    RESULTS[name] = (c, run, doc)
    findings = [(f["rule_id"], f["sheet"], f["cell"]) for f in doc["findings"]]
    assert run.exit == c.exit, findings
    assert doc["file"] == path.name
    missing = [w for w in c.rules if not _has(findings, w)]
    assert not missing, f"expected {missing} among {findings}"
    if c.exact:
        assert {r for r, _, _ in findings} == {w.partition("@")[0] for w in c.rules}, findings
    if c.places:  # exactly these findings, one at each place
        assert sorted(r + (f"@{s}" if s else "") + (f"!{p}" if p else "") for r, s, p in findings) == sorted(c.rules)
    for payload in c.payloads:  # submitted text comes back verbatim
        assert any(payload in s for s in _strings(doc)), payload
    assert run.seconds < MAX_SECONDS, f"{run.seconds:.1f}s"
    assert run.peak_mb < MAX_MB, f"{run.peak_mb:.0f} MB"


def test_zip_slip_writes_nothing(corpus_dir: Path) -> None:
    """Part names with ../ are never used as paths: checking the file creates nothing anywhere."""
    path = build_case(CASES["zip entry names with ../ (zip slip)"], corpus_dir)
    before = set(corpus_dir.parent.rglob("*"))
    assert run_check(path, "--format", "json").exit == 0
    assert not Path("/tmp/bcf-zip-slip.txt").exists() and not Path("/etc/bcf-abs.txt").exists()
    assert set(corpus_dir.parent.rglob("*")) == before


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.payloads])
def test_html_report_escapes_submitted_text(name: str, corpus_dir: Path) -> None:
    """Script in a cell, a sheet name or the file name is shown as text; template syntax is not run."""
    c = CASES[name]
    page = run_check(build_case(c, corpus_dir), "--format", "html")
    assert page.exit == c.exit and "Traceback" not in page.out + page.err
    for payload in c.payloads:
        assert str(escape(payload)) in page.out, payload
        if any(ch in payload for ch in "<>&\"'"):
            assert payload not in page.out, payload
    assert "<script>" not in page.out.lower() and "<img" not in page.out.lower()


def test_duplicate_submissions_are_each_checked(corpus_dir: Path) -> None:
    """Two files for one board: each is checked on its own and both name the board."""
    docs = []
    for name in ("duplicate submission for one board (first)", "duplicate submission for one board (second)"):
        c = CASES[name]
        run = RESULTS[name][1] if name in RESULTS else run_check(build_case(c, corpus_dir), "--format", "json")
        assert run.exit == 0
        docs.append(json.loads(run.out))
    assert [d["hwb"] for d in docs] == ["Leeds", "Leeds"] and docs[0]["file"] != docs[1]["file"]
