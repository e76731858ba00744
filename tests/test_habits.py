"""What officers do to a workbook, saved through LibreOffice: each habit gives exactly the findings decided
for it in tests/habits.py, at the right cells, and nothing else (no cascades, nothing lost unsaid)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bcf.validate import Report, check_file, complete, inspect_file
from tests.habits import HABITS
from tests.support import findings_table

pytestmark = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")


@pytest.fixture(scope="session")
def habit_reports(habit_files: dict[str, Path]) -> dict[str, Report]:
    return {name: check_file(path) for name, path in habit_files.items()}


def test_the_corpus_has_at_least_forty_kinds_of_habit() -> None:
    assert len(HABITS) >= 40


@pytest.mark.parametrize("name", list(HABITS))
def test_habit_gives_exactly_its_findings(name: str, habit_reports: dict[str, Report]) -> None:
    got = findings_table(habit_reports[name], "rule_id", "sheet", "cell")
    assert sorted(got, key=str) == sorted(HABITS[name].expect, key=str)


def test_checked_together_as_a_batch_each_habit_gives_what_it_gives_alone(habit_files: dict[str, Path],
                                                                          habit_reports: dict[str, Report]) -> None:
    """A batch runs the cell rules over many files at once: what one file lacks (a column lost) must never borrow
    from the others, so every file's findings are the same as when it is checked alone."""
    names = list(habit_files)
    together = complete([inspect_file(habit_files[n]) for n in names])
    for name, report in zip(names, together, strict=True):
        alone = findings_table(habit_reports[name], "rule_id", "sheet", "cell", "message")
        assert findings_table(report, "rule_id", "sheet", "cell", "message") == alone, name


def test_recall_and_false_findings_over_the_corpus(habit_reports: dict[str, Report]) -> None:
    """The whole corpus at once: every expected finding found (recall 100%), and no finding not expected."""
    expected = {(n, *e) for n, h in HABITS.items() for e in h.expect}
    got = {(n, *f) for n, r in habit_reports.items() for f in findings_table(r, "rule_id", "sheet", "cell")}
    assert expected - got == set() and got - expected == set()
