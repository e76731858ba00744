"""Checking one upload in a worker process, within a time limit and a memory cap.

Each slot is a one-process pool, started (and warmed: the checker's imports done) when the server starts.
Inside the worker an alarm stops a check that runs too long; if the worker is stuck where the alarm cannot
reach it, or dies, the server kills that one worker and starts a fresh one, and the file is reported as
"could not be checked". The check itself is ``bcf.validate.check_file`` and its provisional category
``bcf.preview.preview``, the same engine as ``bcf check``.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from bcf import sandbox
from bcf.findings import finding
from bcf.preview import Preview
from bcf.validate import Report

log = logging.getLogger("bcf.web")
WARM = ("bcf.annotate", "bcf.validate.cells", "bcf.preview")  # imported when a worker starts, not inside the first check's time


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


def _not_checked(name: str, why: str, timed_out: bool = False) -> Outcome:
    return Outcome(Report(name, (finding("BCF-GATE-011", "", found=why),)), timed_out=timed_out)


def _warm() -> None:
    """Nothing: submitted once so that each worker starts (and imports) before the first upload."""


def _check(path: str, annotated: str | None) -> Outcome:
    """Check one file; write the annotated copy when the workbook could be read."""
    from bcf.annotate import annotate
    from bcf.preview import preview
    from bcf.validate import check_file

    report = check_file(path)
    pv = preview(report)
    marked = False
    if annotated and report.submission is not None:
        try:
            annotate(Path(path), report, Path(annotated), pv)
            marked = True
        except sandbox.Timeout:
            raise
        except Exception:  # the findings stand without the copy; the reason goes to the server log
            log.exception("could not write the annotated copy")
    return Outcome(report, pv, marked)


def _work(path: str, annotated: str | None, seconds: float) -> Outcome:
    """The outcome of checking one file inside a worker, within ``seconds``."""
    name = Path(path).name
    ran = sandbox.run(_check, seconds, path, annotated)
    if ran.value is not None:
        ran.value.seconds = ran.seconds
        return ran.value
    if ran.failure == "timeout":
        return _not_checked(name, f"it took longer than {seconds:.0f} seconds", timed_out=True)
    if ran.failure == "memory":
        return _not_checked(name, "it needed more memory than a workbook should")
    log.error("the checker failed", exc_info=ran.error)
    return _not_checked(name, "the checker failed on it")


class Checker:
    """``workers`` checks at a time, each limited to ``seconds`` and ``memory_mb``."""

    def __init__(self, workers: int = 2, seconds: float = 30.0, memory_mb: int = 1024, queue_seconds: float = 120.0):
        self.workers, self.seconds, self.memory_mb, self.queue_seconds = workers, seconds, memory_mb, queue_seconds
        self._pools: list[ProcessPoolExecutor] = []
        self._free: asyncio.Queue[int] = asyncio.Queue()

    def _pool(self) -> tuple[ProcessPoolExecutor, Future[None]]:
        pool = sandbox.pool(1, self.memory_mb, WARM)
        return pool, pool.submit(_warm)

    async def start(self) -> None:
        """Start the workers and wait until each is ready, so that the first upload is as quick as the rest."""
        started = [self._pool() for _ in range(self.workers)]
        self._pools = [pool for pool, _ in started]
        self._free = asyncio.Queue()
        for slot in range(self.workers):
            self._free.put_nowait(slot)
        try:
            await asyncio.wait_for(asyncio.gather(*(asyncio.wrap_future(ready) for _, ready in started)), 120)
        except Exception:  # the server still starts; a broken worker is replaced at its first upload
            log.exception("a worker did not start")

    def close(self) -> None:
        """Stop every worker: idle ones are asked to exit, one still busy after five seconds is killed."""
        sandbox.close(self._pools, grace=5)
        self._pools = []

    def _replace(self, slot: int) -> None:
        sandbox.kill(self._pools[slot])
        self._pools[slot] = self._pool()[0]

    async def check(self, path: Path, annotated: Path | None) -> Outcome:
        """The outcome of checking ``path``; never raises for anything the file does (raises Busy when full)."""
        try:
            slot = await asyncio.wait_for(self._free.get(), timeout=self.queue_seconds)
        except TimeoutError as e:
            raise Busy from e
        try:  # the worker's own alarm normally answers first; the wait below catches a worker beyond its reach
            future = self._pools[slot].submit(_work, str(path), str(annotated) if annotated else None, self.seconds)
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout=self.seconds + 30)
        except TimeoutError:
            log.warning("a worker did not answer within %.0f seconds and was stopped", self.seconds + 30)
            self._replace(slot)
            return _not_checked(path.name, f"it took longer than {self.seconds:.0f} seconds", timed_out=True)
        except BrokenProcessPool:
            log.warning("a worker stopped while checking a file and was restarted")
            self._replace(slot)
            return _not_checked(path.name, "the checker stopped while reading it")
        except Exception:  # anything else the worker raised: this file is not checked, the server goes on
            log.exception("a worker failed while checking a file")
            return _not_checked(path.name, "the checker failed on it")
        finally:
            self._free.put_nowait(slot)
