"""Benchmark: how quickly `bcf check` starts, and how long its own work takes per workbook.

Run with `python benchmarks/check_startup.py [FOLDER]` (default: a round of sample plans written to a
temporary folder). Prints numbers; asserts nothing. Other work on the machine only ever adds time, so each
figure is the least of several measurements:

- imports: a fresh process importing exactly the modules one `bcf check` of the first workbook loads;
- first check: the command's own work (read, check, provisional category, text) on that workbook, in a process
  whose imports are done but whose caches are all cold;
- warm: the same work per workbook, stage by stage, over the next workbooks in that process (each workbook's
  least time, averaged over the workbooks); the reader's own share is timed on its own;
- wall: `python -m bcf check FILE` from start to exit.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROCESSES = 5  # fresh processes, each timing its imports, its first check and the warm checks
ROUNDS = 2  # times each warm workbook is checked in each process
WARM_FILES = 30
STAGES = ("read and inspect", "cell rules", "preview", "text")
GOAL = 0.100  # seconds of the command's own work per workbook, once started

# Runs one `bcf check` of a file in-process and prints every module loaded, in loading order.
MODULES = """
import contextlib, io, json, sys
from bcf.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(["check", sys.argv[1]], standalone_mode=False)
    except SystemExit:
        pass
print(json.dumps(list(sys.modules)))
"""

# Imports those modules, then times the first check and the warm ones, stage by stage.
TIMINGS = """
import importlib, io, json, sys, time
names, rounds, files = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
start = time.perf_counter()
for name in names:
    try:
        importlib.import_module(name)
    except Exception:  # an alias, or a module only its parent can import: loaded with its parent already
        pass
imports = time.perf_counter() - start

from bcf import intake
from bcf.present import FORMATS
from bcf.preview import preview
from bcf.read import read_submission
from bcf.validate import complete, inspect_file
from bcf.validate.gate import max_bytes


def stages(path):
    out, t = {}, time.perf_counter()
    snap = intake.read(path, keep=max_bytes())
    report = inspect_file(snap)
    out["read and inspect"], t = time.perf_counter() - t, time.perf_counter()
    report = complete([report])[0]
    out["cell rules"], t = time.perf_counter() - t, time.perf_counter()
    pv = preview(report)
    out["preview"], t = time.perf_counter() - t, time.perf_counter()
    FORMATS["text"](report, pv)
    out["text"] = time.perf_counter() - t
    return out, snap


def reader(snap):
    t = time.perf_counter()
    read_submission(io.BytesIO(snap.data), name=snap.name)
    return time.perf_counter() - t


first, _ = stages(files[0])
warm = {}
for _ in range(rounds):
    for f in files[1:]:
        times, snap = stages(f)
        times["reader alone"] = reader(snap)
        warm[f] = {k: min(v, warm.get(f, times)[k]) for k, v in times.items()}
print(json.dumps({"imports": imports, "first": first, "warm": warm}))
"""


def _python(code: str, *args: str) -> str:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True).stdout


def loaded_modules(file: Path) -> list[str]:
    """Every module one `bcf check FILE` loads, in the order it loads them."""
    names: list[str] = json.loads(_python(MODULES, str(file)).splitlines()[-1])
    return names


def wall(file: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bcf", "check", str(file)], capture_output=True, check=False)
    return time.perf_counter() - start


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def report(files: list[Path]) -> None:
    names = loaded_modules(files[0])
    large = [n for n in ("pandas", "pandera", "duckdb", "jinja2", "openpyxl", "rich") if n in names]
    print(f"`bcf check` loads {len(names)} modules; of the large libraries: {', '.join(large) or 'none'}")
    runs = [json.loads(_python(TIMINGS, json.dumps(names), str(ROUNDS), *map(str, files[: WARM_FILES + 1]))
                       .splitlines()[-1]) for _ in range(PROCESSES)]
    print(f"imports                  {ms(min(r['imports'] for r in runs))}")
    print(f"first check (own work)   {ms(min(sum(r['first'].values()) for r in runs))}")
    warm = {f: {k: min(r["warm"][f][k] for r in runs) for k in runs[0]["warm"][f]} for f in runs[0]["warm"]}
    mean = {k: sum(w[k] for w in warm.values()) / len(warm) for k in [*STAGES, "reader alone"]}
    own = sum(mean[k] for k in STAGES)
    verdict = "met" if own < GOAL else "NOT MET"
    print(f"warm, per workbook       {ms(own)} (mean over {len(warm)} workbooks)  goal < {GOAL * 1000:.0f} ms  {verdict}")
    for k in STAGES:
        print(f"  {k:<22} {ms(mean[k])}")
    print(f"  (the reader alone       {ms(mean['reader alone'])}, within read and inspect)")
    walls = sorted(wall(files[0]) for _ in range(PROCESSES))
    print(f"wall, python -m bcf check {ms(walls[0])} (best of {PROCESSES}; median {walls[PROCESSES // 2] * 1000:.0f} ms)")


def main() -> None:
    if len(sys.argv) > 1:
        report(sorted(Path(sys.argv[1]).glob("*.xlsx")))
        return
    from bcf import samples

    with tempfile.TemporaryDirectory() as tmp:
        samples.generate(Path(tmp), workers=2)
        report(sorted(Path(tmp).glob("*.xlsx")))


if __name__ == "__main__":
    main()
