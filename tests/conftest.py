"""Shared fixtures: the sample round is written once per test session into a temporary folder."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from bcf import samples
from bcf.generate import Filled, Layout, write_workbook
from bcf.read import Submission, read_submission
from tests.support import AREAS, PLAN, ROUND, SEED


@pytest.fixture(scope="session")
def sample_round(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """(folder, manifest) of the sample round, generated once."""
    out = tmp_path_factory.mktemp("round")
    samples.generate(out, ROUND, "plan", SEED)
    return out, json.loads((out / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def national(sample_round: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample round checked and loaded into a national store, once."""
    from bcf.batch import run_batch

    db = tmp_path_factory.mktemp("db") / "national.duckdb"
    result = run_batch(sample_round[0], db, "2015-16", workers=2)
    assert result.checked == 151 and result.already_loaded == 0
    return db


@pytest.fixture(scope="session")
def quarterly_round(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """(folder, manifest) of the sample round's quarterly returns, generated once."""
    out = tmp_path_factory.mktemp("quarters")
    return out, samples.generate(out, ROUND, "quarterly", SEED, workers=2)


@pytest.fixture(scope="session")
def monitored(national: Path, quarterly_round: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample plans and their four quarters in one store."""
    from bcf.batch import run_batch

    db = tmp_path_factory.mktemp("monitored") / "n.duckdb"
    shutil.copy(national, db)
    result = run_batch(quarterly_round[0], db, ROUND, "quarterly", workers=2)
    assert result.checked == 604
    return db


@pytest.fixture(scope="session")
def next_round(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the 2016-17 sample plans, generated once."""
    out = tmp_path_factory.mktemp("plans-2016-17")
    samples.generate(out, "2016-17", "plan", SEED, workers=2)
    return out


@pytest.fixture(scope="session")
def cycle_store(monitored: Path, next_round: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's store: both rounds' plans, the first round's quarters and resubmissions, and a decision."""
    from bcf.batch import run_batch
    from bcf.national import resubmissions

    db = tmp_path_factory.mktemp("cycle") / "n.duckdb"
    shutil.copy(monitored, db)
    again = tmp_path_factory.mktemp("resubmitted")
    samples.generate(again, ROUND, "plan", SEED, workers=2, resubmit=True)
    run_batch(again, db, ROUND, workers=2)
    run_batch(next_round, db, "2016-17", workers=2)
    resubmissions.decide(db, ROUND, "BCF-POL-010", "accepted", "No such boundary here", "Test assurer")
    return db


@pytest.fixture(scope="session")
def habit_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every officer habit's file (tests/habits.py), saved through LibreOffice once per test session."""
    from tests.habits import build_all

    return build_all(tmp_path_factory.mktemp("habits"))


@pytest.fixture
def clean_plan() -> samples.Plan:
    """A clean, filled return for one area (no defects)."""
    return samples.build_plan(AREAS.find("Leeds"), random.Random(7), PLAN)  # type: ignore[arg-type]


def write_and_read(tmp_path: Path, filled: Filled, layout: Layout | None = None, version: str | None = None,
                   cached_values: bool = True, name: str = "plan.xlsx") -> Submission:
    path = tmp_path / name
    write_workbook(PLAN.spec(version), path, filled, layout, cached_values=cached_values)
    return read_submission(path)
