"""Benchmark: how long the round takes, stage by stage, against the cost of merely parsing the files.

Run with `make bench`. Prints numbers; asserts nothing. The floor is unzipping every workbook and parsing
its sheet XML with the standard library (C ElementTree), the least any reader must do.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from xml.etree.ElementTree import iterparse

from bcf import samples
from bcf.batch import run_batch
from bcf.read import read_submission


def floor(files: list[Path]) -> float:
    start = time.perf_counter()
    for f in files:
        with zipfile.ZipFile(f) as z:
            for name in z.namelist():
                if name.startswith("xl/worksheets/") or name == "xl/sharedStrings.xml":
                    with z.open(name) as part:
                        for _ in iterparse(part):
                            pass
    return time.perf_counter() - start


def copies(src: Path, dst: Path, times: int) -> list[Path]:
    """The round ``times`` over; each copy's zip comment differs, so no two files share their bytes."""
    dst.mkdir(parents=True, exist_ok=True)
    for k in range(times):
        for f in sorted(src.glob("*.xlsx")):
            target = dst / f"{k}_{f.name}"
            shutil.copy(f, target)
            with zipfile.ZipFile(target, "a") as z:
                z.comment = f"copy {k}".encode()
    return sorted(dst.glob("*.xlsx"))


def batch(folder: Path, db: Path) -> tuple[float, dict[str, float], float, int]:
    start = time.perf_counter()
    result = run_batch(folder, db, "2015-16", workers=2)
    return time.perf_counter() - start, result.seconds, result.peak_rss_mb, result.checked


def wall(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bcf", *args], capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bcf-bench-"))
    try:
        start = time.perf_counter()
        samples.generate(tmp / "round", workers=2)
        gen = time.perf_counter() - start
        files = sorted((tmp / "round").glob("*.xlsx"))
        size = sum(f.stat().st_size for f in files) / len(files)
        print(f"Sample round: {len(files)} workbooks, {size / 1024:.0f} KB each, written in {gen:.1f}s (2 workers)\n")

        floor_s = floor(files)
        start = time.perf_counter()
        for f in files:
            read_submission(f)
        read_s = time.perf_counter() - start
        print(f"Floor (unzip + parse sheet XML, stdlib, 1 process): {floor_s:.2f}s ({floor_s / len(files) * 1000:.0f} ms/file)")
        print(f"Read stage (bcf reader, 1 process):                 {read_s:.2f}s ({read_s / len(files) * 1000:.0f} ms/file)"
              f" = {read_s / floor_s:.1f}x the floor\n")

        total1, stages, rss, n1 = batch(tmp / "round", tmp / "one.duckdb")
        print(f"Batch of {n1} files, 2 workers: {total1:.2f}s wall, {n1 / total1:.1f} files/s, peak RSS per worker {rss:.0f} MB")
        for stage, secs in stages.items():
            print(f"  {stage:<22} {secs:6.2f}s")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bcf", "national", "--db", str(tmp / "one.duckdb")], capture_output=True)
        print(f"  national views (bcf national, incl. start-up) {time.perf_counter() - start:.2f}s")
        parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  peak RSS of the parent (pandera, DuckDB): {parent:.0f} MB\n")

        four = copies(tmp / "round", tmp / "four", 4)
        total4, _, rss4, n4 = batch(tmp / "four", tmp / "four.duckdb")
        print(f"Batch of {n4} files (4x), 2 workers: {total4:.2f}s wall, {n4 / total4:.1f} files/s, "
              f"peak RSS per worker {rss4:.0f} MB; 4x the files took {total4 / total1:.2f}x the time\n")

        one = str(files[1])
        check = min(wall("check", one) for _ in range(3))
        annotated = min(wall("check", one, "--annotate", str(tmp / "annotated.xlsx")) for _ in range(3))
        print(f"bcf check on one workbook (wall, incl. start-up, best of 3): {check:.2f}s; "
              f"with --annotate {annotated:.2f}s (+{annotated - check:.2f}s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
