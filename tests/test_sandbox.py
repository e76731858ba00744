"""The sandbox: work that overruns its alarm or its memory cap becomes a clear outcome; stopped pools leave no workers."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial

import pytest

from bcf import sandbox

MB = 1024 * 1024
# a spawned worker (the web checker's) and one forked from this process (the batch's, on Linux): each is held alike
POOLS: dict[str, Callable[[], ProcessPoolExecutor]] = {
    "spawned": lambda: sandbox.pool(1, 512), "preloaded": lambda: sandbox.preloaded_pool(1, 512, (), int)}


@pytest.mark.parametrize("kind", POOLS)
def test_overrunning_the_alarm_is_a_timeout_and_the_alarm_is_cleared(kind: str) -> None:
    pool = POOLS[kind]()
    try:
        late = pool.submit(sandbox.run, time.sleep, 0.2, 30).result(timeout=60)
        in_time = pool.submit(sandbox.run, sum, 5, [1, 2, 3]).result(timeout=60)
        left = pool.submit(sandbox.run, time.sleep, 5, 0.5).result(timeout=60)  # a spent alarm must not fire later
    finally:
        sandbox.close([pool])
    assert (late.value, late.failure) == (None, "timeout") and 0.1 < late.seconds < 5
    assert (in_time.value, in_time.failure) == (6, None)
    assert left.failure is None


@pytest.mark.parametrize("kind", POOLS)
def test_allocating_beyond_the_cap_is_a_memory_error(kind: str) -> None:
    pool = POOLS[kind]()
    try:
        ran = pool.submit(sandbox.run, bytearray, 30, 2048 * MB).result(timeout=60)
        small = pool.submit(sandbox.run, bytearray, 30, 16 * MB).result(timeout=60)
        peak = pool.submit(sandbox.peak_mb).result(timeout=60)
    finally:
        sandbox.close([pool])
    assert (ran.value, ran.failure) == (None, "memory") and isinstance(ran.error, MemoryError)
    assert small.failure is None and small.value is not None and len(small.value) == 16 * MB
    assert 16 <= peak < 100  # what its work needed, never the memory of the process a worker was forked from


@pytest.mark.parametrize("kind", POOLS)
def test_any_other_error_is_an_error_outcome(kind: str) -> None:
    pool = POOLS[kind]()
    try:
        ran = pool.submit(sandbox.run, int, 30, "not a number").result(timeout=60)
    finally:
        sandbox.close([pool])
    assert ran.failure == "error" and isinstance(ran.error, ValueError)


def test_kill_leaves_no_live_worker() -> None:
    pool = sandbox.pool(2, 512)
    futures = [pool.submit(time.sleep, 60) for _ in range(2)]
    deadline = time.monotonic() + 60
    while not all(f.running() for f in futures) or len(sandbox.processes(pool)) < 2:
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.05)
    procs = sandbox.processes(pool)
    start = time.monotonic()
    sandbox.kill(pool)
    assert time.monotonic() - start < 5
    assert procs and not any(sandbox.running(p.pid) for p in procs)  # asked of the system: see sandbox.running


def test_close_lets_idle_workers_exit_and_kills_busy_ones_after_the_grace() -> None:
    idle, busy = sandbox.pool(1, 512), sandbox.pool(1, 512)
    idle.submit(sum, [1]).result(timeout=60)
    sleeper = busy.submit(time.sleep, 60)
    deadline = time.monotonic() + 60
    while not sleeper.running() or not sandbox.processes(busy):
        assert time.monotonic() < deadline, "the worker did not start"
        time.sleep(0.05)
    procs = sandbox.processes(idle) + sandbox.processes(busy)
    start = time.monotonic()
    sandbox.close([idle, busy], grace=1)
    assert time.monotonic() - start < 10
    assert len(procs) == 2 and not any(sandbox.running(p.pid) for p in procs)


KILL_AFTER_CANCEL = """
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from bcf import sandbox
pool = ProcessPoolExecutor(2, initializer=sandbox.leave_interrupt_to_parent)
work = [pool.submit(time.sleep, 0.5) for _ in range(20)]
time.sleep(0.3)
for f in work:
    f.cancel()  # as map does when the caller is stopped
