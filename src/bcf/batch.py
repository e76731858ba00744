"""Check a folder of submissions in worker processes and load them into the national store.

One bad file never stops the batch: each file is checked in a worker with a time limit and a memory cap;
a timeout, a crash or an error of the checker itself becomes that file's BCF-GATE-011 finding. Cell rules
run once per chunk of files in the parent (pandera's cost is per call), and each chunk is stored in one
transaction, so a file is either wholly in the store or not at all, and a killed run simply resumes.
"""

from __future__ import annotations

import hashlib
import os
import re
import resource
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bcf import rounds, sandbox
from bcf.against_plan import check_against_plans, plan_quarters
from bcf.findings import finding
from bcf.store import Store
from bcf.validate import Report, complete, inspect_file

STAGES = ("hash", "read+check (worker)", "cells", "load")
SKIP_SUFFIXES = {".json", ".md", ".duckdb", ".wal"}  # the manifest, READMEs and a store kept alongside
JUNK = {".DS_Store", "Thumbs.db", "desktop.ini"}  # left by file managers
Inspect = Callable[[Path, str, str], Report]  # (file, round, return) -> report


@dataclass
class Limits:
    seconds: float = 30.0  # per file
    memory_mb: int = 1024  # per worker (address space)


@dataclass
class BatchResult:
    files: int = 0
    already_loaded: int = 0  # the same bytes are already in the store (or twice in the folder)
    status: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))  # worker time summed
    peak_rss_mb: float = 0.0  # the largest worker's peak resident memory

    @property
    def checked(self) -> int:
        return sum(self.status.values())


def discover(folder: Path) -> list[Path]:
    """Every file under the folder that could be a submission, in name order.

    Only file-manager debris, Office lock files (~$…) and our own manifest, READMEs and stores are left out:
    anything else, whatever its name, ends up with a status.
    """
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in JUNK
                  and not p.name.startswith("~$") and p.suffix.lower() not in SKIP_SUFFIXES)


def plan_from_name(name: str, round_: rounds.Round) -> str | None:
    """The plan a file was filed under, when its name starts with one of the round's plan codes (E06000047_...)."""
    m = re.match(r"(E\d{8})", name)
    return m.group(1) if m and m.group(1) in round_.areas.plan_codes() else None


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _gate_011(path: Path, why: str) -> Report:
    return Report(path.name, (finding("BCF-GATE-011", "", found=why),))


def _work(path: Path, round_: str, kind: str, seconds: float, inspect: Inspect) -> tuple[Report, float, float]:
    """(report, seconds, peak RSS in MB) for one file, inside a worker."""
    ran = sandbox.run(inspect, seconds, path, round_, kind)
    if ran.value is not None:
        report = ran.value
    elif ran.failure == "timeout":
        report = _gate_011(path, f"it took longer than {seconds:.0f} seconds")
    elif ran.failure == "memory":
        report = _gate_011(path, "it needed more memory than a workbook should")
    else:  # the checker's own failure: recorded for this file, the batch goes on
        report = _gate_011(path, f"the checker failed on it ({type(ran.error).__name__})")
    return report, ran.seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _isolated(path: Path, round_: str, kind: str, limits: Limits, inspect: Inspect) -> tuple[Report, float, float]:
    """Re-check one file alone after a worker died, so the file that kills a worker is named."""
    pool = sandbox.pool(1, limits.memory_mb)
    try:
        return pool.submit(_work, path, round_, kind, limits.seconds, inspect).result(timeout=limits.seconds + 30)
    except Exception:
        sandbox.kill(pool)
        return _gate_011(path, "the checker stopped while reading it"), 0.0, 0.0
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def check_files(paths: list[Path], round_: str, kind: str, workers: int, limits: Limits,
                inspect: Inspect = inspect_file) -> Iterable[tuple[Path, Report, float, float]]:
    """(path, report, seconds, peak MB) for every file, in completion order, whatever happens to workers."""
    pool = sandbox.pool(workers, limits.memory_mb)
    pending: dict[Future[tuple[Report, float, float]], Path] = {
        pool.submit(_work, p, round_, kind, limits.seconds, inspect): p for p in paths}
    orphans: list[Path] = []
    try:
        while pending:
            done, _ = wait(pending, timeout=limits.seconds + 30, return_when=FIRST_COMPLETED)
            if not done:  # a worker is stuck where even its own alarm cannot reach: stop the pool
                orphans = list(pending.values())
                sandbox.kill(pool)
                break
            for fut in done:
                path = pending.pop(fut)
                try:
                    yield (path, *fut.result())
                except BrokenProcessPool:
                    orphans.append(path)
            if orphans:
                orphans += list(pending.values())
                sandbox.kill(pool)
                break
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    for path in orphans:
        yield (path, *_isolated(path, round_, kind, limits, inspect))


def run_batch(folder: Path, db: Path, round_: str, kind: str = "plan", workers: int | None = None,
              limits: Limits | None = None, chunk: int = 40, progress: Callable[[Path, Report], None] | None = None,
              inspect: Inspect = inspect_file) -> BatchResult:
    """Check every file under ``folder`` as the ``kind`` return of ``round_`` and store the results;
    re-running skips files already stored. A workbook of another round or return is refused, never mixed in.

    ``progress`` is called for each file once its checks are complete and it is stored.
    """
    the_round = rounds.get(round_)
    the_round.ret(kind)  # refuse a return the round does not have before any file is read
    limits, workers = limits or Limits(), workers or os.cpu_count() or 1
    result = BatchResult()
    with Store(db) as store:
        files = discover(folder)
        result.files = len(files)
        start = time.perf_counter()
        hashes = {p: sha256(p) for p in files}
        first = {h: p for p, h in reversed(hashes.items())}  # identical bytes under two names: check the first
        todo = [p for p in files if first[hashes[p]] == p and not store.is_loaded(round_, hashes[p])]
        result.already_loaded = len(files) - len(todo)
        result.seconds["hash"] = time.perf_counter() - start
        batch: list[tuple[Path, Report]] = []

        plans = plan_quarters(store.con, round_) if the_round.ret(kind).spec().period_field else None

        def flush() -> None:
            t0 = time.perf_counter()
            reports = complete([r for _, r in batch])
            if plans is not None:
                reports = check_against_plans(reports, plans)
            batch[:] = zip([p for p, _ in batch], reports, strict=True)
            t1 = time.perf_counter()
            items = [(r, hashes[p], datetime.fromtimestamp(p.stat().st_mtime)) for p, r in batch]
            try:
                store.load(items, round_, kind)
            except Exception:  # one file the store refuses must not take its chunk with it
                for i, (report, sha, received) in enumerate(items):
                    try:
                        store.load([(report, sha, received)], round_, kind)
                    except Exception as e:
                        path = batch[i][0]
                        batch[i] = (path, _gate_011(path, f"it could not be stored ({type(e).__name__})"))
                        store.load([(batch[i][1], sha, received)], round_, kind)
            result.seconds["cells"] += t1 - t0
            result.seconds["load"] += time.perf_counter() - t1
            for p, r in batch:
                result.status[r.status] += 1
                if progress:
                    progress(p, r)
            batch.clear()

        for path, report, seconds, peak in check_files(todo, round_, kind, workers, limits, inspect):
            report = report.filed_under(None if report.foreign else plan_from_name(path.name, the_round))
            result.seconds["read+check (worker)"] += seconds
            result.peak_rss_mb = max(result.peak_rss_mb, peak)
            batch.append((path, report))
            if len(batch) >= chunk:
                flush()
        if batch:
            flush()
    return result
