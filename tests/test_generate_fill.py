"""A workbook written by filling a copy of its template is the workbook built cell by cell, and holds what was typed.

``write_workbook`` fills a saved copy of the blank workbook of each template and layout; ``save_built`` builds the
filled workbook with openpyxl and saves it, as every file was once written. The cases are sample plans and
quarterly returns of both rounds, one for every planted defect (rows inserted, sheets renamed or dropped, a
heading typed over, calculations typed over, a file never opened, an older version) and clean ones, and a return
holding values of every kind a cell can take.
"""

from __future__ import annotations

import datetime
import io
import random
import zipfile
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from openpyxl.utils.exceptions import IllegalCharacterError

from bcf import rounds, samples
from bcf.generate import Filled, Layout, write_workbook
from bcf.generate.built import save_built
from bcf.generate.cells import Values
from bcf.read import read_submission
from bcf.samples import Plan
from bcf.samples.quarterly import plant, quarters
from tests.support import PLAN

CORE = "docProps/core.xml"  # when the file was written: the one part that differs between two writes
CLEAN = 3  # clean returns of each round and kind among the cases


def _round_cases(round_id: str) -> list[tuple[str, Plan]]:
    """One plan for each planted defect kind, one quarterly return for each, and a few clean ones of each."""
    rnd = rounds.get(round_id)
    plans = list(samples.plans(rnd.ret("plan")))
    returns = [q for p in plans for q in quarters(p, rnd.ret("quarterly"), random.Random(f"{samples.SEED}:{p.area.plan_code}"))]
    plant(returns, random.Random(samples.SEED), samples.TIMES_EACH)
    cases = []
    for kind, items in (("plan", plans), ("quarterly", returns)):
        seen: set[str] = set()
        for p in items:
            new = {d["kind"] for d in p.defects} - seen
            if new:
                seen |= new
                cases.append((f"{round_id} {kind} {'+'.join(sorted(new))}", p))
        cases += [(f"{round_id} {kind} clean {p.area.plan_code}", p) for p in [p for p in items if not p.defects][:CLEAN]]
    return cases


def _odd_values() -> Plan:
    """A plan holding a value of every kind a cell can take, typed in and typed over, in a shifted layout."""
    p = samples.build_plan(PLAN.round.areas.find("Leeds"), random.Random(3), PLAN)  # type: ignore[arg-type]
    p.layout = Layout(titles={"Governance": "Governance & sign-off <final>"}, inserted={"Schemes": (3, 1)},
                      headers={("risks", "owner"): "  Lead officer  "})
    f = p.filled.fields
    f.update(contact_name="  padded  ", contact_phone="=1+2", lead_council="A & B <joint>", contact_email="",
             date_agreed=datetime.datetime(2014, 9, 1, 13, 30), date_submitted=datetime.time(9, 15))
    schemes = p.filled.tables["schemes"]
    schemes[0] = {**(schemes[0] or {}), "scheme_name": "#N/A", "spend_this_year": Decimal("12.5"),
                  "spend_last_year": 1e20, "new_existing": True, "commissioner": "line one\nline two"}
    p.filled.typed_over[("risks.score", 0)] = None
    p.filled.typed_over[("metrics.rate_plan", 1)] = "n/a"
    p.filled.typed_over[("share_total", None)] = 1 / 3
    return p


@pytest.fixture(scope="module")
def cases() -> list[tuple[str, Plan]]:
    out = _round_cases("2015-16") + _round_cases("2016-17") + [("odd values", _odd_values())]
    plans = [p for _, p in out]
    assert any(p.layout.inserted for p in plans) and any(p.layout.headers for p in plans)
    assert any(t == "" for p in plans for t in p.layout.titles.values())  # a dropped sheet
    assert any(t for p in plans for t in p.layout.titles.values())  # a renamed one
    assert any(p.filled.typed_over for p in plans) and any(not p.cached_values for p in plans)
    assert any(p.version for p in plans) and {p.ret.kind for p in plans} == {"plan", "quarterly"}
    return out


