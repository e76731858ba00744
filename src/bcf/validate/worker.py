"""What a batch's worker process runs for one file: the check, within a time limit.

Kept apart from the batch itself so that a worker loads only the checker, never the store or pandas: a
worker's start-up is part of every batch's time. A timeout, running out of memory or a fault of the checker
becomes that one file's BCF-GATE-011 finding.
"""

from __future__ import annotations

from collections.abc import Callable

from bcf import sandbox
from bcf.findings import finding
from bcf.intake import Snapshot
from bcf.validate import Report

Inspect = Callable[[Snapshot, str, str], Report]  # (file as read, round, return) -> report


def prepare(round_: str, kind: str) -> None:
    """Load what checking the first file needs (every template's specification, areas and parameters, the rule
    catalogue, the reference figures) while the batch is still getting its files and its store ready."""
    from bcf import reference, rounds
    from bcf.findings import rules
    from bcf.validate.gate import max_bytes

    rules()
    max_bytes()
    for rnd in rounds.all_rounds().values():
        rnd.areas.plans()
        rnd.values()
        for ret in rnd.returns.values():
            for version in ret.versions():
                ret.spec(version)
    rounds.get(round_).ret(kind).spec()
    for check in reference.checks():
        if reference.available(check.source):
            reference.table(check.source)


def gate_011(name: str, why: str) -> Report:
    return Report(name, (finding("BCF-GATE-011", "", found=why),))


def check_each(snaps: list[Snapshot], round_: str, kind: str, seconds: float, inspect: Inspect,
               ) -> list[tuple[Report, float, float]]:
    """``check`` for each of several files handed to a worker at once."""
    return [check(snap, round_, kind, seconds, inspect) for snap in snaps]


def check(snap: Snapshot, round_: str, kind: str, seconds: float, inspect: Inspect) -> tuple[Report, float, float]:
    """(report, seconds, peak memory in MB) for one file, inside a worker."""
    ran = sandbox.run(inspect, seconds, snap, round_, kind)
    if ran.value is not None:
        report = ran.value
    elif ran.failure == "timeout":
        report = gate_011(snap.name, f"it took longer than {seconds:.0f} seconds")
    elif ran.failure == "memory":
        report = gate_011(snap.name, "it needed more memory than a workbook should")
    else:  # the checker's own failure: recorded for this file, the batch goes on
        report = gate_011(snap.name, f"the checker failed on it ({type(ran.error).__name__})")
    return report, ran.seconds, sandbox.peak_mb()
