"""Check a folder of submissions in worker processes and load them into the national store.

One bad file never stops the batch: each file is checked in a worker with a time limit and a memory cap;
a timeout, a crash or an error of the checker itself becomes that file's BCF-GATE-011 finding. Each file is
read once, in the parent (``bcf.intake``): the bytes a worker checks are the bytes whose hash is stored. A
file that cannot be read now (removed, changed while read, an I/O error) is reported and left for the next
run, never recorded as the file's status; so is a chunk the store cannot take for want of disk space, which
stops the batch with nothing half-written. Cell rules run once per chunk of files in the parent (pandera's
cost is per call), and each chunk is stored in one transaction, so a file is either wholly in the store or
not at all, and a killed run simply resumes. Chunks are checked and stored in a thread of their own, one at
a time and in order, so that the workers are kept busy meanwhile; as each chunk's call costs the same whatever
its size, a round is two chunks, the second small, as only the last is left to store after the last file.
"""

from __future__ import annotations

import errno
import math
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from bcf import intake, rounds, sandbox
from bcf.against_plan import check_against_plans, plan_quarters
from bcf.errors import BcfError, StoreError
from bcf.intake import Snapshot
from bcf.national import queries
from bcf.store import Store, store_failure, will_be_made
from bcf.validate import Report, complete, inspect_file, worker
from bcf.validate.gate import max_bytes
from bcf.validate.worker import Inspect, gate_011

T = TypeVar("T")
CHUNK = (40, 200)  # the fewest and most files checked by pandera and stored together, in one transaction
FIRST_SHARE = 0.8  # of a batch's files, in its first chunk (``chunk_size``)
AHEAD, AHEAD_MB = 4, 64  # files given to the workers at a time, per worker, and at most so many megabytes of them
PER_TASK = 2  # files a worker is handed at once: the pool's own cost of a piece of work is a tenth of checking a file
WORKER_MODULES = ("bcf.validate.logic", "bcf.validate.structure", "bcf.validate.worker")
STAGES = ("read", "read+check (worker)", "cells", "load")
SKIP_SUFFIXES = {".json", ".md", ".duckdb", ".wal", ".sqlite", ".sqlite-wal", ".sqlite-shm"}  # the manifest, READMEs,
# and a store and its state file kept alongside
JUNK = {".DS_Store", "Thumbs.db", "desktop.ini"}  # left by file managers
# failures of the machine rather than of one file's content: never recorded against a file
# (DuckDB reports a write that failed at commit, a full disk among them, as a TransactionException)
ENVIRONMENT = (OSError, MemoryError, duckdb.IOException, duckdb.FatalException, duckdb.OutOfMemoryException,
               duckdb.TransactionException)


class WorkersFailed(BcfError):
    """Worker processes cannot run here at all: a failure of the machine, never recorded against a file."""


CANNOT_RUN = ("The checker's worker processes cannot run on this machine (not enough memory or processes for them), "
              "so the batch stopped. The files stored before this point are kept and nothing was recorded about the "
              "others: free some memory, or run the batch with fewer --workers, then run it again.")


@dataclass
class Limits:
    seconds: float = 30.0  # per file
    memory_mb: int = 1024  # per worker (address space)


@dataclass
class BatchResult:
    files: int = 0
    already_loaded: int = 0  # the same bytes are already in the store
    repeated: int = 0  # the same bytes as a file met earlier in this batch (checked and stored once)
    status: Counter[str] = field(default_factory=Counter)
    not_stored: list[str] = field(default_factory=list)  # why each file left for the next run was not stored
    history: list[str] = field(default_factory=list)  # files stored now that did not become current, and why
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))  # worker time summed
    peak_rss_mb: float = 0.0  # the largest worker's peak resident memory

    @property
    def checked(self) -> int:
        return sum(self.status.values())


def discover(folder: Path) -> list[Path]:
    """Every entry under the folder that could be a submission, in name order.

    Only file-manager debris, the lock files Excel (~$…) and LibreOffice (.~lock.…#) keep beside an open workbook,
    and our own manifest, READMEs and stores are left out: anything else, whatever its name or kind (a pipe, a
    link that leads nowhere), ends up with a status or is named among the files not stored.
    """
    return sorted(p for p in _walk(folder) if p.name not in JUNK and not _lock_file(p.name)
                  and p.suffix.lower() not in SKIP_SUFFIXES)


def _lock_file(name: str) -> bool:
    return name.startswith("~$") or (name.startswith(".~lock.") and name.endswith("#"))


