"""Worker processes that run one piece of work at a time within a time limit and a memory cap.

The batch and the web checker both open files sent by others, and a file that makes the checker loop or balloon
must cost that one file, never the run or the server. So each check runs in a worker process whose address space
is capped and whose alarm interrupts work that runs too long (spawned; on Linux the batch's are forked once the
checker is loaded, so that they start at once); a worker stuck where even the alarm cannot reach it
is killed from outside. A worker also dies with the process that started it, however that ends (SIGKILL
included), so a killed batch or server leaves no worker behind. Ctrl-C is the parent's alone: a worker is started
with it blocked and ignores it, and the parent, stopping, kills its workers (no worker prints a traceback). This
module owns that machinery once, for both.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import multiprocessing
import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.context import ForkContext, ForkProcess, SpawnContext, SpawnProcess
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

MB = 1024 * 1024
# The collector's thresholds in a worker and during a batch: a pass once 20,000 more objects are held than before
# (not 700), as checking a file makes many that all go with it, and few cycles; each pass is then rarely wasted.
RARE_PASSES = (20_000, 20, 10)
_STARTED_MB = 0.0  # a forked worker's resident memory when it started (what it shares with the process it came from)
_INHERITED_STREAMS: tuple[Any, ...] = ()  # a forked worker's standard streams as it inherited them, never written
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies
T = TypeVar("T")


def peak_mb() -> float:
    """This process's peak resident memory since it started its program or, in a forked worker, since it started,
    in MB.

    Linux's ``ru_maxrss`` carries over the peak of the process a worker was forked from, so a worker started by
    a large program would look large; the kernel's own high-water mark for this program (VmHWM), less what a forked
    worker started with, does not.
    """
    peak = _status_mb("VmHWM:")
    return peak - _STARTED_MB if peak else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_mb(key: str) -> float:
    """A figure of this process's status in the kernel's accounts (``VmHWM:``, ``VmRSS:``, ``VmSize:``), in MB;
    0 where there is none."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Timeout(BaseException):
    """The work ran past its alarm."""


@dataclass
class Ran(Generic[T]):
    """What became of one call: its value, or why there is none (``error`` is what it raised)."""

    value: T | None = None
    failure: Literal["timeout", "memory", "error"] | None = None
    error: Exception | None = None
    seconds: float = 0.0


def _on_alarm(signum: int, frame: Any) -> None:
    raise Timeout


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def die_with_parent(parent: int) -> None:
    """End this process as soon as ``parent`` ends: the kernel's parent-death signal where there is one (Linux),
    else a thread that watches for the parent to change."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    else:
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent was gone before the signal was asked for
        os._exit(1)


def leave_interrupt_to_parent() -> None:
    """Ignore Ctrl-C in a worker: the terminal sends it to every process of the group, and the parent, which
    stops, kills its workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _HoldsCtrlC(BaseProcess):
    """A worker that starts with Ctrl-C blocked, so that one pressed while it is starting (before it can ignore it)
    never interrupts it; blocking in the parent holds the signal back until the worker is started."""

    def start(self) -> None:
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            super().start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)


class _QuietProcess(_HoldsCtrlC, SpawnProcess):
    pass


class _QuietForkProcess(_HoldsCtrlC, ForkProcess):
    pass


class _QuietSpawn(SpawnContext):
    Process = _QuietProcess


class _QuietFork(ForkContext):
    Process = _QuietForkProcess


def spawn_context() -> multiprocessing.context.BaseContext:
    """The context every pool of workers is made with: spawned processes that leave Ctrl-C to their parent."""
    return _QuietSpawn()


def _init_worker(parent: int, memory_mb: int, warm: tuple[str, ...], inherited: int = 0) -> None:
    """Start a worker: Ctrl-C left to the parent, death with it, its memory capped at ``memory_mb`` beyond the
    ``inherited`` address space (a forked worker's), its alarm ready and the ``warm`` modules imported."""
    global _STARTED_MB, _INHERITED_STREAMS
    gc.set_threshold(*RARE_PASSES)
    leave_interrupt_to_parent()
    die_with_parent(parent)
    cap, hard = inherited + memory_mb * MB, resource.getrlimit(resource.RLIMIT_AS)[1]
    cap = cap if hard == resource.RLIM_INFINITY else min(cap, hard)  # a limit set outside cannot be raised
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    signal.signal(signal.SIGALRM, _on_alarm)
    if inherited:
        _STARTED_MB = _status_mb("VmRSS:")
        # What waits in the streams a forked worker inherits is the parent's to write, and a thread of the parent (a
        # progress bar's) may have held their locks as it was forked: they are kept unflushed, and it writes nowhere.
        _INHERITED_STREAMS = (sys.stdout, sys.stderr)
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115  # open as long as the worker runs
    try:
        for module in warm:  # imported once here, not inside the first piece of work's time
            importlib.import_module(module)
    except MemoryError:  # too little memory to start at all: the pool reports itself broken, and the caller says so
        os._exit(1)


