"""Checking one upload in a worker process, within a time limit and a memory cap.

Each slot is a one-process pool, started (and warmed: the checker's imports done) when the server starts.
Inside the worker an alarm stops a check that runs too long; if the worker is stuck where the alarm cannot
reach it, or dies, the server kills that one worker and starts a fresh one, and the file is reported as
"could not be checked". A worker found dead while idle is replaced before it is given an upload, and a worker
is retired after a number of checks or once it has grown past a size, so that no upload pays for another's.
The check itself is ``bcf.validate.check_file`` and its provisional category ``bcf.preview.preview``, the same
engine as ``bcf check``; the marked-up copy is made after it, with a time budget of its own, so a slow copy never
changes or delays the verdict past that budget.
"""

from __future__ import annotations

import asyncio
import ctypes
import io
import logging
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from bcf import sandbox
from bcf.findings import finding
from bcf.preview import Preview
from bcf.validate import Report

log = logging.getLogger("bcf.web")
# imported when a worker starts, not inside its first check
WARM = ("bcf.annotate", "bcf.validate.cells", "bcf.validate.logic", "bcf.validate.structure", "bcf.preview", "bcf.actions")
M_ARENA_MAX = -8  # glibc's mallopt(3) parameter


class Busy(Exception):
    """Every worker stayed busy for longer than a request may wait."""


@dataclass
class Outcome:
    """What a worker sends back: the report, whether the annotated copy was written, how long it took."""

    report: Report
    preview: Preview | None = None
    annotated: bool = False
    timed_out: bool = False
    seconds: float = 0.0
    worker_mb: float = 0.0  # the worker's peak resident memory so far


@dataclass(frozen=True)
class Budget:
    """How long a check and its marked-up copy may take, and when a worker is retired."""

    check_seconds: float = 30.0
    annotate_seconds: float = 10.0
    memory_mb: int = 1024  # address-space cap of a worker
    recycle_checks: int = 200  # a worker is replaced after this many checks
    recycle_mb: float = 400.0  # or once its peak resident memory passes this


def _not_checked(name: str, why: str, timed_out: bool = False) -> Outcome:
    return Outcome(Report(name, (finding("BCF-GATE-011", "", found=why),)), timed_out=timed_out)


def _warm() -> None:
    """Submitted once so that each worker starts, imports and makes its preview's store before the first upload."""
    from bcf.preview import prepare

    _few_malloc_arenas()
    prepare()