def _walk(folder: Path) -> Iterator[Path]:
    """Every entry under ``folder`` but its folders, however deep they go (a list of folders to visit, not
    recursion); a folder reached through a link is neither entered nor listed, so a link cannot make a loop."""
    todo = [folder]
    while todo:
        with os.scandir(todo.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    todo.append(Path(entry.path))
                elif not _linked_folder(entry):
                    yield Path(entry.path)


def _linked_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_symlink() and entry.is_dir()
    except OSError:  # a link that loops, or cannot be followed: listed, and named for what it is
        return False


def chunk_size(files: int) -> int:
    """Files per chunk in a batch of ``files``: ``FIRST_SHARE`` of them, within ``CHUNK`` (a killed run loses at
    most one chunk's work, and the parent holds one). The first chunk is stored while the workers check the rest,
    and the last is the only one stored after the last file is checked, so the last is kept small; it is not
    made smaller still, as storing the first would then outlast the checking of the rest."""
    least, most = CHUNK
    return min(most, max(least, math.ceil(files * FIRST_SHARE)))


def plan_from_name(name: str, round_: rounds.Round) -> str | None:
    """The plan a file was filed under, when its name starts with one of the round's plan codes (E06000047_...)."""
    m = re.match(r"(E\d{8})", name)
    return m.group(1) if m and m.group(1) in round_.areas.plan_codes() else None


def _isolated(snap: Snapshot, round_: str, kind: str, limits: Limits, inspect: Inspect) -> tuple[Report, float, float]:
    """Re-check one file alone after a worker died, so the file that kills a worker is named; unless a worker
    cannot run even nothing at all, which is the machine's failure and stops the batch (``WorkersFailed``)."""
    try:
        return _alone(limits, limits.seconds + 30, worker.check, snap, round_, kind, limits.seconds, inspect)
    except Exception:
        if not _workers_run(limits):
            raise WorkersFailed(CANNOT_RUN) from None
        return gate_011(snap.name, "the checker stopped while reading it"), 0.0, 0.0


def _workers_run(limits: Limits) -> bool:
    """Whether a worker process, started and capped as the batch's are, can do a piece of work that is nothing."""
    try:
        return _alone(limits, 60, int) == 0
    except Exception:
        return False


def _alone(limits: Limits, timeout: float, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a worker of its own, started and capped as the batch's are; whatever befalls the worker
    (it dies, hangs past ``timeout`` or cannot start) is raised, and the worker never outlives the call."""
    pool = sandbox.pool(1, limits.memory_mb, warm=WORKER_MODULES)
    try:
        return pool.submit(fn, *args).result(timeout=timeout)
    except Exception:
        sandbox.kill(pool)
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def start_workers(workers: int, limits: Limits, round_: str = "", kind: str = "plan") -> ProcessPoolExecutor:
    """A pool whose workers start now with the checker (and what checking ``round_`` needs) loaded, before the batch
    starts any thread of its own, so that the caller gets on with opening the store."""
    try:
        return sandbox.preloaded_pool(workers, limits.memory_mb, WORKER_MODULES,
                                      partial(worker.prepare, round_, kind) if round_ else int)
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.ENOMEM):  # the system would not make the processes: too many, or no memory
            raise WorkersFailed(CANNOT_RUN) from e
        raise


def check_files(files: Iterable[Snapshot], round_: str, kind: str, workers: int, limits: Limits,
                inspect: Inspect = inspect_file, pool: ProcessPoolExecutor | None = None,
                ) -> Iterator[tuple[Snapshot, Report, float, float]]:
    """(file, report, seconds, peak MB) for every file, in completion order, whatever happens to workers.

    Files are taken from ``files`` as workers need them, ``AHEAD`` per worker (so that a worker seldom waits while
    the parent, busy storing, hands out the next), within ``AHEAD_MB`` held in memory, and handed out ``PER_TASK``
    at a time. The ``workers`` run in ``pool`` if one was started for them, else in a pool started here; it is shut
    down at the end. When a worker dies, every file it held is checked again alone, so the one that killed it is
    named.
    """
    pool = pool or start_workers(workers, limits)
    queue = iter(files)
    pending: dict[Future[list[tuple[Report, float, float]]], list[Snapshot]] = {}
    orphans: list[Snapshot] = []

    def held() -> list[Snapshot]:
        return [snap for group in pending.values() for snap in group]

    def fill() -> None:
        while (len(held()) < AHEAD * workers and sum(s.size for s in held()) < AHEAD_MB * sandbox.MB
               and (group := list(islice(queue, PER_TASK)))):
            try:
                pending[pool.submit(worker.check_each, group, round_, kind, limits.seconds, inspect)] = group
            except BrokenProcessPool:  # a worker died before its own future said so: these files go alone too
                orphans.extend(group)
                return

    try:
        fill()
        while pending:
            done, _ = wait(pending, timeout=limits.seconds * PER_TASK + 30, return_when=FIRST_COMPLETED)
            if not done:  # a worker is stuck where even its own alarm cannot reach: stop the pool
                orphans = held()
                sandbox.kill(pool)
                break
            for fut in done:
                group = pending.pop(fut)
                try:
                    checked = fut.result()
                except BrokenProcessPool:
                    orphans.extend(group)
                    continue
                yield from ((snap, *outcome) for snap, outcome in zip(group, checked, strict=True))
            if orphans:
                orphans += held()
                sandbox.kill(pool)
                break
            fill()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    for snap in [*orphans, *queue]:  # after a worker died: one at a time, each in a fresh worker
        yield (snap, *_isolated(snap, round_, kind, limits, inspect))


def run_batch(folder: Path, db: Path, round_: str, kind: str = "plan", workers: int | None = None,
              limits: Limits | None = None, progress: Callable[[str, Report], None] | None = None,
              inspect: Inspect = inspect_file) -> BatchResult:
    """Check every file under ``folder`` as the ``kind`` return of ``round_`` and store the results;
    re-running skips files already stored. A workbook of another round or return is refused, never mixed in.

    ``progress`` is called with each file's name and report once it is stored. A file that could not be read
    now is listed in ``not_stored``; a store that cannot be written raises ``StoreError`` (``StoreFull`` when
    the disk is full) with nothing of the chunk written.
    """
    the_round = rounds.get(round_)
    the_round.ret(kind)  # refuse a return the round does not have before any file is read
    limits, workers = limits or Limits(), workers or os.cpu_count() or 1
    pool = start_workers(workers, limits, round_, kind)  # with the checker loaded, before any thread of ours
    storing = ThreadPoolExecutor(1, thread_name_prefix="bcf-store")  # the workers go on while it stores
    fresh = will_be_made(db)  # nothing in it to skip: files go to the workers while it is made
    opening = storing.submit(Store, db, to_make=fresh, threads=1)  # its inserts are small: one thread, beside the workers
    storing.submit(_prepare_cells, the_round.ret(kind))  # and then loads the cell rules
    try:
        with sandbox.spared():  # a batch makes many objects and keeps few: the collector never goes over the modules
            run = _Run(opening, fresh, db, the_round, kind, progress)
            run.files = discover(folder)
            run.result.files = len(run.files)
            _check_and_store(run, storing, pool, workers, limits, chunk_size(len(run.files)), inspect)
            run.result.history = run.history()
    except BaseException:  # stopped (Ctrl-C) or failed: the workers go now, not after the file each is checking
        sandbox.kill(pool)
        raise
    finally:
        _close(storing, opening, pool)
    return run.result


def _prepare_cells(ret: rounds.Return) -> None:
    """Load the cell rules (pandera) and make the schemas of every version of the return while the workers check
    the first files, so that storing the first chunk, which waits on them, is not held up by them."""
    from bcf.validate import cells

    cells.prepare(ret.spec(version) for version in ret.versions())


def _close(storing: ThreadPoolExecutor, opening: Future[Store], pool: ProcessPoolExecutor) -> None:
    """The chunk being stored finished (it is one transaction, whole or not at all), then the store closed."""
    storing.shutdown(wait=True, cancel_futures=True)
    if opening.exception() is None:
        opening.result().con.close()
    pool.shutdown(wait=False, cancel_futures=True)


def _check_and_store(run: _Run, storing: ThreadPoolExecutor, pool: ProcessPoolExecutor, workers: int, limits: Limits,
                     chunk: int, inspect: Inspect) -> None:
    """Every file checked by the workers and stored a chunk at a time, in the storing thread, while they go on."""
    in_flight: Future[None] | None = None
    batch: list[tuple[Snapshot, Report]] = []
    for snap, report, seconds, peak in check_files(run.read_once(), run.round.id, run.kind, workers, limits, inspect,
                                                   pool):
        batch.append((snap, run.checked(snap, report, seconds, peak)))
        if len(batch) >= chunk:
            if in_flight:
                in_flight.result()  # one chunk at a time, in order; a store failure is raised here
            in_flight, batch = storing.submit(run.flush, batch), []
    if in_flight:
        in_flight.result()
    if batch:
        run.flush(batch)


class _Run:
    """One batch's reading, checking against plans and storing, and what it has counted so far."""

    def __init__(self, opening: Future[Store], fresh: bool, db: Path, the_round: rounds.Round, kind: str,
                 progress: Callable[[str, Report], None] | None):
        self.opening, self.db, self.round, self.kind, self.progress = opening, db, the_round, kind, progress
        self.result = BatchResult()
        self.files: list[Path] = []
        self.stored: set[str] = set() if fresh else self.store.loaded(the_round.id)
        self.seen: set[str] = set()  # files met twice in this batch are checked once
        self.ids: list[int] = []  # the submissions this run stored
        self.quarterly = bool(the_round.ret(kind).spec().period_field)
        self.plans: dict[tuple[str, str], float | None] | None = None  # read at the first chunk of quarterly returns

    @property
    def store(self) -> Store:
        """The store, once it is open (an error opening or making it is raised here)."""
        return self.opening.result()

    def read_once(self) -> Iterator[Snapshot]:
        """Each file read once, in name order: identical bytes under two names are checked under the first."""
        for path in self.files:
            t0 = time.perf_counter()
            try:
                snap = intake.read(path, keep=max_bytes())
            except (intake.Unavailable, intake.NotAFile) as e:
                self.result.not_stored.append(str(e))
                continue
            finally:
                self.result.seconds["read"] += time.perf_counter() - t0
            if snap.sha256 in self.stored:
                self.result.already_loaded += 1
                continue
            if snap.sha256 in self.seen:
                self.result.repeated += 1
                continue
            self.seen.add(snap.sha256)
            yield snap

    def checked(self, snap: Snapshot, report: Report, seconds: float, peak: float) -> Report:
        """A worker's report, filed under the plan its file name gives, its worker's cost counted."""
        self.result.seconds["read+check (worker)"] += seconds
        self.result.peak_rss_mb = max(self.result.peak_rss_mb, peak)
        return report.filed_under(None if report.foreign else plan_from_name(snap.name, self.round))

    def load(self, items: list[tuple[Snapshot, Report]]) -> None:
        try:
            self.ids += self.store.load([(r, s.sha256, s.received_at) for s, r in items], self.round.id, self.kind)
        except ENVIRONMENT as e:
            raise store_failure(e, self.db) from e

    def history(self) -> list[str]:
        """The files stored by this run that did not become current, each with the file that is (changed later)."""
        return [f"{r['file_name']} is kept as history: {r['current_file']}, changed later "
                f"({r['current_received']:%d %b %Y %H:%M}), is the current file for {r['plan_code']}"
                + (f" {r['period']}" if r["period"] else "") + "."
                for r in queries.rows(self.store.con, "store.not_current", ids=self.ids)] if self.ids else []

    def one_by_one(self, items: list[tuple[Snapshot, Report]]) -> Iterator[tuple[Snapshot, Report]]:
        """The files of a chunk the store refused, stored alone: one file's failure never takes the others."""
        for snap, report in items:
            try:
                self.load([(snap, report)])
                yield snap, report
                continue
            except StoreError:
                raise
            except Exception as e:  # its content: recorded as such, so that a rerun does not try it forever
                refused = gate_011(snap.name, f"it could not be stored ({type(e).__name__})")
            try:
                self.load([(snap, refused)])
                yield snap, refused
            except StoreError:
                raise
            except Exception as e:
                self.result.not_stored.append(f"{snap.name}: it could not be stored ({type(e).__name__}).")

    def flush(self, batch: list[tuple[Snapshot, Report]]) -> None:
        """Cell rules for a chunk, its quarterly returns against their plans, then the chunk stored."""
        t0 = time.perf_counter()
        reports = complete([r for _, r in batch])
        if self.quarterly:
            self.plans = self.plans if self.plans is not None else plan_quarters(self.store.con, self.round.id)
            reports = check_against_plans(reports, self.plans)
        items = list(zip([s for s, _ in batch], reports, strict=True))
        t1 = time.perf_counter()
        try:
            self.load(items)
            stored = items
        except StoreError:
            raise
        except Exception:
            stored = list(self.one_by_one(items))
        self.result.seconds["cells"] += t1 - t0
        self.result.seconds["load"] += time.perf_counter() - t1
        for snap, r in stored:
            self.result.status[r.status] += 1
            if self.progress:
                self.progress(snap.name, r)