def pool(workers: int, memory_mb: int, warm: Iterable[str] = ()) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes, each capped at ``memory_mb`` and with ``warm`` modules imported."""
    return ProcessPoolExecutor(workers, mp_context=spawn_context(), initializer=_init_worker,
                               initargs=(os.getpid(), memory_mb, tuple(warm)))


def preloaded_pool(workers: int, memory_mb: int, warm: Iterable[str], prepare: Callable[[], object]
                   ) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes that start with the ``warm`` modules imported and ``prepare`` run, each capped
    at ``memory_mb`` beyond what it inherits.

    On Linux they are forked from this process once both are done here, so that they start at once with nothing to
    load: only for a process none of whose other threads holds a lock they take (the batch makes its pool before
    it starts any thread). Frozen, the objects they inherit are never visited by their collector, so never copied.
    Elsewhere, where forking a process that has loaded the system's libraries is unsafe, they are spawned and do
    both themselves (``prepare`` must then be picklable).
    """
    if not sys.platform.startswith("linux"):
        made = pool(workers, memory_mb, warm)
        for _ in range(workers):  # a spawned pool starts a worker per piece of work it is given
            made.submit(prepare)
        return made
    with spared():  # loading makes many objects: the collector would go over every module loaded meanwhile
        for module in warm:
            importlib.import_module(module)
        prepare()
        gc.freeze()  # what loading made is inherited frozen too
        made = ProcessPoolExecutor(workers, mp_context=_QuietFork(), initializer=_init_worker,
                                   initargs=(os.getpid(), memory_mb, (), int(_status_mb("VmSize:") * MB)))
        try:
            made.submit(int)  # a pool that forks makes all its workers at its first piece of work
        except BaseException:
            kill(made)
            raise
    return made


@contextmanager
def spared() -> Iterator[None]:
    """Within the block, the objects that exist now are left out of the collector's passes (``gc.freeze``), and it
    passes rarely (``RARE_PASSES``): a forked process then never copies them, and work that makes many objects and
    keeps few is not slowed by passes over what it keeps or over every module loaded. Left frozen at its end if some
    already were (whoever froze them keeps them so)."""
    frozen_before, was = gc.get_freeze_count(), gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*RARE_PASSES)
    try:
        yield
    finally:
        gc.set_threshold(*was)
        if not frozen_before:
            gc.unfreeze()


@contextmanager
def alarm(seconds: float) -> Iterator[None]:
    """Raise Timeout inside the block after ``seconds`` (in a pool's worker); the alarm is always cleared."""
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def run(fn: Callable[..., T], seconds: float, *args: Any) -> Ran[T]:
    """Call ``fn(*args)`` under an alarm of ``seconds``; a timeout, MemoryError or any error becomes the outcome."""
    start = time.perf_counter()
    try:
        with alarm(seconds):
            value = fn(*args)
        return Ran(value, seconds=time.perf_counter() - start)
    except Timeout:  # also when the alarm fires as it is being cleared: the alarm is one-shot, so it is spent
        return Ran(failure="timeout", seconds=time.perf_counter() - start)
    except MemoryError as e:
        return Ran(failure="memory", error=e, seconds=time.perf_counter() - start)
    except Exception as e:
        return Ran(failure="error", error=e, seconds=time.perf_counter() - start)


def processes(pool: ProcessPoolExecutor) -> list[BaseProcess]:
    """The pool's worker processes now (none once it is shut down)."""
    return list((getattr(pool, "_processes", None) or {}).values())


def running(pid: int | None) -> bool:
    """The process exists and is not a zombie. Asked of the system, not of ``multiprocessing``, whose answer is
    wrong once something else in the process (a server's child watcher) has reaped the worker."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):  # no /proc here: the signal check above has answered
        return True


def alive(pool: ProcessPoolExecutor) -> bool:
    """Every worker of the pool is running and the pool can take work."""
    procs = processes(pool)
    return bool(procs) and not getattr(pool, "_broken", False) and all(running(p.pid) for p in procs)


def kill(pool: ProcessPoolExecutor) -> None:
    """Kill every worker of the pool at once, busy or not, and shut it down.

    The pool is told first, so that it drops the work not yet started (some of it perhaps cancelled already, as
    ``map`` does when stopped) before it finds its workers dead: Python 3.11's pool would otherwise fail on
    those cancelled futures in its own thread, print a traceback and hang at exit."""
    procs = processes(pool)
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        proc.kill()
    deadline = time.monotonic() + 4  # a killed process dies at once, but a loaded machine may be slow to reap it
    for proc in procs:
        _gone(proc, deadline)


def _gone(proc: BaseProcess, deadline: float) -> None:
    """Wait until a killed worker is gone, as the system sees it (the pool's own thread may reap it first)."""
    proc.join(0.1)
    while running(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.02)


def close(pools: Iterable[ProcessPoolExecutor], grace: float = 5.0) -> None:
    """Shut the pools down: idle workers are asked to exit, any still busy after ``grace`` seconds is killed."""
    procs: list[BaseProcess] = []
    for p in pools:
        procs += processes(p)
        p.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + grace
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
        if running(proc.pid):
            proc.kill()
            _gone(proc, time.monotonic() + 4)