def _few_malloc_arenas() -> None:
    """DuckDB starts about ten threads, and glibc gives each its own 64 MB malloc arena: address space reserved but
    never used, which counts against the worker's memory cap (over half of it). Two arenas leave the cap to what a
    check really uses."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None) if sys.platform.startswith("linux") else None
    if mallopt is not None:
        mallopt(M_ARENA_MAX, 2)


def _check(path: str) -> tuple[Report, Preview | None, bytes | None]:
    """Check one file as read once, with its provisional category; the bytes are kept for the marked-up copy."""
    from bcf import intake
    from bcf.preview import preview
    from bcf.validate import check_file
    from bcf.validate.gate import max_bytes

    snap = intake.read(path, keep=max_bytes())
    report = check_file(snap)
    return report, preview(report), snap.data


def _work(path: str, annotated: str | None, budget: Budget) -> Outcome:
    """The outcome of checking one file inside a worker: the verdict within its limit, then the copy within its own."""
    from bcf.annotate import annotate

    name = Path(path).name
    ran = sandbox.run(_check, budget.check_seconds, path)
    if ran.value is None:
        if ran.failure == "timeout":
            return _not_checked(name, f"it took longer than {budget.check_seconds:.0f} seconds", timed_out=True)
        if ran.failure == "memory":
            return _not_checked(name, "it needed more memory than a workbook should")
        log.error("the checker failed", exc_info=ran.error)
        return _not_checked(name, "the checker failed on it")
    report, pv, data = ran.value
    marked = False
    if annotated and report.submission is not None and data is not None:
        copy = sandbox.run(annotate, budget.annotate_seconds, io.BytesIO(data), report, Path(annotated), pv)
        marked = copy.failure is None
        if not marked:  # the findings stand without the copy; the reason goes to the server log
            log.warning("no marked-up copy (%s)", copy.failure, exc_info=copy.error)
            Path(annotated).unlink(missing_ok=True)
    return Outcome(report, pv, marked, seconds=ran.seconds, worker_mb=sandbox.peak_mb())


class Checker:
    """``workers`` checks at a time, each within the ``budget``, and a spare lane kept for ordinary files.

    An upload that finds every regular worker busy for ``patience`` seconds goes to a spare worker, where it has
    ``spare_seconds`` for its verdict; one that needs longer goes back to wait for a regular worker with its full
    budget. So two slow files can hold the regular workers, but an ordinary workbook is still answered in seconds.
    """

    def __init__(self, workers: int = 2, budget: Budget | None = None, queue_seconds: float = 120.0, spare: int = 1,
                 spare_seconds: float = 10.0, patience: float = 0.5):
        self.workers, self.budget, self.queue_seconds = workers, budget or Budget(), queue_seconds
        self.spare, self.patience = spare, patience
        b = self.budget
        self.spare_budget = Budget(min(b.check_seconds, spare_seconds), min(b.annotate_seconds, spare_seconds / 2),
                                   b.memory_mb, b.recycle_checks, b.recycle_mb)
        self._pools: list[ProcessPoolExecutor] = []
        self._checks: list[int] = []
        self._free: asyncio.Queue[int] = asyncio.Queue()
        self._spare_free: asyncio.Queue[int] = asyncio.Queue()

    def _pool(self) -> tuple[ProcessPoolExecutor, Future[None]]:
        pool = sandbox.pool(1, self.budget.memory_mb, WARM)
        return pool, pool.submit(_warm)

    async def start(self) -> None:
        """Start the workers and wait until each is ready, so that the first upload is as quick as the rest."""
        started = [self._pool() for _ in range(self.workers + self.spare)]
        self._pools = [pool for pool, _ in started]
        self._checks = [0] * len(started)
        self._free, self._spare_free = asyncio.Queue(), asyncio.Queue()
        for slot in range(len(started)):
            (self._free if slot < self.workers else self._spare_free).put_nowait(slot)
        try:
            await asyncio.wait_for(asyncio.gather(*(asyncio.wrap_future(ready) for _, ready in started)), 120)
        except Exception:  # the server still starts; a broken worker is replaced before its first upload
            log.exception("a worker did not start")

    def close(self) -> None:
        """Stop every worker: idle ones are asked to exit, one still busy after five seconds is killed."""
        sandbox.close(self._pools, grace=5)
        self._pools = []

    def pids(self, spare: bool = False) -> list[int | None]:
        """The process id of each regular slot's worker (or each spare one's), for the log and for tests."""
        pools = self._pools[self.workers:] if spare else self._pools[:self.workers]
        return [next((p.pid for p in sandbox.processes(pool)), None) for pool in pools]

    def _replace(self, slot: int, kill: bool = True) -> None:
        old = self._pools[slot]
        if kill:
            sandbox.kill(old)
        else:  # retired while idle: it exits once it reads the pool's shutdown
            old.shutdown(wait=False)
        self._pools[slot], self._checks[slot] = self._pool()[0], 0

    def _after(self, slot: int, outcome: Outcome) -> None:
        self._checks[slot] += 1
        if self._checks[slot] >= self.budget.recycle_checks or outcome.worker_mb > self.budget.recycle_mb:
            log.info("a worker was replaced after %d checks at %.0f MB", self._checks[slot], outcome.worker_mb)
            self._replace(slot, kill=False)

    def _release(self, slot: int) -> None:
        (self._free if slot < self.workers else self._spare_free).put_nowait(slot)

    async def _slot(self, spare_ok: bool) -> int:
        """A free slot: a regular one, or once ``patience`` has passed with none free, whichever frees first."""
        try:
            return await asyncio.wait_for(self._free.get(), self.patience if spare_ok and self.spare else self.queue_seconds)
        except TimeoutError:
            if not (spare_ok and self.spare):
                raise Busy from None
        asking = [asyncio.ensure_future(q.get()) for q in (self._free, self._spare_free)]
        done, _ = await asyncio.wait(asking, timeout=self.queue_seconds, return_when=asyncio.FIRST_COMPLETED)
        for task in asking:
            task.cancel()
        got = [t.result() for t in asking if t.done() and not t.cancelled()]
        for extra in got[1:]:  # both freed at once: keep the first, give the other back
            self._release(extra)
        if not got:
            raise Busy
        return got[0]

    async def check(self, path: Path, annotated: Path | None) -> Outcome:
        """The outcome of checking ``path``; never raises for anything the file does (raises Busy when full)."""
        slot = await self._slot(spare_ok=True)
        try:
            spare = slot >= self.workers
            outcome = await self._run(slot, path, annotated, self.spare_budget if spare else self.budget)
        finally:
            self._release(slot)
        if not (spare and outcome.timed_out):
            return outcome
        log.info("a file too slow for the spare worker waits for a regular one")
        slot = await self._slot(spare_ok=False)
        try:
            return await self._run(slot, path, annotated, self.budget)
        finally:
            self._release(slot)

    async def _run(self, slot: int, path: Path, annotated: Path | None, budget: Budget) -> Outcome:
        """Check one file in one slot's worker; a worker that dies or stops answering is replaced."""
        try:  # the worker's own alarm normally answers first; the wait below catches a worker beyond its reach
            if not sandbox.alive(self._pools[slot]):  # died while idle: never hand it an upload
                log.warning("an idle worker had stopped and was replaced")
                self._replace(slot)
            future = self._pools[slot].submit(_work, str(path), str(annotated) if annotated else None, budget)
            limit = budget.check_seconds + budget.annotate_seconds + 30
            outcome = await asyncio.wait_for(asyncio.wrap_future(future), timeout=limit)
            self._after(slot, outcome)
            return outcome
        except TimeoutError:
            log.warning("a worker did not answer in time and was stopped")
            self._replace(slot)
            return _not_checked(path.name, f"it took longer than {budget.check_seconds:.0f} seconds", timed_out=True)
        except BrokenProcessPool:
            log.warning("a worker stopped while checking a file and was restarted")
            self._replace(slot)
            return _not_checked(path.name, "the checker stopped while reading it")
        except Exception:  # anything else the worker raised: this file is not checked, the server goes on
            log.exception("a worker failed while checking a file")
            return _not_checked(path.name, "the checker failed on it")
