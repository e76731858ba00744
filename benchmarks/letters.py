"""Benchmark: how long one round's letters take, as HTML only and with PDFs, from a copy of a store.

Run with `python benchmarks/letters.py STORE [--round ROUND] [--times N]`. Each run is `bcf letters` in a fresh
process (start-up included) on a private copy of the store, since the command writes the round's stress test.
Prints the wall time and the CPU time (the command and its printing workers) of every run; asserts nothing. On
a shared machine, compare the CPU times, or runs made one after the other.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(db: Path, out: Path, round_: str | None, pdf: bool) -> tuple[float, float]:
    """Wall and CPU seconds of one `bcf letters`."""
    shutil.rmtree(out, ignore_errors=True)
    args = [sys.executable, "-m", "bcf", "letters", "--db", str(db), "-o", str(out), "--pdf" if pdf else "--no-pdf"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([*args, *(["--round", round_] if round_ else [])], capture_output=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--round", dest="round_")
    parser.add_argument("--times", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bcf-letters-") as tmp:
        db = Path(tmp) / "store.duckdb"
        shutil.copy(args.store, db)
        for pdf in (False, True):
            runs = [run(db, Path(tmp) / "out", args.round_, pdf) for _ in range(args.times)]
            shown = ", ".join(f"{wall:.1f}s (CPU {cpu:.1f}s)" for wall, cpu in runs)
            print(f"letters {'with PDFs' if pdf else 'as HTML '}: {shown}; best {min(w for w, _ in runs):.1f}s")


if __name__ == "__main__":
    main()