def _written(p: Plan) -> bytes:
    out = io.BytesIO()
    write_workbook(p.spec, out, p.filled, p.layout, cached_values=p.cached_values)
    return out.getvalue()


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_a_copy_is_the_workbook_built_cell_by_cell(cases: list[tuple[str, Plan]]) -> None:
    for name, p in cases:
        copy_data, built_data = _written(p), save_built(p.spec, p.filled, p.layout, p.cached_values)
        copy, built = _parts(copy_data), _parts(built_data)
        assert list(copy) == list(built), name
        different = [part for part in copy if part != CORE and copy[part] != built[part]]
        assert not different, (name, different)
        assert read_submission(io.BytesIO(copy_data), name=name) == read_submission(io.BytesIO(built_data),
                                                                                     name=name), name


def _same(found: Any, typed: Any) -> bool:
    """What openpyxl reads back is what was typed: a date as a datetime, a Decimal as a number, "" as nothing."""
    if isinstance(typed, datetime.date) and not isinstance(typed, datetime.datetime):
        return isinstance(found, datetime.datetime) and found == datetime.datetime.combine(typed, datetime.time())
    if isinstance(typed, Decimal):
        return found == float(typed)
    if typed == "" or typed is None:
        return found in ("", None)
    return bool(found == typed and type(found) in (type(typed), float, int))


def _cells(p: Plan) -> list[tuple[str, str, Any, Any, bool]]:
    """Every field's and table column's cell: (sheet title, A1, what was typed, what it computes, calculated)."""
    spec, layout, filled = p.spec, p.layout, p.filled
    values = Values(spec, filled, rounds.of(spec).round.areas)
    out = []
    for f in spec.fields:
        if f.cell and layout.title(f.sheet):
            over = filled.typed_over.get((f.id, None), Ellipsis) if f.calc else filled.fields.get(f.id)
            out.append((layout.title(f.sheet), layout.field_ref(f), over, values.of(f.id), bool(f.calc)))
    for t in spec.tables:
        if not layout.title(t.sheet):
            continue
        typed = filled.tables.get(t.id, [])
        for i, r in enumerate(layout.table_rows(t)):
            row = {**(t.fixed_rows[i] if i < len(t.fixed_rows) else {}), **((typed[i] or {}) if i < len(typed) else {})}
            for c in t.columns:
                over = filled.typed_over.get((f"{t.id}.{c.id}", i), Ellipsis) if c.calc else row.get(c.id)
                out.append((layout.title(t.sheet), f"{t.letter(c.id)}{r}", over, values.in_column(t, row, c), bool(c.calc)))
    return out


def test_a_copy_holds_what_was_typed_and_what_each_formula_computes(cases: list[tuple[str, Plan]]) -> None:
    for name, p in cases:
        data = _written(p)
        formulas, saved = (openpyxl.load_workbook(io.BytesIO(data), data_only=d) for d in (False, True))
        checked = 0
        for title, ref, typed, computed, calc in _cells(p):
            cell, value = formulas[title][ref].value, saved[title][ref].value
            if calc and typed is Ellipsis:  # a live formula, its value saved unless the file was never opened
                assert isinstance(cell, str) and cell.startswith("="), (name, title, ref, cell)
                assert _same(value, computed if p.cached_values else None), (name, title, ref, value, computed)
            elif isinstance(typed, str) and typed.startswith("=") and len(typed) > 1:  # typed as a formula
                assert cell == typed, (name, title, ref, cell)
            else:
                assert _same(cell, typed), (name, title, ref, cell, typed)
            checked += 1
        assert checked > 20, name
        for (table, column), heading in p.layout.headers.items():
            t = p.spec.table(table)
            ref = f"{t.letter(column)}{p.layout.row(t.sheet, t.header_row)}"
            assert formulas[p.layout.title(t.sheet)][ref].value == heading, name


def test_text_that_a_worksheet_cannot_hold_is_refused_as_before(tmp_path: Any) -> None:
    filled = Filled(fields={"contact_name": "bell\x07"})
    with pytest.raises(IllegalCharacterError):
        save_built(PLAN.spec(), filled, Layout())
    with pytest.raises(IllegalCharacterError):
        write_workbook(PLAN.spec(), tmp_path / "bad.xlsx", filled)