sandbox.kill(pool)
print("ended")
"""


def test_a_pool_killed_after_its_work_was_cancelled_ends_quietly() -> None:
    done = subprocess.run([sys.executable, "-c", KILL_AFTER_CANCEL], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ended", done.stderr
    assert "Traceback" not in done.stderr and "InvalidStateError" not in done.stderr, done.stderr


def _loaded(module: str) -> str:
    """An expression, for ``eval`` in a worker, of whether it has imported the module (a plain string: sending a
    function of this module would make a spawned worker import this module too)."""
    return f"{module!r} in __import__('sys').modules"


def test_elsewhere_than_linux_the_preloaded_pool_is_spawned_and_loads_what_it_needs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Forking a process that has loaded the system's libraries is unsafe on other systems: there the workers are
    spawned, each importing the modules and running the preparation itself."""
    monkeypatch.setattr(sys, "platform", "darwin")
    made = sandbox.preloaded_pool(1, 512, ("bcf.validate.worker",), partial(time.sleep, 0))
    try:
        loaded = made.submit(eval, _loaded("bcf.validate.worker")).result(timeout=60)
        ours = made.submit(eval, _loaded(__name__)).result(timeout=60)  # a forked worker has all this process has
    finally:
        sandbox.close([made])
    assert loaded and not ours
    monkeypatch.undo()
    forked = sandbox.preloaded_pool(1, 512, (), int)
    try:
        assert forked.submit(eval, _loaded(__name__)).result(timeout=60)
    finally:
        sandbox.close([forked])


def test_a_forked_worker_never_writes_to_the_streams_it_inherits() -> None:
    """What waits in the parent's streams is the parent's to write, and a thread of the parent (a progress bar)
    may hold their locks as a worker is forked: the worker writes to streams of its own."""
    forked = sandbox.preloaded_pool(1, 512, (), int)
    try:
        names = forked.submit(eval, "(__import__('sys').stdout.name, __import__('sys').stderr.name)").result(60)
    finally:
        sandbox.close([forked])
    assert names == (os.devnull, os.devnull)


UNDER_A_LIMIT = """
from bcf import sandbox
made = sandbox.preloaded_pool(1, 1 << 20, (), int)  # its own cap a terabyte: far above the limit set outside
print(made.submit(sum, [1, 2]).result(60))
sandbox.close([made])
"""


def test_a_limit_on_memory_set_outside_is_the_cap_where_the_workers_own_would_pass_it() -> None:
    """A limit set by whoever started the batch (ulimit -v) cannot be raised: a worker keeps to it and runs."""
    run = subprocess.run(["sh", "-c", 'ulimit -v 4000000 && exec "$0" -c "$1"', sys.executable, UNDER_A_LIMIT],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "3", run.stderr


def test_spared_objects_are_left_out_of_the_collector_until_the_block_ends() -> None:
    assert gc.get_freeze_count() == 0
    kept = [[i] for i in range(1000)]  # tracked objects made before the block
    with sandbox.spared():
        assert gc.get_freeze_count() >= len(kept)
        gc.collect()  # a full pass goes over none of them
        assert gc.get_freeze_count() >= len(kept)
    assert gc.get_freeze_count() == 0


def test_spared_leaves_frozen_what_was_frozen_before_it() -> None:
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        with sandbox.spared():
            pass
        assert gc.get_freeze_count() >= before > 0
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("kind", POOLS)
def test_a_worker_and_a_spared_block_pass_the_collector_rarely(kind: str) -> None:
    pool = POOLS[kind]()
    try:
        assert pool.submit(gc.get_threshold).result(timeout=60) == sandbox.RARE_PASSES
    finally:
        sandbox.close([pool])
    before = gc.get_threshold()
    with sandbox.spared():
        assert gc.get_threshold() == sandbox.RARE_PASSES
    assert gc.get_threshold() == before
