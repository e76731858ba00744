"""Checkers that misbehave on purpose, imported by batch workers in tests (they must be importable by name)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from bcf.validate import Report, inspect_file


def flaky_inspect(path: Path, round_: str, kind: str) -> Report:
    """Raises, hangs or kills its worker on files named for it; checks every other file normally."""
    if path.stem == "raises":
        raise RuntimeError("injected failure")
    if path.stem == "hangs":
        time.sleep(3600)
    if path.stem == "crashes":
        os._exit(9)
    return inspect_file(path, round_, kind)
