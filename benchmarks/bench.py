"""Benchmark: the round's stages against the floor of merely parsing the files, each as a ratio with its goal.

Run with `make bench`. Prints numbers; asserts nothing. The floor is unzipping every workbook and parsing its
sheet XML with the standard library (C ElementTree) in one process, the least any reader must do. Ratios are
measured pair by pair (the floor, the reader and the batch in turn, five times, each ratio against the floor of
its own turn) and the median is printed, so they hold on a busy machine better than the seconds do. In each turn,
each stage's figure is the least of two runs, as other work on the machine only ever adds time: the floor's and the
reader's in one fresh process, each batch in a fresh process of its own. Each runs in a fresh process, so that all
start alike (in this one, which has made the samples, the collector's passes over what that left slowed the floor
by a sixth) and a batch's peak memory is its own. Each stage's clock starts once the libraries it uses are loaded,
as the floor's does (zipfile and ElementTree; for the batch, pandas, pandera and DuckDB).

Printed beside the batch, as it was measured before: its first run alone (a batch used to run once a turn, and so
bore every slow moment of the machine that the floor's second run was spared); one run with pandera loaded after
its clock starts (as measured until December 2026); and what a user waits for, `bcf batch` from start to exit.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from statistics import median
from typing import Any
from xml.etree.ElementTree import iterparse

ROUND = "2015-16"
WORKERS = 2
TIMES = 10  # the larger batch is this many copies of the round
BATCH_GOAL = 1.3  # the batch of the round, against the floor
PAIRS = 5  # every stage is measured this many times, each in turn
RUNS = 2  # and each time, its figure is the least of this many runs: other work on the machine only ever adds time


def spread(ratios: list[float]) -> str:
    """The least and the greatest of the ratios measured pair by pair."""
    return f"(pairs: {min(ratios):.2f} to {max(ratios):.2f})"


def best(measure: Callable[[list[Path]], float], files: list[Path]) -> float:
    """The least of ``RUNS`` runs in this process."""
    return min(measure(files) for _ in range(RUNS))


def fresh(measure: str, folder: Path) -> float:
    """``best`` of the named measure of the folder's workbooks, in a fresh process."""
    out = subprocess.run([sys.executable, __file__, "--fresh", measure, str(folder)], capture_output=True, text=True,
                         check=True)
    return float(out.stdout)


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


def reader(files: list[Path]) -> float:
    from bcf.read import read_submission

    read_submission(files[0])  # the first read loads the specifications
    start = time.perf_counter()
    for f in files:
        read_submission(f)
    return time.perf_counter() - start


def load(files: list[Path], db: Path) -> float:
    """Seconds to store the round's checked files in chunks as the batch does, alone (no workers running)."""
    from bcf import intake
    from bcf.batch import chunk_size
    from bcf.store import Store
    from bcf.validate import complete, inspect_file

    snaps = [intake.read(f) for f in files]
    reports = complete([inspect_file(s, ROUND, "plan") for s in snaps])
    with Store(db) as store:
        start = time.perf_counter()
        n = chunk_size(len(files))
        for i in range(0, len(files), n):
            store.load([(r, s.sha256, s.received_at) for r, s in zip(reports[i:i + n], snaps[i:i + n], strict=True)],
                       ROUND, "plan")
        return time.perf_counter() - start


def copies(src: Path, dst: Path, times: int) -> None:
    """The round ``times`` over; each copy's zip comment differs, so no two files share their bytes."""
    dst.mkdir(parents=True, exist_ok=True)
    for k in range(times):
        for f in sorted(src.glob("*.xlsx")):
            target = dst / f"{k}_{f.name}"
            shutil.copy(f, target)
            with zipfile.ZipFile(target, "a") as z:
                z.comment = f"copy {k}".encode()


def batch(folder: Path, db: Path, loaded: bool = True, runs: int = RUNS) -> dict[str, float]:
    """The quickest of ``runs`` batches, each in a fresh process into a new store: wall seconds, stage seconds,
    and the parent's and workers' peak memory; ``loaded``: with the libraries it uses loaded before the clock
    starts (else pandera loads within it)."""
    done = []
    for k in range(runs):
        out = subprocess.run([sys.executable, __file__, "--batch", str(folder), str(db.with_suffix(f".{k}.duckdb")),
                              "loaded" if loaded else ""], capture_output=True, text=True, check=True)
        done.append(json.loads(out.stdout))
    return {**min(done, key=lambda stages: stages["wall"]), "first": done[0]["wall"]}


def command(folder: Path, db: Path) -> float:
    """Seconds from start to exit of `bcf batch` on the folder, into a new store, as a user runs it (the least of
    ``RUNS`` runs)."""
    def once(k: int) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bcf", "batch", str(folder), "--db", str(db.with_suffix(f".{k}.duckdb")),
                        "--round", ROUND, "--workers", str(WORKERS)], check=True, capture_output=True)
        return time.perf_counter() - start
    return min(once(k) for k in range(RUNS))


def _batch_child(folder: str, db: str, loaded: str) -> None:
    from bcf import sandbox
    from bcf.batch import run_batch

    if loaded:
        from bcf.validate import cells  # noqa: F401  # its library (pandera) loaded before the clock, as pandas and DuckDB are
    start = time.perf_counter()
    result = run_batch(Path(folder), Path(db), ROUND, workers=WORKERS)
    wall = time.perf_counter() - start
    print(json.dumps({"wall": wall, "files": result.checked, **result.seconds,
                      "parent_mb": sandbox.peak_mb(), "worker_mb": result.peak_rss_mb}))


