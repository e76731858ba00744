"""What many tests share: the sample round's return and areas, plans written as workbooks, the command run as a user
runs it, and findings as tables. No test imports another test module: what two need lives here."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bcf import rounds
from bcf.generate import write_workbook
from bcf.samples import Plan, build_plan

SEED = 2014  # the seed of the tests' sample rounds
ROUND = "2015-16"
PLAN = rounds.get(ROUND).ret("plan")
QUARTERLY = rounds.get(ROUND).ret("quarterly")
AREAS = PLAN.round.areas


def plan_for(area: str = "Leeds", seed: int = 7, **fields: Any) -> Plan:
    """A clean, filled plan of the sample round for one area, with some fields changed."""
    found = AREAS.find(area)
    assert found is not None, area
    plan = build_plan(found, random.Random(seed), PLAN)
    plan.filled.fields.update(fields)
    return plan


def write_plan(plan: Plan, path: Path, when: float | None = None) -> Path:
    """The plan written as a workbook at ``path`` (its folder made), dated ``when`` if given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_workbook(plan.spec, path, plan.filled, plan.layout, cached_values=plan.cached_values)
    if when is not None:
        os.utime(path, (when, when))
    return path


def plan_file(folder: Path, area: str, name: str, **fields: Any) -> Path:
    """An area's plan written into ``folder`` as ``name``, with some fields changed."""
    return write_plan(plan_for(area, 5, **fields), folder / name)


def advisory_plan(explain: bool = True, saving: int | None = None) -> Plan:
    """A well-evidenced plan with four advisory findings (so "with support"), one of them explained."""
    p = plan_for(seed=3)
    for b in p.filled.tables["benefits"]:
        assert b is not None
        b.update(confidence="High", evidence="Evaluated pilot")
    p.filled.fields["contact_email"] = "finance team at the council"  # BCF-CELL-006
    risks = p.filled.tables["risks"]
    p.filled.tables["risks"] = [r for r in risks if r and r["boundary"] not in ("Council–council", "Provider–provider")]
    p.filled.tables["boundaries"][1] = {"reason_none": ""}  # BCF-POL-010, twice
    p.filled.tables["boundaries"][4] = {"reason_none": ""}
    second = p.filled.tables["benefits"][1]
    assert second is not None
    second["planned_saving"] = saving or max(1, round(second["planned_saving"] * 0.4))  # BCF-ARITH-006
    if explain:
        p.filled.tables["explanations"] = [{"rule_id": "BCF-ARITH-006", "location": "Benefits I6",
                                            "reason": "The saving nets off the cost of the new service."}]
    return p


def copy_store(source: Path, target: Path) -> Path:
    """A copy of a national store with its state file (sessions and decisions), as a user would copy both."""
    import shutil

    from bcf.national.state import state_path

    shutil.copy(source, target)
    state = state_path(source)
    if state is not None and state.exists():
        shutil.copy(state, state_path(target) or target)
    return target


def category_of(db: Path, plan_code: str = "E08000035") -> tuple[str, list[str]]:
    """A plan's category and reasons after the round's stress test is run on the store."""
    from bcf.national import stress
    from bcf.national.door import open_store

    with open_store(db, write=True) as nat:
        stress.run(nat, ROUND, PLAN.round.params())
        category, reasons = nat.con.execute("SELECT category, reasons FROM assurance WHERE round = ? AND plan_code = ?",
                                            [ROUND, plan_code]).fetchone()  # type: ignore[misc]
    return category, reasons


def bcf(*args: str | Path, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``bcf`` run as a user runs it, in a process of its own (wide enough that no table cell wraps)."""
    return subprocess.run([sys.executable, "-m", "bcf", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "COLUMNS": "400", **(env or {})})


def findings_table(report: Any, *fields: str) -> list[tuple[Any, ...]]:
    """The report's findings projected onto some fields, for assertions that read like tables."""
    return [tuple(getattr(f, name) for name in fields) for f in report.findings]


CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 in a background thread; yields its address."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def processes_in_session(sid: int) -> list[tuple[int, str]]:
    """(pid, command line) of every live process in a session (started with start_new_session=True)."""
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            if state != "Z" and os.getsid(int(proc.name)) == sid:
                out.append((int(proc.name), (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")))
        except (OSError, IndexError):
            continue
    return out


def wait_until(condition: Any, seconds: float) -> bool:
    """Poll ``condition()`` until it is true or ``seconds`` pass; its last value."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())
