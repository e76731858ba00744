"""What many tests share: the sample round's return, its areas, and findings as tables."""

from __future__ import annotations

from typing import Any

from bcf import rounds

ROUND = "2015-16"
PLAN = rounds.get(ROUND).ret("plan")
QUARTERLY = rounds.get(ROUND).ret("quarterly")
AREAS = PLAN.round.areas


def findings_table(report: Any, *fields: str) -> list[tuple[Any, ...]]:
    """The report's findings projected onto some fields, for assertions that read like tables."""
    return [tuple(getattr(f, name) for name in fields) for f in report.findings]


def processes_in_session(sid: int) -> list[tuple[int, str]]:
    """(pid, command line) of every live process in a session (started with start_new_session=True)."""
    import os
    from pathlib import Path

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
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())