def letters(db: Path, out: Path) -> tuple[float, int]:
    """Seconds to write every letter of the round as HTML and PDF (after its stress test), and how many."""
    subprocess.run([sys.executable, "-m", "bcf", "stress", "--db", str(db), "--round", ROUND], check=True,
                   capture_output=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bcf", "letters", "--db", str(db), "--round", ROUND, "-o", str(out)],
                   check=True, capture_output=True)
    return time.perf_counter() - start, len(list(out.glob(f"{ROUND}/letter-*.pdf")))


def line(label: str, value: str, ratio: float | None = None, goal: str = "", met: bool | None = None) -> None:
    shown = f"{ratio:5.2f}x" if ratio is not None else ""
    verdict = "" if met is None else ("  met" if met else "  NOT MET")
    print(f"{label:<52} {value:>16} {shown:>7}  {goal}{verdict}")


def main() -> None:
    from bcf import samples

    tmp = Path(tempfile.mkdtemp(prefix="bcf-bench-"))
    try:
        start = time.perf_counter()
        samples.generate(tmp / "round", ROUND, workers=WORKERS)
        files = sorted((tmp / "round").glob("*.xlsx"))
        size = sum(f.stat().st_size for f in files) / len(files) / 1024
        print(f"Round {ROUND}: {len(files)} sample workbooks, {size:.0f} KB each, "
              f"written in {time.perf_counter() - start:.1f}s; {WORKERS} workers\n")

        n = len(files)
        turns: list[dict[str, Any]] = [  # each stage in turn, so that the machine's drift is shared
            {"floor": fresh("floor", tmp / "round"), "reader": fresh("reader", tmp / "round"),
             "batch": batch(tmp / "round", tmp / f"one-{i}.duckdb"),
             "loading": batch(tmp / "round", tmp / f"loading-{i}.duckdb", loaded=False, runs=1)["wall"],
             "command": command(tmp / "round", tmp / f"cli-{i}.duckdb")} for i in range(PAIRS)]

        def against_floor(stage: Callable[[dict[str, Any]], float]) -> tuple[float, list[float]]:
            """The stage's median seconds, and its ratios to the floor of each turn, least first."""
            return median(stage(t) for t in turns), sorted(stage(t) / t["floor"] for t in turns)

        base = median(t["floor"] for t in turns)
        line(f"Floor: unzip + parse sheet XML (1 process, median of {PAIRS})", f"{base:.2f}s {base / n * 1000:.0f} ms/file")
        read, reads = against_floor(lambda t: t["reader"])
        line("Reader (bcf read_submission, 1 process)", f"{read:.2f}s {read / n * 1000:.0f} ms/file", median(reads),
             f"goal <= 1.5x the floor {spread(reads)}", median(reads) <= 1.5)
        ones = sorted((t["batch"] for t in turns), key=lambda b: b["wall"])
        one, ratios = ones[len(ones) // 2], against_floor(lambda t: t["batch"]["wall"])[1]
        line(f"Batch of {one['files']:.0f} (wall, {WORKERS} workers)", f"{one['wall']:.2f}s", median(ratios),
             f"goal <= {BATCH_GOAL}x the floor {spread(ratios)}", median(ratios) <= BATCH_GOAL)
        secs, singles = against_floor(lambda t: t["batch"]["first"])
        line("  the same, one run a turn", f"{secs:.2f}s", median(singles),
             f"as measured before, with the same clock {spread(singles)}")
        secs, loading = against_floor(lambda t: t["loading"])
        line("  one run, pandera loaded after the clock starts", f"{secs:.2f}s", median(loading),
             f"as measured until December 2026 {spread(loading)}")
        secs, users = against_floor(lambda t: t["command"])
        line("  `bcf batch` of the round, start to exit", f"{secs:.2f}s", median(users),
             f"Python's start and every import included {spread(users)}")
        stored = load(files, tmp / "load.duckdb")
        line("  DuckDB load of the round, alone", f"{stored:.2f}s", None, "goal < 0.5 s", stored < 0.5)
        line("  DuckDB load in the batch (wall, beside the workers)", f"{one['load']:.2f}s")
        line("  cell rules (pandera) in the batch (wall, beside them)", f"{one['cells']:.2f}s")
        line("  read+check in the workers (summed)", f"{one['read+check (worker)']:.2f}s")
        line("  peak memory: parent / largest worker", f"{one['parent_mb']:.0f} / {one['worker_mb']:.0f} MB")

        copies(tmp / "round", tmp / "many", TIMES)
        many = batch(tmp / "many", tmp / "many.duckdb", runs=1)
        grow = many["wall"] / one["wall"]
        line(f"Batch of {many['files']:.0f} ({TIMES}x the files)", f"{many['wall']:.2f}s", grow,
             f"goal <= {TIMES * 1.05:.1f}x the batch of {one['files']:.0f}", grow <= TIMES * 1.05)
        line("  peak memory: parent / largest worker", f"{many['parent_mb']:.0f} / {many['worker_mb']:.0f} MB",
             many["parent_mb"] / one["parent_mb"], "parent's peak against the batch of the round")

        secs, pdfs = letters(tmp / "one-0.0.duckdb", tmp / "letters")
        line(f"Letters: {pdfs} as HTML and PDF (bcf letters, wall)", f"{secs:.1f}s", None, "goal < 20 s", secs < 20)
        print()
        subprocess.run([sys.executable, str(Path(__file__).with_name("check_startup.py")), str(tmp / "round")],
                       check=False)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--batch"]:
        _batch_child(*sys.argv[2:5])
    elif sys.argv[1:2] == ["--fresh"]:
        print(best({"floor": floor, "reader": reader}[sys.argv[2]], sorted(Path(sys.argv[3]).glob("*.xlsx"))))
    else:
        main()
