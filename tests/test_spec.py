"""The template specification is complete and consistent: one place, no clashes."""

from __future__ import annotations

from collections import Counter

import pytest

from bcf.errors import UnknownVersion
from bcf.spec import col_letter, split_ref
from tests.support import PLAN

VERSIONS = list(PLAN.versions())


@pytest.mark.parametrize("version", VERSIONS)
def test_every_cell_is_used_once(version: str) -> None:
    s = PLAN.spec(version)
    used: Counter[tuple[str, str]] = Counter()
    for f in s.fields:
        assert f.cell, f"{f.id} has no cell"
        used[(f.sheet, f.cell)] += 1
    for sheet in s.sheets:
        for ref in sheet.texts:
            used[(sheet.name, ref)] += 1
    for t in s.tables:
        for c in t.columns:
            for r in range(t.header_row, t.end_row + 1):
                used[(t.sheet, f"{t.letter(c.id)}{r}")] += 1
    clashes = [k for k, n in used.items() if n > 1]
    assert clashes == []


@pytest.mark.parametrize("version", VERSIONS)
def test_ids_unique_and_references_resolve(version: str) -> None:
    s = PLAN.spec(version)
    ids = [f.id for f in s.fields] + [t.id for t in s.tables]
    assert len(ids) == len(set(ids))
    for f in [*s.fields, *(c for t in s.tables for c in t.columns)]:
        assert f.list is None or f.list in s.lists or f.list == "hwb", f.id
        if f.calc:
            for name in f.calc.names():
                table_columns = {c.id for t in s.tables for c in t.columns}
                assert s.has(name.split(".")[0]) or name in table_columns, (f.id, name)


def test_every_section_3_sheet_is_described() -> None:
    names = [sh.name for sh in PLAN.spec().sheets if not sh.optional]
    assert names == ["Guidance", "Cover", "Funding", "Schemes", "Benefits", "NEL & P4P", "Metrics", "Conditions",
                     "Risks", "Governance", "Provider impact"]
    assert [sh.name for sh in PLAN.spec().sheets if sh.optional] == ["Explanations"]  # where advisory findings are explained


def test_superseded_version_differs_in_a_few_cells() -> None:
    new, old = PLAN.spec(), PLAN.spec("1.1")
    assert (new.version, old.version, old.superseded_by) == ("1.2", "1.1", "1.2")
    assert not old.has("arbitration_agreed") and not old.has("boundaries")
    assert old.field("nel_unit_cost").cell != new.field("nel_unit_cost").cell
    assert {f.id for f in new.fields} - {f.id for f in old.fields} == {"arbitration_agreed"}


def test_unknown_version_is_refused() -> None:
    with pytest.raises(UnknownVersion, match="Known: 1.2, 1.1"):
        PLAN.spec("0.9")


def test_cell_helpers() -> None:
    assert [col_letter(n) for n in (1, 26, 27, 52)] == ["A", "Z", "AA", "AZ"]
    assert split_ref("AB12") == ("AB", 12)
