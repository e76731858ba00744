"""Shared fixtures: the sample rounds, the stores made from them and the LibreOffice habit files are built once
per test run into a temporary folder.

The tests run in several processes (pytest-xdist). Each expensive fixture is built by the first process that
needs it, under a file lock, into the folder every process of the run shares; the others wait for it and read
the same files. Tests only ever read these files, or copy them first.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from bcf import samples
from bcf.generate import Filled, Layout, write_workbook
from bcf.read import Submission, read_submission
from tests.support import AREAS, BROWSER_ARGS, CHROMIUM, PLAN, ROUND, SEED


def shared(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]) -> Path:
    """The folder ``name``, filled by ``build`` once per test run whichever process asks first."""
    base = factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the run's folder, above each worker's
    folder = root / f"shared-{name}"
    with FileLock(str(root / f"shared-{name}.lock")):
        done = root / f"shared-{name}.built"  # beside the folder: a batch reads every file in it
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


def _manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def sample_round(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """(folder, manifest) of the sample round, generated once."""
    out = shared(tmp_path_factory, "round", lambda f: samples.generate(f, ROUND, "plan", SEED, workers=2))
    return out, _manifest(out)


def _batch(folder: Path, db: Path, round_: str, kind: str = "plan", files: int | None = None) -> None:
    from bcf.batch import run_batch

    result = run_batch(folder, db, round_, kind, workers=2)
    assert result.checked == (files or len(list(folder.glob("*.xlsx")))) and result.already_loaded == 0


@pytest.fixture(scope="session")
def national(sample_round: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample round checked and loaded into a national store, once."""
    return shared(tmp_path_factory, "db", lambda f: _batch(sample_round[0], f / "national.duckdb", ROUND, files=151)
                  ) / "national.duckdb"


@pytest.fixture(scope="session")
def quarterly_round(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """(folder, manifest) of the sample round's quarterly returns, generated once."""
    out = shared(tmp_path_factory, "quarters", lambda f: samples.generate(f, ROUND, "quarterly", SEED, workers=2))
    return out, _manifest(out)


def _with(source: Path, then: Callable[[Path], object]) -> Callable[[Path], object]:
    """A build that starts from a copy of the store ``source`` (as ``n.duckdb``) and adds to it."""
    def build(folder: Path) -> None:
        shutil.copy(source, folder / "n.duckdb")
        then(folder / "n.duckdb")
    return build


@pytest.fixture(scope="session")
def monitored(national: Path, quarterly_round: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample plans and their four quarters in one store."""
    load = _with(national, lambda db: _batch(quarterly_round[0], db, ROUND, "quarterly", files=604))
    return shared(tmp_path_factory, "monitored", load) / "n.duckdb"


@pytest.fixture(scope="session")
def next_round(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the 2016-17 sample plans, generated once."""
    return shared(tmp_path_factory, "plans-2016-17", lambda f: samples.generate(f, "2016-17", "plan", SEED, workers=2))


@pytest.fixture(scope="session")
def next_quarters(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the 2016-17 sample quarterly returns, generated once."""
    return shared(tmp_path_factory, "quarters-2016-17",
                  lambda f: samples.generate(f, "2016-17", "quarterly", SEED, workers=2))


@pytest.fixture(scope="session")
def resubmitted(sample_round: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the sample round's second submissions, generated once, after the first (so they are newer)."""
    return shared(tmp_path_factory, "resubmitted",
                  lambda f: samples.generate(f, ROUND, "plan", SEED, workers=2, resubmit=True))


def _cycle(db: Path, resubmitted: Path, next_round: Path) -> None:
    from bcf.batch import run_batch
    from bcf.national import resubmissions

    run_batch(resubmitted, db, ROUND, workers=2)
    run_batch(next_round, db, "2016-17", workers=2)
    resubmissions.decide(db, ROUND, "BCF-POL-010", "accepted", "No such boundary here", "Test assurer")


@pytest.fixture(scope="session")
def cycle_store(monitored: Path, next_round: Path, resubmitted: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's store: both rounds' plans, the first round's quarters and resubmissions, and a decision."""
    return shared(tmp_path_factory, "cycle", _with(monitored, lambda db: _cycle(db, resubmitted, next_round))) / "n.duckdb"


_EARLY: list[threading.Thread] = []  # shared folders being built ahead of the tests that need them


# The test files that take longest (most of a minute each, measured with --durations), started first so that none
# of them runs alone at the end; those reading the habit files come after a few others, while LibreOffice saves them.
LONG = ("test_web_load.py", "test_corpus.py", "test_console_state.py", "test_product.py", "test_console.py",
        "test_site.py", "test_track_record.py", "test_differential.py", "test_store_door.py", "test_habits.py",
        "test_nothing_lost.py", "test_samples.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest test files first (``LONG``); and the habit files saved through LibreOffice at once, in the
    background, when a test will need them: LibreOffice works on one core beside the tests, and the tests that need
    its files no longer wait for it."""
    items.sort(key=lambda item: LONG.index(item.path.name) if item.path.name in LONG else len(LONG))
    if any("habit_files" in getattr(item, "fixturenames", ()) for item in items):
        from tests.habits import build_all

        factory: pytest.TempPathFactory = config._tmp_path_factory  # type: ignore[attr-defined]
        factory.getbasetemp()  # made here, not in the thread
        _EARLY.append(threading.Thread(target=shared, args=(factory, "habits", build_all), daemon=True))
        _EARLY[-1].start()


def pytest_sessionfinish() -> None:
    for thread in _EARLY:  # never leave LibreOffice half way through a folder
        thread.join()


@pytest.fixture(scope="session")
def habit_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every officer habit's file (tests/habits.py), saved through LibreOffice once per test run."""
    from tests.habits import HABITS, build_all

    folder = shared(tmp_path_factory, "habits", build_all)
    return {h.name: folder / h.file for h in HABITS.values()}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, started once for a test file; each test opens its own pages (each in a context of its own)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def clean_plan() -> samples.Plan:
    """A clean, filled return for one area (no defects)."""
    return samples.build_plan(AREAS.find("Leeds"), random.Random(7), PLAN)  # type: ignore[arg-type]


def write_and_read(tmp_path: Path, filled: Filled, layout: Layout | None = None, version: str | None = None,
                   cached_values: bool = True, name: str = "plan.xlsx") -> Submission:
    path = tmp_path / name
    write_workbook(PLAN.spec(version), path, filled, layout, cached_values=cached_values)
    return read_submission(path)
