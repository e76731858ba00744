"""Checkers that misbehave on purpose, imported by batch workers in tests (they must be importable by name)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from bcf.intake import Snapshot
from bcf.validate import Report, inspect_file


def flaky_inspect(snap: Snapshot, round_: str, kind: str) -> Report:
    """Raises, hangs or kills its worker on files named for it; checks every other file normally."""
    stem = Path(snap.name).stem
    if stem == "raises":
        raise RuntimeError("injected failure")
    if stem == "hangs":
        time.sleep(3600)
    if stem == "crashes":
        os._exit(9)
    return inspect_file(snap, round_, kind)


def meddling_inspect(snap: Snapshot, round_: str, kind: str) -> Report:
    """While the folder's first file is checked, does to other files what a sync client or a colleague would:
    swaps two files' contents, removes one (the steps come as JSON in BCF_TEST_MEDDLE)."""
    if Path(snap.name).name.startswith("00 "):
        for step, *paths in json.loads(os.environ["BCF_TEST_MEDDLE"]):
            if step == "swap":
                a, b = Path(paths[0]), Path(paths[1])
                first = a.read_bytes()
                a.write_bytes(b.read_bytes())
                b.write_bytes(first)
            elif step == "remove":
                Path(paths[0]).unlink()
    return inspect_file(snap, round_, kind)


def empty_inspect(snap: Snapshot, round_: str, kind: str) -> Report:
    """Reports nothing, at once: what a batch holds in memory is then all the parent's doing."""
    return Report(snap.name, ())
